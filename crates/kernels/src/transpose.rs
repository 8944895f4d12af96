//! A 16 × 16 transpose of 32-bit lanes in AVX-512 registers: the GEMM packs row-major panels
//! with it, and the PRNG lays out its side-by-side lanes' draws in stream order.

use std::arch::x86_64::*;

/// Transposes a 16×16 block: `out[c]` lane `i` = `r[i]` lane `c`.
///
/// # Safety
/// Called only from code that runs on AVX-512F (its callers enable the feature too).
#[target_feature(enable = "avx512f")]
#[inline]
pub fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    // Interleave row pairs: per 128-bit lane L, t[2j] = (r2j[4L], r2j+1[4L], r2j[4L+1], r2j+1[4L+1]).
    let mut t = [_mm512_setzero_ps(); 16];
    for j in 0..8 {
        t[2 * j] = _mm512_unpacklo_ps(r[2 * j], r[2 * j + 1]);
        t[2 * j + 1] = _mm512_unpackhi_ps(r[2 * j], r[2 * j + 1]);
    }
    // u[4g + c] lane L = rows 4g..4g+3 of column 4L + c.
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let (lo, hi) = (t[4 * g], t[4 * g + 2]);
        let (lo2, hi2) = (t[4 * g + 1], t[4 * g + 3]);
        u[4 * g] = _mm512_shuffle_ps::<0x44>(lo, hi);
        u[4 * g + 1] = _mm512_shuffle_ps::<0xEE>(lo, hi);
        u[4 * g + 2] = _mm512_shuffle_ps::<0x44>(lo2, hi2);
        u[4 * g + 3] = _mm512_shuffle_ps::<0xEE>(lo2, hi2);
    }
    // Gather the 128-bit lanes: out[4L + c] = (u[c] lane L, u[4+c] lane L, u[8+c] lane L, u[12+c] lane L).
    let mut out = [_mm512_setzero_ps(); 16];
    for c in 0..4 {
        let x = _mm512_shuffle_f32x4::<0x88>(u[c], u[4 + c]);
        let y = _mm512_shuffle_f32x4::<0xDD>(u[c], u[4 + c]);
        let x2 = _mm512_shuffle_f32x4::<0x88>(u[8 + c], u[12 + c]);
        let y2 = _mm512_shuffle_f32x4::<0xDD>(u[8 + c], u[12 + c]);
        out[c] = _mm512_shuffle_f32x4::<0x88>(x, x2);
        out[4 + c] = _mm512_shuffle_f32x4::<0x88>(y, y2);
        out[8 + c] = _mm512_shuffle_f32x4::<0xDD>(x, x2);
        out[12 + c] = _mm512_shuffle_f32x4::<0xDD>(y, y2);
    }
    out
}
