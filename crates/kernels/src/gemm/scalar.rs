//! Portable micro-kernel: a 4×8 tile in plain Rust, for CPUs without AVX2 (and as the reference
//! tier in tests). Separate multiply and add, no FMA, so it rounds like naive code.

use std::ops::Range;

use super::block::{chunk, Kernel, Problem, Tile};
use super::pack::{pack_block, Src, Workspace};

pub(crate) struct Scalar;

const MR: usize = 4;
const NR: usize = 8;

impl Kernel for Scalar {
    const MR: usize = MR;
    const NR: usize = NR;
    const KC: usize = 256;
    const MC: usize = 64;
    const NC: usize = 2048;

    unsafe fn tile(t: Tile) {
        // SAFETY: forwarded contract.
        unsafe { tile(t) }
    }

    #[inline(always)]
    unsafe fn pack_a(dst: *mut f32, src: Src, rows: usize, kc: usize) {
        // SAFETY: forwarded contract.
        unsafe { pack_block::<MR>(dst, src, rows, kc) }
    }

    #[inline(always)]
    unsafe fn pack_b(dst: *mut f32, src: Src, cols: usize, kc: usize) {
        // SAFETY: forwarded contract.
        unsafe { pack_block::<NR>(dst, src, cols, kc) }
    }

    unsafe fn chunk(p: &Problem, rows: Range<usize>, cols: Range<usize>, ws: &mut Workspace) {
        // SAFETY: forwarded contract.
        unsafe { chunk::<Scalar>(p, rows, cols, ws) }
    }
}

/// Kept out of line so the driver's loop state does not crowd the accumulators out of registers.
#[inline(never)]
unsafe fn tile(t: Tile) {
    // 32 accumulators fit the 16 SSE registers the compiler may use for them.
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
