//! Times the Plan executor on the benchmark networks without Node, for profiling:
//!   cargo run --release --offline -p backprop-kernels --example train_bench -- mnist
//! (BACKPROP_THREADS caps the threads; the first epoch is a warm-up.)

use kernels::network::{TrainingData, Network};
use kernels::plan::{Activation, Clip, Layer, Loss, Optimizer, Plan};
use kernels::rng::Rng;
use std::time::Instant;

/// Dense layers with `act` hidden and softmax output, sparse cross-entropy and Adam (or SGD).
fn plan(sizes: &[usize], act: Activation, adam: bool) -> Plan {
    let mut layers = Vec::new();
    let mut offset = 0;
    for (l, w) in sizes.windows(2).enumerate() {
        let (inputs, units) = (w[0], w[1]);
        let activation = if l + 2 == sizes.len() { Activation::Softmax } else { act };
        layers.push(Layer::Dense { inputs, units, activation, kernel: offset, bias: Some(offset + inputs * units), l1: 0.0, l2: 0.0 });
        offset += inputs * units + units;
    }
    let clip = Clip { norm: None, value: None };
    let optimizer = if adam {
        Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay: 0.0, clip }
    } else {
        Optimizer::Sgd { lr: 0.01, momentum: 0.0, nesterov: false, clip }
    };
    let (input_size, output_size) = (sizes[0], sizes[sizes.len() - 1]);
    Plan { input_size, output_size, param_count: offset, stat_count: 0, loss: Some(Loss::SparseCategoricalCrossEntropy), metrics: Vec::new(), optimizer: Some(optimizer), layers }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "mnist".into());
    let (sizes, act, adam, batch, rows): (Vec<usize>, Activation, bool, usize, usize) = match which.as_str() {
        "small" => (vec![2, 16, 16, 2], Activation::Tanh, true, 32, 8192),
        "wide" => (vec![1024, 1024, 1024, 10], Activation::Relu, false, 256, 8192),
        _ => (vec![784, 256, 128, 10], Activation::Relu, true, 128, 16384),
    };
    // Checked as the addon checks a plan from TypeScript.
    let plan = Plan::decode(&plan(&sizes, act, adam).encode()).expect("valid plan");
    let params = plan.param_count;
    let mut rng = Rng::new([1, 2, 3, 4]);
    let p: Vec<f32> = (0..params).map(|_| (rng.next_f64() as f32 - 0.5) * 0.1).collect();
    let slots = vec![0.0; plan.slot_count() * params];
    let mut net = Network::new(plan, p, Vec::new(), slots, 0, [5, 6, 7, 8]).unwrap();
    let data = TrainingData {
        x: (0..rows * sizes[0]).map(|_| rng.next_f64() as f32).collect(),
        y: (0..rows).map(|_| rng.next_below(*sizes.last().unwrap()) as f32).collect(),
        rows,
        w: Vec::new(),
    };
    for epoch in 0..6 {
        let t = Instant::now();
        let r = net.train_epoch(&data, batch, true, if adam { 1e-3 } else { 0.01 }, &mut |_, _| false);
        let s = t.elapsed().as_secs_f64();
        if epoch > 0 {
            println!("{which}: {:.0} samples/s (loss {:.4})", rows as f64 / s, r.loss);
        }
    }
}
