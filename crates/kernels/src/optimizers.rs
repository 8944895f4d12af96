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

/// One update; `slots` holds slot s at [s·n, (s+1)·n); `step` counts from 1.
pub fn step(opt: &Optimizer, params: &mut [f32], grads: &[f32], slots: &mut [f32], step: u64, lr: f64) {
    let n = params.len();
    let lr32 = lr as f32;
    match *opt {
        Optimizer::Sgd { momentum, nesterov, .. } => {
            if momentum == 0.0 {
                params.iter_mut().zip(grads).for_each(|(w, &g)| *w -= lr32 * g);
                return;
            }
            let mu = momentum as f32;
            for ((w, &g), v) in params.iter_mut().zip(grads).zip(slots[..n].iter_mut()) {
                let nv = mu * *v - lr32 * g;
                *v = nv;
                *w += if nesterov { mu * nv - lr32 * g } else { nv };
            }
        }
        Optimizer::AdaGrad { epsilon, .. } => {
            let eps = epsilon as f32;
            for ((w, &g), acc) in params.iter_mut().zip(grads).zip(slots[..n].iter_mut()) {
                *acc += g * g;
                *w -= lr32 * g / (acc.sqrt() + eps);
            }
        }
        Optimizer::RmsProp { rho, momentum, epsilon, centered, .. } => {
            let (rho, mu, eps) = (rho as f32, momentum as f32, epsilon as f32);
            let (v, rest) = slots.split_at_mut(n);
            let (m, rest) = if momentum > 0.0 { rest.split_at_mut(n) } else { rest.split_at_mut(0) };
            let mg = if centered { &mut rest[..n] } else { &mut rest[..0] };
            for i in 0..n {
                let g = grads[i];
                let vi = rho * v[i] + (1.0 - rho) * g * g;
                v[i] = vi;
                let denom = if centered {
                    let a = rho * mg[i] + (1.0 - rho) * g;
                    mg[i] = a;
                    (vi - a * a).max(0.0).sqrt() + eps
                } else {
                    vi.sqrt() + eps
                };
                let delta = lr32 * g / denom;
                if momentum > 0.0 {
                    let mi = mu * m[i] + delta;
                    m[i] = mi;
                    params[i] -= mi;
                } else {
                    params[i] -= delta;
                }
            }
        }
        Optimizer::Adam { beta1, beta2, epsilon, weight_decay, .. } => {
            let t = step as i32;
            let alpha = (lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t))) as f32;
            let decay = (1.0 - lr * weight_decay) as f32;
            let (b1, b2, eps) = (beta1 as f32, beta2 as f32, epsilon as f32);
            let (m, v) = slots.split_at_mut(n);
            for i in 0..n {
                let g = grads[i];
                let mi = b1 * m[i] + (1.0 - b1) * g;
                let vi = b2 * v[i] + (1.0 - b2) * g * g;
                m[i] = mi;
                v[i] = vi;
                params[i] = params[i] * decay - alpha * mi / (vi.sqrt() + eps);
            }
        }
    }
}
