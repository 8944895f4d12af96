//! Inverted dropout with masks from the shared PRNG: one draw per unit, row-major over the
//! batch, dropped when the draw is below `rate` — the JS engine's exact order and rule.

use crate::rng::Rng;

pub fn forward(rate: f64, x: &[f32], out: &mut [f32], mask: &mut [f32], rng: &mut Rng) {
    let keep = (1.0 / (1.0 - rate)) as f32;
    for ((o, m), &v) in out.iter_mut().zip(mask.iter_mut()).zip(x) {
        *m = if rng.next_f64() < rate { 0.0 } else { keep };
        *o = v * *m;
    }
}

pub fn backward(dy: &[f32], dx: &mut [f32], mask: &[f32]) {
    for ((d, &g), &m) in dx.iter_mut().zip(dy).zip(mask) {
        *d = g * m;
    }
}
