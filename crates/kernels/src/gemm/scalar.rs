//! Portable micro-kernel: a 4×8 tile in plain Rust, for CPUs without AVX2 (and as the reference
//! tier in tests). Separate multiply and add, no FMA, so it rounds like naive code.

use super::block::{kernel_tier, Tile};
use super::pack::pack_block;

kernel_tier! {
    /// The kernel for an `MR × NR` tile of plain floats (used as 4 × 8).
    Scalar { pack: pack_block, KC: 256, MC: 64, NC: 2048 }
}

/// The tile: 32 accumulators fit the 16 SSE registers the compiler may use for them.
pub(crate) type Portable = Scalar<4, 8>;

/// Kept out of line so the driver's loop state does not crowd the accumulators out of registers.
///
/// # Safety
/// As for `Kernel::tile`.
#[inline(never)]
unsafe fn tile<const MR: usize, const NR: usize>(t: Tile) {
    let mut acc = [[0.0f32; NR]; MR];
    // SAFETY (whole body): `Tile`'s contract — packed panels of kc × MR and kc × NR floats,
    // an MR × NR tile of C with row stride `ldc`, and NR bias floats when not null.
    unsafe {
        for p in 0..t.kc {
            let a = &*t.a.add(p * MR).cast::<[f32; MR]>();
            let b = &*t.b.add(p * NR).cast::<[f32; NR]>();
            for i in 0..MR {
                for j in 0..NR {
                    acc[i][j] += a[i] * b[j];
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            let c = std::slice::from_raw_parts_mut(t.c.add(i * t.ldc), NR);
            for j in 0..NR {
                let mut x = row[j];
                if t.add {
                    x += c[j];
                }
                if !t.bias.is_null() {
                    x += *t.bias.add(j);
                }
                c[j] = x;
            }
        }
    }
}
