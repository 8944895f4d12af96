//! The Plan executor: forward, backward and update for a batch, whole epochs with the shared
//! shuffling, evaluation and prediction. It follows lib/engine/js/network.ts step for step (the
//! JS engine is the readable spec); here the matrix products run on the packed SIMD GEMM with
//! bias and activation fused into its epilogue, the elementwise layers of training run as
//! chains (chain.rs), a batch's inputs are read in place, and every buffer is allocated once
//! per batch capacity: an epoch allocates nothing of the batch's or the model's size (only the
//! few partial sums of a parallel reduction, and the copies of the stream that parallel dropout
//! draws from).

use crate::alloc::{self, Floats};
use crate::activations;
use crate::dropout;
use crate::batch_norm::{self, Cache};
use crate::chain::{self, Chain};
use crate::collective::{rank_rows, Collective};
use crate::gemm::{gemm_isa, gemm_split, Epilogue, MatMut, MatRef, Split, Tile, PARALLEL_MIN_MACS};
use crate::isa::{active_isa, vectorized};
use crate::losses;
use crate::optimizers::{self, SAFE_BOUND};
use crate::pool;
use crate::plan::{AccuracyKind, Activation, Fused, Layer, Loss, Optimizer, Plan, Variable};
use crate::rng::Rng;
use crate::skinny;
use crate::tuner::ThreadTuner;
use crate::vmath;

/// Training or evaluation data, owned (so asynchronous work never reads memory JS can free).
#[derive(Clone, Debug, Default)]
pub struct TrainingData {
    /// rows × plan.input_size.
    pub x: Vec<f32>,
    /// rows × plan.target_cols().
    pub y: Vec<f32>,
    pub rows: usize,
    /// One loss weight per row (finite, ≥ 0), or empty for equal weights.
    pub w: Vec<f32>,
}

pub const MAX_METRICS: usize = 3;

/// Input floats per task when a batch's rows are gathered on several threads (below it, waking
/// a second thread costs more than the copy).
const GATHER_CHUNK: usize = 1 << 15;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchLogs {
    /// Mean loss before the update, regularisation included.
    pub loss: f64,
    pub metrics: [f64; MAX_METRICS],
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpochResult {
    /// Sample-weighted means over the batches.
    pub loss: f64,
    pub metrics: [f64; MAX_METRICS],
    pub batches: usize,
    pub samples: usize,
    /// The callback asked to stop before the last batch.
    pub stopped: bool,
    /// (batch, reason) when a batch's loss or gradient was not finite; its update was skipped.
    pub diverged: Option<(usize, String)>,
}

/// An epoch in progress (see `Network::begin_epoch`).
#[derive(Debug)]
pub struct Epoch {
    /// The visiting order of the rows (shuffled once, at the start).
    order: Vec<u32>,
    rows: usize,
    batch_size: usize,
    lr: f64,
    /// Per-batch learning rates (a schedule stepping per batch); empty: `lr` for every batch.
    rates: Vec<f64>,
    /// First row of the next batch, and that batch's index.
    start: usize,
    batch: usize,
    finished: bool,
    /// Sums over the batches so far.
    result: EpochResult,
}

impl Epoch {
    /// Batch `i` trains at `rates[i]` (batches past the end at the epoch's rate): a schedule
    /// that steps per batch, computed by the caller for the batches of this epoch.
    pub fn with_rates(mut self, rates: Vec<f64>) -> Epoch {
        self.rates = rates;
        self
    }
}

impl Epoch {
    /// Ends the epoch after the batch just trained, as when a callback asks to stop.
    pub fn stop(&mut self) {
        if !self.finished {
            self.result.stopped = self.start < self.rows;
            self.finished = true;
        }
    }
}

/// Where a layer reads its input: the batch, or an earlier layer's output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Input,
    Output(usize),
}

/// Where a pass reads the batch's inputs: the workspace's copy, the caller's rows (predict), or
/// rows of the training data read in place through the epoch's order. The last is used only
/// when the first layer is Dense (`Network::reads_rows_in_place`), the one layer that then reads
/// the inputs: its products gather the rows as they pack them, which saved the copy of every
/// batch (a twentieth of an mnist step) and, on two threads, reading the copy from the other
/// core's cache.
#[derive(Clone, Copy)]
enum Inputs<'a> {
    Loaded,
    Rows(&'a [f32]),
    Gathered(&'a [f32], &'a [u32]),
}

struct Workspace {
    capacity: usize,
    x: Floats,
    y: Floats,
    /// The loaded batch's sample weights (meaningful when `weighted`).
    w: Floats,
    weighted: bool,
    outputs: Vec<Floats>,
    deltas: Vec<Floats>,
    /// The last layer's pre-activation values when its activation is fused with the loss.
    logits: Floats,
    /// Dropout's masks, for the chains whose backward pass reads them (`Chain::reads_mask`).
    masks: Vec<Floats>,
    /// The draws of the other chains' Dropout, decided and applied in their forward pass: one
    /// buffer for all of them.
    draws: Floats,
    batch_norm: Vec<Option<Cache>>,
    /// Each layer's input during the last forward pass.
    sources: Vec<Source>,
}

pub struct Network {
    pub plan: Plan,
    /// Private, with `slots`: whatever writes them must drop `value_bound` (the setters do).
    params: Vec<f32>,
    pub stats: Vec<f32>,
    slots: Vec<f32>,
    pub grads: Floats,
    pub step: u64,
    pub rng: Rng,
    fused: Option<Fused>,
    /// The runs of elementwise layers that train as one (chain.rs), and each layer's chain.
    chains: Vec<Chain>,
    chain_of: Vec<Option<usize>>,
    /// The first layer is Dense, so training reads a batch's rows in place (see `Inputs`).
    reads_rows_in_place: bool,
    /// The parameters' variables: per-variable clipping's unit, and how the update splits rows.
    variables: Vec<Variable>,
    accuracy: AccuracyKind,
    target_cols: usize,
    metric_sums: [f64; MAX_METRICS],
    ws: Workspace,
    order: Vec<u32>,
    /// The most pool threads this network's work may use (the pool's size caps it too): 1 keeps
    /// it on the calling thread, e.g. when several networks train side by side.
    pub max_threads: usize,
    /// Times training batches to choose their threads where the shapes cannot (tuner.rs).
    tuner: ThreadTuner,
    /// The threads of the training batch under way, chosen once for all its passes (`tuned`).
    batch_threads: Option<usize>,
    /// An upper bound on |params| and |slots| (∞ = unknown, measure again): while the next
    /// update provably stays below optimizers::SAFE_BOUND, it needs no undo copy. Each update
    /// reports the exact maximum it wrote, so it is measured again only after outside writes.
    value_bound: f64,
    /// Set for data-parallel training: gradients, losses and metrics are summed over processes.
    collective: Option<std::sync::Arc<dyn Collective>>,
    /// Within the global batch being trained: this process's first row and the batch's rows
    /// (dropout skips the other processes' draws, so masks equal one process's).
    global_rows: (usize, usize),
    /// params then slots as they were before an update that might overflow, to undo it.
    backup: Vec<f32>,
    /// The running statistics before this batch moved them.
    stats_backup: Vec<f32>,
}

/// Multiply-adds of a layer's product from which a training batch runs on all threads without
/// timing the alternative (tuner.rs): mnist's first layer at batch 128 (26M) trained 1.5–1.7×
/// faster on two threads with the vCPUs on two dies, 512-512-512-10 at batch 64 (17M) 1.6×.
const SURE_MACS: usize = 1 << 24;

/// Why an update was undone (the JS engine's words).
pub const OVERFLOW: &str = "the update made weights or optimizer state overflow to non-finite values";

/// Checks rows of inputs, targets and (optional, may be empty) sample weights against the
/// plan: lengths, class indices (which the losses use as indices) for sparse labels, and
/// weights finite and ≥ 0.
pub fn check_data(plan: &Plan, x: &[f32], y: &[f32], w: &[f32], rows: usize) -> Result<(), String> {
    if !w.is_empty() && w.len() != rows {
        return Err(format!("sample weights have {} values, expected one per row ({rows})", w.len()));
    }
    if let Some(bad) = w.iter().find(|&&v| !(v.is_finite() && v >= 0.0)) {
        return Err(format!("sample weight {bad} is not a finite number ≥ 0"));
    }
    if Some(x.len()) != rows.checked_mul(plan.input_size) {
        return Err(format!("x has {} values, expected rows × inputs = {} × {}", x.len(), rows, plan.input_size));
    }
    let target_cols = plan.target_cols();
    if Some(y.len()) != rows.checked_mul(target_cols) {
        return Err(format!("y has {} values, expected rows × {} = {}", y.len(), target_cols, rows.saturating_mul(target_cols)));
    }
    if plan.loss == Some(Loss::SparseCategoricalCrossEntropy) {
        let classes = plan.output_size as f32;
        if let Some(bad) = y.iter().find(|&&v| !(v >= 0.0 && v < classes && v.fract() == 0.0)) {
            return Err(format!("class index {bad} is not an integer in [0, {classes})"));
        }
    }
    Ok(())
}

impl Network {
    /// A network over the given state; checks every buffer length against the plan.
    pub fn new(plan: Plan, params: Vec<f32>, stats: Vec<f32>, slots: Vec<f32>, step: u64, rng: [u32; 4]) -> Result<Network, String> {
        if params.len() != plan.param_count {
            return Err(format!("params has {} values, the plan needs {}", params.len(), plan.param_count));
        }
        if stats.len() != plan.stat_count {
            return Err(format!("stats has {} values, the plan needs {}", stats.len(), plan.stat_count));
        }
        let slot_len = plan.slot_count() * plan.param_count;
        if slots.len() != slot_len {
            return Err(format!("optimizer state has {} values, the plan needs {slot_len}", slots.len()));
        }
        if plan.metrics.len() > MAX_METRICS {
            return Err(format!("at most {MAX_METRICS} metrics are supported"));
        }
        let layers = plan.layers.len();
        let fused_output = plan.fused().filter(|_| matches!(plan.layers.last(), Some(Layer::Activation { .. }))).map(|_| layers - 1);
        let chains = chain::find(&plan.layers, fused_output);
        let mut chain_of = vec![None; layers];
        for (c, chain) in chains.iter().enumerate() {
            chain_of[chain.layers.clone()].iter_mut().for_each(|of| *of = Some(c));
        }
        Ok(Network {
            collective: None,
            chains,
            chain_of,
            reads_rows_in_place: matches!(plan.layers.first(), Some(Layer::Dense { .. })),
            global_rows: (0, 0),
            fused: plan.fused(),
            variables: plan.variables(),
            accuracy: plan.accuracy_kind(),
            target_cols: plan.target_cols(),
            grads: alloc::zeroed(plan.param_count, "the gradients"),
            plan,
            params,
            stats,
            slots,
            step,
            rng: Rng::new(rng),
            metric_sums: [0.0; MAX_METRICS],
            ws: Workspace {
                capacity: 0,
                x: Floats::new(),
                y: Floats::new(),
                w: Floats::new(),
                weighted: false,
                outputs: vec![Floats::new(); layers],
                deltas: vec![Floats::new(); layers],
                logits: Floats::new(),
                masks: vec![Floats::new(); layers],
                draws: Floats::new(),
                batch_norm: (0..layers).map(|_| None).collect(),
                sources: vec![Source::Input; layers + 1],
            },
            order: Vec::new(),
            max_threads: usize::MAX,
            tuner: ThreadTuner::default(),
            batch_threads: None,
            value_bound: f64::INFINITY,
            backup: Vec::new(),
            stats_backup: Vec::new(),
        })
    }

    /// Checks a dataset's buffers against the plan.
    pub fn check_dataset(&self, data: &TrainingData) -> Result<(), String> {
        check_data(&self.plan, &data.x, &data.y, &data.w, data.rows)
    }

    /// One forward/backward/update on `rows` rows, in order (`w`: sample weights or empty).
    pub fn train_batch(&mut self, x: &[f32], y: &[f32], w: &[f32], rows: usize, lr: f64) -> (BatchLogs, Option<String>) {
        self.ensure_workspace(rows);
        self.tuned(rows, |net| {
            net.load(x, y, w, 0, rows);
            net.train_loaded(rows, lr, Inputs::Loaded)
        })
    }

    /// One pass over the data in batches, shuffled from the training stream when asked.
    /// `on_batch(batch, stats)` runs after each update and returns true to stop.
    pub fn train_epoch(&mut self, data: &TrainingData, batch_size: usize, shuffle: bool, lr: f64, on_batch: &mut dyn FnMut(usize, &BatchLogs) -> bool) -> EpochResult {
        let mut epoch = self.begin_epoch(data.rows, batch_size, shuffle, lr);
        while let Some((batch, stats)) = self.epoch_step(data, &mut epoch) {
            if on_batch(batch, &stats) {
                epoch.stop();
                break;
            }
        }
        self.finish_epoch(epoch)
    }

    /// Starts an epoch over `rows` rows, drawing the shuffle from the training stream now. The
    /// epoch then runs one batch per `epoch_step`, so a caller can run other code between
    /// batches (callbacks that read or change the network, as the JS engine allows).
    pub fn begin_epoch(&mut self, rows: usize, batch_size: usize, shuffle: bool, lr: f64) -> Epoch {
        let mut order = std::mem::take(&mut self.order);
        self.rng.shuffled_order(&mut order, rows, shuffle);
        Epoch { order, rows, batch_size: batch_size.max(1), lr, rates: Vec::new(), start: 0, batch: 0, finished: false, result: EpochResult::default() }
    }

    /// Trains the epoch's next batch of `data` (the `rows` rows the epoch began with). Returns
    /// the batch's index and statistics, or None once the epoch is over: every row trained,
    /// stopped, or a batch diverged (its update skipped; see `EpochResult::diverged`).
    pub fn epoch_step(&mut self, data: &TrainingData, epoch: &mut Epoch) -> Option<(usize, BatchLogs)> {
        if epoch.finished || epoch.start >= epoch.rows {
            epoch.finished = true;
            return None;
        }
        // Data-parallel, a batch is `batch_size` rows per process: this process trains its part.
        let (rank, size) = self.collective.as_ref().map_or((0, 1), |c| (c.rank(), c.size()));
        let global = (epoch.batch_size * size).min(epoch.rows - epoch.start);
        let mine = rank_rows(rank, epoch.batch_size, global);
        let rows = mine.len();
        self.ensure_workspace(rows.max(1));
        let order = &epoch.order[epoch.start + mine.start..epoch.start + mine.end];
        let batch = if self.reads_rows_in_place { Inputs::Gathered(&data.x, order) } else { Inputs::Loaded };
        let lr = epoch.rates.get(epoch.batch).copied().unwrap_or(epoch.lr);
        let (stats, diverged) = self.tuned(rows, |net| {
            net.gather(data, order, !net.reads_rows_in_place);
            net.global_rows = (mine.start, global);
            net.train_loaded(rows, lr, batch)
        });
        self.global_rows = (0, 0);
        if let Some(reason) = diverged {
            epoch.result.diverged = Some((epoch.batch, reason));
            epoch.finished = true;
            return None;
        }
        let result = &mut epoch.result;
        result.batches += 1;
        result.samples += global;
        result.loss += stats.loss * global as f64;
        for m in 0..MAX_METRICS {
            result.metrics[m] += stats.metrics[m] * global as f64;
        }
        epoch.start += global;
        epoch.batch += 1;
        Some((epoch.batch - 1, stats))
    }

    /// The epoch's result: sample-weighted means over the batches trained (NaN when none was).
    pub fn finish_epoch(&mut self, epoch: Epoch) -> EpochResult {
        self.order = epoch.order;
        let mut result = epoch.result;
        let n = result.samples as f64;
        if result.samples > 0 {
            result.loss /= n;
            result.metrics.iter_mut().for_each(|m| *m /= n);
        } else {
            result.loss = f64::NAN;
            result.metrics = [f64::NAN; MAX_METRICS];
        }
        result
    }

    /// Mean loss (with regularisation) and metrics in inference mode.
    pub fn evaluate(&mut self, data: &TrainingData, batch_size: usize) -> BatchLogs {
        let batch_size = batch_size.max(1);
        self.ensure_workspace(batch_size.min(data.rows).max(1));
        self.metric_sums = [0.0; MAX_METRICS];
        let mut loss_sum = 0.0;
        let mut start = 0;
        while start < data.rows {
            let rows = batch_size.min(data.rows - start);
            self.load(&data.x, &data.y, &data.w, start, rows);
            loss_sum += self.forward_loss(rows, false, 0.0);
            start += rows;
        }
        let n = data.rows.max(1) as f64;
        BatchLogs { loss: loss_sum / n + self.regularization_loss(), metrics: self.metric_sums.map(|s| s / n) }
    }

    /// Outputs (rows × output_size) in inference mode, written to `out`. The layers read the
    /// caller's rows in place, each batch checked finite first (on the pool when large): Err(i)
    /// when x[i] is not (`out` then holds the batches before it).
    pub fn predict(&mut self, x: &[f32], rows: usize, batch_size: usize, out: &mut [f32]) -> Result<(), usize> {
        let batch_size = batch_size.max(1);
        self.ensure_workspace(batch_size.min(rows).max(1));
        let (inputs, cols) = (self.plan.input_size, self.plan.output_size);
        let mut start = 0;
        while start < rows {
            let n = batch_size.min(rows - start);
            let batch = &x[start * inputs..(start + n) * inputs];
            if let Some(i) = vmath::first_non_finite(batch, self.threads_for(n)) {
                return Err(start * inputs + i);
            }
            self.forward(Inputs::Rows(batch), n, false, false, &mut self.rng.clone());
            let result = match self.ws.sources[self.plan.layers.len()] {
                Source::Input => batch,
                Source::Output(j) => &self.ws.outputs[j][..n * cols],
            };
            out[start * cols..(start + n) * cols].copy_from_slice(&result[..n * cols]);
            start += n;
        }
        Ok(())
    }

    /// Gradient of the mean loss over all rows as one batch in training mode, changing nothing:
    /// dropout draws from a copy of the stream and running statistics stay put.
    pub fn compute_gradients(&mut self, x: &[f32], y: &[f32], w: &[f32], rows: usize) -> (f64, Vec<f32>) {
        self.ensure_workspace(rows);
        self.load(x, y, w, 0, rows);
        let mut rng = self.rng.clone();
        let loss = self.loss_and_gradients(rows, &mut rng, Inputs::Loaded);
        (loss, self.grads.to_vec())
    }

    /// Copies rows [start, start + rows) of x, y and the weights (if any) into the workspace.
    fn load(&mut self, x: &[f32], y: &[f32], w: &[f32], start: usize, rows: usize) {
        let (inputs, tc) = (self.plan.input_size, self.target_cols);
        self.ws.x[..rows * inputs].copy_from_slice(&x[start * inputs..(start + rows) * inputs]);
        self.ws.y[..rows * tc].copy_from_slice(&y[start * tc..(start + rows) * tc]);
        self.ws.weighted = !w.is_empty();
        if self.ws.weighted {
            self.ws.w[..rows].copy_from_slice(&w[start..start + rows]);
        }
    }

    /// Copies the rows `rows` of the data's targets and weights into the workspace, in that
    /// order, and of its inputs `with_inputs` (see `Inputs::Gathered` for when they are read in
    /// place instead). The inputs are split across the pool when large: a serial copy of a
    /// shuffled batch was a twentieth of a 2-thread mnist batch.
    fn gather(&mut self, data: &TrainingData, rows: &[u32], with_inputs: bool) {
        let (inputs, tc) = (self.plan.input_size, self.target_cols);
        if with_inputs {
            let tasks = (rows.len() * inputs / GATHER_CHUNK).clamp(1, self.threads_for(rows.len()));
            let per_task = rows.len().div_ceil(tasks);
            pool::for_each_chunk_mut(&mut self.ws.x[..rows.len() * inputs], per_task * inputs, tasks, |t, x| {
                for (dst, &src) in x.chunks_exact_mut(inputs).zip(&rows[t * per_task..]) {
                    let src = src as usize;
                    dst.copy_from_slice(&data.x[src * inputs..(src + 1) * inputs]);
                }
            });
        }
        for (r, &src) in rows.iter().enumerate() {
            let src = src as usize;
            self.ws.y[r * tc..(r + 1) * tc].copy_from_slice(&data.y[src * tc..(src + 1) * tc]);
        }
        self.ws.weighted = !data.w.is_empty();
        if self.ws.weighted {
            for (r, &src) in rows.iter().enumerate() {
                self.ws.w[r] = data.w[src as usize];
            }
        }
    }

    /// Forward, backward and update on the loaded batch (its inputs where `batch` says); skips
    /// the update if anything diverged.
    fn train_loaded(&mut self, rows: usize, lr: f64, batch: Inputs) -> (BatchLogs, Option<String>) {
        let mut rng = std::mem::replace(&mut self.rng, Rng::new([0; 4]));
        let loss = if rows > 0 {
            self.loss_and_gradients(rows, &mut rng, batch)
        } else {
            // A process with no rows in the last batch still takes part in the sum.
            self.skip_dropout_draws(&mut rng);
            self.grads.fill(0.0);
            self.metric_sums = [0.0; MAX_METRICS];
            0.0
        };
        self.rng = rng;
        let (loss, metric_sums, rows) = match self.collective.clone() {
            Some(collective) => match self.sum_over_processes(&*collective, rows, loss) {
                Ok(summed) => summed,
                Err(message) => return (BatchLogs { loss: f64::NAN, metrics: [f64::NAN; MAX_METRICS] }, Some(format!("the all-reduce across processes failed: {message}"))),
            },
            None => (loss, self.metric_sums, rows),
        };
        let stats = BatchLogs { loss, metrics: metric_sums.map(|s| s / rows as f64) };
        if !loss.is_finite() {
            let shown = if loss.is_nan() { "NaN" } else if loss > 0.0 { "Infinity" } else { "-Infinity" };
            return (stats, Some(format!("the loss is {shown}")));
        }
        let opt = self.plan.optimizer.expect("training needs a compiled plan");
        let threads = self.threads_for(rows);
        let sum_squares = optimizers::clip(opt.clip(), &mut self.grads, &self.variables, threads);
        if !sum_squares.is_finite() {
            return (stats, Some("the gradient has NaN or infinite components".into()));
        }
        // Statistics first: they depend only on the batch, and if they overflow nothing moves.
        if !self.commit_batch_statistics() {
            return (stats, Some(OVERFLOW.into()));
        }
        let step = self.step + 1;
        let g = optimizers::clipped_max(opt.clip(), sum_squares);
        let mut bound = optimizers::bound_after_step(&opt, self.value_bound, g, lr, step);
        if !(bound < SAFE_BOUND) {
            // The running bound only grows; measure the state again before giving up on it.
            self.value_bound = self.state_bound();
            bound = optimizers::bound_after_step(&opt, self.value_bound, g, lr, step);
        }
        if bound < SAFE_BOUND {
            let top = optimizers::step(&opt, &mut self.params, &self.grads, &mut self.slots, &self.variables, step, lr, threads);
            debug_assert!(top <= bound, "the bound proved this update finite");
            self.value_bound = top;
        } else {
            // The update might overflow: keep what is needed to undo it, as the JS engine does.
            self.backup.clear();
            self.backup.extend_from_slice(&self.params);
            self.backup.extend_from_slice(&self.slots);
            let top = optimizers::step(&opt, &mut self.params, &self.grads, &mut self.slots, &self.variables, step, lr, threads);
            if !top.is_finite() {
                let (params, slots) = self.backup.split_at(self.params.len());
                self.params.copy_from_slice(params);
                self.slots.copy_from_slice(slots);
                self.stats.copy_from_slice(&self.stats_backup);
                return (stats, Some(OVERFLOW.into()));
            }
            self.value_bound = top;
        }
        self.step = step;
        (stats, None)
    }

    /// Moves BatchNormalization's running statistics toward the batch's. Returns false (and
    /// leaves them as they were) if any would overflow; keeps the old values in `stats_backup`
    /// for an update that has to be undone.
    fn commit_batch_statistics(&mut self) -> bool {
        if self.stats.is_empty() {
            return true;
        }
        self.stats_backup.clear();
        self.stats_backup.extend_from_slice(&self.stats);
        for (l, layer) in self.plan.layers.iter().enumerate() {
            if let Layer::BatchNorm { momentum, mean, variance, .. } = *layer {
                batch_norm::update_stats(&mut self.stats, mean, variance, momentum, self.ws.batch_norm[l].as_ref().unwrap());
            }
        }
        if self.stats.iter().all(|v| v.is_finite()) {
            return true;
        }
        self.stats.copy_from_slice(&self.stats_backup);
        false
    }

    /// max |value| over the parameters and optimizer slots, or ∞ when that bound proves nothing:
    /// a NaN, or a negative second-moment accumulator (its square root would be NaN).
    fn state_bound(&self) -> f64 {
        let second_moment = match self.plan.optimizer {
            Some(Optimizer::AdaGrad { .. } | Optimizer::RmsProp { .. }) => Some(0),
            Some(Optimizer::Adam { .. }) => Some(1),
            _ => None,
        };
        let n = self.params.len();
        if let Some(s) = second_moment {
            if self.slots[s * n..(s + 1) * n].iter().any(|&v| v < 0.0) {
                return f64::INFINITY;
            }
        }
        optimizers::max_abs_parallel(&self.params, self.max_threads).max(optimizers::max_abs_parallel(&self.slots, self.max_threads))
    }

    /// The trainable parameters (the plan's paramCount of them).
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The optimizer state: slot count × paramCount values.
    pub fn slots(&self) -> &[f32] {
        &self.slots
    }

    /// Overwrites the parameters with `values` (paramCount of them, or this panics).
    pub fn set_params(&mut self, values: &[f32]) {
        self.params.copy_from_slice(values);
        self.state_written();
    }

    /// Overwrites the optimizer state with `values` (slot count × paramCount, or this panics).
    pub fn set_slots(&mut self, values: &[f32]) {
        self.slots.copy_from_slice(values);
        self.state_written();
    }

    /// After `params` or `slots` change from outside an update, the running bound on them no
    /// longer holds: the next update measures them again.
    fn state_written(&mut self) {
        self.value_bound = f64::INFINITY;
    }

    /// The batch's mean gradient, loss and metric sums over every process's rows: each process's
    /// means weighted by its rows, summed, divided by all the rows. Every process gets the same
    /// numbers, so every process makes the same update. Returns (loss, metric sums, rows).
    fn sum_over_processes(&mut self, collective: &dyn Collective, rows: usize, loss: f64) -> Result<(f64, [f64; MAX_METRICS], usize), String> {
        let weight = rows as f32;
        self.grads.iter_mut().for_each(|g| *g *= weight);
        collective.sum_f32(&mut self.grads)?;
        let mut totals = [0.0f64; 2 + MAX_METRICS];
        totals[0] = rows as f64;
        totals[1] = loss * rows as f64;
        totals[2..].copy_from_slice(&self.metric_sums);
        collective.sum_f64(&mut totals)?;
        let all = totals[0];
        let scale = (1.0 / all) as f32;
        self.grads.iter_mut().for_each(|g| *g *= scale);
        let mut sums = [0.0; MAX_METRICS];
        sums.copy_from_slice(&totals[2..]);
        Ok((totals[1] / all, sums, all as usize))
    }

    /// What the dropout layers of a batch with no rows of this process's would draw: nothing of
    /// its own, but the other processes' rows, so that the stream stays in step.
    fn skip_dropout_draws(&self, rng: &mut Rng) {
        for layer in &self.plan.layers {
            if let Layer::Dropout { units, rate } = *layer {
                if rate > 0.0 {
                    rng.skip(self.global_rows.1 * units);
                }
            }
        }
    }

    /// Makes this process a part of a data-parallel run (or, with None, a run of its own).
    pub fn set_collective(&mut self, collective: Option<std::sync::Arc<dyn Collective>>) {
        self.collective = collective;
    }

    fn loss_and_gradients(&mut self, rows: usize, rng: &mut Rng, batch: Inputs) -> f64 {
        self.metric_sums = [0.0; MAX_METRICS];
        let loss_sum = self.forward_loss_with(batch, rows, true, 1.0 / rows as f64, rng);
        self.backward(batch, rows);
        self.add_regularization_gradients();
        loss_sum / rows as f64 + self.regularization_loss()
    }

    /// Inference-mode forward plus loss (no dropout, so no stream is needed).
    fn forward_loss(&mut self, rows: usize, training: bool, scale: f64) -> f64 {
        let mut rng = self.rng.clone();
        self.forward_loss_with(Inputs::Loaded, rows, training, scale, &mut rng)
    }

    /// Forward pass plus the loss: returns the summed per-sample loss, adds metric sums, and
    /// leaves in the last layer's delta the gradient of `scale` × that sum.
    fn forward_loss_with(&mut self, batch: Inputs, rows: usize, training: bool, scale: f64, rng: &mut Rng) -> f64 {
        let last = self.plan.layers.len() - 1;
        let cols = self.plan.output_size;
        self.forward(batch, rows, training, self.fused.is_some(), rng);
        let n = rows * cols;
        let tc = self.target_cols;
        let ws = &mut self.ws;
        let out_index = ws.sources[last + 1];
        let loss = self.plan.loss.expect("a loss needs a compiled plan");
        let sparse = loss == Loss::SparseCategoricalCrossEntropy;
        let y = &ws.y[..rows * tc];
        let weights = if ws.weighted { Some(&ws.w[..rows]) } else { None };
        let delta = &mut ws.deltas[last][..n];
        let total = match self.fused {
            Some(kind) => {
                // The fused output's probabilities land in the last layer's output buffer.
                let a = &mut ws.outputs[last][..n];
                losses::fused(kind, sparse, &ws.logits[..n], a, y, cols, delta, scale, weights)
            }
            None => {
                let a: &[f32] = match out_index {
                    Source::Input => &ws.x[..n],
                    Source::Output(j) => &ws.outputs[j][..n],
                };
                losses::unfused(loss, a, y, cols, delta, scale, weights)
            }
        };
        let a: &[f32] = match (self.fused, out_index) {
            (Some(_), _) => &ws.outputs[last][..n],
            (None, Source::Input) => &ws.x[..n],
            (None, Source::Output(j)) => &ws.outputs[j][..n],
        };
        losses::add_metric_sums(&self.plan.metrics, self.accuracy, a, y, cols, &mut self.metric_sums);
        total
    }

    /// Runs every layer on the batch `inputs`. With `keep_logits`, the last layer leaves its
    /// pre-activation values in `logits` and skips the activation (the fused loss applies it).
    fn forward(&mut self, batch: Inputs, rows: usize, training: bool, keep_logits: bool, rng: &mut Rng) {
        let threads = self.threads_for(rows);
        let layers = self.plan.layers.len();
        let ws = &mut self.ws;
        let mut source = Source::Input;
        let mut l = 0;
        while l < layers {
            ws.sources[l] = source;
            if let Some(chain) = self.chain_of[l].map(|c| &self.chains[c]).filter(|_| training) {
                chain_forward(chain, &self.plan.layers, &self.params, ws, source, rows, self.global_rows, rng, threads);
                for k in chain.layers.clone().skip(1) {
                    ws.sources[k] = Source::Output(k - 1);
                }
                source = Source::Output(chain.layers.end - 1);
                l = chain.layers.end;
                continue;
            }
            let layer = &self.plan.layers[l];
            let units = layer.units();
            let (before, rest) = ws.outputs.split_at_mut(l);
            let out = &mut rest[0][..rows * units];
            // Gathered inputs are read by the first layer, a Dense one, through `x` below.
            let input: &[f32] = match (source, batch) {
                (Source::Input, Inputs::Rows(x)) => x,
                (Source::Input, _) => &ws.x,
                (Source::Output(j), _) => &before[j],
            };
            let fuse_here = keep_logits && l == layers - 1;
            match *layer {
                Layer::Dense { inputs, units, activation, kernel, bias, .. } => {
                    let x = match (source, batch) {
                        (Source::Input, Inputs::Gathered(data, index)) => MatRef::gathered(data, index, inputs),
                        _ => MatRef::new(&input[..rows * inputs], rows, inputs),
                    };
                    let w = MatRef::new(&self.params[kernel..kernel + inputs * units], inputs, units);
                    let target = if fuse_here { &mut ws.logits[..rows * units] } else { &mut *out };
                    let bias = bias.map(|b| &self.params[b..b + units]);
                    let hook = |_: usize, _: usize, tile: Tile| tile.for_each_row(|_, seg| activations::forward(activation, seg, 1));
                    let elementwise = !fuse_here && !matches!(activation, Activation::Linear | Activation::Softmax);
                    let epilogue = match (bias, elementwise) {
                        (Some(b), true) => Epilogue::BiasThen(b, &hook),
                        (Some(b), false) => Epilogue::Bias(b),
                        (None, true) => Epilogue::Map(&hook),
                        (None, false) => Epilogue::None,
                    };
                    if !training && rows <= skinny::MAX_ROWS {
                        // Online inference: no packing of W, no pool (see skinny.rs).
                        skinny::dense(active_isa(), &input[..rows * inputs], rows, inputs, &self.params[kernel..kernel + inputs * units], units, bias, target);
                        if elementwise {
                            activations::forward(activation, target, units);
                        }
                    } else {
                        // Training keeps each layer's weights on the threads that update them
                        // (`Split`); inference updates none, and the cheapest split adds no
                        // partial products (the mnist network's predictions on two threads:
                        // 4–5% faster than split by depth, whose smaller blocks of 256 to 512
                        // inputs added one more partial).
                        let split = if training { Split::Depth } else { Split::Cheapest };
                        gemm_split(gemm_isa(active_isa()), threads, split, x, w, MatMut::new(target, rows, units), false, epilogue).expect("dense shapes are checked by the plan");
                    }
                    if !fuse_here && activation == Activation::Softmax {
                        activations::forward(activation, out, units);
                    }
                    source = Source::Output(l);
                }
                // In training these run in chains (above), but for Dropout at rate 0: the
                // identity, as in inference.
                Layer::Dropout { .. } => {}
                Layer::BatchNorm { gamma, beta, mean, variance, epsilon, .. } => {
                    let (g, b) = (&self.params[gamma..gamma + units], &self.params[beta..beta + units]);
                    let (m, v) = (&self.stats[mean..mean + units], &self.stats[variance..variance + units]);
                    batch_norm::inference_forward(&input[..rows * units], out, units, g, b, m, v, epsilon);
                    source = Source::Output(l);
                }
                Layer::Activation { activation, .. } => {
                    if fuse_here {
                        ws.logits[..rows * units].copy_from_slice(&input[..rows * units]);
                    } else {
                        out.copy_from_slice(&input[..rows * units]);
                        activations::forward(activation, out, units);
                    }
                    source = Source::Output(l);
                }
            }
            l += 1;
        }
        ws.sources[layers] = source;
    }

    /// Backpropagates the last layer's delta through every layer, filling `grads`.
    fn backward(&mut self, batch: Inputs, rows: usize) {
        let threads = self.threads_for(rows);
        let layers = &self.plan.layers;
        let last = layers.len() - 1;
        let ws = &mut self.ws;
        let mut next = layers.len();
        while next > 0 {
            let l = next - 1;
            next = l;
            if let Some(chain) = self.chain_of[l].map(|c| &self.chains[c]) {
                chain_backward(chain, layers, &self.params, ws, &mut self.grads, rows, threads);
                next = chain.layers.start;
                continue;
            }
            let units = layers[l].units();
            let (lower, upper) = ws.deltas.split_at_mut(l);
            let delta = &mut upper[0][..rows * units];
            let fused_here = l == last && self.fused.is_some();
            match layers[l] {
                Layer::Dense { inputs, units, activation, kernel, bias, .. } => {
                    let derivative = (!fused_here).then(|| (activation, &ws.outputs[l][..rows * units]));
                    delta_and_bias_gradient(derivative, delta, bias.map(|b| &mut self.grads[b..b + units]), units);
                    let x = match (ws.sources[l], batch) {
                        (Source::Input, Inputs::Gathered(data, index)) => MatRef::gathered(data, index, inputs),
                        (Source::Input, _) => MatRef::new(&ws.x[..rows * inputs], rows, inputs),
                        (Source::Output(j), _) => MatRef::new(&ws.outputs[j][..rows * inputs], rows, inputs),
                    };
                    let dz = MatRef::new(delta, rows, units);
                    gemm_split(gemm_isa(active_isa()), threads, Split::Rows, x.t(), dz, MatMut::new(&mut self.grads[kernel..kernel + inputs * units], inputs, units), false, Epilogue::None)
                        .expect("dense shapes are checked by the plan");
                    if l > 0 {
                        let dx = &mut lower[l - 1][..rows * inputs];
                        let w = MatRef::new(&self.params[kernel..kernel + inputs * units], inputs, units);
                        gemm_split(gemm_isa(active_isa()), threads, Split::Columns, dz, w.t(), MatMut::new(dx, rows, inputs), false, Epilogue::None).expect("dense shapes are checked by the plan");
                    }
                }
                // Outside chains: Dropout at rate 0, the identity. (BatchNorm is always in one.)
                Layer::Dropout { .. } => {
                    if l > 0 {
                        lower[l - 1][..rows * units].copy_from_slice(delta);
                    }
                }
                Layer::BatchNorm { .. } => unreachable!("chain::find puts every BatchNorm layer in a chain"),
                Layer::Activation { activation, .. } => {
                    if l > 0 {
                        let dx = &mut lower[l - 1][..rows * units];
                        dx.copy_from_slice(delta);
                        if !fused_here {
                            activations::backward(activation, &ws.outputs[l][..rows * units], dx, units);
                        }
                    }
                }
            }
        }
    }

    /// λ₁·Σ|w| + λ₂·Σw² over every regularised kernel.
    pub fn regularization_loss(&self) -> f64 {
        let mut total = 0.0;
        for layer in &self.plan.layers {
            if let Layer::Dense { inputs, units, kernel, l1, l2, .. } = *layer {
                if l1 == 0.0 && l2 == 0.0 {
                    continue;
                }
                for &w in &self.params[kernel..kernel + inputs * units] {
                    let w = w as f64;
                    total += l1 as f64 * w.abs() + l2 as f64 * w * w;
                }
            }
        }
        total
    }

    fn add_regularization_gradients(&mut self) {
        for layer in &self.plan.layers {
            if let Layer::Dense { inputs, units, kernel, l1, l2, .. } = *layer {
                if l1 == 0.0 && l2 == 0.0 {
                    continue;
                }
                let range = kernel..kernel + inputs * units;
                for (g, &w) in self.grads[range.clone()].iter_mut().zip(&self.params[range]) {
                    let sign = if w > 0.0 { 1.0 } else if w < 0.0 { -1.0 } else { 0.0 };
                    *g += l1 * sign + 2.0 * l2 * w;
                }
            }
        }
    }

    /// The threads a batch of `rows` rows uses: those chosen for the training batch under way,
    /// else the pool's threads capped by `max_threads`, or one when no dense layer's products
    /// reach the size at which a product goes to several threads (`gemm::PARALLEL_MIN_MACS`).
    /// Every pass of the batch, the update included, then stays on the threads that hold its
    /// data: a small network trained 18–30% slower on two threads than on one when its products
    /// ran on one thread and the rest on two, or everything on two. A count, never the
    /// `usize::MAX` of an uncapped `max_threads`, so that a pass cutting its work into one share
    /// per thread (`gemm::k_share`) gets shares (for usize::MAX threads it found none).
    fn threads_for(&self, rows: usize) -> usize {
        match self.batch_threads {
            Some(threads) => threads,
            None if self.largest_product(rows) >= PARALLEL_MIN_MACS => self.max_threads.min(pool::max_threads()).max(1),
            None => 1,
        }
    }

    /// The multiply-adds of the largest dense layer's product over `rows` rows.
    fn largest_product(&self, rows: usize) -> usize {
        let macs = |layer: &Layer| match *layer {
            Layer::Dense { inputs, units, .. } => rows.saturating_mul(inputs).saturating_mul(units),
            _ => 0,
        };
        self.plan.layers.iter().map(macs).max().unwrap_or(0)
    }

    /// Runs `train`, one training batch of `rows` rows, on the threads the tuner picks when its
    /// layers are mid-sized (see tuner.rs), and tells the tuner how long it took. From
    /// `SURE_MACS` a layer's products gain from all threads wherever the cores are.
    fn tuned<R>(&mut self, rows: usize, train: impl FnOnce(&mut Network) -> R) -> R {
        let threads = self.threads_for(rows);
        let timed = threads > 1 && self.largest_product(rows) < SURE_MACS;
        let many = timed.then(|| self.tuner.choose(rows));
        self.batch_threads = Some(if many == Some(false) { 1 } else { threads });
        let start = std::time::Instant::now();
        let result = train(self);
        if let Some(many) = many {
            self.tuner.record(rows, many, start.elapsed().as_secs_f64());
        }
        self.batch_threads = None;
        result
    }

    fn ensure_workspace(&mut self, rows: usize) {
        self.reserve_workspace(rows).unwrap_or_else(|message| panic!("{message}"));
    }

    /// Makes room for batches of `rows` rows, or says what could not be allocated (sizes come
    /// from the caller's batch and the plan's widths). The addon calls it before each operation,
    /// so a failure is an error and the network stays usable; capacity is set last, so a failed
    /// attempt leaves nothing half-built.
    pub fn reserve_workspace(&mut self, rows: usize) -> Result<(), String> {
        let rows = rows.max(1);
        if self.ws.capacity >= rows {
            return Ok(());
        }
        let plan = &self.plan;
        let ws = &mut self.ws;
        let what = "the batch workspace";
        let z = |count: usize| alloc::try_zeroed(count.saturating_mul(rows), what);
        ws.capacity = 0;
        ws.x = z(plan.input_size)?;
        ws.y = z(self.target_cols)?;
        ws.w = z(1)?;
        let mut draws = 0;
        for (l, layer) in plan.layers.iter().enumerate() {
            let units = layer.units();
            ws.outputs[l] = z(units)?;
            ws.deltas[l] = z(units)?;
            // The chain whose Dropout this layer is, if it is one.
            let dropping = self.chain_of[l].map(|c| &self.chains[c]).filter(|c| c.drop.is_some_and(|(d, _)| d == l));
            match dropping.map(Chain::reads_mask) {
                Some(true) => ws.masks[l] = z(units)?,
                Some(false) => draws = draws.max(units),
                None => {}
            }
            ws.batch_norm[l] = if matches!(layer, Layer::BatchNorm { .. }) { Some(Cache::new(units, rows)?) } else { None };
        }
        ws.draws = z(draws)?;
        ws.logits = if self.fused.is_some() { z(plan.output_size)? } else { Floats::new() };
        ws.capacity = rows;
        Ok(())
    }
}

/// The forward pass of a chain in training (chain.rs), from the layer input `source`.
/// Data-parallel, its Dropout skips the draws of the other processes' rows, before and after
/// this process's (`first` of `global`).
#[allow(clippy::too_many_arguments)]
fn chain_forward(chain: &Chain, layers: &[Layer], params: &[f32], ws: &mut Workspace, source: Source, rows: usize, (first, global): (usize, usize), rng: &mut Rng, threads: usize) {
    let start = chain.layers.start;
    let units = layers[start].units();
    let n = rows * units;
    let (before, rest) = ws.outputs.split_at_mut(start);
    let input: &[f32] = match source {
        Source::Input => &ws.x[..n],
        Source::Output(j) => &before[j][..n],
    };
    // The chain's value takes shape in the Activation's output when its backward pass reads it,
    // else in the last layer's; Dropout after a kept Activation output writes its own.
    let kept = chain.act.filter(|_| !chain.derivative_from_dropout);
    let at = kept.map_or(chain.layers.end - 1, |(a, _)| a) - start;
    let (value, after) = rest.split_at_mut(at + 1);
    let norm = chain.norm.map(|b| match layers[b] {
        Layer::BatchNorm { gamma, beta, epsilon, .. } => chain::Norm { gamma: &params[gamma..gamma + units], beta: &params[beta..beta + units], epsilon, cache: ws.batch_norm[b].as_mut().expect("the workspace has a cache per BatchNorm layer") },
        _ => unreachable!("chain::find marks BatchNorm layers"),
    });
    let drop = chain.drop.map(|(d, rate)| chain::Dropout { rate, mask: if chain.reads_mask() { &mut ws.masks[d][..n] } else { &mut ws.draws[..n] }, keep_mask: chain.reads_mask(), out: kept.map(|_| &mut after[d - start - at - 1][..n]) });
    if chain.drop.is_some() {
        rng.skip(first * units);
    }
    chain::forward(input, units, norm, chain.act.map(|(_, f)| f), &mut value[at][..n], drop, rng, threads);
    if chain.drop.is_some() {
        rng.skip(global.saturating_sub(first + rows) * units);
    }
}

/// A Dense layer's delta (rows × `units`) through its activation's `derivative` (the activation
/// and its output), when the loss has not already applied it, then its bias gradient `db`: each
/// column's sum in row order. On the caller's thread: split by columns across two threads (each
/// on the columns the input-gradient product wrote on it) it was no faster on two dies, with the
/// buffers on cache lines too (mnist 204–243k against 221–241k samples/s; see benchmarks.md).
fn delta_and_bias_gradient(derivative: Option<(Activation, &[f32])>, delta: &mut [f32], db: Option<&mut [f32]>, units: usize) {
    vectorized(#[inline(always)] || {
        if let Some((activation, outputs)) = derivative {
            activations::backward(activation, outputs, delta, units);
        }
        if let Some(db) = db {
            db.fill(0.0);
            // Column sums, each in row order: vectorised across columns.
            for row in delta.chunks_exact(units) {
                db.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
            }
        }
    });
}

/// The backward pass of a chain (chain.rs), from the delta of its last layer to the layer
/// before it, BatchNorm's parameter gradients into `grads`.
fn chain_backward(chain: &Chain, layers: &[Layer], params: &[f32], ws: &mut Workspace, grads: &mut [f32], rows: usize, threads: usize) {
    let (start, end) = (chain.layers.start, chain.layers.end);
    let units = layers[start].units();
    let n = rows * units;
    let input = match ws.sources[start] {
        Source::Input => &ws.x[..n],
        Source::Output(j) => &ws.outputs[j][..n],
    };
    let (lower, upper) = ws.deltas.split_at_mut(start);
    let dx = lower.last_mut().map(|d| &mut d[..n]);
    let (own, later) = upper.split_at_mut(1);
    let (dy, delta): (&[f32], _) = if end - start == 1 { (&own[0][..n], None) } else { (&later[end - start - 2][..n], Some(&mut own[0][..n])) };
    let norm = chain.norm.map(|b| match layers[b] {
        Layer::BatchNorm { gamma, beta, .. } => chain::NormBackward { gamma: &params[gamma..gamma + units], input, cache: ws.batch_norm[b].as_mut().expect("the workspace has a cache per BatchNorm layer"), delta, grads, gamma_at: gamma, beta_at: beta },
        _ => unreachable!("chain::find marks BatchNorm layers"),
    });
    let drop = chain.drop.map(|(d, rate)| if chain.reads_mask() { chain::DropoutBackward::Mask(&ws.masks[d][..n]) } else { chain::DropoutBackward::Scale(dropout::keep_scale(rate)) });
    let derivative_from = |a| if chain.derivative_from_dropout { end - 1 } else { a };
    let act = chain.act.map(|(a, f)| (f, &ws.outputs[derivative_from(a)][..n]));
    chain::backward(dy, units, drop, act, norm, dx, threads);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = x·w + b (2 → 1, linear), mean squared error, SGD with learning rate 0.1.
    fn linear() -> Network {
        let nan = f64::NAN;
        #[rustfmt::skip]
        let code = [
            2.0, 2.0, 1.0, 3.0, 0.0, 3.0, 0.0, 1.0,  // header: inputs, outputs, params, stats, MSE, no metrics, one layer
            0.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, nan, nan, nan, // SGD, no clipping
            0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, // dense, kernel at 0, bias at 2
        ];
        let plan = Plan::decode(&code).unwrap();
        Network::new(plan, vec![0.5, -0.25, 0.1], vec![], vec![], 0, [1, 2, 3, 4]).unwrap()
    }

    fn data(rows: usize) -> TrainingData {
        let x: Vec<f32> = (0..rows * 2).map(|i| (i as f32 * 0.37).sin()).collect();
        let y = (0..rows).map(|r| x[2 * r] - 2.0 * x[2 * r + 1] + 0.5).collect();
        TrainingData { x, y, rows, w: Vec::new() }
    }

    #[test]
    fn a_batch_runs_on_one_thread_unless_a_layer_reaches_a_parallel_product() {
        // 2 × 1 weights: 2 multiply-adds a row.
        let mut net = linear();
        assert_eq!(net.threads_for(PARALLEL_MIN_MACS / 2 - 1), 1);
        // All the pool's threads, as a count (the uncapped max_threads is usize::MAX).
        assert_eq!(net.threads_for(PARALLEL_MIN_MACS / 2), pool::max_threads());
        if pool::max_threads() > 1 {
            net.max_threads = 1;
            assert_eq!(net.threads_for(PARALLEL_MIN_MACS / 2), 1);
        }
    }

    /// A network whose largest product is mid-sized (2M multiply-adds) has its batches' threads
    /// tuned: while the tuner probes, batches alternate between one thread and all, and the
    /// training has the same bits as on one thread throughout.
    #[test]
    fn tuning_a_mid_sized_networks_threads_changes_no_bit() {
        let clip = crate::plan::Clip::NONE;
        let layers = vec![
            Layer::Dense { inputs: 256, units: 64, activation: Activation::Relu, kernel: 0, bias: Some(256 * 64), l1: 0.0, l2: 0.0 },
            Layer::Dense { inputs: 64, units: 10, activation: Activation::Softmax, kernel: 256 * 64 + 64, bias: Some(256 * 64 + 64 + 640), l1: 0.0, l2: 0.0 },
        ];
        let params = 256 * 64 + 64 + 640 + 10;
        let optimizer = Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay: 0.0, clip };
        let plan = Plan { input_size: 256, output_size: 10, param_count: params, stat_count: 0, loss: Some(Loss::SparseCategoricalCrossEntropy), metrics: Vec::new(), optimizer: Some(optimizer), layers };
        let mut rng = Rng::new([9, 8, 7, 6]);
        let p: Vec<f32> = (0..params).map(|_| (rng.next_f64() as f32 - 0.5) * 0.2).collect();
        let rows = 128 * 12 + 5;
        let data = TrainingData { x: (0..rows * 256).map(|_| rng.next_f64() as f32).collect(), y: (0..rows).map(|_| rng.next_below(10) as f32).collect(), rows, w: Vec::new() };
        let train = |max_threads: usize| {
            let mut net = Network::new(plan.clone(), p.clone(), vec![], vec![0.0; 2 * params], 0, [1, 2, 3, 4]).unwrap();
            net.max_threads = max_threads;
            let mut tuners = Vec::new();
            for _ in 0..2 {
                let mut epoch = net.begin_epoch(rows, 128, true, 1e-3);
                while net.epoch_step(&data, &mut epoch).is_some() {
                    tuners.push(net.tuner.clone());
                }
                net.finish_epoch(epoch);
            }
            (net.params, net.slots, tuners)
        };
        let (params_one, slots_one, _) = train(1);
        let (params_all, slots_all, tuners) = train(usize::MAX);
        assert!(params_one.iter().zip(&params_all).all(|(a, b)| a.to_bits() == b.to_bits()), "parameters");
        assert!(slots_one.iter().zip(&slots_all).all(|(a, b)| a.to_bits() == b.to_bits()), "optimizer state");
        if pool::max_threads() > 1 {
            // 12 full batches and a short one per epoch: the short one is not counted, and the
            // second epoch's batches go on counting.
            assert_eq!(tuners.len(), 26);
            assert_eq!(tuners[12].batches(), 12, "the short last batch is not counted");
            assert_eq!(tuners[25].batches(), 24);
        }
    }

    #[test]
    fn an_update_that_overflows_is_undone() {
        let mut net = linear();
        let before = (net.params.clone(), net.step);
        let (stats, diverged) = net.train_batch(&[1e19, 1e19], &[-1e19], &[], 1, 1e30);
        assert!(stats.loss.is_finite());
        assert_eq!(diverged.as_deref(), Some(OVERFLOW));
        assert_eq!((net.params.clone(), net.step), before);
        // A sane update afterwards is applied.
        let (_, diverged) = net.train_batch(&[1.0, 2.0], &[0.5], &[], 1, 0.1);
        assert_eq!(diverged, None);
        assert_eq!(net.step, 1);
        assert_ne!(net.params, before.0);
    }

    #[test]
    fn epochs_run_batch_by_batch_and_stop_after_the_batch_that_asks() {
        let d = data(10);
        let (mut a, mut b) = (linear(), linear());
        let whole = a.train_epoch(&d, 3, true, 0.1, &mut |_, _| false);
        let mut epoch = b.begin_epoch(d.rows, 3, true, 0.1);
        let mut batches = Vec::new();
        while let Some((batch, _)) = b.epoch_step(&d, &mut epoch) {
            batches.push(batch);
        }
        assert_eq!(batches, [0, 1, 2, 3]);
        assert_eq!(b.finish_epoch(epoch), whole);
        assert_eq!((a.params.clone(), a.rng.clone()), (b.params.clone(), b.rng.clone()));
        assert_eq!((whole.batches, whole.samples, whole.stopped), (4, 10, false));

        let stopped = a.train_epoch(&d, 3, false, 0.1, &mut |batch, _| batch == 1);
        assert_eq!((stopped.batches, stopped.samples, stopped.stopped), (2, 6, true));
        // Asking to stop after the last batch is not an early stop.
        let last = a.train_epoch(&d, 5, false, 0.1, &mut |batch, _| batch == 1);
        assert_eq!((last.batches, last.stopped), (2, false));
    }
}
