//! Times one-row and small-batch prediction of the executor without Node, for profiling:
//!   cargo run --release --offline -p backprop-kernels --example predict_bench -- 1
//! (the argument is the batch; BACKPROP_THREADS caps the threads).

use kernels::network::Network;
use kernels::plan::Plan;
use kernels::rng::Rng;
use std::time::Instant;

/// The mnist network 784-256-128-10 (ReLU, softmax output), uncompiled, as plan-code.ts writes it.
fn plan_code(sizes: &[usize]) -> (Vec<f64>, usize) {
    let layers = sizes.len() - 1;
    let mut code = vec![1.0, sizes[0] as f64, sizes[layers] as f64, 0.0, 0.0, -1.0, 0.0, layers as f64];
    code.extend([-1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, f64::NAN, f64::NAN]);
    let mut offset = 0;
    for l in 0..layers {
        let (i, u) = (sizes[l], sizes[l + 1]);
        let a = if l + 1 == layers { 5.0 } else { 3.0 };
        code.extend([0.0, i as f64, u as f64, a, 0.0, offset as f64, (offset + i * u) as f64, 0.0, 0.0, 0.0, 0.0]);
        offset += i * u + u;
    }
    code[3] = offset as f64;
    (code, offset)
}

fn main() {
    let rows: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let sizes = [784, 256, 128, 10];
    let (code, params) = plan_code(&sizes);
    let plan = Plan::decode(&code).expect("valid plan");
    let mut rng = Rng::new([1, 2, 3, 4]);
    let p: Vec<f32> = (0..params).map(|_| (rng.next_f64() as f32 - 0.5) * 0.1).collect();
    let mut net = Network::new(plan, p, Vec::new(), Vec::new(), 0, [5, 6, 7, 8]).unwrap();
    let x: Vec<f32> = (0..rows * sizes[0]).map(|_| rng.next_f64() as f32).collect();
    let mut out = vec![0.0; rows * 10];
    let iterations = (200_000 / rows).max(1000);
    for round in 0..3 {
        let t = Instant::now();
        for _ in 0..iterations {
            net.predict(&x, rows, rows, &mut out).expect("finite inputs");
        }
        let s = t.elapsed().as_secs_f64() / iterations as f64;
        if round > 0 {
            println!("batch {rows}: {:.2} µs per call, {:.0} rows/s", s * 1e6, rows as f64 / s);
        }
    }
}
