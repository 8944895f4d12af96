import type { LossName } from '../../plan.js'
import type { FloatArray } from './gemm.js'

/** Probabilities are clipped to [ε, 1−ε] before a logarithm on the unfused path, as Keras does. */
export const PROBABILITY_EPSILON = 1e-7

/**
 * The fused forms read logits `z`, write the probabilities into `a` and the gradient with
 * respect to `z` into `grad`; they never take log of a probability, so saturated outputs give
 * finite losses. The per-sample losses are:
 *   softmax + cross-entropy: Σ_k y_k (logsumexp(z) − z_k)        (sparse: logsumexp(z) − z_label)
 *   sigmoid + binary CE:     (1/K) Σ_k max(z,0) − z·y + log(1 + e^{−|z|})
 * Returns the sum of per-sample losses over `rows`; the gradient is that of `scale` × the sum.
 */
export function fusedLoss(
  kind: 'softmaxCrossEntropy' | 'sigmoidCrossEntropy',
  sparse: boolean,
  z: FloatArray,
  a: FloatArray,
  y: FloatArray,
  rows: number,
  cols: number,
  grad: FloatArray,
  scale: number,
): number {
  let total = 0
  if (kind === 'softmaxCrossEntropy') {
    for (let r = 0; r < rows; r++) {
      const s = r * cols
      let max = -Infinity
      for (let j = 0; j < cols; j++) if (z[s + j]! > max) max = z[s + j]!
      let sum = 0
      for (let j = 0; j < cols; j++) sum += Math.exp(z[s + j]! - max)
      const lse = max + Math.log(sum)
      const inv = 1 / sum
      for (let j = 0; j < cols; j++) a[s + j] = Math.exp(z[s + j]! - max) * inv
      if (sparse) {
        const label = y[r]!
        total += lse - z[s + label]!
        for (let j = 0; j < cols; j++) grad[s + j] = (a[s + j]! - (j === label ? 1 : 0)) * scale
      } else {
        let ySum = 0
        for (let j = 0; j < cols; j++) {
          const t = y[s + j]!
          ySum += t
          total += t * (lse - z[s + j]!)
        }
        // d/dz_j Σ_k y_k (lse − z_k) = p_j Σ_k y_k − y_j (p_j − y_j for one-hot targets).
        for (let j = 0; j < cols; j++) grad[s + j] = (a[s + j]! * ySum - y[s + j]!) * scale
      }
    }
    return total
  }
  const perUnit = scale / cols
  for (let i = 0; i < rows * cols; i++) {
    const v = z[i]!
    const t = y[i]!
    total += ((v > 0 ? v : 0) - v * t + Math.log1p(Math.exp(-Math.abs(v)))) / cols
    const p = 1 / (1 + Math.exp(-v))
    a[i] = p
    grad[i] = (p - t) * perUnit
  }
  return total
}

/**
 * The unfused losses, on output activations `a`. Writes the gradient of `scale` × the summed
 * per-sample loss with respect to `a` into `grad` and returns the sum. Per-sample losses:
 *   categorical CE: −Σ_k y_k log p_k      sparse: −log p_label      (p clipped to [ε, 1−ε])
 *   binary CE: −(1/K) Σ_k y log p + (1−y) log(1−p)                   (p clipped)
 *   mean squared error: (1/K) Σ_k (a_k − y_k)²
 */
export function outputLoss(
  loss: LossName,
  a: FloatArray,
  y: FloatArray,
  rows: number,
  cols: number,
  grad: FloatArray,
  scale: number,
): number {
  const lo = PROBABILITY_EPSILON
  const hi = 1 - PROBABILITY_EPSILON
  let total = 0
  switch (loss) {
    case 'meanSquaredError': {
      const g = (2 * scale) / cols
      for (let i = 0; i < rows * cols; i++) {
        const d = a[i]! - y[i]!
        total += (d * d) / cols
        grad[i] = g * d
      }
      return total
    }
    case 'binaryCrossEntropy': {
      const g = scale / cols
      for (let i = 0; i < rows * cols; i++) {
        const raw = a[i]!
        const p = raw < lo ? lo : raw > hi ? hi : raw
        const t = y[i]!
        total -= (t * Math.log(p) + (1 - t) * Math.log(1 - p)) / cols
        // The clip has zero slope outside [ε, 1−ε].
        grad[i] = raw < lo || raw > hi ? 0 : g * ((p - t) / (p * (1 - p)))
      }
      return total
    }
    case 'categoricalCrossEntropy':
      for (let i = 0; i < rows * cols; i++) {
        const raw = a[i]!
        const p = raw < lo ? lo : raw > hi ? hi : raw
        const t = y[i]!
        total -= t * Math.log(p)
        grad[i] = raw < lo || raw > hi ? 0 : (-scale * t) / p
      }
      return total
    case 'sparseCategoricalCrossEntropy':
      for (let r = 0; r < rows; r++) {
        const label = y[r]!
        for (let j = 0; j < cols; j++) {
          const i = r * cols + j
          if (j !== label) {
            grad[i] = 0
            continue
          }
          const raw = a[i]!
          const p = raw < lo ? lo : raw > hi ? hi : raw
          total -= Math.log(p)
          grad[i] = raw < lo || raw > hi ? 0 : -scale / p
        }
      }
      return total
  }
}
