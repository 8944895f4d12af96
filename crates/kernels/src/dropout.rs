//! Inverted dropout with masks from the shared PRNG: one draw per unit, row-major over the
//! batch, dropped when the draw is below `rate` — the JS engine's exact order and rule.

use crate::isa::vectorized;
use crate::rng::Rng;

pub fn forward(rate: f64, x: &[f32], out: &mut [f32], mask: &mut [f32], rng: &mut Rng) {
    let keep = (1.0 / (1.0 - rate)) as f32;
    // A draw u is dropped when u·2⁻³² < rate, that is when u < rate·2³² (exact in float64), so
    // the draws are compared as integers; the mask holds them until they become 0 or `keep`.
    let threshold = rate * 4_294_967_296.0;
    let draws = mask_as_draws(mask);
    rng.fill(draws);
    vectorized(#[inline(always)] || {
        for ((o, m), &v) in out.iter_mut().zip(mask.iter_mut()).zip(x) {
            let dropped = (m.to_bits() as f64) < threshold;
            *m = if dropped { 0.0 } else { keep };
            *o = v * *m;
        }
    });
}

/// The mask's storage viewed as the draws that will decide it.
fn mask_as_draws(mask: &mut [f32]) -> &mut [u32] {
    // SAFETY: u32 and f32 have the same size and alignment and every bit pattern is valid for
    // both; the view borrows the mask mutably for its whole life.
    unsafe { std::slice::from_raw_parts_mut(mask.as_mut_ptr().cast::<u32>(), mask.len()) }
}

pub fn backward(dy: &[f32], dx: &mut [f32], mask: &[f32]) {
    vectorized(#[inline(always)] || {
        for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(mask) {
            *d = g * m;
        }
    })
}
