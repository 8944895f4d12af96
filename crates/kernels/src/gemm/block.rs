//! Cache blocking (GotoBLAS/BLIS loop nest) and the split of C across threads.
//!
//! Loop nest for one chunk of C:
//!   jc (NC columns) → pc (KC of k: pack the B block, L2/L3)
//!     → ic (MC rows: pack the A block, L2)
//!       → jr (NR columns: one B micro-panel) → ir (MR rows): micro-kernel.
//! Block sizes come from measurement, not cache arithmetic: kc = 512 beat 256 by ~10% at
//! n = 2048 (fewer passes over C) and was neutral for the training shapes.
//! The epilogue runs on each tile right after its last k block, while the tile is in L1.

use std::ops::Range;

use super::pack::{Src, Workspace};
use super::Hook;

/// One micro-kernel call: `C[0..MR][0..NR] = (add ? C : 0) + Σ_p A[p][i]·B[p][j] (+ bias[j])`.
///
/// Summation order (and so rounding) depends only on the k step, never on where the tile sits,
/// which is what makes results independent of the thread split.
#[derive(Clone, Copy)]
pub(crate) struct Tile {
    pub kc: usize,
    /// Packed A micro-panel: kc × MR, aligned.
    pub a: *const f32,
    /// Packed B micro-panel: kc × NR, aligned.
    pub b: *const f32,
    /// Top-left of the MR × NR destination, rows `ldc` apart.
    pub c: *mut f32,
    pub ldc: usize,
    pub add: bool,
    /// NR floats added after the sum, or null.
    pub bias: *const f32,
}

/// A register-blocked micro-kernel and the block sizes tuned for it.
pub(crate) trait Kernel {
    const MR: usize;
    const NR: usize;
    const KC: usize;
    const MC: usize;
    const NC: usize;

    /// # Safety
    /// The CPU supports the kernel's ISA; the pointers in `t` are valid as documented on `Tile`.
    unsafe fn tile(t: Tile);

    /// Packs `rows` × `kc` of op(A) into MR-tall micro-panels (see `pack::pack_block`).
    ///
    /// # Safety
    /// As for `pack::pack_block`, and the CPU supports the kernel's ISA.
    unsafe fn pack_a(dst: *mut f32, src: Src, rows: usize, kc: usize);

    /// Packs `kc` × `cols` of op(B) into NR-wide micro-panels.
    ///
    /// # Safety
    /// As for `pack_a`.
    unsafe fn pack_b(dst: *mut f32, src: Src, cols: usize, kc: usize);

    /// Computes one chunk of C; each ISA wraps [`chunk`] in its `#[target_feature]` function so
    /// the packing loops are compiled for that ISA too.
    ///
    /// # Safety
    /// As for [`chunk`].
    unsafe fn chunk(p: &Problem, rows: Range<usize>, cols: Range<usize>, ws: &mut Workspace);
}

/// Defines an ISA tier's kernel, `$name<MR, NR>`, and implements [`Kernel`] for it from the
/// invoking module's `tile::<MR, NR>`, a packing function `$pack::<W>` (`pack_block`'s contract)
/// and the tier's block sizes. `chunk` runs [`chunk`] inside a function compiled with the tier's
/// target features, if it has any, so the packing loops vectorise for that tier too.
///
/// Every method only forwards [`Kernel`]'s safety contract to a function whose contract is the
/// same (the trait's, `pack_block`'s, [`chunk`]'s), so the unsafe blocks here need no argument
/// of their own: this is the one place the tiers' wrappers are written.
macro_rules! kernel_tier {
    ($(#[$attr:meta])* $name:ident { pack: $pack:ident, KC: $kc:expr, MC: $mc:expr, NC: $nc:expr $(, features: $features:literal)? $(,)? }) => {
        $(#[$attr])*
        pub(crate) struct $name<const MR: usize, const NR: usize>;

        impl<const MR: usize, const NR: usize> $crate::gemm::block::Kernel for $name<MR, NR> {
            const MR: usize = MR;
            const NR: usize = NR;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;

            #[inline(always)]
            unsafe fn tile(t: $crate::gemm::block::Tile) {
                // SAFETY: forwarded (see `kernel_tier!`).
                unsafe { tile::<MR, NR>(t) }
            }

            #[inline(always)]
            unsafe fn pack_a(dst: *mut f32, src: $crate::gemm::pack::Src, rows: usize, kc: usize) {
                // SAFETY: forwarded.
                unsafe { $pack::<MR>(dst, src, rows, kc) }
            }

            #[inline(always)]
            unsafe fn pack_b(dst: *mut f32, src: $crate::gemm::pack::Src, cols: usize, kc: usize) {
                // SAFETY: forwarded.
                unsafe { $pack::<NR>(dst, src, cols, kc) }
            }

            unsafe fn chunk(
                p: &$crate::gemm::block::Problem,
                rows: ::std::ops::Range<usize>,
                cols: ::std::ops::Range<usize>,
                ws: &mut $crate::gemm::pack::Workspace,
            ) {
                // SAFETY: forwarded (it includes CPU support for the tier's features).
                unsafe { chunk_for_tier::<MR, NR>(p, rows, cols, ws) }
            }
        }

        /// [`chunk`](crate::gemm::block::chunk) compiled with this tier's target features.
        $(#[target_feature(enable = $features)])?
        unsafe fn chunk_for_tier<const MR: usize, const NR: usize>(
            p: &$crate::gemm::block::Problem,
            rows: ::std::ops::Range<usize>,
            cols: ::std::ops::Range<usize>,
            ws: &mut $crate::gemm::pack::Workspace,
        ) {
            // SAFETY: forwarded.
            unsafe { $crate::gemm::block::chunk::<$name<MR, NR>>(p, rows, cols, ws) }
        }
    };
}

pub(crate) use kernel_tier;

/// A validated GEMM in raw form: `C = (accumulate ? C : 0) + op(A)·op(B)`, then the epilogue.
pub(crate) struct Problem<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// op(A): `w` = row of C, `p` = k.
    pub a: Src,
    /// op(B): `w` = column of C, `p` = k.
    pub b: Src,
    pub c: *mut f32,
    pub ldc: usize,
    pub accumulate: bool,
    /// `n` floats, or null.
    pub bias: *const f32,
    pub hook: Option<Hook<'a>>,
    /// The largest k block where it is below the kernel's KC (`gemm::Split::Depth`'s blocks of
    /// a layer's inputs, or one of its partial products); `usize::MAX` otherwise.
    pub kc_cap: usize,
}

// SAFETY: threads only read A, B and the bias, and each writes a disjoint chunk of C (see
// `split`); the public entry point holds the borrows for the whole call.
unsafe impl Sync for Problem<'_> {}

/// The row and column blocks (MC, NC) for kernel `K` on this machine: a packed A block (MC × KC)
/// in a quarter of a core's L2, a packed B block (KC × NC) in half of its share of the L3, and
/// the kernel's constants where CPUID gives no sizes. They decide which parts of A and B are
/// packed together, never the order of a sum, so they change speed and not results. (KC, which
/// does set the order of the k sums, stays the kernel's constant, capped by the problem's
/// `kc_cap` alone: the same bits on every machine.)
///
/// Why a quarter: besides A, L2 holds the column of C tiles the micro-kernel walks down, whose
/// rows (a power-of-two width apart in most networks) fall into few sets. With A in half of a
/// 2 MB L2, 1024³ and 2048³ products ran 4–9% slower than with a quarter (measured from an
/// eighth to a half).
pub(crate) fn blocks<K: Kernel>() -> (usize, usize) {
    let fit = |bytes: u64, unit: usize, floor: usize, cap: usize| ((bytes as usize / (K::KC * 4)) / unit * unit).clamp(floor, cap);
    let mc = crate::caches::per_core(2).map_or(K::MC, |b| fit(b / 4, K::MR, 2 * K::MR, 8 * K::MC));
    let nc = crate::caches::per_core(3).map_or(K::NC, |b| fit(b / 2, K::NR, 4 * K::NR, K::NC));
    (mc, nc)
}

/// Whether each tile fetches the next tile's rows of C ahead while it computes: when its k steps
/// are too few to cover fetching them from beyond L2 (a few hundred cycles) and C is too large
/// to have stayed in L2 since it was last used. The input gradient of a 500-wide layer under a
/// 10-class head (k = 10, C 512 KB) took 64 µs without, 33 with: +3% for that network on one
/// thread. Prefetching every tile's C, whatever its k and size, slowed mnist on two threads and
/// small networks by 2%.
fn prefetches_c(p: &Problem, kc: usize) -> bool {
    const SHORT_K: usize = 64;
    kc <= SHORT_K && p.m * p.n * 4 >= l2_bytes() / 8
}

/// A core's L2 in bytes, or 1 MB where CPUID gives no size: what the packing and prefetch
/// choices compare a block's footprint with.
pub(crate) fn l2_bytes() -> usize {
    crate::caches::per_core(2).unwrap_or(1 << 20) as usize
}

/// Prefetches `rows` rows of `cols` floats, `ld` apart from `first`, into L1 (the first and the
/// last byte of each: a tile's row spans two or three lines). A hint: it never faults.
#[inline(always)]
fn prefetch_rows(first: *const f32, rows: usize, cols: usize, ld: usize) {
    #[cfg(target_arch = "x86_64")]
    for r in 0..rows {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let row = first.wrapping_add(r * ld) as *const i8;
        // SAFETY: prefetching is a hint; any address is allowed.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(row);
            _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(cols * 4 - 1));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (first, rows, cols, ld);
}

/// The k blocks: `count` blocks of `size`, the last one shorter. Splitting k evenly (rather than
/// KC, KC, …, remainder) avoids a thin last block; it depends only on k, keeping results
/// identical for every thread count.
pub(crate) fn k_blocks(k: usize, kc_max: usize) -> (usize, usize) {
    let count = k.div_ceil(kc_max).max(1);
    (count, k.div_ceil(count))
}

/// Computes rows × cols of C for `p` with kernel `K`.
///
/// # Safety
/// The CPU supports `K`'s ISA; `p` describes valid, non-overlapping memory; no other thread
/// writes this chunk of C.
#[inline(always)]
pub(crate) unsafe fn chunk<K: Kernel>(
    p: &Problem,
    rows: Range<usize>,
    cols: Range<usize>,
    ws: &mut Workspace,
) {
    let (kb_count, kb_size) = k_blocks(p.k, K::KC.min(p.kc_cap));
    let prefetch_c = prefetches_c(p, kb_size);
    let (mc_block, nc_block) = blocks::<K>();
    // Even row blocks, so that none is a thin remainder (256 rows at 252 would be 252 + 4).
    let mc_block = rows.len().div_ceil(rows.len().div_ceil(mc_block).max(1)).div_ceil(K::MR) * K::MR;
    // Packing writes whole micro-panels, so round the blocks up to MR / NR.
    let mc_max = mc_block.min(rows.len()).div_ceil(K::MR) * K::MR;
    let nc_max = nc_block.min(cols.len()).div_ceil(K::NR) * K::NR;
    let (wa, wb) = ws.buffers(mc_max * kb_size, nc_max * kb_size);
    // Destination for tiles that stick out of C; the epilogue then copies the valid part.
    let mut edge = EdgeTile::default();

    let mut jc = cols.start;
    while jc < cols.end {
        let nc = nc_block.min(cols.end - jc);
        for kb in 0..kb_count {
            let pc = kb * kb_size;
            let kc = kb_size.min(p.k - pc);
            let last = kb + 1 == kb_count;
            let add = p.accumulate || kb > 0;
            // SAFETY: the block lies inside op(B) and `wb` holds nc_max × kb_size floats.
            unsafe { K::pack_b(wb, p.b.at(jc, pc), nc, kc) };
            let mut ic = rows.start;
            while ic < rows.end {
                let mc = mc_block.min(rows.end - ic);
                // SAFETY: as for B.
                unsafe { K::pack_a(wa, p.a.at(ic, pc), mc, kc) };
                for jr in (0..nc).step_by(K::NR) {
                    let j = jc + jr;
                    let nr = K::NR.min(nc - jr);
                    let bias = if last && !p.bias.is_null() {
                        // SAFETY: `j < n` and the bias has n floats.
                        unsafe { p.bias.add(j) }
                    } else {
                        std::ptr::null()
                    };
                    for ir in (0..mc).step_by(K::MR) {
                        let i = ic + ir;
                        let mr = K::MR.min(mc - ir);
                        let t = Tile {
                            kc,
                            // SAFETY: panel offsets inside the packed blocks.
                            a: unsafe { wa.add(ir * kc) },
                            b: unsafe { wb.add(jr * kc) },
                            c: p.c.wrapping_add(i * p.ldc + j),
                            ldc: p.ldc,
                            add,
                            bias,
                        };
                        if prefetch_c && ir + K::MR < mc {
                            prefetch_rows(p.c.wrapping_add((i + K::MR) * p.ldc + j), K::MR.min(mc - ir - K::MR), nr, p.ldc);
                        }
                        // SAFETY: a full tile lies inside C; an edge tile goes to `edge`.
                        unsafe {
                            if mr == K::MR && nr == K::NR {
                                K::tile(t);
                            } else {
                                edge.run::<K>(t, mr, nr);
                            }
                        }
                        if last {
                            if let Some(hook) = p.hook {
                                // SAFETY: the tile's mr × nr elements are inside this thread's
                                // chunk of C.
                                hook(i, j, unsafe { super::Tile::new(t.c, mr, nr, p.ldc) });
                            }
                        }
                    }
                }
                ic += mc;
            }
        }
        jc += nc;
    }
}

/// Scratch tile for micro-tiles that extend past the edge of C (large enough for every kernel).
#[repr(C, align(64))]
struct EdgeTile([f32; EdgeTile::LEN]);

impl Default for EdgeTile {
    fn default() -> Self {
        EdgeTile([0.0; EdgeTile::LEN])
    }
}

impl EdgeTile {
    const LEN: usize = 16 * 32;

    /// Runs the kernel into scratch, then merges the `mr × nr` valid part into C with exactly the
    /// operations the kernel itself uses for a full tile (`(sum + C) + bias`), so an element's
    /// value does not depend on whether its tile was an edge tile.
    #[inline(always)]
    unsafe fn run<K: Kernel>(&mut self, t: Tile, mr: usize, nr: usize) {
        debug_assert!(K::MR * K::NR <= Self::LEN);
        let scratch = Tile {
            c: self.0.as_mut_ptr(),
            ldc: K::NR,
            add: false,
            bias: std::ptr::null(),
            ..t
        };
        // SAFETY (whole body): the scratch holds MR × NR; `t.c` rows r < mr, columns < nr are
        // inside C; `t.bias` has at least nr floats when not null.
        unsafe {
            K::tile(scratch);
            for r in 0..mr {
                let src = &self.0[r * K::NR..r * K::NR + nr];
                let dst = std::slice::from_raw_parts_mut(t.c.add(r * t.ldc), nr);
                for (j, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
                    let mut x = s;
                    if t.add {
                        x += *d;
                    }
                    if !t.bias.is_null() {
                        x += *t.bias.add(j);
                    }
                    *d = x;
                }
            }
        }
    }
}

/// How to cut C into per-thread chunks: `tm` × `tn` rectangles, `rows`/`cols` high/wide each
/// (multiples of MR/NR, the last ones shorter).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Split {
    pub tm: usize,
    pub tn: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Split {
    pub fn tasks(&self) -> usize {
        self.tm * self.tn
    }

    /// The rows and columns of chunk `t` (possibly empty).
    pub fn chunk(&self, t: usize, m: usize, n: usize) -> (Range<usize>, Range<usize>) {
        let (ti, tj) = (t / self.tn, t % self.tn);
        let r0 = (ti * self.rows).min(m);
        let c0 = (tj * self.cols).min(n);
        (r0..(r0 + self.rows).min(m), c0..(c0 + self.cols).min(n))
    }
}

/// Chooses the grid of at most `chunks` chunks whose slowest chunk is cheapest: its padded tile area
/// (compute) plus the rows of A and columns of B it must pack (packing is duplicated across
/// chunks that share rows or columns). C is never split along k, so every thread count gives
/// bit-identical results.
pub(crate) fn split<K: Kernel>(m: usize, n: usize, chunks: usize) -> Split {
    // Packing one element costs about as much as this many multiply-adds of compute per k step.
    const PACK_COST: usize = 24;
    let (mt, nt) = (m.div_ceil(K::MR), n.div_ceil(K::NR));
    let mut best = Split {
        tm: 1,
        tn: 1,
        rows: mt * K::MR,
        cols: nt * K::NR,
    };
    let mut best_cost = usize::MAX;
    for tm in 1..=chunks.min(mt) {
        let tn = (chunks / tm).min(nt);
        let rows = mt.div_ceil(tm) * K::MR;
        let cols = nt.div_ceil(tn) * K::NR;
        let cost = rows * cols + PACK_COST * (rows + cols);
        if cost < best_cost {
            best_cost = cost;
            best = Split {
                tm: mt.div_ceil(mt.div_ceil(tm)),
                tn: nt.div_ceil(nt.div_ceil(tn)),
                rows,
                cols,
            };
        }
    }
    best
}
