//! Dense layers on a few rows at a time (online inference): `out = x·W + b` for up to
//! `MAX_ROWS` rows, reading the weights `W` (inputs × units, row-major) where they lie.
//!
//! The packed GEMM (`gemm`) copies W into panels on every call and computes tiles 12 or 24 rows
//! tall: for one row of the 784-256-128-10 network that packing and the unused tile rows were
//! ~54 µs of a ~56 µs prediction, while the arithmetic is 0.23 M multiply-adds. Here each row
//! of W is streamed once per group of rows and every loaded vector of it feeds an FMA per row
//! of the group, so a one-row product costs about one pass over W (from L2 for this network).
//! It runs on the calling thread: waking the pool would cost more than the work.
//!
//! Each output is summed over k in order (FMA on the SIMD tiers), then the bias is added, as
//! the GEMM does within one k block; results agree with it to float rounding, not bit for bit.

use crate::isa::Isa;

/// Batches up to this many rows take this path in inference. Measured with
/// `examples/predict_bench.rs` on the mnist network, one thread, AVX-512: 1 row 8.7 µs (packed
/// GEMM 54 µs), 8 rows 27 µs (55), 16 rows 46 µs (83). It stays ahead on one thread up to ~32
/// rows, but larger batches can use the pool's second core through the GEMM.
pub const MAX_ROWS: usize = 16;

/// `out[r][j] = Σ_p x[r][p]·w[p][j] + bias[j]` for `rows` rows of `inputs` values (x row-major,
/// row stride `inputs`), `w` inputs × units row-major, `out` row stride `units`.
///
/// # Panics
/// If a slice is shorter than its shape (or the bias not `units` long): callers pass shapes
/// the Plan has checked.
pub fn dense(isa: Isa, x: &[f32], rows: usize, inputs: usize, w: &[f32], units: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    let need = |r: usize, c: usize| r.checked_mul(c).expect("skinny::dense: shape overflows");
    assert!(x.len() >= need(rows, inputs), "skinny::dense: x is shorter than rows × inputs");
    assert!(w.len() >= need(inputs, units), "skinny::dense: w is shorter than inputs × units");
    assert!(out.len() >= need(rows, units), "skinny::dense: out is shorter than rows × units");
    if let Some(b) = bias {
        assert_eq!(b.len(), units, "skinny::dense: the bias must have one value per unit");
    }
    if rows == 0 || units == 0 {
        return;
    }
    let bias_ptr = bias.map_or(std::ptr::null(), <[f32]>::as_ptr);
    let args = Args { x: x.as_ptr(), k: inputs, w: w.as_ptr(), n: units, bias: bias_ptr, out: out.as_mut_ptr() };
    match isa.capped() {
        // SAFETY: the tier is supported (capped) and `args` addresses the checked slices.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { by_row_groups(rows, 6, &args, x86::avx512_rows) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { by_row_groups(rows, 3, &args, x86::avx2_rows) },
        _ => scalar(x, rows, inputs, w, units, bias, out),
    }
}

/// Raw pointers of one call: `x` and `out` at the first row of the current group.
#[derive(Clone, Copy)]
struct Args {
    x: *const f32,
    k: usize,
    w: *const f32,
    n: usize,
    /// `n` floats, or null for no bias.
    bias: *const f32,
    out: *mut f32,
}

/// Runs `group(rows_in_group, args)` over consecutive groups of at most `max` rows.
///
/// # Safety
/// `args` addresses `rows` rows of x and out, and `group` is safe to call on this CPU.
unsafe fn by_row_groups(rows: usize, max: usize, args: &Args, group: unsafe fn(usize, &Args)) {
    let mut r = 0;
    while r < rows {
        let take = (rows - r).min(max);
        // SAFETY: rows r .. r + take lie inside what the caller checked.
        let at = unsafe { Args { x: args.x.add(r * args.k), out: args.out.add(r * args.n), ..*args } };
        unsafe { group(take, &at) };
        r += take;
    }
}

fn scalar(x: &[f32], rows: usize, k: usize, w: &[f32], n: usize, bias: Option<&[f32]>, out: &mut [f32]) {
    for r in 0..rows {
        let acc = &mut out[r * n..(r + 1) * n];
        acc.fill(0.0);
        for (p, &xv) in x[r * k..(r + 1) * k].iter().enumerate() {
            acc.iter_mut().zip(&w[p * n..(p + 1) * n]).for_each(|(a, &wv)| *a += xv * wv);
        }
        if let Some(b) = bias {
            acc.iter_mut().zip(b).for_each(|(a, &bv)| *a += bv);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Args;
    use std::arch::x86_64::*;

    /// Groups of `rows` ≤ 6 rows. Column blocks are as wide as the 32 zmm registers allow:
    /// R·V accumulators plus the broadcast, with W's vectors feeding the FMAs from memory
    /// (V = 16 for one row, 8 for up to three, 4 for up to six).
    pub(super) unsafe fn avx512_rows(rows: usize, a: &Args) {
        // SAFETY: forwarded contract (AVX-512F is supported: the caller dispatched on it).
        unsafe {
            match rows {
                6 => avx512::<6>(a),
                5 => avx512::<5>(a),
                4 => avx512::<4>(a),
                3 => avx512::<3>(a),
                2 => avx512::<2>(a),
                _ => avx512::<1>(a),
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<const R: usize>(a: &Args) {
        // SAFETY: forwarded contract. The widest blocks first: a block as wide as a whole row
        // of W reads W sequentially, which the prefetcher streams fastest.
        unsafe {
            let mut j = 0;
            if R <= 1 {
                j = avx512_blocks::<R, 16>(a, j);
            }
            if R <= 3 {
                j = avx512_blocks::<R, 8>(a, j);
            }
            j = avx512_blocks::<R, 4>(a, j);
            avx512_edge::<R>(a, j);
        }
    }

    /// Blocks of `V` vectors (16·V columns) from column `j` while whole ones fit; returns the
    /// first column left.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn avx512_blocks<const R: usize, const V: usize>(a: &Args, mut j: usize) -> usize {
        let Args { x, k, w, n, bias, out } = *a;
        // SAFETY (whole body): x holds R rows of k floats, out R rows of n, w k rows of n, bias
        // n floats or null; every access below stays within those.
        unsafe {
            while j + 16 * V <= n {
                let mut acc = [[_mm512_setzero_ps(); V]; R];
                for p in 0..k {
                    let wp = w.add(p * n + j);
                    let wv: [__m512; V] = std::array::from_fn(|v| _mm512_loadu_ps(wp.add(16 * v)));
                    for (r, row) in acc.iter_mut().enumerate() {
                        let xv = _mm512_set1_ps(*x.add(r * k + p));
                        for v in 0..V {
                            row[v] = _mm512_fmadd_ps(xv, wv[v], row[v]);
                        }
                    }
                }
                for (r, row) in acc.iter().enumerate() {
                    for (v, &s) in row.iter().enumerate() {
                        let col = j + 16 * v;
                        let s = if bias.is_null() { s } else { _mm512_add_ps(s, _mm512_loadu_ps(bias.add(col))) };
                        _mm512_storeu_ps(out.add(r * n + col), s);
                    }
                }
                j += 16 * V;
            }
        }
        j
    }

    /// The columns from `j` on, 16 at a time, the last vector masked so that any width works
    /// without touching memory past a row.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn avx512_edge<const R: usize>(a: &Args, mut j: usize) {
        let Args { x, k, w, n, bias, out } = *a;
        // SAFETY (whole body): as in `avx512_blocks`; masked lanes are neither read nor written.
        unsafe {
            while j < n {
                let mask: __mmask16 = if n - j >= 16 { 0xffff } else { (1u16 << (n - j)) - 1 };
                let mut acc = [_mm512_setzero_ps(); R];
                for p in 0..k {
                    let wv = _mm512_maskz_loadu_ps(mask, w.add(p * n + j));
                    for (r, s) in acc.iter_mut().enumerate() {
                        *s = _mm512_fmadd_ps(_mm512_set1_ps(*x.add(r * k + p)), wv, *s);
                    }
                }
                for (r, &s) in acc.iter().enumerate() {
                    let s = if bias.is_null() { s } else { _mm512_add_ps(s, _mm512_maskz_loadu_ps(mask, bias.add(j))) };
                    _mm512_mask_storeu_ps(out.add(r * n + j), mask, s);
                }
                j += 16;
            }
        }
    }

    /// As avx512_rows with 8-wide ymm vectors in 16 registers: groups of R ≤ 3 rows, blocks of
    /// V = 8 vectors for one row and 4 for more.
    pub(super) unsafe fn avx2_rows(rows: usize, a: &Args) {
        // SAFETY: forwarded contract (AVX2 and FMA are supported).
        unsafe {
            match rows {
                3 => avx2::<3>(a),
                2 => avx2::<2>(a),
                _ => avx2::<1>(a),
            }
        }
    }

    /// Lane masks for the last, partial vector of a row: `MASKS[8 - left ..][..8]`.
    static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2<const R: usize>(a: &Args) {
        // SAFETY: forwarded contract; as in `avx512`, the widest blocks first.
        unsafe {
            let mut j = 0;
            if R <= 1 {
                j = avx2_blocks::<R, 8>(a, j);
            }
            j = avx2_blocks::<R, 4>(a, j);
            avx2_edge::<R>(a, j);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn avx2_blocks<const R: usize, const V: usize>(a: &Args, mut j: usize) -> usize {
        let Args { x, k, w, n, bias, out } = *a;
        // SAFETY (whole body): as in `avx512_blocks`.
        unsafe {
            while j + 8 * V <= n {
                let mut acc = [[_mm256_setzero_ps(); V]; R];
                for p in 0..k {
                    let wp = w.add(p * n + j);
                    let wv: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(wp.add(8 * v)));
                    for (r, row) in acc.iter_mut().enumerate() {
                        let xv = _mm256_broadcast_ss(&*x.add(r * k + p));
                        for v in 0..V {
                            row[v] = _mm256_fmadd_ps(xv, wv[v], row[v]);
                        }
                    }
                }
                for (r, row) in acc.iter().enumerate() {
                    for (v, &s) in row.iter().enumerate() {
                        let col = j + 8 * v;
                        let s = if bias.is_null() { s } else { _mm256_add_ps(s, _mm256_loadu_ps(bias.add(col))) };
                        _mm256_storeu_ps(out.add(r * n + col), s);
                    }
                }
                j += 8 * V;
            }
        }
        j
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn avx2_edge<const R: usize>(a: &Args, mut j: usize) {
        let Args { x, k, w, n, bias, out } = *a;
        // SAFETY (whole body): as in `avx512_edge`; masked loads and stores touch only the
        // enabled lanes.
        unsafe {
            while j < n {
                let left = (n - j).min(8);
                let mask = _mm256_loadu_si256(MASKS.as_ptr().add(8 - left).cast());
                let mut acc = [_mm256_setzero_ps(); R];
                for p in 0..k {
                    let wv = _mm256_maskload_ps(w.add(p * n + j), mask);
                    for (r, s) in acc.iter_mut().enumerate() {
                        *s = _mm256_fmadd_ps(_mm256_broadcast_ss(&*x.add(r * k + p)), wv, *s);
                    }
                }
                for (r, &s) in acc.iter().enumerate() {
                    let s = if bias.is_null() { s } else { _mm256_add_ps(s, _mm256_maskload_ps(bias.add(j), mask)) };
                    _mm256_maskstore_ps(out.add(r * n + j), mask, s);
                }
                j += 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::{gemm_with, Epilogue, MatMut, MatRef};
    use crate::rng::Rng;

    fn values(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.next_f64() as f32 * 2.0 - 1.0).collect()
    }

    /// Every tier against the packed GEMM and against a float64 sum, over widths that exercise
    /// full blocks, single vectors and masked edges, and every row-group size.
    #[test]
    fn matches_the_gemm_and_a_float64_reference_on_every_tier() {
        let mut rng = Rng::new([9, 8, 7, 6]);
        for &(k, n) in &[(1, 1), (3, 10), (7, 16), (5, 17), (33, 31), (64, 64), (20, 65), (784, 256), (128, 10), (9, 100)] {
            for rows in [1, 2, 3, 4, 5, 6, 7, 11, 16] {
                let (x, w, b) = (values(rows * k, &mut rng), values(k * n, &mut rng), values(n, &mut rng));
                let mut reference = vec![0.0f32; rows * n];
                gemm_with(Isa::Scalar, 1, MatRef::new(&x, rows, k), MatRef::new(&w, k, n), MatMut::new(&mut reference, rows, n), false, Epilogue::Bias(&b)).unwrap();
                for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
                    for with_bias in [true, false] {
                        // A sentinel past the end checks that masked edges write nothing beyond.
                        let mut out = vec![f32::NAN; rows * n + 1];
                        out[rows * n] = 12345.0;
                        dense(isa, &x, rows, k, &w, n, with_bias.then_some(&b[..]), &mut out);
                        assert_eq!(out[rows * n], 12345.0, "{isa} wrote past the output");
                        for r in 0..rows {
                            for j in 0..n {
                                let exact: f64 = (0..k).map(|p| x[r * k + p] as f64 * w[p * n + j] as f64).sum::<f64>() + if with_bias { b[j] as f64 } else { 0.0 };
                                let got = out[r * n + j];
                                let tol = 1e-5 * (k as f64).sqrt() * 4.0;
                                assert!((got as f64 - exact).abs() <= tol, "{isa} k {k} n {n} rows {rows} ({r},{j}): {got} vs {exact}");
                                if with_bias {
                                    assert!((got - reference[r * n + j]).abs() <= tol as f32, "{isa} vs gemm at ({r},{j})");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zero_inputs_give_the_bias() {
        let mut out = vec![f32::NAN; 6];
        dense(crate::isa::active_isa(), &[], 2, 0, &[], 3, Some(&[1.0, 2.0, 3.0]), &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    #[should_panic(expected = "w is shorter")]
    fn short_weights_panic_instead_of_reading_past_them() {
        let mut out = vec![0.0; 4];
        dense(crate::isa::active_isa(), &[1.0; 3], 1, 3, &[1.0; 11], 4, None, &mut out);
    }
}
