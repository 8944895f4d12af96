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

/// `n` zeros, allocated zeroed (the pages are not touched until used, as with `vec![0.0; n]`),
/// or the message saying `what` could not be had.
pub fn try_zeroed(n: usize, what: &str) -> Result<Vec<f32>, String> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let too_much = || format!("{OUT_OF_MEMORY}{what}: {} ({n} float32 values) could not be allocated", size(n as f64 * 4.0));
    let layout = Layout::array::<f32>(n).map_err(|_| too_much())?;
    // SAFETY: the layout has a non-zero size; a non-null result is n zeroed f32s (all-zero
    // bits are 0.0), owned by the Vec with the same layout the global allocator gave.
    let p = unsafe { alloc_zeroed(layout) }.cast::<f32>();
    if p.is_null() {
        return Err(too_much());
    }
    Ok(unsafe { Vec::from_raw_parts(p, n, n) })
}

/// As `try_zeroed`, panicking with the message (for callers that check sizes beforehand).
pub fn zeroed(n: usize, what: &str) -> Vec<f32> {
    try_zeroed(n, what).unwrap_or_else(|message| {
        quiet_hook();
        panic!("{message}")
    })
}

/// A copy of `values`, allocated fallibly.
pub fn copied(values: &[f32], what: &str) -> Vec<f32> {
    let mut v = zeroed(values.len(), what);
    v.copy_from_slice(values);
    v
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
        assert_eq!(zeroed(5, "x"), vec![0.0; 5]);
        assert!(zeroed(0, "x").is_empty());
        let refused = std::panic::catch_unwind(|| zeroed(usize::MAX / 2, "a test buffer")).unwrap_err();
        let message = refused.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("out of memory: a test buffer: "), "{message}");
    }
}
