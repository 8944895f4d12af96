//! Times the Plan executor on the benchmark networks without Node, for profiling:
//!   cargo run --release --offline -p backprop-kernels --example train_bench -- mnist
//! (BACKPROP_THREADS caps the threads; the first epoch is a warm-up.)

use kernels::network::{Dataset, Network};
use kernels::plan::Plan;
use kernels::rng::Rng;
use std::time::Instant;

/// A Plan code for Dense layers with `act` hidden and softmax output, sparse cross-entropy and
/// Adam (or SGD), laid out as lib/engine/native/plan-code.ts writes it.
fn plan_code(sizes: &[usize], act: f64, adam: bool) -> (Vec<f64>, usize) {
    let layers = sizes.len() - 1;
    let mut code = vec![1.0, sizes[0] as f64, sizes[layers] as f64, 0.0, 0.0, 2.0, 0.0, layers as f64];
    code.extend(if adam { [3.0, 1e-3, 0.9, 0.999, 1e-7, 0.0, 0.0, f64::NAN, f64::NAN] } else { [0.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, f64::NAN, f64::NAN] });
    let mut offset = 0;
    for l in 0..layers {
        let (i, u) = (sizes[l], sizes[l + 1]);
        let a = if l + 1 == layers { 5.0 } else { act };
        code.extend([0.0, i as f64, u as f64, a, 0.0, offset as f64, (offset + i * u) as f64, 0.0, 0.0, 0.0, 0.0]);
        offset += i * u + u;
    }
    code[3] = offset as f64;
    (code, offset)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "mnist".into());
    let (sizes, act, adam, batch, rows): (Vec<usize>, f64, bool, usize, usize) = match which.as_str() {
        "small" => (vec![2, 16, 16, 2], 2.0, true, 32, 8192),
        "wide" => (vec![1024, 1024, 1024, 10], 3.0, false, 256, 8192),
        _ => (vec![784, 256, 128, 10], 3.0, true, 128, 16384),
    };
    let (code, params) = plan_code(&sizes, act, adam);
    let plan = Plan::decode(&code).expect("valid plan");
    let mut rng = Rng::new([1, 2, 3, 4]);
    let p: Vec<f32> = (0..params).map(|_| (rng.next_f64() as f32 - 0.5) * 0.1).collect();
    let slots = vec![0.0; plan.slot_count() * params];
    let mut net = Network::new(plan, p, Vec::new(), slots, 0, [5, 6, 7, 8]).unwrap();
    let data = Dataset {
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
