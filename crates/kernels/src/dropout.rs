//! Inverted dropout with masks from the shared PRNG: one draw per unit, row-major over the
//! batch, dropped when the draw is below `rate` — the JS engine's exact order and rule. The
//! draws are made for a whole layer at once (`draw`, where the stream's vector form pays off),
//! then turned into the mask while the rows are applied (`apply`, `apply_in_place`), which a
//! chain (chain.rs) does a block of rows at a time.

use crate::rng::Rng;

/// The mask's storage viewed as the draws that will decide it.
fn mask_as_draws(mask: &mut [f32]) -> &mut [u32] {
    // SAFETY: u32 and f32 have the same size and alignment and every bit pattern is valid for
    // both; the view borrows the mask mutably for its whole life.
    unsafe { std::slice::from_raw_parts_mut(mask.as_mut_ptr().cast::<u32>(), mask.len()) }
}

/// Fills `mask` with the stream's next draws (the mask's bits until `apply` decides it).
pub fn draw(mask: &mut [f32], rng: &mut Rng) {
    rng.fill(mask_as_draws(mask));
}

/// The rule for one unit, from its draw `u` (held in the mask's bits): dropped when u·2⁻³² <
/// rate, that is when u < rate·2³² (exact in float64), so draws compare as integers.
#[inline(always)]
fn decide(drawn: f32, threshold: f64, keep: f32) -> f32 {
    if (drawn.to_bits() as f64) < threshold {
        0.0
    } else {
        keep
    }
}

/// (rate·2³², 1/(1 − rate)): the threshold draws are compared with and the survivors' scale.
#[inline(always)]
fn constants(rate: f64) -> (f64, f32) {
    (rate * 4_294_967_296.0, keep_scale(rate))
}

/// 1/(1 − rate), the survivors' scale: a kept unit's mask value.
#[inline(always)]
pub fn keep_scale(rate: f64) -> f32 {
    (1.0 / (1.0 - rate)) as f32
}

/// Decides the mask from the draws it holds and writes out = x · mask.
#[inline(always)]
pub fn apply(rate: f64, x: &[f32], out: &mut [f32], mask: &mut [f32]) {
    let (threshold, keep) = constants(rate);
    for ((o, m), &v) in out.iter_mut().zip(mask.iter_mut()).zip(x) {
        *m = decide(*m, threshold, keep);
        *o = v * *m;
    }
}

/// `apply` with the output in place of the input.
#[inline(always)]
pub fn apply_in_place(rate: f64, values: &mut [f32], mask: &mut [f32]) {
    let (threshold, keep) = constants(rate);
    for (v, m) in values.iter_mut().zip(mask.iter_mut()) {
        *m = decide(*m, threshold, keep);
        *v *= *m;
    }
}

/// `apply_in_place` for a mask no one reads again: the draws decide the values and stay.
#[inline(always)]
pub fn apply_in_place_from_draws(rate: f64, values: &mut [f32], draws: &[f32]) {
    let (threshold, keep) = constants(rate);
    for (v, &m) in values.iter_mut().zip(draws) {
        *v *= decide(m, threshold, keep);
    }
}

/// dx = dy · mask.
#[inline(always)]
pub fn backward(dy: &[f32], dx: &mut [f32], mask: &[f32]) {
    for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(mask) {
        *d = g * m;
    }
}

/// dx through Dropout then ReLU (the order of the backward pass) from Dropout's output `out`:
/// above 0 exactly where the unit was kept and active, where dx = dy · `keep` as
/// `backward` then ReLU's derivative give it; elsewhere 0 (a zero whose sign may differ).
#[inline(always)]
pub fn backward_relu(dy: &[f32], out: &[f32], keep: f32, dx: &mut [f32]) {
    for ((d, &g), &y) in dx.iter_mut().zip(dy).zip(out) {
        *d = if y > 0.0 { g * keep } else { 0.0 };
    }
}
