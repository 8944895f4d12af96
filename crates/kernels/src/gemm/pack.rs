//! Packing of operand blocks into micro-panels, and the reusable workspace that holds them.
//!
//! A micro-panel of width `W` (the kernel's MR for A, NR for B) stores, for each k step `p`, the
//! `W` values the micro-kernel needs at that step contiguously: `dst[p*W + w]`. Rows or columns
//! past the matrix edge are zero, so kernels always run full tiles and need no edge cases.

use std::cell::Cell;

/// Where an operand's elements live: element `(w, p)` — `w` along the panel width (rows of
/// op(A), columns of op(B)), `p` along k — is at `ptr + w*sw + p*sp`. A gathered operand (see
/// `MatRef::gathered`) takes its stored rows through `rows`: along w (`rows_along_w`) element
/// `(w, p)` is at `ptr + rows[w]*sw + p*sp`, along k at `ptr + w*sw + rows[p]*sp`.
#[derive(Clone, Copy)]
pub(crate) struct Src {
    pub ptr: *const f32,
    pub sw: usize,
    pub sp: usize,
    /// The stored rows to read, in order, or null for rows in storage order.
    pub rows: *const u32,
    pub rows_along_w: bool,
}

// SAFETY: `Src` only reads, and every GEMM call keeps the operand borrowed while threads use it.
unsafe impl Send for Src {}
// SAFETY: as above; concurrent reads of an immutably borrowed slice are fine.
unsafe impl Sync for Src {}

impl Src {
    /// A source in storage order.
    pub fn dense(ptr: *const f32, sw: usize, sp: usize) -> Src {
        Src { ptr, sw, sp, rows: std::ptr::null(), rows_along_w: false }
    }

    /// The block starting at `(w, p)`.
    #[inline(always)]
    pub fn at(self, w: usize, p: usize) -> Src {
        // `wrapping_add` keeps forming the pointer defined even when it is never read (empty
        // blocks at the edge).
        if self.rows.is_null() {
            Src { ptr: self.ptr.wrapping_add(w * self.sw + p * self.sp), ..self }
        } else if self.rows_along_w {
            Src { ptr: self.ptr.wrapping_add(p * self.sp), rows: self.rows.wrapping_add(w), ..self }
        } else {
            Src { ptr: self.ptr.wrapping_add(w * self.sw), rows: self.rows.wrapping_add(p), ..self }
        }
    }

    /// Whether the W values of one k step are contiguous (`sw == 1` and not gathered along w).
    #[inline(always)]
    pub fn contiguous_along_w(self) -> bool {
        self.sw == 1 && (self.rows.is_null() || !self.rows_along_w)
    }

    /// Whether the k steps of one row or column are contiguous (`sp == 1` and not gathered along
    /// k).
    #[inline(always)]
    pub fn contiguous_along_k(self) -> bool {
        self.sp == 1 && (self.rows.is_null() || self.rows_along_w)
    }

    /// The offset of `(i, 0)` from `ptr`.
    ///
    /// # Safety
    /// For a gathered source, `rows[i]` must be readable when the rows run along w.
    #[inline(always)]
    pub unsafe fn w_offset(self, i: usize) -> usize {
        // SAFETY: the caller's promise.
        if !self.rows.is_null() && self.rows_along_w { unsafe { *self.rows.add(i) as usize * self.sw } } else { i * self.sw }
    }

    /// The offset of `(0, p)` from `ptr`.
    ///
    /// # Safety
    /// For a gathered source, `rows[p]` must be readable when the rows run along k.
    #[inline(always)]
    pub unsafe fn p_offset(self, p: usize) -> usize {
        // SAFETY: the caller's promise.
        if !self.rows.is_null() && !self.rows_along_w { unsafe { *self.rows.add(p) as usize * self.sp } } else { p * self.sp }
    }
}

/// Packs a block of `width` (rows of A or columns of B) × `kc` into consecutive micro-panels of
/// width `W`, the last one zero-padded. `dst` must hold `width.div_ceil(W) * W * kc` floats.
///
/// # Safety
/// Every `(w, p)` with `w < width`, `p < kc` must be readable through `src`; `dst` writable.
#[inline(always)]
pub(crate) unsafe fn pack_block<const W: usize>(dst: *mut f32, src: Src, width: usize, kc: usize) {
    let mut w0 = 0;
    while w0 < width {
        let w = W.min(width - w0);
        // SAFETY: panel `w0 / W` lies inside the caller's destination and source ranges.
        unsafe { pack_panel::<W>(dst.add(w0 * kc), src.at(w0, 0), w, kc) };
        w0 += W;
    }
}

/// One micro-panel: `dst[p*W + i] = src(i, p)` for `i < w`, zero for `w ≤ i < W`.
#[inline(always)]
unsafe fn pack_panel<const W: usize>(dst: *mut f32, src: Src, w: usize, kc: usize) {
    // SAFETY (whole body): indices stay below `w` along the width and `kc` along k, which the
    // caller guarantees readable, and below `W * kc` in `dst`.
    unsafe {
        if src.contiguous_along_w() {
            // The W values of one k step are contiguous: a straight copy per step.
            // (`copy_nonoverlapping` tells the compiler the two do not alias, so it vectorises.)
            for p in 0..kc {
                let s = src.ptr.add(src.p_offset(p));
                let d = dst.add(p * W);
                if w == W {
                    std::ptr::copy_nonoverlapping(s, d, W);
                } else {
                    std::ptr::copy_nonoverlapping(s, d, w);
                    std::ptr::write_bytes(d.add(w), 0, W - w);
                }
            }
        } else if src.contiguous_along_k() && w == W {
            // Transposing: walk a few k steps at a time so each source row's cache line is used
            // fully while it is hot, and the W streams stay few enough for the prefetchers.
            const STEP: usize = 8;
            let mut p0 = 0;
            while p0 + STEP <= kc {
                for i in 0..W {
                    let s = src.ptr.add(src.w_offset(i) + p0);
                    for q in 0..STEP {
                        *dst.add((p0 + q) * W + i) = *s.add(q);
                    }
                }
                p0 += STEP;
            }
            for p in p0..kc {
                for i in 0..W {
                    *dst.add(p * W + i) = *src.ptr.add(src.w_offset(i) + p);
                }
            }
        } else {
            for p in 0..kc {
                for i in 0..W {
                    *dst.add(p * W + i) = if i < w {
                        *src.ptr.add(src.w_offset(i) + src.p_offset(p))
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// 64-byte aligned storage, so packed panels start on a cache line (and zmm loads never split).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// Grow-only packing buffers, one set per thread, reused across calls: fresh pages cost ~11 µs
/// each to fault in here, far more than the packing itself.
#[derive(Default)]
pub(crate) struct Workspace {
    a: Vec<Line>,
    b: Vec<Line>,
}

impl Workspace {
    /// Pointers to at least `a_len` and `b_len` floats (uninitialised contents are never read
    /// before being packed).
    pub fn buffers(&mut self, a_len: usize, b_len: usize) -> (*mut f32, *mut f32) {
        fn grow(v: &mut Vec<Line>, len: usize) -> *mut f32 {
            let lines = len.div_ceil(16);
            if v.len() < lines {
                *v = vec![Line([0.0; 16]); lines];
            }
            v.as_mut_ptr().cast()
        }
        (grow(&mut self.a, a_len), grow(&mut self.b, b_len))
    }
}

thread_local! {
    static WORKSPACE: Cell<Workspace> = Cell::new(Workspace::default());
}

/// Runs `f` with this thread's workspace. Taking it out (rather than borrowing) keeps a
/// reentrant call — an epilogue hook that itself calls GEMM — correct: it just gets a fresh one.
pub(crate) fn with_workspace<R>(f: impl FnOnce(&mut Workspace) -> R) -> R {
    let mut ws = WORKSPACE.with(Cell::take);
    let r = f(&mut ws);
    WORKSPACE.with(|slot| {
        let inner = slot.take();
        // Keep whichever is bigger if a reentrant call left one behind.
        if inner.a.len() + inner.b.len() > ws.a.len() + ws.b.len() {
            slot.set(inner);
        } else {
            slot.set(ws);
        }
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_match_definition() {
        // A 5×11 source, packed both ways with W = 4 (two panels, the second padded).
        let (rows, cols) = (5usize, 11usize);
        let m: Vec<f32> = (0..rows * cols).map(|x| x as f32 + 1.0).collect();
        for (sw, sp, width, kc) in [(cols, 1, rows, cols), (1, cols, cols, rows)] {
            let src = Src::dense(m.as_ptr(), sw, sp);
            let mut dst = vec![f32::NAN; width.div_ceil(4) * 4 * kc];
            // SAFETY: the source covers width × kc, dst is sized as documented.
            unsafe { pack_block::<4>(dst.as_mut_ptr(), src, width, kc) };
            for panel in 0..width.div_ceil(4) {
                for p in 0..kc {
                    for i in 0..4 {
                        let w = panel * 4 + i;
                        let want = if w < width { m[w * sw + p * sp] } else { 0.0 };
                        assert_eq!(dst[panel * 4 * kc + p * 4 + i], want);
                    }
                }
            }
        }
    }
}
