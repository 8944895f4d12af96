import type { ClipPlan, OptimizerPlan } from '../../plan.js'
import type { FloatArray } from './gemm.js'

/**
 * Clips the gradient in place, as Keras orders it: each variable's part (`variables`: the
 * ranges of `variableRanges(plan)`) by its own norm (g ← g · norm/‖g‖ when ‖g‖ > norm), or all
 * of it by the global norm; then each component to [−value, value]. Returns ‖g‖² of the whole
 * gradient before clipping (accumulated in float64), which is NaN or ∞ when the gradient is not
 * finite: the caller then stops before the update can spoil the weights.
 */
export function clipGradients(clip: ClipPlan, grads: FloatArray, count: number, variables: readonly (readonly [number, number])[]): number {
  let sumSquares = 0
  for (let i = 0; i < count; i++) sumSquares += grads[i]! * grads[i]!
  if (!Number.isFinite(sumSquares)) return sumSquares
  if (clip.norm !== null) {
    for (const [start, end] of variables) {
      let part = 0
      for (let i = start; i < end; i++) part += grads[i]! * grads[i]!
      scaleToNorm(grads, start, end, Math.sqrt(part), clip.norm)
    }
  } else if (clip.globalNorm !== null) {
    scaleToNorm(grads, 0, count, Math.sqrt(sumSquares), clip.globalNorm)
  }
  if (clip.value !== null) {
    const v = clip.value
    for (let i = 0; i < count; i++) {
      const g = grads[i]!
      if (g > v) grads[i] = v
      else if (g < -v) grads[i] = -v
    }
  }
  return sumSquares
}

/** g[start..end) ← g · max/norm when its norm exceeds max. */
function scaleToNorm(grads: FloatArray, start: number, end: number, norm: number, max: number): void {
  if (norm <= max) return
  const scale = max / norm
  for (let i = start; i < end; i++) grads[i] = grads[i]! * scale
}

/**
 * One update of `params` from `grads`, as a single pass over the flat buffers. `slots` holds
 * the optimizer's per-parameter state, slot s at [s·count, (s+1)·count). `step` is the number of
 * this update, starting at 1 (Adam's bias correction needs it).
 */
/**
 * An optimizer moment smaller than this becomes 0, in both engines: a moment whose gradient
 * stays 0 decays geometrically into subnormal floats, which x86 cores compute up to ~100× slower
 * (crates/kernels/src/optimizers.rs `flush` says more). The update it would make is below 1e-20.
 */
const MOMENT_FLOOR = 1e-30

function flush(x: number): number {
  return Math.abs(x) < MOMENT_FLOOR ? 0 : x
}

export function optimizerStep(
  opt: OptimizerPlan,
  params: FloatArray,
  grads: FloatArray,
  slots: FloatArray,
  count: number,
  step: number,
  learningRate: number,
): void {
  const lr = learningRate
  switch (opt.kind) {
    case 'sgd': {
      const mu = opt.momentum
      if (mu === 0) {
        for (let i = 0; i < count; i++) params[i] = params[i]! - lr * grads[i]!
        return
      }
      // v ← μv − lr·g;  w ← w + v  (Nesterov: w ← w + μv − lr·g), as Keras writes it.
      for (let i = 0; i < count; i++) {
        const g = grads[i]!
        const v = flush(mu * slots[i]! - lr * g)
        slots[i] = v
        params[i] = params[i]! + (opt.nesterov ? mu * v - lr * g : v)
      }
      return
    }
    case 'adagrad': {
      // acc ← acc + g²;  w ← w − lr·g/(√acc + ε)
      for (let i = 0; i < count; i++) {
        const g = grads[i]!
        const acc = slots[i]! + g * g
        slots[i] = acc
        params[i] = params[i]! - (lr * g) / (Math.sqrt(acc) + opt.epsilon)
      }
      return
    }
    case 'rmsprop': {
      // v ← ρv + (1−ρ)g²; centred: mg ← ρ·mg + (1−ρ)g, denominator √(v − mg²) + ε;
      // step = lr·g/denominator; with momentum: m ← μm + step, w ← w − m; else w ← w − step.
      const { rho, momentum, epsilon, centered } = opt
      const mOff = count
      const gOff = momentum > 0 ? 2 * count : count
      for (let i = 0; i < count; i++) {
        const g = grads[i]!
        const v = flush(rho * slots[i]! + (1 - rho) * g * g)
        slots[i] = v
        let denom: number
        if (centered) {
          const mg = flush(rho * slots[gOff + i]! + (1 - rho) * g)
          slots[gOff + i] = mg
          denom = Math.sqrt(Math.max(v - mg * mg, 0)) + epsilon
        } else {
          denom = Math.sqrt(v) + epsilon
        }
        const delta = (lr * g) / denom
        if (momentum > 0) {
          const m = flush(momentum * slots[mOff + i]! + delta)
          slots[mOff + i] = m
          params[i] = params[i]! - m
        } else {
          params[i] = params[i]! - delta
        }
      }
      return
    }
    case 'adam': {
      // m ← β1m + (1−β1)g; v ← β2v + (1−β2)g²; w ← w − α_t·m/(√v + ε) with
      // α_t = lr·√(1−β2^t)/(1−β1^t) (Keras's form). AdamW first decays: w ← w − lr·λ·w.
      const { beta1, beta2, epsilon, weightDecay } = opt
      const alpha = (lr * Math.sqrt(1 - Math.pow(beta2, step))) / (1 - Math.pow(beta1, step))
      const decay = 1 - lr * weightDecay
      for (let i = 0; i < count; i++) {
        const g = grads[i]!
        const m = flush(beta1 * slots[i]! + (1 - beta1) * g)
        const v = flush(beta2 * slots[count + i]! + (1 - beta2) * g * g)
        slots[i] = m
        slots[count + i] = v
        params[i] = params[i]! * decay - (alpha * m) / (Math.sqrt(v) + epsilon)
      }
      return
    }
  }
}
