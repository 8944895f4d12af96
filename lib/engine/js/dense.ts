import type { DensePlan } from '../../plan.js'
import type { FloatArray, Gemm } from './gemm.js'

/**
 * Forward of a dense layer's affine part, for `rows` rows of `x` (rows × inputs):
 *   z = x·W + b        (W: inputs × units at kernelOffset in `params`, b at biasOffset if any)
 * The activation follows separately (activations.ts), or is fused with the loss (losses.ts).
 */
export function denseForward(gemm: Gemm, layer: DensePlan, x: FloatArray, z: FloatArray, rows: number, params: FloatArray): void {
  const { inputs, units } = layer
  gemm.multiply(false, false, rows, units, inputs, x, 0, inputs, params, layer.kernelOffset, units, z, 0, units, false)
  if (layer.biasOffset >= 0) {
    const b = layer.biasOffset
    for (let r = 0; r < rows; r++) {
      const o = r * units
      for (let j = 0; j < units; j++) z[o + j] = z[o + j]! + params[b + j]!
    }
  }
}

/**
 * Backward of `denseForward`, given dZ = dL/dz (rows × units):
 *   dW = xᵀ·dZ,   db = Σ_rows dZ,   dx = dZ·Wᵀ
 * Writes dW and db into `grads` at the layer's offsets, and dx into `dx` when given (the first
 * layer needs none).
 */
export function denseBackward(
  gemm: Gemm,
  layer: DensePlan,
  x: FloatArray,
  dz: FloatArray,
  dx: FloatArray | null,
  rows: number,
  params: FloatArray,
  grads: FloatArray,
): void {
  const { inputs, units } = layer
  gemm.multiply(true, false, inputs, units, rows, x, 0, inputs, dz, 0, units, grads, layer.kernelOffset, units, false)
  if (layer.biasOffset >= 0) {
    const b = layer.biasOffset
    for (let j = 0; j < units; j++) grads[b + j] = 0
    for (let r = 0; r < rows; r++) {
      const o = r * units
      for (let j = 0; j < units; j++) grads[b + j] = grads[b + j]! + dz[o + j]!
    }
  }
  if (dx !== null) gemm.multiply(false, true, rows, inputs, units, dz, 0, units, params, layer.kernelOffset, units, dx, 0, inputs, false)
}
