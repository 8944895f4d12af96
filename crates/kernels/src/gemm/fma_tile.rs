//! The micro-kernel of the x86 tiers, written once: `fma_tile!` expands it with one tier's
//! vector width and intrinsics (AVX2: 8-float ymm, AVX-512: 16-float zmm). The tiers differ in
//! their tile shapes and block sizes, not in this loop.

/// Defines `unsafe fn tile::<MR, NR>(t: Tile)` for a tier whose vectors hold `lanes` floats:
/// MR rows × NR columns of C held in one or two vector accumulators per row (NR = lanes or
/// 2 × lanes). Per k step it loads the row of packed B once and broadcasts each of the MR
/// values of packed A, one FMA per accumulator; then adds C (when accumulating) and the bias.
macro_rules! fma_tile {
    (
        features: $features:literal, lanes: $lanes:literal, zero: $zero:ident, load: $load:ident,
        loadu: $loadu:ident, storeu: $storeu:ident, set1: $set1:ident, fmadd: $fmadd:ident, add: $add:ident $(,)?
    ) => {
        /// # Safety
        /// As for `Kernel::tile`, with this tier's ISA.
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn tile<const MR: usize, const NR: usize>(t: $crate::gemm::block::Tile) {
            // Two slots declared, the first NR / lanes used: stable Rust cannot size an array by
            // NR / lanes (the compiler drops the unused slot).
            let nv = NR / $lanes;
            debug_assert!(nv == 1 || nv == 2);
            // SAFETY (whole body): `t.a` holds kc × MR and `t.b` kc × NR packed floats (panels
            // aligned to the vector width); `t.c` addresses an MR × NR tile with row stride
            // `t.ldc`; `t.bias`, when not null, NR floats.
            unsafe {
                let mut acc = [[$zero(); 2]; MR];
                let (mut a, mut b) = (t.a, t.b);
                for _ in 0..t.kc {
                    let bv = [$load(b), if nv == 2 { $load(b.add($lanes)) } else { $zero() }];
                    for (i, row) in acc.iter_mut().enumerate() {
                        let ai = $set1(*a.add(i));
                        for v in 0..nv {
                            row[v] = $fmadd(ai, bv[v], row[v]);
                        }
                    }
                    a = a.add(MR);
                    b = b.add(NR);
                }
                for (i, row) in acc.iter().enumerate() {
                    let c = t.c.add(i * t.ldc);
                    for (v, &x) in row.iter().enumerate().take(nv) {
                        let p = c.add(v * $lanes);
                        let mut x = x;
                        if t.add {
                            x = $add($loadu(p), x);
                        }
                        if !t.bias.is_null() {
                            x = $add(x, $loadu(t.bias.add(v * $lanes)));
                        }
                        $storeu(p, x);
                    }
                }
            }
        }
    };
}

pub(crate) use fma_tile;
