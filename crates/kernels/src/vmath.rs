//! Vectorised exp, sigmoid and tanh over slices. libm's expf and tanhf cost ~10 ns per call,
//! which dominated the small networks (a 2-16-16-2 tanh net spends more time in tanh than in
//! its matrix products). These are branch-free polynomial forms written on fixed-width lanes so
//! that the compiler vectorises them for the active ISA tier (see `isa::vectorized`).
//!
//! Accuracy (checked against f64 in the tests): exp within 2 ulp over the float range, tanh and
//! sigmoid within 1e-6 absolute and 3e-6 relative — far below what float32 training notices.

use crate::isa::vectorized;

/// |x| as bits that order as the magnitudes do: for non-negative floats the bit patterns are
/// ordered like the values, and every NaN's lie above infinity's, so one integer maximum (which
/// vectorises) finds both the largest magnitude and any value that is not finite.
#[inline(always)]
pub(crate) fn magnitude(x: f32) -> u32 {
    x.to_bits() & 0x7fff_ffff
}

/// The index of the first value that is not finite, if any: one vectorised pass (an integer max
/// of magnitudes), split across up to `max_threads` threads for large inputs.
pub fn first_non_finite(values: &[f32], max_threads: usize) -> Option<usize> {
    let tops = crate::pool::map_ranges(values.len(), 1 << 16, max_threads, |r| vectorized(#[inline(always)] || values[r].iter().fold(0, |top, &v| top.max(magnitude(v)))));
    if tops.into_iter().any(|top| top >= f32::INFINITY.to_bits()) {
        values.iter().position(|v| !v.is_finite())
    } else {
        None
    }
}

const LANES: usize = 16;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
const LOG2E: f32 = std::f32::consts::LOG2_E;
const ROUNDER: f32 = 12_582_912.0;

/// e^x for one lane: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split), e^r by its Taylor
/// series to r⁷ (the next term is below 2⁻²⁴ relative), then scaled by 2ⁿ through the exponent.
#[inline(always)]
fn exp_lane(x: f32) -> f32 {
    // Below -87.3 the result is subnormal or 0, above 88.7 it overflows: clamp and let the
    // scaling produce 0 or ∞ the way expf does.
    let x = x.clamp(-104.0, 89.0);
    // Round to nearest by adding 1.5·2²³: the sum's low mantissa bits hold n as an integer, so
    // neither f32::round nor a float-to-int conversion (both block vectorisation) is needed.
    let k = x * LOG2E + ROUNDER;
    let n = k - ROUNDER;
    let ni = k.to_bits() as i32 - ROUNDER.to_bits() as i32;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2ⁿ in two halves so that n down to -150 (subnormal results) and up to 128 both work.
    let half = ni >> 1;
    let s1 = f32::from_bits(((half + 127) as u32) << 23);
    let s2 = f32::from_bits(((ni - half + 127) as u32) << 23);
    p * s1 * s2
}

#[inline(always)]
fn sigmoid_lane(x: f32) -> f32 {
    1.0 / (1.0 + exp_lane(-x))
}

/// tanh for one lane: the odd Taylor polynomial near 0 (where 1 − e^{−2|x|} would cancel),
/// otherwise (1 − t)/(1 + t) with t = e^{−2|x|}, sign restored.
#[inline(always)]
fn tanh_lane(x: f32) -> f32 {
    let a = x.abs();
    let x2 = x * x;
    let small = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0))));
    let t = exp_lane(-2.0 * a);
    let large = ((1.0 - t) / (1.0 + t)).copysign(x);
    if a < 0.0625 {
        small
    } else {
        large
    }
}

macro_rules! lanewise {
    ($name:ident, $lane:ident) => {
        #[inline(always)]
        fn $name(v: &mut [f32]) {
            let mut chunks = v.chunks_exact_mut(LANES);
            for c in &mut chunks {
                for x in c.iter_mut() {
                    *x = $lane(*x);
                }
            }
            for x in chunks.into_remainder() {
                *x = $lane(*x);
            }
        }
    };
}

lanewise!(exp_generic, exp_lane);
lanewise!(sigmoid_generic, sigmoid_lane);
lanewise!(tanh_generic, tanh_lane);

/// e^x of every element, in place.
pub fn exp(v: &mut [f32]) {
    vectorized(#[inline(always)] || exp_generic(v))
}

/// 1/(1 + e^−x) of every element, in place.
pub fn sigmoid(v: &mut [f32]) {
    vectorized(#[inline(always)] || sigmoid_generic(v))
}

/// tanh of every element, in place.
pub fn tanh(v: &mut [f32]) {
    vectorized(#[inline(always)] || tanh_generic(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extreme finite values pass, and the first NaN or infinity anywhere is found (after others
    /// of its kind, in the vector body and in the tail, on one thread and on several).
    #[test]
    fn first_non_finite_finds_the_first_value_that_is_not() {
        let mut src: Vec<f32> = (0..1037).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        src[3] = f32::MAX;
        src[4] = -f32::MAX;
        src[5] = f32::MIN_POSITIVE / 8.0;
        src[6] = -0.0;
        assert_eq!(first_non_finite(&src, 1), None);
        for (at, bad) in [(0, f32::NAN), (500, f32::INFINITY), (1036, f32::NEG_INFINITY), (17, -f32::NAN)] {
            let mut with_bad = src.clone();
            with_bad[at] = bad;
            with_bad[at + (1036 - at).min(3)] = f32::NAN;
            assert_eq!(first_non_finite(&with_bad, 1), Some(at), "{bad} at {at}");
        }
        // Large enough to be split: the first bad value wins whatever chunk finishes first.
        let mut big: Vec<f32> = (0..300_000).map(|i| (i as f32).sin()).collect();
        assert_eq!(first_non_finite(&big, 8), None);
        big[250_000] = f32::NAN;
        big[70_000] = f32::INFINITY;
        assert_eq!(first_non_finite(&big, 8), Some(70_000));
        assert_eq!(first_non_finite(&big, 1), Some(70_000));
    }

    fn samples() -> Vec<f32> {
        let mut v: Vec<f32> = (-20000..=20000).map(|i| i as f32 * 0.005).collect();
        v.extend([0.0, -0.0, 1e-30, -1e-30, 1e-8, 0.0624, 0.0625, 0.0626, 88.0, 88.7, -87.0, -100.0, -103.0]);
        v
    }

    #[test]
    fn exp_is_within_2_ulp() {
        let xs = samples();
        let mut v = xs.clone();
        exp(&mut v);
        for (&x, &y) in xs.iter().zip(&v) {
            let want = (x as f64).exp();
            if want > f32::MAX as f64 {
                assert!(y.is_infinite(), "exp({x}) = {y}");
                continue;
            }
            let ulp = (want as f32).abs().max(f32::MIN_POSITIVE) * f32::EPSILON;
            assert!(((y as f64) - want).abs() <= 2.0 * ulp as f64 + 1e-45, "exp({x}) = {y}, want {want}");
        }
        let mut edge = [f32::INFINITY, f32::NEG_INFINITY, 200.0, -200.0];
        exp(&mut edge);
        assert_eq!(edge, [f32::INFINITY, 0.0, f32::INFINITY, 0.0]);
    }

    #[test]
    fn tanh_and_sigmoid_match_f64() {
        let xs = samples();
        for (f, reference) in [(tanh as fn(&mut [f32]), f64::tanh as fn(f64) -> f64), (sigmoid, |x: f64| 1.0 / (1.0 + (-x).exp()))] {
            let mut v = xs.clone();
            f(&mut v);
            for (&x, &y) in xs.iter().zip(&v) {
                let want = reference(x as f64);
                let err = (y as f64 - want).abs();
                assert!(err <= 1e-6 && err <= 3e-6 * want.abs() + 1e-37, "f({x}) = {y}, want {want}");
            }
        }
        let mut sat = [1000.0f32, -1000.0, f32::INFINITY, f32::NEG_INFINITY];
        tanh(&mut sat);
        assert_eq!(sat, [1.0, -1.0, 1.0, -1.0]);
        let mut sat = [1000.0f32, -1000.0];
        sigmoid(&mut sat);
        assert_eq!(sat, [1.0, 0.0]);
    }

    #[test]
    fn every_tier_agrees_closely() {
        let xs = samples();
        let mut generic = xs.clone();
        tanh_generic(&mut generic);
        let mut dispatched = xs.clone();
        tanh(&mut dispatched);
        for (a, b) in generic.iter().zip(&dispatched) {
            assert!((a - b).abs() <= 2.0 * f32::EPSILON, "{a} vs {b}");
        }
    }
}
