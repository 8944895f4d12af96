import type { BatchNormalizationPlan } from '../../plan.js'
import type { FloatArray, FloatArrayConstructor } from './gemm.js'

/** Per-layer buffers that the backward pass needs from the forward pass. */
export interface BatchNormCache {
  /** x̂ = (x − μ)/√(σ² + ε), rows × units. */
  normalized: FloatArray
  /** 1/√(σ² + ε) of the batch, per unit. */
  invStd: Float64Array
  /** Batch mean and (biased) variance, per unit. */
  mean: Float64Array
  variance: Float64Array
  /** Scratch for the backward pass's sums, per unit. */
  dGamma: Float64Array
  dBeta: Float64Array
}

export function createBatchNormCache(units: number, rows: number, ctor: FloatArrayConstructor): BatchNormCache {
  return {
    normalized: new ctor(rows * units),
    invStd: new Float64Array(units),
    mean: new Float64Array(units),
    variance: new Float64Array(units),
    dGamma: new Float64Array(units),
    dBeta: new Float64Array(units),
  }
}

/**
 * Training-mode forward: normalises with the batch's mean and biased variance, scales by γ and
 * shifts by β. The running statistics move later, in `batchNormUpdateStats`, once the batch's
 * update is known to be finite.
 */
export function batchNormTrainForward(
  layer: BatchNormalizationPlan,
  x: FloatArray,
  out: FloatArray,
  rows: number,
  params: FloatArray,
  cache: BatchNormCache,
): void {
  const units = layer.units
  const { mean, variance, invStd, normalized } = cache
  mean.fill(0)
  variance.fill(0)
  for (let r = 0; r < rows; r++) for (let j = 0; j < units; j++) mean[j]! += x[r * units + j]!
  for (let j = 0; j < units; j++) mean[j] = mean[j]! / rows
  // Two passes: the variance of the centred values avoids catastrophic cancellation.
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      const d = x[r * units + j]! - mean[j]!
      variance[j]! += d * d
    }
  }
  for (let j = 0; j < units; j++) {
    variance[j] = variance[j]! / rows
    invStd[j] = 1 / Math.sqrt(variance[j]! + layer.epsilon)
  }
  const g = layer.gammaOffset
  const b = layer.betaOffset
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      const i = r * units + j
      const n = (x[i]! - mean[j]!) * invStd[j]!
      normalized[i] = n
      out[i] = params[g + j]! * n + params[b + j]!
    }
  }
}

/** running ← momentum · running + (1 − momentum) · batch, for mean and variance, as Keras does. */
export function batchNormUpdateStats(layer: BatchNormalizationPlan, stats: FloatArray, cache: BatchNormCache): void {
  const m = layer.momentum
  for (let j = 0; j < layer.units; j++) {
    stats[layer.meanOffset + j] = m * stats[layer.meanOffset + j]! + (1 - m) * cache.mean[j]!
    stats[layer.varianceOffset + j] = m * stats[layer.varianceOffset + j]! + (1 - m) * cache.variance[j]!
  }
}

/** Inference-mode forward: normalises with the running statistics. */
export function batchNormInferenceForward(
  layer: BatchNormalizationPlan,
  x: FloatArray,
  out: FloatArray,
  rows: number,
  params: FloatArray,
  stats: FloatArray,
): void {
  const units = layer.units
  for (let j = 0; j < units; j++) {
    const scale = params[layer.gammaOffset + j]! / Math.sqrt(stats[layer.varianceOffset + j]! + layer.epsilon)
    const shift = params[layer.betaOffset + j]! - scale * stats[layer.meanOffset + j]!
    for (let r = 0; r < rows; r++) {
      const i = r * units + j
      out[i] = scale * x[i]! + shift
    }
  }
}

/**
 * Backward through training-mode normalisation. With g = dL/dy:
 *   dγ = Σ_r g·x̂,  dβ = Σ_r g,  dx = (γ/(N·σ)) (N·g − dβ − x̂·dγ)
 * Writes dγ, dβ into `grads` and dx into `dx` (when given: the first layer needs none).
 */
export function batchNormBackward(
  layer: BatchNormalizationPlan,
  dy: FloatArray,
  dx: FloatArray | null,
  rows: number,
  params: FloatArray,
  grads: FloatArray,
  cache: BatchNormCache,
): void {
  const units = layer.units
  const { normalized, invStd, dGamma, dBeta } = cache
  dGamma.fill(0)
  dBeta.fill(0)
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      const i = r * units + j
      dGamma[j]! += dy[i]! * normalized[i]!
      dBeta[j]! += dy[i]!
    }
  }
  for (let j = 0; j < units; j++) {
    grads[layer.gammaOffset + j] = dGamma[j]!
    grads[layer.betaOffset + j] = dBeta[j]!
  }
  if (dx === null) return
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < units; j++) {
      const i = r * units + j
      const k = (params[layer.gammaOffset + j]! * invStd[j]!) / rows
      dx[i] = k * (rows * dy[i]! - dBeta[j]! - normalized[i]! * dGamma[j]!)
    }
  }
}
