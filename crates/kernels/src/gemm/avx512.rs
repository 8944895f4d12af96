//! AVX-512F micro-kernels: MR rows × NR columns of C held in zmm accumulators.
//!
//! The main shape, 12×32, loads two B vectors and broadcasts 12 A values per k step: 24 FMAs
//! against 14 loads, which keeps Zen 5's two 512-bit FMA pipes busy (24 independent chains cover
//! the 4-cycle latency) and leaves 8 of the 32 zmm registers for B and the broadcasts. Outputs
//! at most 16 wide (a classifier's 10 logits) would waste over half of that tile, so they get a
//! 24×16 tile instead.

use std::arch::x86_64::*;

use super::block::{kernel_tier, l2_bytes};
use super::fma_tile::fma_tile;
use crate::transpose::transpose16;
use super::pack::{pack_block, Src};

kernel_tier! {
    /// The kernel for an `MR × NR` tile; `NR` is 16 or 32 (one or two zmm per row).
    ///
    /// KC = 512 amortises the C-tile update over more k steps; measured best at n = 2048 and
    /// neutral for the smaller shapes.
    Avx512 { pack: pack, KC: 512, MC: 96, NC: 4096, features: "avx512f" }
}

pub(crate) type Wide = Avx512<12, 32>;
pub(crate) type Narrow = Avx512<24, 16>;

fma_tile! {
    features: "avx512f", lanes: 16, zero: _mm512_setzero_ps, load: _mm512_load_ps, loadu: _mm512_loadu_ps,
    storeu: _mm512_storeu_ps, set1: _mm512_set1_ps, fmadd: _mm512_fmadd_ps, add: _mm512_add_ps,
}

/// `pack_block`, with the transposing case (source contiguous along k: A in `A·B`, B in `A·Bᵀ`)
/// done by 16×16 register transposes — element by element it was most of the time of GEMMs
/// whose output is narrow, where each packed element is used only once or twice.
///
/// # Safety
/// As for `pack_block`, and the CPU supports AVX-512F.
#[inline(always)]
unsafe fn pack<const W: usize>(dst: *mut f32, src: Src, width: usize, kc: usize) {
    // SAFETY: this function's contract covers each of the three.
    unsafe {
        if src.contiguous_along_w() {
            pack_copy::<W>(dst, src, width, kc)
        } else if src.contiguous_along_k() {
            pack_transposed::<W>(dst, src, width, kc)
        } else {
            pack_block::<W>(dst, src, width, kc)
        }
    }
}

/// `pack_block` for a source whose W values per k step are contiguous (A in `Aᵀ·B`, B in
/// `A·B`): one masked load and store per 16 floats, padding included.
///
/// Panel by panel, each k step of a panel is a piece of a source row, the next step's a row
/// further on: a page apart for a 1024-wide matrix, which the prefetcher does not follow. From
/// L2 that costs nothing, and the panel's destination is one sequential stream. A block that
/// spreads beyond half of L2 (a large layer's weights, read from L3) is copied a k step at a
/// time across all panels instead, so the reads run along the source's rows (the weights' pack
/// had been 5% of a 1024-wide layer's training step). Only for panels of whole cache lines
/// (W = 16, 32): with W = 12 or 24 a line holds parts of two panels, which panel order reads
/// once from L1.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn pack_copy<const W: usize>(dst: *mut f32, src: Src, width: usize, kc: usize) {
    // SAFETY (both nests): step `p` of the panel at `w0` is `W.min(width - w0)` valid floats at
    // `src.ptr + p_offset(p) + w0`, and its W floats at `dst + w0 * kc + p * W` are inside the
    // caller's destination.
    unsafe {
        let step = |w0: usize, p: usize| {
            copy_step::<W>(src.ptr.add(src.p_offset(p) + w0), dst.add(w0 * kc + p * W), W.min(width - w0))
        };
        if W.is_multiple_of(16) && beyond_l2(src, kc) {
            for p in 0..kc {
                for w0 in (0..width).step_by(W) {
                    step(w0, p);
                }
            }
        } else {
            for w0 in (0..width).step_by(W) {
                for p in 0..kc {
                    step(w0, p);
                }
            }
        }
    }
}

/// Whether the k steps of a `kc`-step block of `src` spread over more than half of a core's L2.
fn beyond_l2(src: Src, kc: usize) -> bool {
    src.rows.is_null() && kc * src.sp * 4 > l2_bytes() / 2
}

/// One k step of one panel: the `valid` floats at `s` to the W at `d`, zeros after them.
///
/// # Safety
/// `s` has `valid` readable floats, `d` W writable ones; the CPU supports AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn copy_step<const W: usize>(s: *const f32, d: *mut f32, valid: usize) {
    let mut g = 0;
    while g < W {
        let lanes = 16.min(W - g);
        let n = valid.saturating_sub(g).min(lanes);
        // SAFETY: the load is masked to the `n` valid floats, the store to the panel's `lanes`.
        unsafe {
            let v = _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, s.wrapping_add(g));
            _mm512_mask_storeu_ps(d.add(g), ((1u32 << lanes) - 1) as __mmask16, v);
        }
        g += 16;
    }
}

/// `dst[panel][p*W + i] = src(panel*W + i, p)` for a source whose rows `i` are contiguous along
/// `p`, zero past `width`. Works on 16 rows × 16 k steps at a time; the masked loads never touch
/// memory outside the block, so ragged edges need no scalar tail.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn pack_transposed<const W: usize>(dst: *mut f32, src: Src, width: usize, kc: usize) {
    let mut w0 = 0;
    while w0 < width {
        let w = W.min(width - w0);
        // SAFETY (loop body): `panel` is the `w0 / W`-th panel of the caller's destination;
        // loads are masked to rows `< w` and steps `< kc` of the block; stores write `lanes`
        // floats at steps `< kc` inside the panel.
        unsafe {
            let panel = dst.add(w0 * kc);
            // Row groups of up to 16 inside the panel (W is 12, 16, 24 or 32).
            let mut g = 0;
            while g < W {
                let lanes = 16.min(W - g);
                let valid = w.saturating_sub(g).min(lanes);
                let store_mask = ((1u32 << lanes) - 1) as __mmask16;
                let mut p0 = 0;
                while p0 < kc {
                    let q = 16.min(kc - p0);
                    let load_mask = ((1u32 << q) - 1) as __mmask16;
                    let mut r = [_mm512_setzero_ps(); 16];
                    for (i, ri) in r.iter_mut().enumerate() {
                        *ri = if i < valid {
                            let row = src.ptr.add(src.w_offset(w0 + g + i) + p0);
                            _mm512_maskz_loadu_ps(load_mask, row)
                        } else {
                            _mm512_setzero_ps()
                        };
                    }
                    let t = transpose16(r);
                    for (c, tc) in t.iter().enumerate() {
                        if c < q {
                            _mm512_mask_storeu_ps(panel.add((p0 + c) * W + g), store_mask, *tc);
                        }
                    }
                    p0 += 16;
                }
                g += 16;
            }
        }
        w0 += W;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_packs_match_generic() {
        if !crate::isa::Isa::Avx512.is_supported() {
            return;
        }
        let (rows, ld) = (70usize, 53usize);
        let m: Vec<f32> = (0..rows * ld).map(|x| x as f32).collect();
        fn check<const W: usize>(m: &[f32], ld: usize) {
            for width in [1, 5, W - 1, W, W + 3, 2 * W + 1] {
                for kc in [1, 7, 15, 16, 17, 33, 50] {
                    let src = Src::dense(m.as_ptr(), ld, 1);
                    let len = width.div_ceil(W) * W * kc;
                    let (mut want, mut got) = (vec![1.0; len], vec![2.0; len]);
                    // SAFETY: width ≤ 70 rows and kc ≤ 53 columns are inside `m`; buffers sized.
                    unsafe {
                        pack_block::<W>(want.as_mut_ptr(), src, width, kc);
                        pack_transposed::<W>(got.as_mut_ptr(), src, width, kc);
                    }
                    assert_eq!(want, got, "transposed W={W} width={width} kc={kc}");
                    // The same block read the other way round: kc rows of `width` floats.
                    let src = Src::dense(m.as_ptr(), 1, ld);
                    if width <= ld && kc <= 70 {
                        let (mut want, mut got) = (vec![1.0; len], vec![2.0; len]);
                        // SAFETY: kc rows × width columns are inside `m`; buffers sized.
                        unsafe {
                            pack_block::<W>(want.as_mut_ptr(), src, width, kc);
                            pack_copy::<W>(got.as_mut_ptr(), src, width, kc);
                        }
                        assert_eq!(want, got, "copy W={W} width={width} kc={kc}");
                    }
                }
            }
        }
        check::<12>(&m, ld);
        check::<16>(&m, ld);
        check::<24>(&m, ld);
        check::<32>(&m, ld);
    }
}
