//! Batch normalisation (see lib/engine/js/batch-normalization.ts): training mode normalises by
//! the batch's mean and biased variance; running statistics move only once the batch's update is
//! known to be finite; inference uses the running statistics.
//!
//! The loops run across units (columns), each unit's sums in row order, so compiling them for the
//! active vector tier (`vectorized`) changes their speed, not their results: the baseline build
//! used two f64 lanes, AVX-512 uses eight.

use crate::isa::vectorized;

/// Per-layer values the backward pass needs from the forward pass, and scratch for its sums.
pub struct Cache {
    /// x̂ = (x − μ)/√(σ² + ε), rows × units.
    pub normalized: Vec<f32>,
    pub inv_std: Vec<f64>,
    pub mean: Vec<f64>,
    pub variance: Vec<f64>,
    pub d_gamma: Vec<f64>,
    pub d_beta: Vec<f64>,
    /// γ·σ⁻¹/N per unit, for the backward pass.
    pub scale: Vec<f64>,
}

impl Cache {
    /// The caches of a layer of `units` for batches of `rows`, or what could not be allocated.
    pub fn new(units: usize, rows: usize) -> Result<Cache, String> {
        Ok(Cache {
            normalized: crate::alloc::try_zeroed(units.checked_mul(rows).unwrap_or(usize::MAX), "the batch normalization workspace")?,
            inv_std: vec![0.0; units],
            mean: vec![0.0; units],
            variance: vec![0.0; units],
            d_gamma: vec![0.0; units],
            d_beta: vec![0.0; units],
            scale: vec![0.0; units],
        })
    }
}

// Training runs these inside a chain (chain.rs), which splits the elementwise passes across
// threads by rows. The sums over rows stay on one thread, each unit's in row order: split by
// units, each thread read rows in pieces that the other core had mostly written, and the pass
// took twice as long on two threads as on one.

/// Each unit's batch mean, biased variance and 1/√(σ² + ε) over all rows of `x`. Two passes:
/// the variance of centred values avoids cancellation.
#[inline(always)]
pub fn statistics(x: &[f32], units: usize, epsilon: f64, mean: &mut [f64], variance: &mut [f64], inv_std: &mut [f64]) {
    let rows = x.len() / units;
    mean.fill(0.0);
    variance.fill(0.0);
    for row in x.chunks_exact(units) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows as f64);
    for row in x.chunks_exact(units) {
        for ((s, &v), &m) in variance.iter_mut().zip(row).zip(mean.iter()) {
            let d = v as f64 - m;
            *s += d * d;
        }
    }
    for (s, inv) in variance.iter_mut().zip(inv_std.iter_mut()) {
        *s /= rows as f64;
        *inv = 1.0 / (*s + epsilon).sqrt();
    }
}

/// x̂ = (x − μ)/√(σ² + ε) into `normalized` and γx̂ + β into `out`, for whole rows.
#[inline(always)]
pub fn normalize(x: &[f32], units: usize, mean: &[f64], inv_std: &[f64], gamma: &[f32], beta: &[f32], normalized: &mut [f32], out: &mut [f32]) {
    for ((xr, nr), or) in x.chunks_exact(units).zip(normalized.chunks_exact_mut(units)).zip(out.chunks_exact_mut(units)) {
        for j in 0..units {
            let n = ((xr[j] as f64 - mean[j]) * inv_std[j]) as f32;
            nr[j] = n;
            or[j] = gamma[j] * n + beta[j];
        }
    }
}

/// running ← momentum · running + (1 − momentum) · batch, for the mean at `stats[mean..]` and
/// the variance at `stats[variance..]`.
pub fn update_stats(stats: &mut [f32], mean: usize, variance: usize, momentum: f64, cache: &Cache) {
    let m = momentum;
    for j in 0..cache.mean.len() {
        stats[mean + j] = (m * stats[mean + j] as f64 + (1.0 - m) * cache.mean[j]) as f32;
        stats[variance + j] = (m * stats[variance + j] as f64 + (1.0 - m) * cache.variance[j]) as f32;
    }
}

#[allow(clippy::too_many_arguments)]
pub fn inference_forward(x: &[f32], out: &mut [f32], units: usize, gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], epsilon: f64) {
    vectorized(#[inline(always)] || {
        for (xr, or) in x.chunks_exact(units).zip(out.chunks_exact_mut(units)) {
            for j in 0..units {
                let scale = gamma[j] as f64 / (var[j] as f64 + epsilon).sqrt();
                let shift = beta[j] as f64 - scale * mean[j] as f64;
                or[j] = (scale * xr[j] as f64 + shift) as f32;
            }
        }
    })
}

/// dγ = Σ g·x̂ and dβ = Σ g over all rows.
#[inline(always)]
pub fn parameter_gradients(g: &[f32], normalized: &[f32], units: usize, d_gamma: &mut [f64], d_beta: &mut [f64]) {
    d_gamma.fill(0.0);
    d_beta.fill(0.0);
    for (gr, nr) in g.chunks_exact(units).zip(normalized.chunks_exact(units)) {
        for ((dg, db), (&g, &n)) in d_gamma.iter_mut().zip(d_beta.iter_mut()).zip(gr.iter().zip(nr)) {
            *dg += g as f64 * n as f64;
            *db += g as f64;
        }
    }
}

/// dx = (γ/(N·σ)) (N·g − dβ − x̂·dγ) for whole rows, with `scale` = γσ⁻¹/N per unit (taken once
/// per unit: a division per element cost more than the rest of the backward pass).
#[inline(always)]
pub fn input_gradient(g: &[f32], normalized: &[f32], units: usize, rows: usize, scale: &[f64], d_gamma: &[f64], d_beta: &[f64], dx: &mut [f32]) {
    let n = rows as f64;
    for ((gr, nr), xr) in g.chunks_exact(units).zip(normalized.chunks_exact(units)).zip(dx.chunks_exact_mut(units)) {
        for j in 0..units {
            xr[j] = (scale[j] * (n * gr[j] as f64 - d_beta[j] - nr[j] as f64 * d_gamma[j])) as f32;
        }
    }
}
