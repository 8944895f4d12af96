//! Batch normalisation (see lib/engine/js/batch-normalization.ts): training mode normalises by
//! the batch's mean and biased variance; running statistics move only once the batch's update is
//! known to be finite; inference uses the running statistics.
//!
//! The loops run across units (columns), each unit's sums in row order within a block of rows
//! (`SUM_ROWS`), so compiling them for the active vector tier (`vectorized`) changes their speed,
//! not their results: the baseline build used two f64 lanes, AVX-512 uses eight.

use crate::isa::vectorized;

/// Per-layer values the backward pass needs from the forward pass, and scratch for its sums.
/// x̂ is not among them: the backward pass takes it again from the layer's input (`normalized`).
pub struct Cache {
    pub inv_std: Vec<f64>,
    pub mean: Vec<f64>,
    pub variance: Vec<f64>,
    pub d_gamma: Vec<f64>,
    pub d_beta: Vec<f64>,
    /// γ·σ⁻¹/N per unit, for the backward pass.
    pub scale: Vec<f64>,
    /// Each block's sums (see `SUM_ROWS`): up to two per unit, block after block.
    pub block_sums: Vec<f64>,
}

impl Cache {
    /// The caches of a layer of `units` for batches of `rows`, or what could not be allocated.
    pub fn new(units: usize, rows: usize) -> Result<Cache, String> {
        Ok(Cache {
            inv_std: vec![0.0; units],
            mean: vec![0.0; units],
            variance: vec![0.0; units],
            d_gamma: vec![0.0; units],
            d_beta: vec![0.0; units],
            scale: vec![0.0; units],
            block_sums: vec![0.0; rows.div_ceil(SUM_ROWS) * 2 * units],
        })
    }
}

// Training runs these inside a chain (chain.rs), which splits the elementwise passes across
// threads by rows. The sums over rows are taken per block of SUM_ROWS rows, each unit's in row
// order, and the blocks' sums then added in block order (`add_blocks`): the same operations for
// any thread count, with the blocks split across threads. (Split by units instead, each thread
// read rows in pieces that the other core had mostly written, and the pass took twice as long
// on two threads as on one.)

/// Rows per block of the sums over rows. Fixed, so the order of the additions depends on the
/// batch alone.
pub const SUM_ROWS: usize = 32;

/// Adds each row's terms to the per-unit sums, in row order: `add(rows, n)` gets the next `n`
/// rows (ROWS of them, or one, in the first slots) of each of the matrices `data` and adds their
/// terms to the sums, each sum taking the rows' terms one after another. Taking four rows per
/// pass over the sums reads and writes them a quarter as often, with the same additions in the
/// same order: loading and storing the sums once per row had bounded these passes.
#[inline(always)]
fn over_rows<'a, const K: usize>(data: [&'a [f32]; K], units: usize, mut add: impl FnMut([[&'a [f32]; ROWS]; K], usize)) {
    let rows = data[0].len() / units;
    let row = |m: &'a [f32], r: usize| &m[r * units..(r + 1) * units];
    let mut r = 0;
    while r + ROWS <= rows {
        add(data.map(|m| std::array::from_fn(|i| row(m, r + i))), ROWS);
        r += ROWS;
    }
    for r in r..rows {
        add(data.map(|m| [row(m, r); ROWS]), 1);
    }
}

const ROWS: usize = 4;

/// Each unit's sum over the rows of `x` (one block), into `sums`.
#[inline(always)]
pub fn sum_rows(x: &[f32], units: usize, sums: &mut [f64]) {
    sums.fill(0.0);
    over_rows([x], units, #[inline(always)] |[[a, b, c, d]], n| {
        if n == ROWS {
            for ((((s, &a), &b), &c), &d) in sums.iter_mut().zip(a).zip(b).zip(c).zip(d) {
                *s = (((*s + a as f64) + b as f64) + c as f64) + d as f64;
            }
        } else {
            sums.iter_mut().zip(a).for_each(|(s, &v)| *s += v as f64);
        }
    });
}

/// Each unit's sum of (x − mean)² over the rows of `x` (one block), into `sums`. The variance of
/// centred values, a second pass after the mean's, avoids cancellation.
#[inline(always)]
pub fn sum_centred_squares(x: &[f32], units: usize, mean: &[f64], sums: &mut [f64]) {
    sums.fill(0.0);
    let square = |v: f32, m: f64| (v as f64 - m) * (v as f64 - m);
    over_rows([x], units, #[inline(always)] |[[a, b, c, d]], n| {
        if n == ROWS {
            for (((((s, &a), &b), &c), &d), &m) in sums.iter_mut().zip(a).zip(b).zip(c).zip(d).zip(mean.iter()) {
                *s = (((*s + square(a, m)) + square(b, m)) + square(c, m)) + square(d, m);
            }
        } else {
            sums.iter_mut().zip(a).zip(mean.iter()).for_each(|((s, &v), &m)| *s += square(v, m));
        }
    });
}

/// `out[j]` = the blocks' sums `blocks[b][j]` added in block order (the first taken as it is).
#[inline(always)]
pub fn add_blocks<'a>(mut blocks: impl Iterator<Item = &'a [f64]>, out: &mut [f64]) {
    match blocks.next() {
        Some(first) => out.copy_from_slice(&first[..out.len()]),
        None => out.fill(0.0),
    }
    for block in blocks {
        out.iter_mut().zip(block).for_each(|(o, &b)| *o += b);
    }
}

/// x̂ = (x − μ)/√(σ² + ε) of one element, rounded to f32. The backward pass computes it again
/// from the layer's input, which the network keeps anyway, with the same bits: a batch-sized
/// buffer less per layer. Not faster: on bn (timers, one thread) the forward chains took 30–50
/// µs a batch less without writing x̂, and the backward ones 25–60 µs more computing it.
#[inline(always)]
pub fn normalized(x: f32, mean: f64, inv_std: f64) -> f32 {
    ((x as f64 - mean) * inv_std) as f32
}

/// γx̂ + β into `out`, for whole rows.
#[inline(always)]
pub fn normalize(x: &[f32], units: usize, mean: &[f64], inv_std: &[f64], gamma: &[f32], beta: &[f32], out: &mut [f32]) {
    // Cut to `units` once, so the loop indexes them without a bounds check per element.
    let (mean, inv_std, gamma, beta) = (&mean[..units], &inv_std[..units], &gamma[..units], &beta[..units]);
    for (xr, or) in x.chunks_exact(units).zip(out.chunks_exact_mut(units)) {
        for j in 0..units {
            or[j] = gamma[j] * normalized(xr[j], mean[j], inv_std[j]) + beta[j];
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

/// dγ = Σ g·x̂ and dβ = Σ g over the rows of `g` and of the layer's input `x` (one block; both
/// sums in one pass), x̂ taken from x with the batch's `mean` and `inv_std`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn parameter_gradients(g: &[f32], x: &[f32], mean: &[f64], inv_std: &[f64], units: usize, d_gamma: &mut [f64], d_beta: &mut [f64]) {
    d_gamma.fill(0.0);
    d_beta.fill(0.0);
    let (mean, inv_std) = (&mean[..units], &inv_std[..units]);
    over_rows([g, x], units, #[inline(always)] |[gs, xs], n| {
        let product = |g: f32, x: f32, j: usize| g as f64 * normalized(x, mean[j], inv_std[j]) as f64;
        // Every slice cut to `units`, so the loops index them without bounds checks.
        let (dg, db) = (&mut d_gamma[..units], &mut d_beta[..units]);
        let (g0, x0) = (&gs[0][..units], &xs[0][..units]);
        if n == ROWS {
            let [_, g1, g2, g3] = gs.map(|r| &r[..units]);
            let [_, x1, x2, x3] = xs.map(|r| &r[..units]);
            for j in 0..units {
                dg[j] = (((dg[j] + product(g0[j], x0[j], j)) + product(g1[j], x1[j], j)) + product(g2[j], x2[j], j)) + product(g3[j], x3[j], j);
                db[j] = (((db[j] + g0[j] as f64) + g1[j] as f64) + g2[j] as f64) + g3[j] as f64;
            }
        } else {
            for j in 0..units {
                dg[j] += product(g0[j], x0[j], j);
                db[j] += g0[j] as f64;
            }
        }
    });
}

/// dx = (γ/(N·σ)) (N·g − dβ − x̂·dγ) for whole rows of `g` and of the layer's input `x`, with
/// `scale` = γσ⁻¹/N per unit (taken once per unit: a division per element cost more than the
/// rest of the backward pass).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn input_gradient(g: &[f32], x: &[f32], mean: &[f64], inv_std: &[f64], units: usize, rows: usize, scale: &[f64], d_gamma: &[f64], d_beta: &[f64], dx: &mut [f32]) {
    let n = rows as f64;
    let (mean, inv_std, scale, d_gamma, d_beta) = (&mean[..units], &inv_std[..units], &scale[..units], &d_gamma[..units], &d_beta[..units]);
    for ((gr, xr), dr) in g.chunks_exact(units).zip(x.chunks_exact(units)).zip(dx.chunks_exact_mut(units)) {
        for j in 0..units {
            let x_hat = normalized(xr[j], mean[j], inv_std[j]) as f64;
            dr[j] = (scale[j] * (n * gr[j] as f64 - d_beta[j] - x_hat * d_gamma[j])) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The sums over rows taken four rows at a time give exactly the bits of the plain loop that
    /// adds one row after another, for row counts around multiples of four.
    #[test]
    fn sums_over_rows_equal_one_row_at_a_time() {
        let mut rng = Rng::new([2, 7, 1, 8]);
        for (rows, units) in [(1, 3), (3, 5), (4, 16), (7, 17), (9, 33), (64, 40)] {
            let x: Vec<f32> = (0..rows * units).map(|_| (rng.next_f64() * 8.0 - 3.0) as f32).collect();
            let g: Vec<f32> = (0..rows * units).map(|_| (rng.next_f64() * 2.0 - 1.0) as f32).collect();
            let mean: Vec<f64> = (0..units).map(|j| j as f64 * 0.25 - 1.0).collect();
            let (mut sums, mut squares) = (vec![0.0; units], vec![0.0; units]);
            sum_rows(&x, units, &mut sums);
            sum_centred_squares(&x, units, &mean, &mut squares);
            let (mut d_gamma, mut d_beta) = (vec![0.0; units], vec![0.0; units]);
            let inv_std: Vec<f64> = (0..units).map(|j| 0.5 + j as f64 * 0.125).collect();
            parameter_gradients(&g, &x, &mean, &inv_std, units, &mut d_gamma, &mut d_beta);
            for j in 0..units {
                fn column(m: &[f32], rows: usize, units: usize, j: usize) -> impl Iterator<Item = f32> + '_ {
                    (0..rows).map(move |r| m[r * units + j])
                }
                let column = |m| column(m, rows, units, j);
                let s = column(&x).fold(0.0, |s, v| s + v as f64);
                let q = column(&x).fold(0.0, |s, v| s + (v as f64 - mean[j]) * (v as f64 - mean[j]));
                assert_eq!((sums[j], squares[j]), (s, q), "{rows}×{units}, unit {j}");
                let dg = column(&g).zip(column(&x)).fold(0.0, |s, (g, x)| s + g as f64 * normalized(x, mean[j], inv_std[j]) as f64);
                let db = column(&g).fold(0.0, |s, g| s + g as f64);
                assert_eq!((d_gamma[j], d_beta[j]), (dg, db), "{rows}×{units}, unit {j}");
            }
        }
    }
}
