import type { LossName } from '../../plan.js'
import type { FloatArray } from './gemm.js'

/** Probabilities are clipped to [ε, 1−ε] before a logarithm on the unfused path, as Keras does. */
export const PROBABILITY_EPSILON = 1e-7

/*
 * Every loss computes its value and its gradient in one pass over the batch: it returns the sum
 * over `rows` of the per-sample losses, each times its weight when `weights` is given (Keras's
 * sample weights), and writes into `grad` the gradient of `scale` × that sum.
 *
 * The fused forms read logits `z`, write the probabilities into `a` and the gradient with
 * respect to `z`; they never take log of a probability, so saturated outputs give finite losses.
 * The unfused forms read the output activations `a` and write the gradient with respect to `a`.
 */

/** A fused loss over `rows` rows of logits `z`; `sparse` says y holds class indices. */
type FusedLoss = (
  sparse: boolean,
  z: FloatArray,
  a: FloatArray,
  y: FloatArray,
  rows: number,
  cols: number,
  grad: FloatArray,
  scale: number,
  weights: FloatArray | null,
) => number

/**
 * Softmax + cross-entropy from logits, with p = softmax(z):
 *   loss = Σ_k y_k (logsumexp(z) − z_k)           dz_j = p_j Σ_k y_k − y_j
 *   sparse: logsumexp(z) − z_label                dz_j = p_j − [j = label]
 */
const softmaxCrossEntropy: FusedLoss = (sparse, z, a, y, rows, cols, grad, scale, weights) => {
  let total = 0
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
      for (let j = 0; j < cols; j++) grad[s + j] = (a[s + j]! * ySum - y[s + j]!) * k
    }
  }
  return total
}

/**
 * Sigmoid + binary cross-entropy from logits, with p = σ(z), over K outputs:
 *   loss = (1/K) Σ_k max(z,0) − z·y + log(1 + e^{−|z|})        dz = (p − y) / K
 */
const sigmoidCrossEntropy: FusedLoss = (_, z, a, y, rows, cols, grad, scale, weights) => {
  let total = 0
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

const FUSED_LOSSES = { softmaxCrossEntropy, sigmoidCrossEntropy }

/** The loss fused with the output activation (see `fusedOutput` in lib/plan.ts). */
export function fusedLoss(
  kind: keyof typeof FUSED_LOSSES,
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
  return FUSED_LOSSES[kind](sparse, z, a, y, rows, cols, grad, scale, weights)
}

/**
 * One sample's unfused loss: reads its `cols` outputs at `start` in `a`, writes the gradient of
 * `k` × its loss into `grad` and returns the loss. p is a, clipped to [ε, 1−ε]; the clip has zero
 * slope outside that range, so there the gradient is 0.
 */
type SampleLoss = (a: FloatArray, y: FloatArray, r: number, start: number, cols: number, grad: FloatArray, k: number) => number

const lo = PROBABILITY_EPSILON
const hi = 1 - PROBABILITY_EPSILON

/** A probability clipped to [ε, 1−ε]. */
const clipped = (raw: number): number => (raw < lo ? lo : raw > hi ? hi : raw)

/** Where the clip is flat, so the gradient is 0 (NaN is not: it passes through). */
const flat = (raw: number): boolean => raw < lo || raw > hi

/** loss = (1/K) Σ_k (a_k − y_k)²,   da_k = 2 (a_k − y_k) / K. */
const meanSquaredError: SampleLoss = (a, y, _, start, cols, grad, k) => {
  let rowLoss = 0
  for (let i = start; i < start + cols; i++) {
    const d = a[i]! - y[i]!
    rowLoss += (d * d) / cols
    grad[i] = ((2 * k) / cols) * d
  }
  return rowLoss
}

/** loss = −(1/K) Σ_k y log p + (1−y) log(1−p),   da = (p − y) / (p (1 − p) K). */
const binaryCrossEntropy: SampleLoss = (a, y, _, start, cols, grad, k) => {
  let rowLoss = 0
  for (let i = start; i < start + cols; i++) {
    const raw = a[i]!
    const p = clipped(raw)
    const t = y[i]!
    rowLoss -= (t * Math.log(p) + (1 - t) * Math.log(1 - p)) / cols
    grad[i] = flat(raw) ? 0 : (k / cols) * ((p - t) / (p * (1 - p)))
  }
  return rowLoss
}

/** loss = −Σ_k y_k log p_k,   da_k = −y_k / p_k. */
const categoricalCrossEntropy: SampleLoss = (a, y, _, start, cols, grad, k) => {
  let rowLoss = 0
  for (let i = start; i < start + cols; i++) {
    const raw = a[i]!
    const p = clipped(raw)
    const t = y[i]!
    rowLoss -= t * Math.log(p)
    grad[i] = flat(raw) ? 0 : (-k * t) / p
  }
  return rowLoss
}

/** With the class index y_r: loss = −log p_label,   da_label = −1 / p_label, 0 elsewhere. */
const sparseCategoricalCrossEntropy: SampleLoss = (a, y, r, start, cols, grad, k) => {
  const label = y[r]!
  grad.fill(0, start, start + cols)
  const raw = a[start + label]!
  const p = clipped(raw)
  grad[start + label] = flat(raw) ? 0 : -k / p
  return -Math.log(p)
}

const SAMPLE_LOSSES: Record<LossName, SampleLoss> = { meanSquaredError, binaryCrossEntropy, categoricalCrossEntropy, sparseCategoricalCrossEntropy }

/** The unfused loss on output activations `a` (see `fusedLoss` for what is returned and written). */
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
  const sampleLoss = SAMPLE_LOSSES[loss]
  let total = 0
  for (let r = 0; r < rows; r++) {
    const w = weights === null ? 1 : weights[r]!
    total += w * sampleLoss(a, y, r, r * cols, cols, grad, scale * w)
  }
  return total
}
