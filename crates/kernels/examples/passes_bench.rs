//! Times the elementwise passes of a training step around the GEMMs, one at a time on one
//! thread: Dropout's draws and mask, BatchNorm's sums, normalisation and gradients. Each runs on
//! a `rows × units` batch (default 256 × 512, the `bn` workload's layers), best of 50 calls.
//!
//! `cargo run --release --offline -p backprop-kernels --example passes_bench -- [rows] [units]`

use std::time::Instant;

use kernels::isa::vectorized;
use kernels::rng::Rng;
use kernels::{batch_norm, dropout};

fn best(name: &str, elements: usize, mut pass: impl FnMut()) {
    let mut best = f64::MAX;
    for _ in 0..50 {
        let t = Instant::now();
        pass();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{name:>24}: {:7.1} µs, {:.3} ns per element", best * 1e6, best * 1e9 / elements as f64);
}

/// `f` on the elements of each block of SUM_ROWS rows, as a chain takes BatchNorm's sums; inlined
/// with `f` into the caller's vector tier, as there.
#[inline(always)]
fn by_blocks(rows: usize, units: usize, mut f: impl FnMut(std::ops::Range<usize>)) {
    for first in (0..rows).step_by(batch_norm::SUM_ROWS) {
        f(first * units..(first + batch_norm::SUM_ROWS).min(rows) * units);
    }
}

fn main() {
    let arg = |i: usize, default: usize| std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (rows, units) = (arg(1, 256), arg(2, 512));
    let n = rows * units;
    let mut rng = Rng::new([1, 2, 3, 4]);
    let x: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32 - 0.3).collect();
    let g: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32 - 0.5).collect();
    let (mean, inv_std) = (vec![0.1f64; units], vec![1.3f64; units]);
    let (gamma, beta) = (vec![1.1f32; units], vec![0.1f32; units]);
    let (mut s, mut t) = (vec![0f64; units], vec![0f64; units]);
    let (mut a, mut b, mut mask) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    best("dropout draws", n, || dropout::draw(&mut mask, &mut rng));
    best("dropout apply", n, || vectorized(#[inline(always)] || dropout::apply(0.2, &x, &mut a, &mut mask)));
    best("BatchNorm sums", n, || vectorized(#[inline(always)] || by_blocks(rows, units, #[inline(always)] |r| batch_norm::sum_rows(&x[r], units, &mut s))));
    best("BatchNorm centred squares", n, || vectorized(#[inline(always)] || by_blocks(rows, units, #[inline(always)] |r| batch_norm::sum_centred_squares(&x[r], units, &mean, &mut s))));
    best("BatchNorm normalize", n, || vectorized(#[inline(always)] || batch_norm::normalize(&x, units, &mean, &inv_std, &gamma, &beta, &mut b)));
    best("BatchNorm dγ and dβ", n, || vectorized(#[inline(always)] || by_blocks(rows, units, #[inline(always)] |r| batch_norm::parameter_gradients(&g[r.clone()], &x[r], &mean, &inv_std, units, &mut s, &mut t))));
    best("BatchNorm dx", n, || vectorized(#[inline(always)] || batch_norm::input_gradient(&g, &x, &mean, &inv_std, units, rows, &mean, &s, &t, &mut a)));
}
