//! Losses and metrics (see lib/engine/js/losses.ts and metrics.ts for the definitions these
//! follow). Each returns the sum of per-sample losses over the rows, in f64, and writes the
//! gradient of `scale` × that sum.

use crate::plan::{AccuracyKind, Fused, Loss, Metric};

/// Probabilities are clipped to [ε, 1−ε] before a logarithm on the unfused path, as Keras does.
const EPS: f32 = 1e-7;

/// Fused forms: read logits `z`, write probabilities to `a` and dL/dz to `grad`. Never takes
/// the log of a probability, so saturated outputs give finite losses.
#[allow(clippy::too_many_arguments)]
pub fn fused(kind: Fused, sparse: bool, z: &[f32], a: &mut [f32], y: &[f32], cols: usize, grad: &mut [f32], scale: f32) -> f64 {
    let mut total = 0.0f64;
    match kind {
        Fused::SoftmaxCrossEntropy => {
            let rows = z.len() / cols;
            for r in 0..rows {
                let zr = &z[r * cols..(r + 1) * cols];
                let ar = &mut a[r * cols..(r + 1) * cols];
                let gr = &mut grad[r * cols..(r + 1) * cols];
                let max = zr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0f64;
                for (p, &v) in ar.iter_mut().zip(zr) {
                    let e = (v - max).exp();
                    *p = e;
                    sum += e as f64;
                }
                let lse = max as f64 + sum.ln();
                let inv = (1.0 / sum) as f32;
                ar.iter_mut().for_each(|p| *p *= inv);
                if sparse {
                    let label = y[r] as usize;
                    total += lse - zr[label] as f64;
                    for (j, (g, &p)) in gr.iter_mut().zip(ar.iter()).enumerate() {
                        *g = (p - if j == label { 1.0 } else { 0.0 }) * scale;
                    }
                } else {
                    let yr = &y[r * cols..(r + 1) * cols];
                    let mut y_sum = 0.0f32;
                    for (&t, &v) in yr.iter().zip(zr) {
                        y_sum += t;
                        total += t as f64 * (lse - v as f64);
                    }
                    for ((g, &p), &t) in gr.iter_mut().zip(ar.iter()).zip(yr) {
                        *g = (p * y_sum - t) * scale;
                    }
                }
            }
        }
        Fused::SigmoidCrossEntropy => {
            let per_unit = scale / cols as f32;
            let inv_cols = 1.0 / cols as f64;
            for i in 0..z.len() {
                let v = z[i];
                let t = y[i];
                total += ((v.max(0.0) - v * t) as f64 + ((-v.abs()).exp() as f64).ln_1p()) * inv_cols;
                let p = 1.0 / (1.0 + (-v).exp());
                a[i] = p;
                grad[i] = (p - t) * per_unit;
            }
        }
    }
    total
}

/// Unfused losses on output activations `a`; writes dL/da to `grad`.
pub fn unfused(loss: Loss, a: &[f32], y: &[f32], cols: usize, grad: &mut [f32], scale: f32) -> f64 {
    let (lo, hi) = (EPS, 1.0 - EPS);
    let clip = |p: f32| p.clamp(lo, hi);
    let inside = |p: f32| (lo..=hi).contains(&p);
    let mut total = 0.0f64;
    let inv_cols = 1.0 / cols as f64;
    match loss {
        Loss::MeanSquaredError => {
            let g = 2.0 * scale / cols as f32;
            for i in 0..a.len() {
                let d = a[i] - y[i];
                total += (d as f64) * (d as f64) * inv_cols;
                grad[i] = g * d;
            }
        }
        Loss::BinaryCrossEntropy => {
            let g = scale / cols as f32;
            for i in 0..a.len() {
                let (p, t) = (clip(a[i]), y[i]);
                total -= (t as f64 * (p as f64).ln() + (1.0 - t as f64) * (1.0 - p as f64).ln()) * inv_cols;
                grad[i] = if inside(a[i]) { g * ((p - t) / (p * (1.0 - p))) } else { 0.0 };
            }
        }
        Loss::CategoricalCrossEntropy => {
            for i in 0..a.len() {
                let (p, t) = (clip(a[i]), y[i]);
                total -= t as f64 * (p as f64).ln();
                grad[i] = if inside(a[i]) { -scale * t / p } else { 0.0 };
            }
        }
        Loss::SparseCategoricalCrossEntropy => {
            for (r, (ar, gr)) in a.chunks_exact(cols).zip(grad.chunks_exact_mut(cols)).enumerate() {
                let label = y[r] as usize;
                gr.fill(0.0);
                let p = clip(ar[label]);
                total -= (p as f64).ln();
                if inside(ar[label]) {
                    gr[label] = -scale / p;
                }
            }
        }
    }
    total
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for j in 1..v.len() {
        if v[j] > v[best] {
            best = j;
        }
    }
    best
}

/// Adds each metric's sum of per-sample values over the rows to `sums`.
pub fn add_metric_sums(metrics: &[Metric], accuracy: AccuracyKind, a: &[f32], y: &[f32], cols: usize, sums: &mut [f64]) {
    let rows = a.len() / cols;
    for (m, sum) in metrics.iter().zip(sums.iter_mut()) {
        *sum += match m {
            Metric::Accuracy => match accuracy {
                AccuracyKind::Binary => a.iter().zip(y).filter(|(&p, &t)| (p > 0.5) == (t > 0.5)).count() as f64 / cols as f64,
                AccuracyKind::Sparse => (0..rows).filter(|&r| argmax(&a[r * cols..(r + 1) * cols]) == y[r] as usize).count() as f64,
                AccuracyKind::Categorical => {
                    (0..rows).filter(|&r| argmax(&a[r * cols..(r + 1) * cols]) == argmax(&y[r * cols..(r + 1) * cols])).count() as f64
                }
            },
            Metric::MeanAbsoluteError => a.iter().zip(y).map(|(&p, &t)| (p - t).abs() as f64).sum::<f64>() / cols as f64,
            Metric::MeanSquaredError => a.iter().zip(y).map(|(&p, &t)| ((p - t) as f64).powi(2)).sum::<f64>() / cols as f64,
        };
    }
}
