//! AVX2+FMA micro-kernels: MR rows × NR columns of C held in ymm accumulators.
//!
//! With only 16 ymm registers, 6×16 (12 accumulators + 2 B vectors + 1 broadcast) is the largest
//! tile that does not spill; 12 independent FMA chains cover the FMA latency on two pipes.
//! Outputs at most 8 wide use a 12×8 tile instead of padding half of every 16-wide one.

use std::arch::x86_64::*;

use super::block::{kernel_tier, Tile};
use super::pack::pack_block;

kernel_tier! {
    /// The kernel for an `MR × NR` tile; `NR` is 8 or 16 (one or two ymm per row).
    Avx2 { pack: pack_block, KC: 512, MC: 72, NC: 4096, features: "avx2,fma" }
}

pub(crate) type Wide = Avx2<6, 16>;
pub(crate) type Narrow = Avx2<12, 8>;

/// # Safety
/// As for `Kernel::tile`, with AVX2+FMA as the ISA.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile<const MR: usize, const NR: usize>(t: Tile) {
    // Two slots declared, the first NR / 8 used (stable Rust cannot size an array by NR / 8).
    let nv = NR / 8;
    debug_assert!(nv == 1 || nv == 2);
    // SAFETY (whole body): `t.a` holds kc × MR and `t.b` kc × NR packed floats (32-byte aligned
    // panels); `t.c` addresses an MR × NR tile with row stride `t.ldc`; `t.bias`, when not null,
    // NR floats.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; MR];
        let (mut a, mut b) = (t.a, t.b);
        for _ in 0..t.kc {
            let bv = [
                _mm256_load_ps(b),
                if nv == 2 {
                    _mm256_load_ps(b.add(8))
                } else {
                    _mm256_setzero_ps()
                },
            ];
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm256_broadcast_ss(&*a.add(i));
                for v in 0..nv {
                    row[v] = _mm256_fmadd_ps(ai, bv[v], row[v]);
                }
            }
            a = a.add(MR);
            b = b.add(NR);
        }
        for (i, row) in acc.iter().enumerate() {
            let c = t.c.add(i * t.ldc);
            for (v, &x) in row.iter().enumerate().take(nv) {
                let p = c.add(v * 8);
                let mut x = x;
                if t.add {
                    x = _mm256_add_ps(_mm256_loadu_ps(p), x);
                }
                if !t.bias.is_null() {
                    x = _mm256_add_ps(x, _mm256_loadu_ps(t.bias.add(v * 8)));
                }
                _mm256_storeu_ps(p, x);
            }
        }
    }
}
