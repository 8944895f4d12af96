//! Activation functions, forward in place and backward from the output (see
//! lib/engine/js/activations.ts, whose semantics these follow exactly).

use crate::isa::vectorized;
use crate::plan::Activation;
use crate::vmath;

// The piecewise ones are written as selects, not conditional stores: a branch on the sign of
// each value mispredicts half the time and keeps the loop scalar (ReLU's forward and backward
// took 18% of a wide network's step that way); a select vectorises to a blend.

/// Applies the activation in place to `rows` rows of `cols` values.
pub fn forward(act: Activation, z: &mut [f32], cols: usize) {
    match act {
        Activation::Linear => {}
        Activation::Sigmoid => vmath::sigmoid(z),
        Activation::Tanh => vmath::tanh(z),
        // `v < 0` keeps NaN as NaN, so divergence stays visible.
        Activation::Relu => vectorized(#[inline(always)] || z.iter_mut().for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v })),
        Activation::LeakyRelu(alpha) => vectorized(#[inline(always)] || z.iter_mut().for_each(|v| *v = if *v < 0.0 { *v * alpha } else { *v })),
        Activation::Softmax => z.chunks_exact_mut(cols).for_each(softmax_row),
    }
}

/// Numerically stable softmax of one row, in place (sums in f64 as the JS engine does).
pub fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|v| *v -= max);
    vmath::exp(row);
    let sum: f64 = row.iter().map(|&e| e as f64).sum();
    let inv = (1.0 / sum) as f32;
    row.iter_mut().for_each(|v| *v *= inv);
}

/// Turns dL/da into dL/dz in place, using only the output `a` (σ' = a(1−a), tanh' = 1−a²,
/// ReLU' = [a > 0]; leaky ReLU with α ≥ 0 has a > 0 exactly when z > 0; softmax applies its
/// Jacobian row by row).
pub fn backward(act: Activation, a: &[f32], grad: &mut [f32], cols: usize) {
    match act {
        Activation::Linear => {}
        Activation::Sigmoid => vectorized(#[inline(always)] || grad.iter_mut().zip(a).for_each(|(g, &y)| *g *= y * (1.0 - y))),
        Activation::Tanh => vectorized(#[inline(always)] || grad.iter_mut().zip(a).for_each(|(g, &y)| *g *= 1.0 - y * y)),
        Activation::Relu => vectorized(#[inline(always)] || grad.iter_mut().zip(a).for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 })),
        Activation::LeakyRelu(alpha) => vectorized(#[inline(always)] || grad.iter_mut().zip(a).for_each(|(g, &y)| *g = if y > 0.0 { *g } else { *g * alpha })),
        Activation::Softmax => {
            for (g, y) in grad.chunks_exact_mut(cols).zip(a.chunks_exact(cols)) {
                let dot: f64 = g.iter().zip(y).map(|(&g, &y)| g as f64 * y as f64).sum();
                let dot = dot as f32;
                g.iter_mut().zip(y).for_each(|(g, &y)| *g = y * (*g - dot));
            }
        }
    }
}
