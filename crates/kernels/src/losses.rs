//! Losses and metrics (see lib/engine/js/losses.ts and metrics.ts for the definitions these
//! follow). Each returns the sum of per-sample losses over the rows, in f64, and writes the
//! gradient of `scale` × that sum.

use crate::plan::{AccuracyKind, Fused, Loss, Metric};

/// Probabilities are clipped to [ε, 1−ε] before a logarithm on the unfused path, as Keras does.
/// The bounds and the comparisons are f64, as in the JS engine: in f32, 1 − ε rounds to
/// 1 − 1.19e-7, which moves the clip (and the zero-gradient region) for saturated outputs.
const EPS: f64 = 1e-7;

// Every loss below computes in f64 from the f32 inputs and rounds once when storing, step for
// step as lib/engine/js/losses.ts does (JavaScript arithmetic is f64), so the two engines differ
// only by the libm's last bit. The outputs are rows × classes: small next to the GEMMs.

/// The weight of row `r`: 1 without sample weights.
#[inline]
fn weight(weights: Option<&[f32]>, r: usize) -> f64 {
    weights.map_or(1.0, |w| w[r] as f64)
}

/// Fused forms: read logits `z`, write probabilities to `a` and dL/dz to `grad`. Never takes
/// the log of a probability, so saturated outputs give finite losses. With `weights`, each
/// sample's loss (and its gradient) is multiplied by its weight.
#[allow(clippy::too_many_arguments)]
pub fn fused(kind: Fused, sparse: bool, z: &[f32], a: &mut [f32], y: &[f32], cols: usize, grad: &mut [f32], scale: f64, weights: Option<&[f32]>) -> f64 {
    let mut total = 0.0f64;
    let rows = z.len() / cols;
    match kind {
        Fused::SoftmaxCrossEntropy => {
            // Each row's exponentials, kept from the sum to the probabilities: computing them
            // twice took a third of the loss's time (an mnist batch of 128: 12.2 → 8.3 µs).
            let mut e = vec![0.0f64; cols];
            for r in 0..rows {
                let w = weight(weights, r);
                let scale = scale * w;
                let zr = &z[r * cols..(r + 1) * cols];
                let ar = &mut a[r * cols..(r + 1) * cols];
                let gr = &mut grad[r * cols..(r + 1) * cols];
                let mut max = f64::NEG_INFINITY;
                for &v in zr {
                    if v as f64 > max {
                        max = v as f64;
                    }
                }
                let mut sum = 0.0f64;
                for (e, &v) in e.iter_mut().zip(zr) {
                    *e = (v as f64 - max).exp();
                    sum += *e;
                }
                let lse = max + sum.ln();
                let inv = 1.0 / sum;
                for (p, &e) in ar.iter_mut().zip(&e) {
                    *p = (e * inv) as f32;
                }
                if sparse {
                    let label = y[r] as usize;
                    total += w * (lse - zr[label] as f64);
                    for (j, (g, &p)) in gr.iter_mut().zip(ar.iter()).enumerate() {
                        *g = ((p as f64 - if j == label { 1.0 } else { 0.0 }) * scale) as f32;
                    }
                } else {
                    let yr = &y[r * cols..(r + 1) * cols];
                    let (mut y_sum, mut row_loss) = (0.0f64, 0.0f64);
                    for (&t, &v) in yr.iter().zip(zr) {
                        y_sum += t as f64;
                        row_loss += t as f64 * (lse - v as f64);
                    }
                    total += w * row_loss;
                    // d/dz_j Σ_k y_k (lse − z_k) = p_j Σ_k y_k − y_j.
                    for ((g, &p), &t) in gr.iter_mut().zip(ar.iter()).zip(yr) {
                        *g = ((p as f64 * y_sum - t as f64) * scale) as f32;
                    }
                }
            }
        }
        Fused::SigmoidCrossEntropy => {
            for r in 0..rows {
                let w = weight(weights, r);
                let per_unit = scale * w / cols as f64;
                let mut row_loss = 0.0;
                for i in r * cols..(r + 1) * cols {
                    let (v, t) = (z[i] as f64, y[i] as f64);
                    row_loss += (v.max(0.0) - v * t + (-v.abs()).exp().ln_1p()) / cols as f64;
                    let p = 1.0 / (1.0 + (-v).exp());
                    a[i] = p as f32;
                    grad[i] = ((p - t) * per_unit) as f32;
                }
                total += w * row_loss;
            }
        }
    }
    total
}

/// Unfused losses on output activations `a`; writes dL/da to `grad` (per-sample losses and
/// gradients times the sample's weight, when given).
pub fn unfused(loss: Loss, a: &[f32], y: &[f32], cols: usize, grad: &mut [f32], scale: f64, weights: Option<&[f32]>) -> f64 {
    let (lo, hi) = (EPS, 1.0 - EPS);
    // The clip has zero slope outside [ε, 1−ε].
    let clip = |raw: f64| if raw < lo { (lo, false) } else if raw > hi { (hi, false) } else { (raw, true) };
    let mut total = 0.0f64;
    let k = cols as f64;
    for (r, (ar, gr)) in a.chunks_exact(cols).zip(grad.chunks_exact_mut(cols)).enumerate() {
        let w = weight(weights, r);
        let scale = scale * w;
        // Sparse targets hold one class index per row.
        let yr = if loss == Loss::SparseCategoricalCrossEntropy { &y[r..r + 1] } else { &y[r * cols..(r + 1) * cols] };
        let mut row_loss = 0.0f64;
        match loss {
            Loss::MeanSquaredError => {
                for ((g, &p), &t) in gr.iter_mut().zip(ar).zip(yr) {
                    let d = p as f64 - t as f64;
                    row_loss += d * d / k;
                    *g = ((2.0 * scale / k) * d) as f32;
                }
            }
            Loss::BinaryCrossEntropy => {
                for ((g, &raw), &t) in gr.iter_mut().zip(ar).zip(yr) {
                    let ((p, inside), t) = (clip(raw as f64), t as f64);
                    row_loss -= (t * p.ln() + (1.0 - t) * (1.0 - p).ln()) / k;
                    *g = if inside { ((scale / k) * ((p - t) / (p * (1.0 - p)))) as f32 } else { 0.0 };
                }
            }
            Loss::CategoricalCrossEntropy => {
                for ((g, &raw), &t) in gr.iter_mut().zip(ar).zip(yr) {
                    let ((p, inside), t) = (clip(raw as f64), t as f64);
                    row_loss -= t * p.ln();
                    *g = if inside { ((-scale * t) / p) as f32 } else { 0.0 };
                }
            }
            Loss::SparseCategoricalCrossEntropy => {
                let label = yr[0] as usize;
                gr.fill(0.0);
                let (p, inside) = clip(ar[label] as f64);
                row_loss -= p.ln();
                if inside {
                    gr[label] = (-scale / p) as f32;
                }
            }
        }
        total += w * row_loss;
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
            Metric::MeanAbsoluteError => a.iter().zip(y).map(|(&p, &t)| (p as f64 - t as f64).abs() / cols as f64).sum::<f64>(),
            Metric::MeanSquaredError => a.iter().zip(y).map(|(&p, &t)| (p as f64 - t as f64).powi(2) / cols as f64).sum::<f64>(),
        };
    }
}
