//! The elementwise layers of a training step — BatchNormalization, then an Activation, then
//! Dropout, any of them absent — run as one chain. Its forward pass applies all of them to a
//! block of rows while the block is in L1 cache, and its backward pass likewise; both split the
//! batch across the pool's threads. Run layer by layer, the same work took a pass over the
//! batch per layer, each on one thread: BatchNorm + ReLU + Dropout cost a fifth of a
//! 256-512³-10 step, and kept its two threads from scaling.
//!
//! Every value comes from the same operations, in the same order, as the layers run alone: each
//! unit's sums (BatchNorm's statistics and parameter gradients) by fixed blocks of rows, the
//! blocks' sums added in block order (`sums_by_blocks`), each element on its own otherwise. So
//! the thread split changes no bit, and chaining no value (a dropped unit's zero gradient may
//! change sign: see `Chain::derivative_from_dropout`).
//!
//! Only what a later step reads is stored: BatchNorm's batch statistics, the Activation's output
//! (when its derivative needs more than a sign), Dropout's mask (unless a ReLU comes before it:
//! `Chain::reads_mask`) and the chain's output. BatchNorm's x̂ is not (the backward pass takes it
//! again from the chain's input, `batch_norm::normalized`), nor is its output (the layers after
//! it in the chain take it from the block in cache), nor the gradients between the layers.

use std::ops::Range;

use crate::activations;
use crate::batch_norm::{self, Cache};
use crate::dropout;
use crate::isa::vectorized;
use crate::plan::{Activation, Layer};
use crate::pool::{self, Parts};
use crate::rng::{self, Rng};

/// Elements per task below which a pass stays on the calling thread (waking another thread
/// costs more than it saves).
const TASK_MIN: usize = 1 << 14;

/// Elements in a block of rows: its x, x̂, activation output, mask and output fit in L1 together.
const BLOCK: usize = 1024;

/// A chain: the plan's layers `layers`, with the index of each kind it has.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub layers: Range<usize>,
    pub norm: Option<usize>,
    pub act: Option<(usize, Activation)>,
    /// The Dropout layer and its rate (above 0).
    pub drop: Option<(usize, f64)>,
    /// Where the Activation's derivative is read from in the backward pass: its own output, or,
    /// for one whose derivative depends only on the sign of its output (ReLU, leaky ReLU with
    /// α ≥ 0, linear) followed by Dropout, Dropout's output. That has the same sign wherever
    /// Dropout keeps the unit, and where it drops it the gradient is zero anyway (a zero whose
    /// sign may differ from the layer-by-layer result). The Activation's output is then not
    /// written at all: one batch-sized buffer less to store per step.
    pub derivative_from_dropout: bool,
}

impl Chain {
    /// Whether the backward pass reads Dropout's mask. Not when a ReLU reads its derivative from
    /// Dropout's output: that output is above 0 exactly where Dropout keeps the unit and ReLU
    /// passes it, so the gradient there is dy times the survivors' scale, and 0 elsewhere.
    pub fn reads_mask(&self) -> bool {
        self.drop.is_some() && !(self.derivative_from_dropout && matches!(self.act, Some((_, Activation::Relu))))
    }
}

/// The plan's chains, in layer order: maximal runs of a BatchNormalization, an Activation
/// layer and a Dropout layer with a rate above 0, in that order. Left out are softmax (which
/// needs whole rows) and the layer `fused_output`, whose activation the loss applies.
pub fn find(layers: &[Layer], fused_output: Option<usize>) -> Vec<Chain> {
    let mut chains = Vec::new();
    let mut l = 0;
    while l < layers.len() {
        let start = l;
        let mut chain = Chain { layers: l..l, norm: None, act: None, drop: None, derivative_from_dropout: false };
        if let Some(Layer::BatchNorm { .. }) = layers.get(l) {
            chain.norm = Some(l);
            l += 1;
        }
        if let Some(&Layer::Activation { activation, .. }) = layers.get(l) {
            if activation != Activation::Softmax && Some(l) != fused_output {
                chain.act = Some((l, activation));
                l += 1;
            }
        }
        if let Some(&Layer::Dropout { rate, .. }) = layers.get(l) {
            if rate > 0.0 {
                chain.drop = Some((l, rate));
                l += 1;
            }
        }
        if l == start {
            l += 1;
        } else {
            let sign_only = |a: Activation| match a {
                Activation::Relu | Activation::Linear => true,
                Activation::LeakyRelu(alpha) => alpha >= 0.0,
                _ => false,
            };
            chain.derivative_from_dropout = chain.drop.is_some() && chain.act.is_some_and(|(_, a)| sign_only(a));
            chain.layers = start..l;
            chains.push(chain);
        }
    }
    chains
}

/// BatchNormalization's parameters and cache, for the forward pass.
pub struct Norm<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub epsilon: f64,
    pub cache: &'a mut Cache,
}

/// Dropout's rate, mask, and output when it differs from the chain's `value` buffer.
pub struct Dropout<'a> {
    pub rate: f64,
    /// Holds the draws, then the mask when `keep_mask` (the backward pass reads it).
    pub mask: &'a mut [f32],
    pub keep_mask: bool,
    pub out: Option<&'a mut [f32]>,
}

/// The forward pass in training of a chain with `act` (if any) on `input` (rows × units).
/// `value` is the buffer the result takes shape in: the Activation's output if its backward pass
/// reads it (see `Chain::derivative_from_dropout`), else the last layer's output. Dropout draws
/// from `rng`.
#[allow(clippy::too_many_arguments)]
pub fn forward(input: &[f32], units: usize, norm: Option<Norm>, act: Option<Activation>, value: &mut [f32], drop: Option<Dropout>, rng: &mut Rng, threads: usize) {
    let rows = input.len() / units;
    let norm = norm.map(|n| {
        statistics(input, units, n.epsilon, n.cache, threads);
        (n.gamma, n.beta, &*n.cache.mean, &*n.cache.inv_std)
    });
    let drop = drop.map(|d| {
        draw(d.mask, rng, threads);
        (d.rate, Parts::new(d.mask), d.keep_mask, d.out.map(Parts::new))
    });
    let value = Parts::new(value);
    for_row_blocks(rows, units, threads, |r| {
        let span = r.start * units..r.end * units;
        // SAFETY (each `part`): tasks and blocks take disjoint row ranges.
        let v = unsafe { value.part(span.clone()) };
        vectorized(#[inline(always)] || {
            match &norm {
                Some((gamma, beta, mean, inv_std)) => batch_norm::normalize(&input[span.clone()], units, mean, inv_std, gamma, beta, v),
                None => v.copy_from_slice(&input[span.clone()]),
            }
            if let Some(act) = act {
                activations::forward(act, v, units);
            }
            if let Some((rate, mask, keep_mask, out)) = &drop {
                let mask = unsafe { mask.part(span.clone()) };
                match out {
                    Some(out) => dropout::apply(*rate, v, unsafe { out.part(span.clone()) }, mask),
                    None if *keep_mask => dropout::apply_in_place(*rate, v, mask),
                    None => dropout::apply_in_place_from_draws(*rate, v, mask),
                }
            }
        });
    });
}

/// BatchNormalization's parameters, cache, delta buffer and gradients, for the backward pass.
pub struct NormBackward<'a> {
    pub gamma: &'a [f32],
    /// BatchNorm's input in the forward pass, rows × units (x̂ is taken from it again).
    pub input: &'a [f32],
    pub cache: &'a mut Cache,
    /// Where the gradient at BatchNorm's output (the layer's delta) goes, rows × units; None when
    /// BatchNorm is the chain's only layer, whose `dy` it is.
    pub delta: Option<&'a mut [f32]>,
    /// dγ goes to `grads[gamma_at..]`, dβ to `grads[beta_at..]`.
    pub grads: &'a mut [f32],
    pub gamma_at: usize,
    pub beta_at: usize,
}

/// Dropout in the backward pass: its mask, or only the survivors' scale when the mask is not
/// read (see `Chain::reads_mask`; the chain's Activation is then ReLU, with Dropout's output).
#[derive(Clone, Copy)]
pub enum DropoutBackward<'a> {
    Mask(&'a [f32]),
    Scale(f32),
}

/// The backward pass of a chain from `dy`, the gradient at its output. `drop` is Dropout's,
/// `act` the Activation with its output; `dx`, the gradient at the chain's input, is None when
/// the chain starts the network (its parameter gradients are still taken).
pub fn backward(dy: &[f32], units: usize, drop: Option<DropoutBackward>, act: Option<(Activation, &[f32])>, norm: Option<NormBackward>, dx: Option<&mut [f32]>, threads: usize) {
    let through = drop.is_some() || act.is_some();
    match norm {
        None => {
            if let Some(dx) = dx {
                let out = Parts::new(&mut dx[..dy.len()]);
                for_row_blocks(dy.len() / units, units, threads, |r| {
                    let span = r.start * units..r.end * units;
                    // SAFETY: tasks and blocks take disjoint row ranges.
                    vectorized(#[inline(always)] || through_block(dy, drop, act, span.clone(), unsafe { out.part(span.clone()) }, units));
                });
            }
        }
        Some(NormBackward { gamma, input, cache, delta, grads, gamma_at, beta_at }) => {
            let g = match delta {
                Some(delta) if through => Gradient::Through { dy, drop, act, delta: &mut delta[..dy.len()] },
                _ => {
                    assert!(!through, "a chain with layers after BatchNorm needs BatchNorm's delta buffer");
                    Gradient::At(dy)
                }
            };
            norm_backward(g, input, units, gamma, cache, grads, (gamma_at, beta_at), dx, threads);
        }
    }
}

/// `out` = `dy[span]` through Dropout and the Activation's derivative (from its output).
#[inline(always)]
fn through_block(dy: &[f32], drop: Option<DropoutBackward>, act: Option<(Activation, &[f32])>, span: Range<usize>, out: &mut [f32], units: usize) {
    let dy = &dy[span.clone()];
    match (drop, act) {
        (Some(DropoutBackward::Scale(keep)), Some((Activation::Relu, a))) => dropout::backward_relu(dy, &a[span], keep, out),
        (Some(DropoutBackward::Scale(_)), _) => unreachable!("Dropout's mask is read unless a ReLU comes before it"),
        (drop, act) => {
            match drop {
                Some(DropoutBackward::Mask(mask)) => dropout::backward(dy, out, &mask[span.clone()]),
                _ => out.copy_from_slice(dy),
            }
            if let Some((act, a)) = act {
                activations::backward(act, &a[span], out, units);
            }
        }
    }
}

/// The gradient at BatchNorm's output: `dy` itself, or `dy` through the chain's later layers,
/// which the first pass over the batch writes to `delta` block by block, right before it sums
/// the block (one pass over the batch fewer, and the block still in cache for the sums).
enum Gradient<'a> {
    At(&'a [f32]),
    Through { dy: &'a [f32], drop: Option<DropoutBackward<'a>>, act: Option<(Activation, &'a [f32])>, delta: &'a mut [f32] },
}

/// BatchNorm's backward pass from `g`, the gradient at its output, and `x`, its input: dγ and dβ
/// into `grads` at `at` (γ's and β's offsets), and dx when wanted.
#[allow(clippy::too_many_arguments)]
fn norm_backward(g: Gradient, x: &[f32], units: usize, gamma: &[f32], cache: &mut Cache, grads: &mut [f32], at: (usize, usize), dx: Option<&mut [f32]>, threads: usize) {
    let Cache { mean, inv_std, d_gamma, d_beta, scale, block_sums, .. } = cache;
    let (mean, inv_std) = (&**mean, &**inv_std);
    let g: &[f32] = match g {
        Gradient::At(g) => {
            sums_by_blocks(g.len() / units, units, threads, block_sums, [d_gamma, d_beta], #[inline(always)] |r, [dg, db]| {
                batch_norm::parameter_gradients(&g[r.clone()], &x[r], mean, inv_std, units, dg, db)
            });
            g
        }
        Gradient::Through { dy, drop, act, delta } => {
            let parts = Parts::new(&mut *delta);
            sums_by_blocks(dy.len() / units, units, threads, block_sums, [d_gamma, d_beta], #[inline(always)] |r, [dg, db]| {
                // SAFETY: the blocks are disjoint row ranges.
                let g = unsafe { parts.part(r.clone()) };
                through_block(dy, drop, act, r.clone(), g, units);
                batch_norm::parameter_gradients(g, &x[r], mean, inv_std, units, dg, db)
            });
            delta
        }
    };
    let rows = g.len() / units;
    for j in 0..units {
        grads[at.0 + j] = d_gamma[j] as f32;
        grads[at.1 + j] = d_beta[j] as f32;
    }
    let Some(dx) = dx else { return };
    for (k, (&g, &inv)) in scale.iter_mut().zip(gamma.iter().zip(inv_std.iter())) {
        *k = g as f64 * inv / rows as f64;
    }
    let (scale, d_gamma, d_beta) = (&**scale, &**d_gamma, &**d_beta);
    let dx = Parts::new(&mut dx[..g.len()]);
    for_row_blocks(rows, units, threads, |r| {
        let span = r.start * units..r.end * units;
        // SAFETY: tasks and blocks take disjoint row ranges.
        let d = unsafe { dx.part(span.clone()) };
        vectorized(#[inline(always)] || batch_norm::input_gradient(&g[span.clone()], &x[span.clone()], mean, inv_std, units, rows, scale, d_gamma, d_beta, d));
    });
}

/// BatchNorm's batch statistics into `cache`: each unit's mean, then the mean of its centred
/// squares (two passes, which avoid cancellation), each summed by blocks of rows.
fn statistics(input: &[f32], units: usize, epsilon: f64, cache: &mut Cache, threads: usize) {
    let rows = input.len() / units;
    let Cache { mean, variance, inv_std, block_sums, .. } = cache;
    sums_by_blocks(rows, units, threads, block_sums, [mean], #[inline(always)] |r, [s]| batch_norm::sum_rows(&input[r], units, s));
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    let mean = &**mean;
    sums_by_blocks(rows, units, threads, block_sums, [variance], #[inline(always)] |r, [s]| batch_norm::sum_centred_squares(&input[r], units, mean, s));
    for (s, inv) in variance.iter_mut().zip(inv_std.iter_mut()) {
        *s /= rows as f64;
        *inv = 1.0 / (*s + epsilon).sqrt();
    }
}

/// K sums per unit over `rows` rows into `out`: `sum(elements, sums)` takes one block of
/// `SUM_ROWS` rows (the elements of those rows) into K × units sums, the blocks split across
/// tasks; the blocks' sums are then added in block order. The order of every addition depends
/// on the row count alone, never on the split.
fn sums_by_blocks<const K: usize>(
    rows: usize,
    units: usize,
    threads: usize,
    block_sums: &mut Vec<f64>,
    out: [&mut [f64]; K],
    sum: impl Fn(Range<usize>, [&mut [f64]; K]) + Sync,
) {
    let blocks = rows.div_ceil(batch_norm::SUM_ROWS);
    let stride = K * units;
    if block_sums.len() < blocks * stride {
        block_sums.resize(blocks * stride, 0.0);
    }
    let parts = Parts::new(&mut block_sums[..blocks * stride]);
    let tasks = tasks(rows * units, threads).min(blocks.max(1));
    let per_task = blocks.div_ceil(tasks);
    pool::parallel_for_max(tasks, threads, |t| {
        for b in (t * per_task).min(blocks)..((t + 1) * per_task).min(blocks) {
            // SAFETY: each block has its own `stride` sums, and tasks take disjoint blocks.
            let mine = unsafe { parts.part(b * stride..(b + 1) * stride) };
            let mut sums = mine.chunks_exact_mut(units);
            let sums = std::array::from_fn(|_| sums.next().expect("K parts"));
            let first = b * batch_norm::SUM_ROWS;
            let span = first * units..(first + batch_norm::SUM_ROWS).min(rows) * units;
            vectorized(#[inline(always)] || sum(span.clone(), sums));
        }
    });
    for (k, o) in out.into_iter().enumerate() {
        let block = |b: usize| &block_sums[b * stride + k * units..b * stride + (k + 1) * units];
        vectorized(#[inline(always)] || batch_norm::add_blocks((0..blocks).map(block), o));
    }
}

/// Fills `mask` with the stream's next draws, split across tasks at multiples of the stream's
/// fill group: each task jumps its own copy of the stream to its first draw, and the last
/// task's copy ends where drawing them all in order would.
fn draw(mask: &mut [f32], rng: &mut Rng, threads: usize) {
    let n = mask.len();
    let tasks = tasks(n, threads);
    if tasks == 1 {
        return dropout::draw(mask, rng);
    }
    let per = n.div_ceil(tasks).next_multiple_of(rng::GROUP);
    let mut streams = vec![rng.clone(); n.div_ceil(per)];
    let mask = Parts::new(mask);
    pool::for_each_chunk_mut(&mut streams, 1, threads, |t, stream| {
        let range = t * per..((t + 1) * per).min(n);
        stream[0].skip(range.start);
        // SAFETY: tasks take disjoint ranges.
        dropout::draw(unsafe { mask.part(range) }, &mut stream[0]);
    });
    *rng = streams.pop().expect("at least one task");
}

/// How many tasks `elements` of work are worth on up to `threads` threads.
fn tasks(elements: usize, threads: usize) -> usize {
    (elements / TASK_MIN).clamp(1, threads.min(pool::max_threads()).max(1))
}

/// Runs `f` on blocks of rows (each about `BLOCK` elements) covering 0..rows, the blocks split
/// across tasks in contiguous runs.
fn for_row_blocks(rows: usize, units: usize, threads: usize, f: impl Fn(Range<usize>) + Sync) {
    let per_block = (BLOCK / units).max(1);
    let tasks = tasks(rows * units, threads).min(rows.max(1));
    let per_task = rows.div_ceil(tasks);
    pool::parallel_for_max(tasks, threads, |t| {
        let mut r = (t * per_task).min(rows);
        let end = ((t + 1) * per_task).min(rows);
        while r < end {
            let next = (r + per_block).min(end);
            f(r..next);
            r = next;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backward pass reads Dropout's mask unless a ReLU reads its derivative from Dropout's
    /// output: other activations, or a ReLU with BatchNorm only, or Dropout alone, need it.
    #[test]
    fn only_relu_read_from_dropouts_output_goes_without_the_mask() {
        let drop = Layer::Dropout { units: 4, rate: 0.5 };
        let act = |activation| Layer::Activation { units: 4, activation };
        let reads = |layers: &[Layer]| find(layers, None).iter().map(Chain::reads_mask).collect::<Vec<_>>();
        assert_eq!(reads(&[act(Activation::Relu), drop.clone()]), [false]);
        assert_eq!(reads(&[act(Activation::LeakyRelu(0.1)), drop.clone()]), [true]);
        assert_eq!(reads(&[act(Activation::Linear), drop.clone()]), [true]);
        assert_eq!(reads(&[act(Activation::Tanh), drop.clone()]), [true]);
        assert_eq!(reads(std::slice::from_ref(&drop)), [true]);
        assert_eq!(reads(&[act(Activation::Relu)]), [false]);
        // A softmax is no chain's: the Dropout after it is a chain of its own, and reads its mask.
        assert_eq!(reads(&[act(Activation::Softmax), drop]), [true]);
    }

    /// BatchNorm's statistics and parameter gradients equal, bit for bit, each block of
    /// SUM_ROWS rows summed row by row and the blocks' sums added in order — on one thread and
    /// on two, for row counts around multiples of the block.
    #[test]
    fn sums_by_blocks_add_the_blocks_in_order_on_any_thread_count() {
        let mut rng = Rng::new([3, 1, 4, 1]);
        let units = 400;
        for rows in [1, 31, 32, 33, 100, 256] {
            let x: Vec<f32> = (0..rows * units).map(|_| (rng.next_f64() * 8.0 - 3.0) as f32).collect();
            let g: Vec<f32> = (0..rows * units).map(|_| (rng.next_f64() * 2.0 - 1.0) as f32).collect();
            // The reference: per unit, each block's sum row by row, then the blocks in order.
            let by_blocks = |term: &dyn Fn(usize, usize) -> f64, j: usize| {
                let block = |b: usize| (b * batch_norm::SUM_ROWS..((b + 1) * batch_norm::SUM_ROWS).min(rows)).fold(0.0, |s, r| s + term(r, j));
                (1..rows.div_ceil(batch_norm::SUM_ROWS)).fold(block(0), |s, b| s + block(b))
            };
            let mut results = Vec::new();
            for threads in [1, 2] {
                let mut cache = Cache::new(units, rows).unwrap();
                statistics(&x, units, 1e-3, &mut cache, threads);
                let mean = cache.mean.clone();
                for j in 0..units {
                    let m = by_blocks(&|r, j| x[r * units + j] as f64, j) / rows as f64;
                    let v = by_blocks(&|r, j| (x[r * units + j] as f64 - m) * (x[r * units + j] as f64 - m), j) / rows as f64;
                    assert_eq!((cache.mean[j], cache.variance[j]), (m, v), "{rows} rows, unit {j}, {threads} threads");
                    assert_eq!(cache.inv_std[j], 1.0 / (v + 1e-3).sqrt());
                }
                let (mut grads, gamma) = (vec![0.0; 2 * units], vec![1.0; units]);
                norm_backward(Gradient::At(&g), &x, units, &gamma, &mut cache, &mut grads, (0, units), None, threads);
                let x_hat = |r: usize, j: usize| batch_norm::normalized(x[r * units + j], mean[j], cache.inv_std[j]) as f64;
                for j in 0..units {
                    let dg = by_blocks(&|r, j| g[r * units + j] as f64 * x_hat(r, j), j);
                    let db = by_blocks(&|r, j| g[r * units + j] as f64, j);
                    assert_eq!((cache.d_gamma[j], cache.d_beta[j]), (dg, db), "{rows} rows, unit {j}, {threads} threads");
                    assert_eq!((grads[j], grads[units + j]), (dg as f32, db as f32));
                }
                results.push((mean, cache.d_gamma.clone()));
            }
            assert_eq!(results[0], results[1]);
        }
    }
}

