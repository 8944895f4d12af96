//! Gradient clipping and the optimizer updates as single fused passes over the flat buffers
//! (see lib/engine/js/optimizers.ts: the same rules, Keras conventions).

use crate::plan::{Clip, Optimizer};

/// Clips by global norm, then by value. Returns ‖g‖² before clipping, accumulated in f64:
/// NaN or ∞ means the gradient is not finite and the update must be skipped.
pub fn clip(clip: Clip, grads: &mut [f32]) -> f64 {
    let sum_squares: f64 = grads.iter().map(|&g| g as f64 * g as f64).sum();
    if !sum_squares.is_finite() {
        return sum_squares;
    }
    if let Some(max_norm) = clip.norm {
        let norm = sum_squares.sqrt();
        if norm > max_norm {
            let scale = (max_norm / norm) as f32;
            grads.iter_mut().for_each(|g| *g *= scale);
        }
    }
    if let Some(v) = clip.value {
        let v = v as f32;
        grads.iter_mut().for_each(|g| *g = g.clamp(-v, v));
    }
    sum_squares
}

/// One update, fused with the safety copy the caller needs to undo it: `backup` receives the
/// old params in `[0, n)` and the old slots after them (`n + slots.len()` values), in the same
/// pass. `slots` holds slot s at [s·n, (s+1)·n); `step` counts from 1. Returns whether every new
/// parameter and slot value is finite: a finite gradient can still overflow float32 in the
/// update (a huge learning rate), and the caller then restores everything from `backup`.
pub fn step(opt: &Optimizer, params: &mut [f32], grads: &[f32], slots: &mut [f32], step: u64, lr: f64, backup: &mut [f32]) -> bool {
    let n = params.len();
    let (old_params, old_slots) = backup.split_at_mut(n);
    old_slots.copy_from_slice(slots);
    let lr32 = lr as f32;
    let mut finite = true;
    match *opt {
        Optimizer::Sgd { momentum, nesterov, .. } => {
            if momentum == 0.0 {
                for ((w, old), &g) in params.iter_mut().zip(old_params.iter_mut()).zip(grads) {
                    *old = *w;
                    *w -= lr32 * g;
                    finite &= w.is_finite();
                }
                return finite;
            }
            let mu = momentum as f32;
            for (((w, old), &g), v) in params.iter_mut().zip(old_params.iter_mut()).zip(grads).zip(slots[..n].iter_mut()) {
                *old = *w;
                let nv = mu * *v - lr32 * g;
                *v = nv;
                *w += if nesterov { mu * nv - lr32 * g } else { nv };
                finite &= w.is_finite() & nv.is_finite();
            }
        }
        Optimizer::AdaGrad { epsilon, .. } => {
            let eps = epsilon as f32;
            for (((w, old), &g), acc) in params.iter_mut().zip(old_params.iter_mut()).zip(grads).zip(slots[..n].iter_mut()) {
                *old = *w;
                *acc += g * g;
                *w -= lr32 * g / (acc.sqrt() + eps);
                finite &= w.is_finite() & acc.is_finite();
            }
        }
        Optimizer::RmsProp { rho, momentum, epsilon, centered, .. } => {
            // Complements are taken in f64 before rounding: 1 − (ρ as f32) is off by ~1e-7
            // relative for ρ = 0.9, and the JS engine uses the exact 1 − ρ.
            let (rho, one_minus_rho, mu, eps) = (rho as f32, (1.0 - rho) as f32, momentum as f32, epsilon as f32);
            let (v, rest) = slots.split_at_mut(n);
            let (m, rest) = if momentum > 0.0 { rest.split_at_mut(n) } else { rest.split_at_mut(0) };
            let mg = if centered { &mut rest[..n] } else { &mut rest[..0] };
            for i in 0..n {
                old_params[i] = params[i];
                let g = grads[i];
                let vi = rho * v[i] + one_minus_rho * g * g;
                v[i] = vi;
                finite &= vi.is_finite();
                let denom = if centered {
                    let a = rho * mg[i] + one_minus_rho * g;
                    mg[i] = a;
                    finite &= a.is_finite();
                    (vi - a * a).max(0.0).sqrt() + eps
                } else {
                    vi.sqrt() + eps
                };
                let delta = lr32 * g / denom;
                if momentum > 0.0 {
                    let mi = mu * m[i] + delta;
                    m[i] = mi;
                    finite &= mi.is_finite();
                    params[i] -= mi;
                } else {
                    params[i] -= delta;
                }
                finite &= params[i].is_finite();
            }
        }
        Optimizer::Adam { beta1, beta2, epsilon, weight_decay, .. } => {
            // powf as JavaScript's Math.pow: powi(step as i32) wrapped past 2³¹ steps (a restored
            // state may carry any step) and is less accurate.
            let t = step as f64;
            let alpha = (lr * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t))) as f32;
            let decay = (1.0 - lr * weight_decay) as f32;
            // As for RMSProp: 1 − (β2 as f32) would be off by 1.3e-5 relative for β2 = 0.999.
            let (b1, b2, eps) = (beta1 as f32, beta2 as f32, epsilon as f32);
            let (one_minus_b1, one_minus_b2) = ((1.0 - beta1) as f32, (1.0 - beta2) as f32);
            let (m, v) = slots.split_at_mut(n);
            for i in 0..n {
                old_params[i] = params[i];
                let g = grads[i];
                let mi = b1 * m[i] + one_minus_b1 * g;
                let vi = b2 * v[i] + one_minus_b2 * g * g;
                m[i] = mi;
                v[i] = vi;
                params[i] = params[i] * decay - alpha * mi / (vi.sqrt() + eps);
                finite &= params[i].is_finite() & mi.is_finite() & vi.is_finite();
            }
        }
    }
    finite
}
