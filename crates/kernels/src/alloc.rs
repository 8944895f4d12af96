//! Buffers whose size comes from a caller or a file (a layer's width, a batch's rows, a
//! dataset). Rust aborts the process when an allocation fails; a server must not die because a
//! request asked for too much. These allocate fallibly and, on failure, panic with what was
//! asked — a panic every entry point of the addon turns into a JavaScript Error.

use std::alloc::{alloc_zeroed, Layout};
use std::sync::Once;

/// How every allocation-failure panic message starts (the addon reports those as RangeErrors).
pub const OUT_OF_MEMORY: &str = "out of memory: ";

/// Keeps the default panic hook from printing these expected panics to stderr (other panics
/// still print).
fn quiet_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or("");
            if !message.starts_with(OUT_OF_MEMORY) {
                default(info);
            }
        }));
    });
}

/// One cache line of floats: what a `Floats` buffer is made of, so that it starts on a line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A buffer of `f32` that starts on a cache line (64 bytes), where a `Vec<f32>` starts wherever
/// the allocator puts it (16 bytes into a line for glibc's large blocks). Threads write a batch's
/// buffers in disjoint columns (the input-gradient product by `Split::Columns`); when the buffer
/// does not start on a line, the line at the split of every row holds both threads' columns, and
/// each row then sends it between the cores twice. On two dies that cost 512³-10 at batch 64 13%
/// of its two-thread speed, mnist 5%.
#[derive(Clone)]
pub struct Floats {
    lines: Vec<Line>,
    len: usize,
}

impl Floats {
    /// No floats (allocates nothing).
    pub const fn new() -> Floats {
        Floats { lines: Vec::new(), len: 0 }
    }
}

impl std::ops::Deref for Floats {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: the lines hold at least `len` floats (`Line` is 16 f32s, no padding), and the
        // slice borrows them for as long as `self`.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }
}

impl std::ops::DerefMut for Floats {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as for `deref`, borrowed mutably.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

impl Default for Floats {
    fn default() -> Floats {
        Floats::new()
    }
}

impl std::fmt::Debug for Floats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// `n` zeros on their own cache lines, allocated zeroed (the pages are not touched until used,
/// as with `vec![0.0; n]`), or the message saying `what` could not be had.
pub fn try_zeroed(n: usize, what: &str) -> Result<Floats, String> {
    if n == 0 {
        return Ok(Floats::new());
    }
    let too_much = || format!("{OUT_OF_MEMORY}{what}: {} ({n} float32 values) could not be allocated", size(n as f64 * 4.0));
    let count = n.div_ceil(16);
    let layout = Layout::array::<Line>(count).map_err(|_| too_much())?;
    // SAFETY: the layout has a non-zero size; a non-null result is `count` zeroed lines (all-zero
    // bits are 0.0), owned by the Vec with the layout `Vec<Line>` frees with.
    let p = unsafe { alloc_zeroed(layout) }.cast::<Line>();
    if p.is_null() {
        return Err(too_much());
    }
    Ok(Floats { lines: unsafe { Vec::from_raw_parts(p, count, count) }, len: n })
}

/// As `try_zeroed`, panicking with the message (for callers that check sizes beforehand).
pub fn zeroed(n: usize, what: &str) -> Floats {
    try_zeroed(n, what).unwrap_or_else(|message| {
        quiet_hook();
        panic!("{message}")
    })
}

fn size(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", (bytes / 1e6).ceil())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_gives_zeros_and_refuses_the_impossible() {
        assert_eq!(*zeroed(5, "x"), [0.0; 5]);
        assert!(zeroed(0, "x").is_empty());
        let refused = std::panic::catch_unwind(|| zeroed(usize::MAX / 2, "a test buffer")).unwrap_err();
        let message = refused.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("out of memory: a test buffer: "), "{message}");
    }

    #[test]
    fn buffers_start_on_a_cache_line_and_keep_their_values() {
        // Sizes around a line, and large ones (glibc serves those from mmap, 16 bytes into a line).
        for n in [1, 15, 16, 17, 1000, 1 << 18, (1 << 20) + 3] {
            let mut b = zeroed(n, "x");
            assert_eq!(b.as_ptr() as usize % 64, 0, "{n} floats");
            assert_eq!(b.len(), n);
            b.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
            let copy = b.clone();
            assert_eq!(copy.as_ptr() as usize % 64, 0, "a clone of {n} floats");
            assert!(copy.iter().enumerate().all(|(i, &v)| v == i as f32));
        }
    }
}
