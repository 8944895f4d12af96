//! Single-precision GEMM on row-major matrices: `C = op(A)·op(B)` or `C += op(A)·op(B)`, with a
//! fused epilogue (per-column bias, then an elementwise hook such as an activation).
//!
//! The three forms backprop needs are one call each:
//! - forward `Z = X·W`:      `gemm(x, w, z, …)`
//! - weight grad `dW = Xᵀ·dZ`: `gemm(x.t(), dz, dw, …)`
//! - input grad `dX = dZ·Wᵀ`:  `gemm(dz, w.t(), dx, …)`
//!
//! Packed and cache-blocked with per-ISA micro-kernels (see `block`), split across the thread
//! pool above a size threshold (see `Split`). Results are bit-identical from call to call and for
//! every thread count: the k sum always runs in the same blocks, added in the same order, whether
//! one thread adds them or threads own disjoint rectangles of C or disjoint k blocks. (`Depth`
//! sums k in smaller blocks than the other splits, on every thread count, so its bits are its
//! own.) Different ISA tiers may differ in the last bits (FMA versus separate multiply and add).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod block;
#[cfg(target_arch = "x86_64")]
mod fma_tile;
mod pack;
mod scalar;

use std::fmt;
use std::sync::OnceLock;

use crate::isa::{active_isa, Isa};
use crate::pool;
use block::{Kernel, Problem};
use pack::Src;

/// Below this many multiply-adds a call runs on one thread: waking a worker and packing twice
/// cost more than the second core saves (measured with `examples/gemm_bench.rs`).
pub const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Per-thread multiply-adds (~0.3 ms) above which C is cut into two chunks per thread.
const BALANCE_MIN_MACS: usize = 1 << 26;

/// A row-major matrix stored in a slice: element `(i, j)` is `data[i * ld + j]`. `.t()` marks it
/// as used transposed, which costs nothing (packing reads it either way).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    ld: usize,
    trans: bool,
    /// For a gathered matrix, the stored rows that make up its rows (see `gathered`).
    index: Option<&'a [u32]>,
}

impl<'a> MatRef<'a> {
    /// A `rows × cols` matrix stored densely (`ld = cols`).
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::with_ld(data, rows, cols, cols)
    }

    /// A `rows × cols` matrix whose rows start `ld` floats apart (a sub-matrix of a wider one).
    pub fn with_ld(data: &'a [f32], rows: usize, cols: usize, ld: usize) -> Self {
        MatRef {
            data,
            rows,
            cols,
            ld,
            trans: false,
            index: None,
        }
    }

    /// The matrix whose row `r` is row `index[r]` of `data` (rows of `cols` floats): the rows of
    /// a shuffled batch read in place, where copying them out first was a pass over the batch.
    /// Packing reads it either way, so a product costs the same as on a copy.
    pub fn gathered(data: &'a [f32], index: &'a [u32], cols: usize) -> Self {
        MatRef {
            data,
            rows: index.len(),
            cols,
            ld: cols,
            trans: false,
            index: Some(index),
        }
    }

    /// The same storage, used transposed.
    pub fn t(self) -> Self {
        MatRef {
            trans: !self.trans,
            ..self
        }
    }

    /// Rows and columns as used (after any transposition).
    pub fn shape(&self) -> (usize, usize) {
        if self.trans {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }
}

/// The output matrix: row-major, element `(i, j)` at `data[i * ld + j]`.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    ld: usize,
}

impl<'a> MatMut<'a> {
    /// A `rows × cols` matrix stored densely (`ld = cols`).
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::with_ld(data, rows, cols, cols)
    }

    /// A `rows × cols` matrix whose rows start `ld` floats apart.
    pub fn with_ld(data: &'a mut [f32], rows: usize, cols: usize, ld: usize) -> Self {
        MatMut {
            data,
            rows,
            cols,
            ld,
        }
    }
}

/// A hook run on finished output, a tile at a time: `hook(row, col, tile)`, where `tile` is
/// `C[row .. row + tile.rows()][col .. col + tile.cols()]`. Every element of C is passed exactly
/// once, after the full k sum and the bias; how C is cut into tiles is unspecified (it depends on
/// the ISA and the thread split), so the hook must treat elements independently. It may run on
/// several threads at once. (Called once per row segment instead, the calls cost more than the
/// ReLU they applied: 8 µs of a 2-thread mnist batch.)
pub type Hook<'a> = &'a (dyn Fn(usize, usize, Tile<'_>) + Sync);

/// A finished tile of C, handed to a [`Hook`] a row at a time.
pub struct Tile<'a> {
    first: *mut f32,
    rows: usize,
    cols: usize,
    ld: usize,
    _c: std::marker::PhantomData<&'a mut f32>,
}

impl<'a> Tile<'a> {
    /// # Safety
    /// `rows` rows of `cols` floats, `ld` apart from `first`, are valid and no one else's while
    /// the tile lives (other columns between them may be another thread's).
    unsafe fn new(first: *mut f32, rows: usize, cols: usize, ld: usize) -> Tile<'a> {
        Tile { first, rows, cols, ld, _c: std::marker::PhantomData }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Runs `f(r, segment)` on each row `r` of the tile, top to bottom.
    #[inline(always)]
    pub fn for_each_row(self, mut f: impl FnMut(usize, &mut [f32])) {
        for r in 0..self.rows {
            // SAFETY: row r is inside the tile (`Tile::new`'s contract), and rows do not overlap.
            f(r, unsafe { std::slice::from_raw_parts_mut(self.first.add(r * self.ld), self.cols) });
        }
    }
}

/// What happens to each finished tile of C while it is still in L1 cache.
#[derive(Clone, Copy, Default)]
pub enum Epilogue<'a> {
    /// C is the product (plus the old C when accumulating).
    #[default]
    None,
    /// Adds `bias[j]` to every element of column `j` (`bias.len() == n`).
    Bias(&'a [f32]),
    /// Runs the hook on every element.
    Map(Hook<'a>),
    /// Adds the bias, then runs the hook: the dense layer's `act(X·W + b)` in one pass.
    BiasThen(&'a [f32], Hook<'a>),
}

impl<'a> Epilogue<'a> {
    fn parts(self) -> (Option<&'a [f32]>, Option<Hook<'a>>) {
        match self {
            Epilogue::None => (None, None),
            Epilogue::Bias(b) => (Some(b), None),
            Epilogue::Map(h) => (None, Some(h)),
            Epilogue::BiasThen(b, h) => (Some(b), Some(h)),
        }
    }
}

impl fmt::Debug for Epilogue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Epilogue::None => f.write_str("None"),
            Epilogue::Bias(b) => write!(f, "Bias(len {})", b.len()),
            Epilogue::Map(_) => f.write_str("Map(hook)"),
            Epilogue::BiasThen(b, _) => write!(f, "BiasThen(len {}, hook)", b.len()),
        }
    }
}

/// Why a GEMM call was rejected. Nothing is written to C when an error is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GemmError {
    /// `op(A)` is m×k but `op(B)` is k'×n with k ≠ k'.
    InnerDim { a_cols: usize, b_rows: usize },
    /// C is not m×n.
    OutputShape {
        expected: (usize, usize),
        got: (usize, usize),
    },
    /// A leading dimension is smaller than the row length it must skip.
    LeadingDim {
        matrix: &'static str,
        ld: usize,
        cols: usize,
    },
    /// A slice is shorter than `(rows - 1) * ld + cols`.
    TooShort {
        matrix: &'static str,
        len: usize,
        needed: usize,
    },
    /// The bias has the wrong length.
    BiasLen { len: usize, n: usize },
    /// The dimensions overflow `usize`.
    Overflow { matrix: &'static str },
    /// A gathered matrix names a row its data does not have.
    RowIndex { matrix: &'static str, row: u32, rows: usize },
}

impl fmt::Display for GemmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GemmError::InnerDim { a_cols, b_rows } => write!(
                f,
                "gemm: inner dimensions differ: op(A) has {a_cols} columns but op(B) has {b_rows} rows"
            ),
            GemmError::OutputShape { expected, got } => write!(
                f,
                "gemm: C is {}×{} but op(A)·op(B) is {}×{}",
                got.0, got.1, expected.0, expected.1
            ),
            GemmError::LeadingDim { matrix, ld, cols } => write!(
                f,
                "gemm: {matrix} has rows of {cols} floats but leading dimension {ld} (must be >= {cols})"
            ),
            GemmError::TooShort { matrix, len, needed } => write!(
                f,
                "gemm: {matrix} needs {needed} floats for its shape and leading dimension but has {len}"
            ),
            GemmError::BiasLen { len, n } => {
                write!(f, "gemm: bias has {len} floats but C has {n} columns")
            }
            GemmError::Overflow { matrix } => write!(f, "gemm: {matrix}'s size overflows usize"),
            GemmError::RowIndex { matrix, row, rows } => write!(f, "gemm: {matrix} gathers row {row} but its data has {rows} rows"),
        }
    }
}

impl std::error::Error for GemmError {}

/// `C = op(A)·op(B)` (or `C += …` when `accumulate`), then the epilogue; on the active ISA
/// tier and all pool threads.
pub fn gemm(
    a: MatRef,
    b: MatRef,
    c: MatMut,
    accumulate: bool,
    epilogue: Epilogue,
) -> Result<(), GemmError> {
    gemm_with(gemm_isa(active_isa()), usize::MAX, a, b, c, accumulate, epilogue)
}

/// [`gemm`] on an explicit ISA tier (lowered to what the CPU supports) and at most
/// `max_threads` threads (`1` = the calling thread only).
pub fn gemm_with(
    isa: Isa,
    max_threads: usize,
    a: MatRef,
    b: MatRef,
    c: MatMut,
    accumulate: bool,
    epilogue: Epilogue,
) -> Result<(), GemmError> {
    gemm_split(isa, max_threads, Split::Cheapest, a, b, c, accumulate, epilogue)
}

/// How a product is cut among threads. On any thread count a way gives the same bits: the k sum
/// runs in the same blocks, added in the same order. `Depth` is for products whose k is a
/// layer's inputs, and sums them in blocks of at most half the inputs from 256 inputs on
/// (`depth_cap`), so that two threads each own one; the other ways give `Cheapest`'s bits.
///
/// The last three keep a dense layer's weights on the threads that use them. Thread h owns the
/// rows `k_share(isa, inputs, threads, h)` of a layer's weights (inputs × units): it sums those
/// k blocks of the forward product (`Depth`), computes those rows of the weight gradient
/// (`Rows`) and those columns of the input gradient (`Columns`), and `optimizers::step` updates
/// those rows on it. Split otherwise, each thread read weights the other had just updated: a
/// cache line moving between the cores every time, which costs most where the cores sit on
/// different dies. Each falls back to `Cheapest` where the k blocks are fewer than the threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The grid of rectangles whose slowest one is cheapest to compute and pack.
    Cheapest,
    /// Thread h sums its share of the k blocks; the others' partial products are then added to
    /// C in block order, which is the order one thread adds them in.
    Depth,
    /// Thread h computes the rows `k_share(isa, m, threads, h)`.
    Rows,
    /// Thread h computes the columns `k_share(isa, n, threads, h)`.
    Columns,
}

/// Thread h's part of `0..len` inputs of a layer, in whole k blocks of `Split::Depth` on tier
/// `isa`, or `None` when there are fewer blocks than threads.
pub fn k_share(isa: Isa, len: usize, threads: usize, h: usize) -> Option<std::ops::Range<usize>> {
    let kc = match isa.capped() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => <avx512::Wide as Kernel>::KC,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => <avx2::Wide as Kernel>::KC,
        _ => <scalar::Portable as Kernel>::KC,
    };
    blocks_share(len, kc, threads, h)
}

/// The largest k block of `Split::Depth` over `inputs` (the kernel's KC caps it too): half of
/// them from 256 inputs on, so that two threads can each own a block of a layer of 256 to 1024
/// inputs. With one block, such a layer's weights were read and updated by both cores, and on
/// two dies its products barely gained from the second thread (512-512-512-10 at batch 64:
/// 1.27× on two threads; 1.62× with two blocks). Only the forward product's k is cut so: the
/// second block adds one pass over C, which a batch's rows × units output can afford (one
/// thread within the noise on mnist and bn), while the weight gradient's C (inputs × units,
/// summed over the batch's rows) would be read back from memory.
fn depth_cap(inputs: usize) -> usize {
    if inputs >= 256 {
        inputs.div_ceil(2)
    } else {
        usize::MAX
    }
}

/// `k_share` for a kernel whose KC is `kc`.
fn blocks_share(len: usize, kc: usize, threads: usize, h: usize) -> Option<std::ops::Range<usize>> {
    let (count, size) = block::k_blocks(len, kc.min(depth_cap(len)));
    let blocks = pool::share(count, threads, h);
    (count >= threads && threads > 1).then(|| (blocks.start * size).min(len)..(blocks.end * size).min(len))
}

/// [`gemm_with`], with the product cut among threads by `split`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_split(
    isa: Isa,
    max_threads: usize,
    split: Split,
    a: MatRef,
    b: MatRef,
    c: MatMut,
    accumulate: bool,
    epilogue: Epilogue,
) -> Result<(), GemmError> {
    check_matrix("A", &a)?;
    check_matrix("B", &b)?;
    check_storage("C", c.data.len(), c.rows, c.cols, c.ld)?;
    let (m, k) = a.shape();
    let (kb, n) = b.shape();
    if k != kb {
        return Err(GemmError::InnerDim {
            a_cols: k,
            b_rows: kb,
        });
    }
    if (c.rows, c.cols) != (m, n) {
        return Err(GemmError::OutputShape {
            expected: (m, n),
            got: (c.rows, c.cols),
        });
    }
    let (bias, hook) = epilogue.parts();
    if let Some(bias) = bias {
        if bias.len() != n {
            return Err(GemmError::BiasLen { len: bias.len(), n });
        }
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        epilogue_only(c, accumulate, bias, hook);
        return Ok(());
    }
    let p = Problem {
        m,
        n,
        k,
        // op(A)(i, p) and op(B)(p, j) in terms of the stored layouts: op(A)'s rows are the
        // stored rows unless transposed, op(B)'s columns only when transposed.
        a: source(&a, !a.trans),
        b: source(&b, b.trans),
        c: c.data.as_mut_ptr(),
        ldc: c.ld,
        accumulate,
        bias: bias.map_or(std::ptr::null(), <[f32]>::as_ptr),
        hook,
        kc_cap: if split == Split::Depth { depth_cap(k) } else { usize::MAX },
    };
    let threads = if m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN_MACS {
        1
    } else {
        max_threads.min(pool::max_threads())
    };
    // SAFETY: `p` was built from validated views that stay borrowed for this call, and `run`
    // is only instantiated for a kernel whose ISA the CPU supports.
    unsafe {
        match isa.capped() {
            // Narrow outputs get a narrower, taller tile (same summation order, same results).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 if n <= 16 => run::<avx512::Narrow>(&p, threads, split),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => run::<avx512::Wide>(&p, threads, split),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 if n <= 8 => run::<avx2::Narrow>(&p, threads, split),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => run::<avx2::Wide>(&p, threads, split),
            _ => run::<scalar::Portable>(&p, threads, split),
        }
    }
    Ok(())
}

/// The tier the GEMM runs on when `isa` is asked for: AVX-512 unless this CPU runs the AVX2
/// kernel faster, as a core with half-rate 512-bit FMAs can, measured once per process on a
/// product that fits in L1. The two tiers give bit-identical products (the same block sizes and
/// the same FMAs in the same order), so the choice changes the speed and nothing else.
pub fn gemm_isa(isa: Isa) -> Isa {
    let isa = isa.capped();
    if isa == Isa::Avx512 && avx2_is_faster() {
        Isa::Avx2
    } else {
        isa
    }
}

/// Times both tiers on a 96×64×256 product (a few microseconds each), interleaved, best of
/// several: AVX2 counts as faster only by a clear margin, so noise does not flip the choice.
fn avx2_is_faster() -> bool {
    static FASTER: OnceLock<bool> = OnceLock::new();
    *FASTER.get_or_init(|| {
        let (m, n, k) = (96, 64, 256);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.25 - 0.5).collect();
        let mut c = vec![0.0f32; m * n];
        let mut best = [f64::INFINITY; 2];
        for round in 0..9 {
            for (t, isa) in [Isa::Avx512, Isa::Avx2].into_iter().enumerate() {
                let start = std::time::Instant::now();
                let done = gemm_with(isa, 1, MatRef::new(&a, m, k), MatRef::new(&b, k, n), MatMut::new(&mut c, m, n), false, Epilogue::None);
                let elapsed = start.elapsed().as_secs_f64();
                if done.is_ok() && round >= 2 {
                    best[t] = best[t].min(elapsed);
                }
            }
        }
        best[1] < 0.9 * best[0]
    })
}

/// Splits the product by `split` and computes the parts on the pool.
///
/// # Safety
/// `p` is valid and the CPU supports `K`'s ISA.
unsafe fn run<K: Kernel>(p: &Problem, threads: usize, split: Split) {
    // SAFETY (each arm): `p` is valid and the CPU supports `K`, as this function requires.
    let owned = |len: usize, h: usize| blocks_share(len, K::KC, threads, h);
    match split {
        Split::Depth if owned(p.k, 0).is_some() => return unsafe { by_depth::<K>(p, threads) },
        Split::Rows if owned(p.m, 0).is_some() => return unsafe { by_shares::<K>(p, threads, |h| (owned(p.m, h).unwrap_or(0..0), 0..p.n)) },
        Split::Columns if owned(p.n, 0).is_some() => return unsafe { by_shares::<K>(p, threads, |h| (0..p.m, owned(p.n, h).unwrap_or(0..0))) },
        _ => {}
    }
    // Large products get two chunks per thread: if another process holds one of the cores, the
    // task queue moves work to the free thread instead of the call waiting for the slow one.
    // (Each extra chunk re-packs its share of A or B, which costs a few percent below this size.)
    let per_thread = if threads > 1
        && p.m.saturating_mul(p.n).saturating_mul(p.k) >= threads * BALANCE_MIN_MACS
    {
        2
    } else {
        1
    };
    let split = block::split::<K>(p.m, p.n, threads * per_thread);
    pool::parallel_for_max(split.tasks(), threads, |t| {
        let (rows, cols) = split.chunk(t, p.m, p.n);
        if rows.is_empty() || cols.is_empty() {
            return;
        }
        // SAFETY: chunks of one split are disjoint, so no two threads write the same part of C.
        pack::with_workspace(|ws| unsafe { K::chunk(p, rows, cols, ws) });
    });
}

/// Thread h computes the rectangle `share(h)` of C (the rectangles are disjoint and cover C).
///
/// # Safety
/// As for `run`.
unsafe fn by_shares<K: Kernel>(p: &Problem, threads: usize, share: impl Fn(usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) + Sync) {
    pool::parallel_for_max(threads, threads, |h| {
        let (rows, cols) = share(h);
        if !rows.is_empty() && !cols.is_empty() {
            // SAFETY: the shares are disjoint, so no two threads write the same part of C.
            pack::with_workspace(|ws| unsafe { K::chunk(p, rows, cols, ws) });
        }
    });
}

/// `Split::Depth`: thread 0 sums its k blocks into C as one thread would; every later block is
/// summed into its own partial product (from zero, as the kernel sums each block), and those are
/// then added to C in block order, then the bias, then the hook: the operations one thread
/// performs, in the same order.
///
/// # Safety
/// As for `run`; `p.k` has at least `threads` k blocks.
unsafe fn by_depth<K: Kernel>(p: &Problem, threads: usize) {
    let (count, size) = block::k_blocks(p.k, K::KC.min(p.kc_cap));
    let own = pool::share(count, threads, 0).end;
    let mn = p.m * p.n;
    partials::with(mn * (count - own), |partials| {
        let parts = pool::Parts::new(partials);
        pool::parallel_for_max(threads, threads, |h| {
            let blocks = pool::share(count, threads, h);
            pack::with_workspace(|ws| {
                if h == 0 {
                    // The same k blocks as for the whole k (`k_blocks` of a multiple of `size`).
                    let first = Problem { k: own * size, bias: std::ptr::null(), hook: None, kc_cap: size, ..*p };
                    // SAFETY: thread 0 alone writes C in this region.
                    unsafe { K::chunk(&first, 0..p.m, 0..p.n, ws) };
                    return;
                }
                for j in blocks {
                    let k0 = j * size;
                    // SAFETY: block j's partial is this thread's alone.
                    let out = unsafe { parts.part((j - own) * mn..(j - own + 1) * mn) };
                    let block = Problem { k: size.min(p.k - k0), a: p.a.at(0, k0), b: p.b.at(0, k0), c: out.as_mut_ptr(), ldc: p.n, accumulate: false, bias: std::ptr::null(), hook: None, ..*p };
                    // SAFETY: `block` reads inside A and B and writes its own partial.
                    unsafe { K::chunk(&block, 0..p.m, 0..p.n, ws) };
                }
            });
        });
        let partials: &[f32] = partials;
        pool::parallel_for_max(threads, threads, |h| {
            for i in pool::share(p.m, threads, h) {
                // SAFETY: row i of C is inside C, and this thread's alone in this region.
                let row = unsafe { std::slice::from_raw_parts_mut(p.c.add(i * p.ldc), p.n) };
                for partial in partials.chunks_exact(mn) {
                    let add = &partial[i * p.n..(i + 1) * p.n];
                    // C + partial: the kernel's addition (f32 addition commutes bit for bit).
                    crate::isa::vectorized(#[inline(always)] || row.iter_mut().zip(add).for_each(|(c, &x)| *c += x));
                }
                if !p.bias.is_null() {
                    // SAFETY: the bias has n floats.
                    let bias = unsafe { std::slice::from_raw_parts(p.bias, p.n) };
                    crate::isa::vectorized(#[inline(always)] || row.iter_mut().zip(bias).for_each(|(c, &b)| *c += b));
                }
                if let Some(hook) = p.hook {
                    // SAFETY: as above.
                    hook(i, 0, unsafe { Tile::new(row.as_mut_ptr(), 1, p.n, p.n) });
                }
            }
        });
    });
}

/// The caller's buffer for partial products, kept from call to call: a fresh one each call would
/// fault in its pages every time.
mod partials {
    use std::cell::Cell;

    thread_local! {
        static BUFFER: Cell<crate::alloc::Floats> = const { Cell::new(crate::alloc::Floats::new()) };
    }

    /// Runs `f` with `len` floats of this thread's buffer (their values unspecified).
    pub(super) fn with<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
        let mut buffer = BUFFER.with(Cell::take);
        if buffer.len() < len {
            buffer = crate::alloc::zeroed(len, "the partial products of a GEMM");
        }
        let r = f(&mut buffer[..len]);
        BUFFER.with(|slot| slot.set(buffer));
        r
    }
}

/// How packing reads `m`: along the panel width w are the stored rows when `rows_along_w`
/// (op(A) untransposed, op(B) transposed), else the stored columns.
fn source(m: &MatRef, rows_along_w: bool) -> Src {
    let (sw, sp) = if rows_along_w { (m.ld, 1) } else { (1, m.ld) };
    Src { rows: m.index.map_or(std::ptr::null(), <[u32]>::as_ptr), rows_along_w, ..Src::dense(m.data.as_ptr(), sw, sp) }
}

/// `check_storage` for an operand; a gathered one must name rows inside its data.
fn check_matrix(matrix: &'static str, m: &MatRef) -> Result<(), GemmError> {
    match m.index {
        None => check_storage(matrix, m.data.len(), m.rows, m.cols, m.ld),
        Some(index) => {
            let stored = m.data.len().checked_div(m.cols).unwrap_or(usize::MAX);
            match index.iter().find(|&&r| r as usize >= stored) {
                Some(&row) => Err(GemmError::RowIndex { matrix, row, rows: stored }),
                None => Ok(()),
            }
        }
    }
}

fn check_storage(
    matrix: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
    ld: usize,
) -> Result<(), GemmError> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    if ld < cols {
        return Err(GemmError::LeadingDim { matrix, ld, cols });
    }
    let needed = (rows - 1)
        .checked_mul(ld)
        .and_then(|x| x.checked_add(cols))
        .ok_or(GemmError::Overflow { matrix })?;
    if len < needed {
        return Err(GemmError::TooShort {
            matrix,
            len,
            needed,
        });
    }
    Ok(())
}

/// k = 0: the product is all zeros, so C is just (accumulate ? C : 0) + bias, then the hook.
fn epilogue_only(c: MatMut, accumulate: bool, bias: Option<&[f32]>, hook: Option<Hook>) {
    for i in 0..c.rows {
        let row = &mut c.data[i * c.ld..i * c.ld + c.cols];
        if !accumulate {
            row.fill(0.0);
        }
        if let Some(bias) = bias {
            // Same order as the kernels: (sum + C) + bias, with sum = 0.
            for (x, &b) in row.iter_mut().zip(bias) {
                *x = (0.0 + *x) + b;
            }
        }
        if let Some(hook) = hook {
            // SAFETY: the row is borrowed mutably here, for this call alone.
            hook(i, 0, unsafe { Tile::new(row.as_mut_ptr(), 1, row.len(), row.len()) });
        }
    }
}
