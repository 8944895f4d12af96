//! Instruction-set tiers and their one-time, cached selection.
//!
//! Detection runs once per process: reading an env var or CPUID per call cost ~80 ns, which
//! matters for the small kernels a training step calls thousands of times.

use std::fmt;
use std::sync::OnceLock;

/// A SIMD tier. Ordered: a higher tier implies the CPU also runs every lower one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Portable Rust, no `std::arch` intrinsics (the compiler may still use SSE2).
    Scalar,
    /// AVX2 + FMA, 256-bit `ymm` registers.
    Avx2,
    /// AVX-512F, 512-bit `zmm` registers.
    Avx512,
}

impl Isa {
    /// Every tier, lowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// The name used by `BACKPROP_ISA` and in reports: `scalar`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a tier name (case-insensitive, surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<Isa> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Isa::Scalar),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Whether this CPU (and OS) can run the tier.
    pub fn is_supported(self) -> bool {
        self <= detected_isa()
    }

    /// This tier lowered to what the CPU supports.
    pub fn capped(self) -> Isa {
        self.min(detected_isa())
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The highest tier the CPU supports, ignoring `BACKPROP_ISA`.
pub fn detected_isa() -> Isa {
    static DETECTED: OnceLock<Isa> = OnceLock::new();
    *DETECTED.get_or_init(detect)
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    // The macro also checks that the OS saves the wide registers (XCR0).
    if is_x86_feature_detected!("avx512f") {
        Isa::Avx512
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Isa::Avx2
    } else {
        Isa::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Isa {
    Isa::Scalar
}

struct Selection {
    isa: Isa,
    /// Why `BACKPROP_ISA` was ignored, if it was set but unusable.
    ignored: Option<String>,
}

fn selection() -> &'static Selection {
    static SELECTION: OnceLock<Selection> = OnceLock::new();
    SELECTION.get_or_init(|| select(std::env::var("BACKPROP_ISA").ok().as_deref()))
}

fn select(env: Option<&str>) -> Selection {
    let detected = detected_isa();
    match env {
        None => Selection {
            isa: detected,
            ignored: None,
        },
        Some(v) if v.trim().is_empty() => Selection {
            isa: detected,
            ignored: None,
        },
        Some(v) => match Isa::parse(v) {
            Some(cap) => Selection {
                isa: cap.min(detected),
                ignored: None,
            },
            None => Selection {
                isa: detected,
                ignored: Some(format!(
                    "BACKPROP_ISA={v:?} is not one of avx512, avx2, scalar; using the detected \
                     tier {detected}"
                )),
            },
        },
    }
}

/// The tier kernels use: the detected tier, capped by `BACKPROP_ISA` (read once).
pub fn active_isa() -> Isa {
    selection().isa
}

/// If `BACKPROP_ISA` was set to something unrecognised, the reason it was ignored.
pub fn isa_env_problem() -> Option<&'static str> {
    selection().ignored.as_deref()
}

/// Runs `f` compiled for the active tier: `f` is inlined into a function built with that tier's
/// target features, so plain loops inside it (written over fixed-width chunks or equal-length
/// slices) are vectorised for AVX-512 or AVX2 instead of the SSE2 baseline. For elementwise
/// kernels only; the GEMM has hand-written micro-kernels per tier.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        match active_isa() {
            // SAFETY: active_isa never reports a tier the CPU lacks (detection checks the
            // features, including avx512dq/bw/vl which every AVX-512 CPU that runs Node has —
            // guarded below).
            Isa::Avx512 if avx512_extras() => return unsafe { avx512(f) },
            Isa::Avx512 | Isa::Avx2 => return unsafe { avx2(f) },
            Isa::Scalar => {}
        }
    }
    f()
}

/// AVX-512 subsets the elementwise kernels may use beyond AVX-512F (cached).
#[cfg(target_arch = "x86_64")]
fn avx512_extras() -> bool {
    static EXTRAS: OnceLock<bool> = OnceLock::new();
    *EXTRAS.get_or_init(|| {
        is_x86_feature_detected!("avx512dq") && is_x86_feature_detected!("avx512bw") && is_x86_feature_detected!("avx512vl")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_names() {
        assert!(Isa::Scalar < Isa::Avx2 && Isa::Avx2 < Isa::Avx512);
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Some(isa));
        }
        assert_eq!(Isa::parse(" AVX2 "), Some(Isa::Avx2));
        assert_eq!(Isa::parse("sse"), None);
    }

    #[test]
    fn env_caps_but_never_raises() {
        let d = detected_isa();
        assert_eq!(select(Some("scalar")).isa, Isa::Scalar);
        assert_eq!(select(Some("avx512")).isa, d);
        assert_eq!(select(Some("avx2")).isa, Isa::Avx2.min(d));
        assert_eq!(select(None).isa, d);
        let bad = select(Some("neon"));
        assert_eq!(bad.isa, d);
        assert!(bad.ignored.unwrap().contains("neon"));
        assert!(active_isa() <= d);
        assert!(Isa::Scalar.is_supported());
    }
}
