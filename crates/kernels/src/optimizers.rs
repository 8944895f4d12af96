//! Gradient clipping and the optimizer updates as single fused, vectorised passes over the flat
//! buffers (see lib/engine/js/optimizers.ts: the same rules, Keras conventions).
//!
//! An update must never leave non-finite weights: a finite gradient times a huge learning rate
//! can overflow float32, and then the update is undone. Copying every parameter and slot before
//! each update (to be able to undo it) cost ~15% of an MNIST-sized step, so the executor keeps
//! an upper bound on |params| and |slots| instead: `bound_after_step` proves from it, the
//! gradient's norm and the hyper-parameters that an update cannot overflow, and only when it
//! cannot prove that does the executor take the copy (see network.rs, `train_loaded`).

use std::sync::atomic::{AtomicU32, Ordering};

use crate::gemm::{gemm_isa, k_share};
use crate::isa::{active_isa, vectorized};
use crate::plan::{Clip, Optimizer, Variable};
use crate::pool;
use crate::vmath::magnitude;

/// Updates whose values provably stay below this need no undo copy: far from f32::MAX (3.4e38),
/// so rounding in the bound's own arithmetic cannot matter.
pub const SAFE_BOUND: f64 = 1e30;

/// ‖g‖² accumulated in f64 (NaN or ∞ when the gradient is not finite), in 32 running sums
/// added pairwise at the end: with 8, each add waited for the previous one and the pass took
/// 34 µs of a 985 µs mnist batch (now 21).
pub fn sum_squares(grads: &[f32]) -> f64 {
    vectorized(#[inline(always)] || {
        let mut acc = [0.0f64; 32];
        let mut chunks = grads.chunks_exact(32);
        for c in &mut chunks {
            for (a, &g) in acc.iter_mut().zip(c) {
                *a += g as f64 * g as f64;
            }
        }
        let tail: f64 = chunks.remainder().iter().map(|&g| g as f64 * g as f64).sum();
        let (low, high) = acc.split_at(16);
        let acc: [f64; 16] = std::array::from_fn(|i| low[i] + high[i]);
        let (low, high) = acc.split_at(8);
        (0..8).map(|i| low[i] + high[i]).sum::<f64>() + tail
    })
}

/// `sum_squares` of the whole gradient on up to `max_threads` threads. The sum is taken over
/// fixed `PARALLEL_CHUNK`s added in order, so it has the same bits for every thread count. (The
/// serial pass over the gradient was a twentieth of a 2-thread mnist batch.) Each chunk is summed
/// by the thread that wrote most of it (its middle parameter's, see `rows_of`): cut into even
/// runs of chunks instead, a thread read about half of its part from the other core's cache, and
/// the pass took longer on two threads than on one (256-256-256-10 at batch 64, vCPUs on two
/// dies: 12 µs a batch against 7).
pub fn sum_squares_parallel(grads: &[f32], variables: &[Variable], max_threads: usize) -> f64 {
    let n = grads.len();
    let threads = pool::max_threads().min(max_threads.max(1));
    if threads == 1 || n <= PARALLEL_CHUNK || !tiled(variables, n) {
        return pool::map_ranges(n, PARALLEL_CHUNK, threads, |r| sum_squares(&grads[r])).into_iter().sum();
    }
    let chunk = |c: usize| c * PARALLEL_CHUNK..((c + 1) * PARALLEL_CHUNK).min(n);
    let owner = |c: usize| {
        let middle = (chunk(c).start + chunk(c).end) / 2;
        let v = variables.iter().find(|v| v.range().contains(&middle)).expect("tiled variables cover every parameter");
        let row = (middle - v.start) / v.cols;
        (0..threads).find(|&h| rows_of(v, threads, h).contains(&row)).expect("the threads' rows cover the variable")
    };
    let owners: Vec<usize> = (0..n.div_ceil(PARALLEL_CHUNK)).map(owner).collect();
    let mut sums = vec![0.0; owners.len()];
    let parts = pool::Parts::new(&mut sums);
    pool::parallel_for_max(threads, threads, |h| {
        for c in (0..owners.len()).filter(|&c| owners[c] == h) {
            // SAFETY: each chunk has one owner, whose task alone writes its sum.
            let sum = unsafe { parts.part(c..c + 1) };
            sum[0] = sum_squares(&grads[chunk(c)]);
        }
    });
    sums.into_iter().sum()
}

/// Whether `variables` tile `0..n` in order, as a plan from lib/ gives them; a plan code's may
/// overlap or leave gaps, and then no thread owns rows (see `step`).
fn tiled(variables: &[Variable], n: usize) -> bool {
    variables.iter().try_fold(0, |at, v| (v.start == at).then_some(at + v.rows * v.cols)) == Some(n)
}

/// The rows of `v` that thread h of `threads` owns: those the GEMMs give it (`gemm::k_share`;
/// see `gemm::Split`), the rows of the weights it reads and of the gradient it writes, or else an
/// even share of the rows.
fn rows_of(v: &Variable, threads: usize, h: usize) -> std::ops::Range<usize> {
    k_share(gemm_isa(active_isa()), v.rows, threads, h).unwrap_or_else(|| pool::share(v.rows, threads, h))
}

/// Clips as Keras orders it: each variable (`variables`, from `Plan::variables`) by its own norm,
/// or the whole gradient by the global norm; then each component by value. Returns ‖g‖² of the
/// whole gradient before clipping (see `sum_squares_parallel`): NaN or ∞ means the gradient is
/// not finite and the update must be skipped.
pub fn clip(clip: Clip, grads: &mut [f32], variables: &[Variable], max_threads: usize) -> f64 {
    let total = sum_squares_parallel(grads, variables, max_threads);
    if !total.is_finite() {
        return total;
    }
    if let Some(max_norm) = clip.norm {
        for v in variables {
            let part = &mut grads[v.range()];
            scale_to_norm(part, sum_squares(part).sqrt(), max_norm);
        }
    } else if let Some(max_norm) = clip.global_norm {
        scale_to_norm(grads, total.sqrt(), max_norm);
    }
    if let Some(v) = clip.value {
        let v = v as f32;
        vectorized(#[inline(always)] || grads.iter_mut().for_each(|g| *g = g.clamp(-v, v)));
    }
    total
}

/// g ← g · max/norm when its norm exceeds max.
fn scale_to_norm(grads: &mut [f32], norm: f64, max_norm: f64) {
    if norm > max_norm {
        let scale = (max_norm / norm) as f32;
        vectorized(#[inline(always)] || grads.iter_mut().for_each(|g| *g *= scale));
    }
}

/// The largest |g| the clipped gradient can hold, given ‖g‖² before clipping.
pub fn clipped_max(clip: Clip, sum_squares: f64) -> f64 {
    let mut g = sum_squares.sqrt();
    // Per variable, each variable's norm and so each component is at most `norm`.
    if let Some(norm) = clip.norm.or(clip.global_norm) {
        g = g.min(norm);
    }
    if let Some(value) = clip.value {
        g = g.min(value);
    }
    g
}

/// max |x| over the values, or ∞ if any is NaN or infinite: an integer maximum of `magnitude`s,
/// which vectorises. (A float maximum that tracked NaNs did not: 1.6 ns a value against 0.05,
/// 1.1 ms for the parameters and Adam state of the mnist network, measured whenever the state
/// is written from outside.)
pub fn max_abs(values: &[f32]) -> f64 {
    largest(vectorized(#[inline(always)] || values.iter().fold(0, |top, &v| top.max(magnitude(v)))))
}

/// `max_abs` on up to `max_threads` threads: a maximum does not depend on the order it is taken
/// in, so the result is the same for any thread count. (The serial pass over parameters and
/// optimizer state was a few percent of a 2-thread mnist batch.)
pub fn max_abs_parallel(values: &[f32], max_threads: usize) -> f64 {
    pool::map_ranges(values.len(), PARALLEL_CHUNK, max_threads, |r| max_abs(&values[r])).into_iter().fold(0.0, f64::max)
}

/// Adam's step size at update `step` (from 1): α_t = lr·√(1−β2^t)/(1−β1^t). powf as
/// JavaScript's Math.pow (powi(step as i32) would wrap past 2³¹ steps a restored state may carry).
fn adam_alpha(lr: f64, beta1: f64, beta2: f64, step: u64) -> f64 {
    let t = step as f64;
    lr * (1.0 - beta2.powf(t)).sqrt() / (1.0 - beta1.powf(t))
}

/// An upper bound on |every parameter and slot| after one update, given `bound` on them before
/// and `g` on every |gradient component|; ∞ when none can be given (ε = 0 lets a division by a
/// zero accumulator through). Each line follows the update rule in `step`.
pub fn bound_after_step(opt: &Optimizer, bound: f64, g: f64, lr: f64, step: u64) -> f64 {
    let b = bound;
    let exact = match *opt {
        Optimizer::Sgd { momentum: 0.0, .. } => b + lr * g,
        Optimizer::Sgd { momentum, .. } => {
            let v = momentum * b + lr * g; // |v'| = |μv − lr·g|
            b + v * (1.0 + momentum) + lr * g // |w + v'| and |w + μv' − lr·g|
        }
        // acc' = acc + g² ≥ g² (accumulators start ≥ 0), so |g|/(√acc' + ε) ≤ 1 up to rounding.
        Optimizer::AdaGrad { epsilon, .. } if epsilon > 0.0 => b + g * g + lr * (2.0 + g / epsilon),
        Optimizer::RmsProp { momentum, epsilon, .. } if epsilon > 0.0 => {
            let delta = lr * g / epsilon; // lr·|g|/(√v + ε)
            b * (1.0 + momentum) + g * g + g + delta // v', ḡ', m' = μm + Δ, w − m'
        }
        Optimizer::Adam { beta1, beta2, epsilon, weight_decay, .. } if epsilon > 0.0 => {
            let alpha = adam_alpha(lr, beta1, beta2, step);
            let decay = (1.0 - lr * weight_decay).abs().max(1.0);
            b * decay + g * g + g + alpha * (b + g) / epsilon // m', v', w·decay − α·m'/(√v' + ε)
        }
        _ => f64::INFINITY,
    };
    // The update rounds in float32 at every operation: allow a few ulps over the exact bound.
    exact * (1.0 + 1e-5) + 1e-30
}

/// Parameters below which the update runs on one thread (a second thread costs more to wake
/// than it saves), and the block of the parallel sum of squares.
const PARALLEL_CHUNK: usize = 1 << 15;

/// Parameters per piece of a whole variable, which a thread updates from its last piece to its
/// first.
const BACKWARDS_PIECE: usize = 1 << 14;

/// One update. `slots` holds slot s at [s·n, (s+1)·n); `step` counts from 1. Returns the largest
/// |value| among the new parameters and slots, ∞ if any is not finite: the exact bound the next
/// update's overflow check starts from, found in the pass that writes them (a separate pass over
/// the state to measure it was a tenth of an mnist batch). `variables` (`Plan::variables`)
/// place the rows: those of a plan from lib/ tile the parameters in order; any others (a plan
/// code's ranges are only checked to lie inside the parameters) are ignored, and the
/// parameters are updated as one column, each of them once.
///
/// Large updates are split across the pool by rows: thread h updates the rows of each variable
/// it owns (`rows_of`). Each thread goes from the last variable to the first, and through each
/// from its end to its start: the first layer's weights, which the next batch's forward pass
/// reads first, are then the last written and partly still in cache (mnist on one thread +1%,
/// at batch 32 +2.5%).
#[allow(clippy::too_many_arguments)]
pub fn step(opt: &Optimizer, params: &mut [f32], grads: &[f32], slots: &mut [f32], variables: &[Variable], step: u64, lr: f64, max_threads: usize) -> f64 {
    let n = params.len();
    assert_eq!(grads.len(), n, "one gradient per parameter");
    let slot_count = opt.slot_count();
    assert_eq!(slots.len(), slot_count * n, "slot count × parameters");
    let update = Update::new(opt, step, lr);
    let threads = if n < PARALLEL_CHUNK { 1 } else { pool::max_threads().min(max_threads.max(1)) };
    let column = [Variable { start: 0, rows: n, cols: 1 }];
    // One thread takes the parameters as one column too: a call per variable cost a tiny
    // network (2-16-16-2) 5% of its batch.
    let variables = if tiled(variables, n) && threads > 1 { variables } else { &column[..] };
    let top = AtomicU32::new(0);
    let (params, slots) = (pool::Parts::new(params), pool::Parts::new(slots));
    let apply = |range: std::ops::Range<usize>| {
        // SAFETY: each thread updates its own rows of each variable (below), so no two
        // threads reach the same parameter or the same place in a slot.
        let (w, chunk) = unsafe {
            let slot = |s: usize| if s < slot_count { slots.part(s * n + range.start..s * n + range.end) } else { &mut [][..] };
            (params.part(range.clone()), [slot(0), slot(1), slot(2)])
        };
        top.fetch_max(update.apply(w, &grads[range], chunk), Ordering::Relaxed);
    };
    pool::parallel_for_max(threads, threads, |h| {
        for v in variables.iter().rev() {
            let rows = rows_of(v, threads, h);
            let (first, mut end) = (v.start + rows.start * v.cols, v.start + rows.end * v.cols);
            while end > first {
                let start = end.saturating_sub(BACKWARDS_PIECE).max(first);
                apply(start..end);
                end = start;
            }
        }
    });
    largest(top.load(Ordering::Relaxed))
}

/// The largest |value| from the maximum of `magnitude`s: ∞ for a NaN or an infinity.
fn largest(bits: u32) -> f64 {
    if bits >= f32::INFINITY.to_bits() {
        f64::INFINITY
    } else {
        f32::from_bits(bits) as f64
    }
}

/// One optimizer's update rule with its per-step constants in float32.
enum Update {
    Sgd { lr: f32 },
    Momentum { lr: f32, mu: f32, nesterov: bool },
    AdaGrad { lr: f32, eps: f32 },
    RmsProp { k: RmsConstants, momentum: bool, centered: bool },
    Adam(AdamConstants),
}

impl Update {
    fn new(opt: &Optimizer, step: u64, lr: f64) -> Update {
        let lr32 = lr as f32;
        match *opt {
            Optimizer::Sgd { momentum, .. } if momentum == 0.0 => Update::Sgd { lr: lr32 },
            Optimizer::Sgd { momentum, nesterov, .. } => Update::Momentum { lr: lr32, mu: momentum as f32, nesterov },
            Optimizer::AdaGrad { epsilon, .. } => Update::AdaGrad { lr: lr32, eps: epsilon as f32 },
            // Complements are taken in f64 before rounding: 1 − (ρ as f32) is off by ~1e-7
            // relative for ρ = 0.9, and the JS engine uses the exact 1 − ρ.
            Optimizer::RmsProp { rho, momentum, epsilon, centered, .. } => Update::RmsProp {
                k: RmsConstants { rho: rho as f32, one_minus_rho: (1.0 - rho) as f32, mu: momentum as f32, eps: epsilon as f32, lr: lr32 },
                momentum: momentum > 0.0,
                centered,
            },
            // As for RMSProp: 1 − (β2 as f32) would be off by 1.3e-5 relative for β2 = 0.999.
            Optimizer::Adam { beta1, beta2, epsilon, weight_decay, .. } => Update::Adam(AdamConstants {
                alpha: adam_alpha(lr, beta1, beta2, step) as f32,
                decay: (1.0 - lr * weight_decay) as f32,
                b1: beta1 as f32,
                b2: beta2 as f32,
                one_minus_b1: (1.0 - beta1) as f32,
                one_minus_b2: (1.0 - beta2) as f32,
                eps: epsilon as f32,
            }),
        }
    }

    /// Updates `w` from `g` with the optimizer's slots for the same range, in slot order
    /// (unused ones empty); returns the largest `magnitude` written.
    fn apply(&self, w: &mut [f32], g: &[f32], slots: [&mut [f32]; 3]) -> u32 {
        let [s0, s1, s2] = slots;
        match *self {
            Update::Sgd { lr } => vectorized(#[inline(always)] || sgd(w, g, lr)),
            Update::Momentum { lr, mu, nesterov } => vectorized(#[inline(always)] || sgd_momentum(w, g, s0, lr, mu, nesterov)),
            Update::AdaGrad { lr, eps } => vectorized(#[inline(always)] || adagrad(w, g, s0, lr, eps)),
            // Slots: v, then m (with momentum), then ḡ (centred).
            Update::RmsProp { ref k, momentum, centered } => match (momentum, centered) {
                (false, false) => vectorized(#[inline(always)] || rmsprop::<false, false>(w, g, s0, s1, s2, k)),
                (true, false) => vectorized(#[inline(always)] || rmsprop::<true, false>(w, g, s0, s1, s2, k)),
                (false, true) => vectorized(#[inline(always)] || rmsprop::<false, true>(w, g, s0, s2, s1, k)),
                (true, true) => vectorized(#[inline(always)] || rmsprop::<true, true>(w, g, s0, s1, s2, k)),
            },
            Update::Adam(ref k) => vectorized(#[inline(always)] || adam(w, g, s0, s1, k)),
        }
    }
}

// The kernels: plain loops over equal-length slices, inlined into `vectorized`. Each returns
// the largest `magnitude` it wrote (a max-reduction the vector units do for free).

#[inline(always)]
fn sgd(w: &mut [f32], g: &[f32], lr: f32) -> u32 {
    let mut top = 0;
    for (w, &g) in w.iter_mut().zip(g) {
        *w -= lr * g;
        top = top.max(magnitude(*w));
    }
    top
}

/// An optimizer moment smaller than this becomes 0 (see `flush`).
pub const MOMENT_FLOOR: f32 = 1e-30;

/// A moment that has decayed below `MOMENT_FLOOR` becomes 0. The moment of a weight whose
/// gradient stays 0 (a dead unit, an input that is always 0 such as MNIST's border pixels)
/// shrinks geometrically, and after ~600 steps of Adam's β1 = 0.9 it and the products made from
/// it (β1·m, α·m) are subnormal floats, which x86 cores compute up to ~100× slower: long runs
/// slowed to half speed. The floor leaves room for those products (α ≥ 1e-8 keeps α·m normal);
/// the update such a moment would make is below 1e-20, far under a weight's rounding step. The
/// JS engine flushes at the same floor, so the engines stay equal.
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < MOMENT_FLOOR {
        0.0
    } else {
        x
    }
}

/// v ← μv − lr·g; w ← w + v (Nesterov: w ← w + μv − lr·g).
#[inline(always)]
fn sgd_momentum(w: &mut [f32], g: &[f32], v: &mut [f32], lr: f32, mu: f32, nesterov: bool) -> u32 {
    let mut top = 0;
    for ((w, &g), v) in w.iter_mut().zip(g).zip(v.iter_mut()) {
        let nv = flush(mu * *v - lr * g);
        *v = nv;
        *w += if nesterov { mu * nv - lr * g } else { nv };
        top = top.max(magnitude(*w)).max(magnitude(nv));
    }
    top
}

/// acc ← acc + g²; w ← w − lr·g/(√acc + ε).
#[inline(always)]
fn adagrad(w: &mut [f32], g: &[f32], acc: &mut [f32], lr: f32, eps: f32) -> u32 {
    let mut top = 0;
    for ((w, &g), acc) in w.iter_mut().zip(g).zip(acc.iter_mut()) {
        *acc += g * g;
        *w -= lr * g / (acc.sqrt() + eps);
        top = top.max(magnitude(*w)).max(magnitude(*acc));
    }
    top
}

struct RmsConstants {
    rho: f32,
    one_minus_rho: f32,
    mu: f32,
    eps: f32,
    lr: f32,
}

/// v ← ρv + (1−ρ)g²; centred: ḡ ← ρḡ + (1−ρ)g and the denominator is √(v − ḡ²) + ε;
/// step = lr·g/denominator; with momentum m ← μm + step, w ← w − m; otherwise w ← w − step.
#[inline(always)]
fn rmsprop<const MOMENTUM: bool, const CENTERED: bool>(w: &mut [f32], g: &[f32], v: &mut [f32], m: &mut [f32], mg: &mut [f32], k: &RmsConstants) -> u32 {
    let n = w.len();
    let (g, v) = (&g[..n], &mut v[..n]);
    let m = if MOMENTUM { &mut m[..n] } else { m };
    let mg = if CENTERED { &mut mg[..n] } else { mg };
    let mut top = 0;
    for i in 0..n {
        let gi = g[i];
        let vi = flush(k.rho * v[i] + k.one_minus_rho * gi * gi);
        v[i] = vi;
        top = top.max(magnitude(vi));
        let denom = if CENTERED {
            let a = flush(k.rho * mg[i] + k.one_minus_rho * gi);
            mg[i] = a;
            top = top.max(magnitude(a));
            (vi - a * a).max(0.0).sqrt() + k.eps
        } else {
            vi.sqrt() + k.eps
        };
        let delta = k.lr * gi / denom;
        if MOMENTUM {
            let mi = flush(k.mu * m[i] + delta);
            m[i] = mi;
            top = top.max(magnitude(mi));
            w[i] -= mi;
        } else {
            w[i] -= delta;
        }
        top = top.max(magnitude(w[i]));
    }
    top
}

struct AdamConstants {
    alpha: f32,
    decay: f32,
    b1: f32,
    b2: f32,
    one_minus_b1: f32,
    one_minus_b2: f32,
    eps: f32,
}

/// m ← β1m + (1−β1)g; v ← β2v + (1−β2)g²; w ← w·decay − α_t·m/(√v + ε).
#[inline(always)]
fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamConstants) -> u32 {
    let n = w.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let mut top = 0;
    for i in 0..n {
        let gi = g[i];
        let mi = flush(k.b1 * m[i] + k.one_minus_b1 * gi);
        let vi = flush(k.b2 * v[i] + k.one_minus_b2 * gi * gi);
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * k.decay - k.alpha * mi / (vi.sqrt() + k.eps);
        top = top.max(magnitude(w[i])).max(magnitude(mi)).max(magnitude(vi));
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn optimizers() -> Vec<Optimizer> {
        let clip = Clip::NONE;
        vec![
            Optimizer::Sgd { lr: 0.0, momentum: 0.0, nesterov: false, clip },
            Optimizer::Sgd { lr: 0.0, momentum: 0.9, nesterov: false, clip },
            Optimizer::Sgd { lr: 0.0, momentum: 0.9, nesterov: true, clip },
            Optimizer::AdaGrad { lr: 0.0, initial_accumulator: 0.1, epsilon: 1e-7, clip },
            Optimizer::RmsProp { lr: 0.0, rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false, clip },
            Optimizer::RmsProp { lr: 0.0, rho: 0.9, momentum: 0.5, epsilon: 1e-7, centered: true, clip },
            Optimizer::Adam { lr: 0.0, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay: 0.0, clip },
            Optimizer::Adam { lr: 0.0, beta1: 0.9, beta2: 0.999, epsilon: 1e-3, weight_decay: 0.01, clip },
        ]
    }

    /// The undo copy is skipped on the strength of `bound_after_step`, so it must really bound
    /// every value after the update, for any state: check it on random states, gradients and
    /// learning rates across many orders of magnitude, over several steps.
    #[test]
    fn the_bound_holds_after_every_update() {
        let mut rng = Rng::new([9, 8, 7, 6]);
        let scale = |r: &mut Rng| 10f64.powf(r.next_f64() * 12.0 - 6.0) as f32;
        for opt in optimizers() {
            for trial in 0..300 {
                let n = 1 + rng.next_below(40);
                let s = scale(&mut rng);
                let mut params: Vec<f32> = (0..n).map(|_| (rng.next_f64() as f32 - 0.5) * s).collect();
                let slots_per = opt.slot_count();
                // Second moments (AdaGrad, RMSProp's v, Adam's v) start non-negative, as training keeps them.
                let mut slots: Vec<f32> = (0..slots_per * n)
                    .map(|i| {
                        let v = (rng.next_f64() as f32 - 0.5) * s;
                        let second = matches!((opt, i / n), (Optimizer::AdaGrad { .. } | Optimizer::RmsProp { .. }, 0) | (Optimizer::Adam { .. }, 1));
                        if second { v.abs() } else { v }
                    })
                    .collect();
                let lr = scale(&mut rng) as f64;
                for step_no in 1..=3u64 {
                    let gs = scale(&mut rng);
                    let grads: Vec<f32> = (0..n).map(|_| (rng.next_f64() as f32 - 0.5) * gs).collect();
                    let before = max_abs(&params).max(max_abs(&slots));
                    let g = sum_squares(&grads).sqrt();
                    let bound = bound_after_step(&opt, before, g, lr, step_no);
                    let reported = step(&opt, &mut params, &grads, &mut slots, &[Variable::row(0, n)], step_no, lr, usize::MAX);
                    let after = max_abs(&params).max(max_abs(&slots));
                    // The update's own maximum is the separate pass's, to the bit (∞ for NaN too).
                    assert_eq!(reported.to_bits(), after.to_bits(), "{opt:?} trial {trial} step {step_no}");
                    if bound < SAFE_BOUND {
                        assert!(reported.is_finite(), "{opt:?} trial {trial}: a bounded update overflowed");
                        assert!(after <= bound, "{opt:?} trial {trial} step {step_no}: {after} > bound {bound}");
                    }
                }
            }
        }
    }

    /// A large update is split across the pool by columns of its variables; every parameter
    /// must get exactly the serial result.
    #[test]
    fn a_split_update_equals_the_serial_one() {
        let mut rng = Rng::new([1, 1, 2, 3]);
        let n = 5 * PARALLEL_CHUNK + 17;
        // A kernel whose height is no whole number of row blocks, a bias, and a long row.
        let variables = [Variable { start: 0, rows: 97, cols: 1000 }, Variable::row(97_000, 1000), Variable::row(98_000, n - 98_000)];
        for opt in optimizers() {
            let params: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32 - 0.5).collect();
            let grads: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32 - 0.5).collect();
            let slots: Vec<f32> = (0..opt.slot_count() * n).map(|_| rng.next_f64() as f32).collect();
            let (mut p1, mut s1) = (params.clone(), slots.clone());
            let top = step(&opt, &mut p1, &grads, &mut s1, &variables, 3, 0.01, usize::MAX);
            // The serial reference: the same rule applied to the whole range at once.
            let (mut p2, mut s2) = (params.clone(), slots.clone());
            let (a, rest) = s2.split_at_mut(n.min(opt.slot_count() * n));
            let (b, c) = rest.split_at_mut(n.min(rest.len()));
            let serial_top = largest(Update::new(&opt, 3, 0.01).apply(&mut p2, &grads, [a, b, c]));
            assert_eq!(top, serial_top, "{opt:?}");
            assert_eq!(top, max_abs(&p2).max(max_abs(&s2)), "{opt:?}");
            assert_eq!(p1, p2, "{opt:?}");
            // Variables that overlap or leave gaps (an odd plan code's) are ignored: every
            // parameter is still updated exactly once.
            let odd = [Variable { start: 0, rows: 97, cols: 1000 }, Variable { start: 50_000, rows: 2, cols: 1000 }];
            let (mut p3, mut s3) = (params.clone(), slots.clone());
            assert_eq!(step(&opt, &mut p3, &grads, &mut s3, &odd, 3, 0.01, usize::MAX), top, "{opt:?}");
            assert_eq!(p3, p2, "{opt:?}");
            assert_eq!(s3, s2, "{opt:?}");
            assert_eq!(s1, s2, "{opt:?}");
            assert_ne!(p1, params, "{opt:?} moved nothing");
        }
    }

    /// The parallel sum of squares gives the same bits on 1 thread and on many, with the chunks
    /// given to the threads that own their rows or in even runs; it is the sum of the chunks'
    /// serial sums, and a NaN anywhere makes it NaN.
    #[test]
    fn the_parallel_sum_of_squares_does_not_depend_on_the_threads() {
        let mut rng = Rng::new([5, 3, 2, 1]);
        let n = 5 * PARALLEL_CHUNK + 11;
        let mut values: Vec<f32> = (0..n).map(|_| (rng.next_f64() as f32 - 0.5) * 3.0).collect();
        // A kernel of 784 rows (two k blocks, one a thread), its bias, and a smaller kernel.
        let tiling = [Variable { start: 0, rows: 784, cols: 200 }, Variable::row(156_800, 200), Variable::row(157_000, n - 157_000)];
        let odd = [Variable { start: 0, rows: 10, cols: 10 }];
        let one = sum_squares_parallel(&values, &tiling, 1);
        for variables in [&tiling[..], &odd[..], &[]] {
            for threads in [2, 3, 8] {
                assert_eq!(one.to_bits(), sum_squares_parallel(&values, variables, threads).to_bits(), "{threads} threads");
            }
        }
        let by_chunk: f64 = values.chunks(PARALLEL_CHUNK).map(sum_squares).sum();
        assert_eq!(one.to_bits(), by_chunk.to_bits());
        let exact: f64 = values.iter().map(|&v| v as f64 * v as f64).sum();
        assert!((one - exact).abs() <= 1e-12 * exact, "{one} vs {exact}");
        for at in [0, n / 2, n - 2] {
            let kept = values[at];
            values[at] = f32::NAN;
            assert!(sum_squares_parallel(&values, &tiling, 8).is_nan(), "NaN at {at}");
            values[at] = kept;
        }
    }

    /// The parallel maximum gives the same bits on 1 thread and on many, and sees a NaN anywhere.
    #[test]
    fn the_parallel_maximum_does_not_depend_on_the_threads() {
        let mut rng = Rng::new([4, 3, 2, 1]);
        let n = 7 * PARALLEL_CHUNK + 5;
        let mut values: Vec<f32> = (0..n).map(|_| (rng.next_f64() as f32 - 0.5) * 3.0).collect();
        assert_eq!(max_abs_parallel(&values, 1), max_abs_parallel(&values, 8));
        assert_eq!(max_abs_parallel(&values, 8), max_abs(&values));
        // Against the plain maximum of magnitudes; anything not finite gives ∞.
        assert_eq!(max_abs(&values), values.iter().map(|v| v.abs() as f64).fold(0.0, f64::max));
        assert_eq!(max_abs(&[-0.0, 1e-45, -2.5, 2.0]), 2.5);
        assert_eq!(max_abs(&[]), 0.0);
        for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(max_abs(&[1.0, bad, 3.0]), f64::INFINITY, "{bad}");
        }
        values[n - 3] = f32::NAN;
        assert_eq!(max_abs_parallel(&values, 8), f64::INFINITY);
    }

    #[test]
    fn no_bound_without_epsilon_and_a_huge_rate_needs_the_copy() {
        let clip = Clip::NONE;
        let adam0 = Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 0.0, weight_decay: 0.0, clip };
        assert_eq!(bound_after_step(&adam0, 1.0, 1.0, 1e-3, 1), f64::INFINITY);
        let sgd = Optimizer::Sgd { lr: 1e30, momentum: 0.0, nesterov: false, clip };
        assert!(bound_after_step(&sgd, 1.0, 10.0, 1e30, 1) >= SAFE_BOUND);
        assert_eq!(max_abs(&[1.0, f32::NAN]), f64::INFINITY);
        assert_eq!(clipped_max(Clip { norm: Some(2.0), global_norm: None, value: Some(0.5) }, 100.0), 0.5);
    }
}
