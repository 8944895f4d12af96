//! Times the Plan executor on the benchmark networks without Node, for profiling:
//!   cargo run --release --offline -p backprop-kernels --example train_bench -- mnist [peak GFLOP/s]
//! Workloads: small, mnist, wide, big (3072-1024-512-10, AdamW), bn (256-512³-10 with BatchNorm
//! and Dropout), bn-plain (the same without them) and infer (the mnist network's predictions in
//! batches of 1024, as the bench's inference row). Any other network is given as
//! `sizes/activation/optimizer/batch[/bn]`, e.g. `784-300-100-10/tanh/momentum/32`, with
//! optimizers sgd, momentum, nesterov, adagrad, rmsprop, adam and adamw, to measure shapes the
//! bench does not. BACKPROP_THREADS caps the threads; the first epoch is a warm-up. With the
//! one-core peak of the `peak` example, it prints the share. Several workloads separated by
//! commas (`bn-plain,bn`) train in one process, an epoch of each in turn, and the ratio of the
//! first's best epoch to each other's ends the output: a comparison that the machine's changes
//! of speed from minute to minute hit on both sides.

use kernels::network::{Network, TrainingData};
use kernels::plan::{Activation, Clip, Layer, Loss, Optimizer, Plan};
use kernels::rng::Rng;
use std::time::Instant;

struct Workload {
    sizes: Vec<usize>,
    act: Activation,
    optimizer: Optimizer,
    batch: usize,
    rows: usize,
    /// BatchNorm and Dropout (rate 0.1) after each hidden Dense.
    normalised: bool,
    /// Predictions only (forward passes), no training.
    infer: bool,
}

fn workload(name: &str) -> Workload {
    let clip = Clip::NONE;
    let adam = |weight_decay| Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay, clip };
    let sgd = Optimizer::Sgd { lr: 0.01, momentum: 0.0, nesterov: false, clip };
    let w = |sizes: &[usize], act, optimizer, batch, rows, normalised| Workload { sizes: sizes.to_vec(), act, optimizer, batch, rows, normalised, infer: false };
    match name {
        "small" => w(&[2, 16, 16, 2], Activation::Tanh, adam(0.0), 32, 8192, false),
        "wide" => w(&[1024, 1024, 1024, 10], Activation::Relu, sgd, 256, 8192, false),
        "big" => w(&[3072, 1024, 512, 10], Activation::Relu, adam(0.01), 256, 4096, false),
        "bn" => w(&[256, 512, 512, 512, 10], Activation::Relu, adam(0.0), 256, 16384, true),
        "bn-plain" => w(&[256, 512, 512, 512, 10], Activation::Relu, adam(0.0), 256, 16384, false),
        "infer" => Workload { infer: true, ..w(&[784, 256, 128, 10], Activation::Relu, adam(0.0), 1024, 16384, false) },
        "mnist" => w(&[784, 256, 128, 10], Activation::Relu, adam(0.0), 128, 16384, false),
        spec => custom(spec),
    }
}

/// A network given as `sizes/activation/optimizer/batch[/bn]`, with about 25 GFLOP per epoch.
fn custom(spec: &str) -> Workload {
    let usage = "expected a workload name or sizes/activation/optimizer/batch[/bn], e.g. 784-300-100-10/tanh/momentum/32";
    let parts: Vec<&str> = spec.split('/').collect();
    let [sizes, act, opt, batch, rest @ ..] = parts.as_slice() else { panic!("{usage}, got {spec:?}") };
    let sizes: Vec<usize> = sizes.split('-').map(|s| s.parse().unwrap_or_else(|_| panic!("{usage}: size {s:?}"))).collect();
    let act = match *act {
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "leaky" => Activation::LeakyRelu(0.01),
        "linear" => Activation::Linear,
        a => panic!("{usage}: activation {a:?}"),
    };
    let clip = Clip::NONE;
    let sgd = |momentum, nesterov| Optimizer::Sgd { lr: 0.01, momentum, nesterov, clip };
    let adam = |weight_decay| Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay, clip };
    let optimizer = match *opt {
        "sgd" => sgd(0.0, false),
        "momentum" => sgd(0.9, false),
        "nesterov" => sgd(0.9, true),
        "adagrad" => Optimizer::AdaGrad { lr: 0.01, initial_accumulator: 0.1, epsilon: 1e-7, clip },
        "rmsprop" => Optimizer::RmsProp { lr: 1e-3, rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false, clip },
        "adam" => adam(0.0),
        "adamw" => adam(0.004),
        o => panic!("{usage}: optimizer {o:?}"),
    };
    let batch: usize = batch.parse().unwrap_or_else(|_| panic!("{usage}: batch {batch:?}"));
    let macs: usize = sizes.windows(2).map(|w| w[0] * w[1]).sum();
    let rows = (25e9 / (6.0 * macs as f64)).clamp(batch as f64, 1e6) as usize / batch * batch;
    Workload { sizes, act, optimizer, batch, rows, normalised: rest == ["bn"], infer: false }
}

/// Dense layers with `act` hidden and softmax output, sparse cross-entropy.
fn plan(wl: &Workload) -> Plan {
    let mut layers = Vec::new();
    let mut offset = 0;
    let mut stats = 0;
    for (l, w) in wl.sizes.windows(2).enumerate() {
        let (inputs, units) = (w[0], w[1]);
        let last = l + 2 == wl.sizes.len();
        let activation = if last { Activation::Softmax } else if wl.normalised { Activation::Linear } else { wl.act };
        layers.push(Layer::Dense { inputs, units, activation, kernel: offset, bias: Some(offset + inputs * units), l1: 0.0, l2: 0.0 });
        offset += inputs * units + units;
        if wl.normalised && !last {
            layers.push(Layer::BatchNorm { units, momentum: 0.99, epsilon: 1e-3, gamma: offset, beta: offset + units, mean: stats, variance: stats + units });
            offset += 2 * units;
            stats += 2 * units;
            layers.push(Layer::Activation { units, activation: wl.act });
            layers.push(Layer::Dropout { units, rate: 0.1 });
        }
    }
    let (input_size, output_size) = (wl.sizes[0], wl.sizes[wl.sizes.len() - 1]);
    Plan { input_size, output_size, param_count: offset, stat_count: stats, loss: Some(Loss::SparseCategoricalCrossEntropy), metrics: Vec::new(), optimizer: Some(wl.optimizer), layers }
}

/// Flops of one training sample as bench/definitions.ts counts them: forward, dW, and dX for
/// every layer but the first (2 per multiply-add), and the update spread over the batch (2 per
/// parameter for SGD, 12 for Adam; the others counted the same way from their rules).
fn flops_per_sample(wl: &Workload, params: usize) -> f64 {
    let macs: Vec<f64> = wl.sizes.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
    let update = match wl.optimizer {
        Optimizer::Sgd { momentum, nesterov, .. } => if nesterov { 6.0 } else if momentum > 0.0 { 4.0 } else { 2.0 },
        Optimizer::AdaGrad { .. } => 7.0,
        Optimizer::RmsProp { .. } => 9.0,
        Optimizer::Adam { .. } => 12.0,
    };
    2.0 * (3.0 * macs.iter().sum::<f64>() - macs[0]) + update * params as f64 / wl.batch as f64
}

/// One workload's network and data, trained (or run) one epoch at a time.
struct Run {
    name: String,
    wl: Workload,
    net: Network,
    data: TrainingData,
    /// Flops of a training sample, or of a prediction for `infer`.
    flops: f64,
    out: Vec<f32>,
}

impl Run {
    fn new(name: &str) -> Run {
        let wl = workload(name);
        // Checked as the addon checks a plan from TypeScript.
        let plan = Plan::decode(&plan(&wl).encode()).expect("valid plan");
        let params = plan.param_count;
        let mut rng = Rng::new([1, 2, 3, 4]);
        let p: Vec<f32> = (0..params).map(|_| (rng.next_f64() as f32 - 0.5) * 0.1).collect();
        let stats: Vec<f32> = (0..plan.stat_count).map(|i| if (i / (plan.stat_count / 6).max(1)) % 2 == 0 { 0.0 } else { 1.0 }).collect();
        let slots = vec![0.0; plan.slot_count() * params];
        let net = Network::new(plan, p, stats, slots, 0, [5, 6, 7, 8]).unwrap();
        let data = TrainingData {
            x: (0..wl.rows * wl.sizes[0]).map(|_| rng.next_f64() as f32).collect(),
            y: (0..wl.rows).map(|_| rng.next_below(*wl.sizes.last().unwrap()) as f32).collect(),
            rows: wl.rows,
            w: Vec::new(),
        };
        let flops = if wl.infer { 2.0 * wl.sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>() } else { flops_per_sample(&wl, params) };
        let out = if wl.infer { vec![0.0; wl.rows * wl.sizes.last().unwrap()] } else { Vec::new() };
        Run { name: name.into(), wl, net, data, flops, out }
    }

    /// One epoch (all rows predicted, for `infer`); prints its speed unless it is the warm-up,
    /// and returns it in samples/s.
    fn epoch(&mut self, warm_up: bool, peak: Option<f64>) -> f64 {
        let (wl, name) = (&self.wl, &self.name);
        let t = Instant::now();
        let loss = if wl.infer {
            self.net.predict(&self.data.x, wl.rows, wl.batch, &mut self.out).expect("finite inputs");
            None
        } else {
            Some(self.net.train_epoch(&self.data, wl.batch, true, wl.optimizer.learning_rate(), &mut |_, _| false).loss)
        };
        let rate = wl.rows as f64 / t.elapsed().as_secs_f64();
        if !warm_up {
            let gflops = rate * self.flops / 1e9;
            let share = peak.map(|p| format!(", {:.0}% of peak", 100.0 * gflops / p)).unwrap_or_default();
            let loss = loss.map(|l| format!(" (loss {l:.4})")).unwrap_or_default();
            println!("{name}: {rate:.0} samples/s, {gflops:.1} GFLOP/s{share}{loss}");
        }
        rate
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "mnist".into());
    let peak: Option<f64> = std::env::args().nth(2).and_then(|p| p.parse().ok());
    let epochs = std::env::var("EPOCHS").ok().and_then(|e| e.parse().ok()).unwrap_or(6);
    let mut runs: Vec<Run> = which.split(',').map(Run::new).collect();
    let mut best = vec![0.0f64; runs.len()];
    for epoch in 0..epochs {
        for (run, best) in runs.iter_mut().zip(&mut best) {
            let rate = run.epoch(epoch == 0, peak);
            if epoch > 0 {
                *best = best.max(rate);
            }
        }
    }
    if let [first, others @ ..] = &best[..] {
        for (run, rate) in runs[1..].iter().zip(others) {
            println!("{} ÷ {}: {:.3} (best epochs, {} rounds alternating)", runs[0].name, run.name, first / rate, epochs - 1);
        }
    }
}
