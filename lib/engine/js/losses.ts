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
 * Returns the sum over `rows` of the per-sample losses, each times its weight when `weights`
 * is given (Keras's sample weights); the gradient is that of `scale` × the sum.
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
  weights: FloatArray | null = null,
): number {
  let total = 0
  if (kind === 'softmaxCrossEntropy') {
    for (let r = 0; r < rows; r++) {
      const s = r * cols
      const w = weights === null ? 1 : weights[r]!
      const k = scale * w
      let max = -Infinity
      for (let j = 0; j < cols; j++) if (z[s + j]! > max) max = z[s + j]!
      let sum = 0
      for (let j = 0; j < cols; j++) sum += Math.exp(z[s + j]! - max)
      const lse = max + Math.log(sum)
      const inv = 1 / sum
      for (let j = 0; j < cols; j++) a[s + j] = Math.exp(z[s + j]! - max) * inv
      if (sparse) {
        const label = y[r]!
        total += w * (lse - z[s + label]!)
        for (let j = 0; j < cols; j++) grad[s + j] = (a[s + j]! - (j === label ? 1 : 0)) * k
      } else {
        let ySum = 0
        let rowLoss = 0
        for (let j = 0; j < cols; j++) {
          const t = y[s + j]!
          ySum += t
          rowLoss += t * (lse - z[s + j]!)
        }
        total += w * rowLoss
        // d/dz_j Σ_k y_k (lse − z_k) = p_j Σ_k y_k − y_j (p_j − y_j for one-hot targets).
        for (let j = 0; j < cols; j++) grad[s + j] = (a[s + j]! * ySum - y[s + j]!) * k
      }
    }
    return total
  }
  for (let r = 0; r < rows; r++) {
    const w = weights === null ? 1 : weights[r]!
    const perUnit = (scale * w) / cols
    let rowLoss = 0
    for (let i = r * cols; i < (r + 1) * cols; i++) {
      const v = z[i]!
      const t = y[i]!
      rowLoss += ((v > 0 ? v : 0) - v * t + Math.log1p(Math.exp(-Math.abs(v)))) / cols
      const p = 1 / (1 + Math.exp(-v))
      a[i] = p
      grad[i] = (p - t) * perUnit
    }
    total += w * rowLoss
  }
  return total
}

/**
 * The unfused losses, on output activations `a`. Writes the gradient of `scale` × the summed
 * per-sample loss (each times its weight, when given) with respect to `a` into `grad` and
 * returns the sum. Per-sample losses:
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
  weights: FloatArray | null = null,
): number {
  const lo = PROBABILITY_EPSILON
  const hi = 1 - PROBABILITY_EPSILON
  let total = 0
  for (let r = 0; r < rows; r++) {
    const w = weights === null ? 1 : weights[r]!
    const k = scale * w
    let rowLoss = 0
    const start = r * cols
    const end = start + cols
    switch (loss) {
      case 'meanSquaredError':
        for (let i = start; i < end; i++) {
          const d = a[i]! - y[i]!
          rowLoss += (d * d) / cols
          grad[i] = ((2 * k) / cols) * d
        }
        break
      case 'binaryCrossEntropy':
        for (let i = start; i < end; i++) {
          const raw = a[i]!
          const p = raw < lo ? lo : raw > hi ? hi : raw
          const t = y[i]!
          rowLoss -= (t * Math.log(p) + (1 - t) * Math.log(1 - p)) / cols
          // The clip has zero slope outside [ε, 1−ε].
          grad[i] = raw < lo || raw > hi ? 0 : (k / cols) * ((p - t) / (p * (1 - p)))
        }
        break
      case 'categoricalCrossEntropy':
        for (let i = start; i < end; i++) {
          const raw = a[i]!
          const p = raw < lo ? lo : raw > hi ? hi : raw
          const t = y[i]!
          rowLoss -= t * Math.log(p)
          grad[i] = raw < lo || raw > hi ? 0 : (-k * t) / p
        }
        break
      case 'sparseCategoricalCrossEntropy': {
        const label = y[r]!
        grad.fill(0, start, end)
        const raw = a[start + label]!
        const p = raw < lo ? lo : raw > hi ? hi : raw
        rowLoss -= Math.log(p)
        grad[start + label] = raw < lo || raw > hi ? 0 : -k / p
        break
      }
    }
    total += w * rowLoss
  }
  return total
}
