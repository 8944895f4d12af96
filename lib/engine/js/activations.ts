import type { ActivationPlan } from '../../plan.js'
import type { FloatArray } from './gemm.js'

/** Applies the activation in place to the first `rows` rows of a rows × cols buffer. */
export function activationForward(act: ActivationPlan, z: FloatArray, rows: number, cols: number): void {
  const n = rows * cols
  switch (act.name) {
    case 'linear':
      return
    case 'sigmoid':
      for (let i = 0; i < n; i++) z[i] = 1 / (1 + Math.exp(-z[i]!))
      return
    case 'tanh':
      for (let i = 0; i < n; i++) z[i] = Math.tanh(z[i]!)
      return
    case 'relu':
      for (let i = 0; i < n; i++) if (z[i]! < 0) z[i] = 0 // NaN passes through, so divergence shows
      return
    case 'leakyRelu': {
      const alpha = act.alpha ?? 0.2
      for (let i = 0; i < n; i++) {
        const v = z[i]!
        if (v < 0) z[i] = alpha * v
      }
      return
    }
    case 'softmax':
      for (let r = 0; r < rows; r++) softmaxRow(z, r * cols, cols)
      return
  }
}

/** Numerically stable softmax of one row, in place. */
export function softmaxRow(z: FloatArray, start: number, cols: number): void {
  let max = -Infinity
  for (let j = 0; j < cols; j++) if (z[start + j]! > max) max = z[start + j]!
  let sum = 0
  for (let j = 0; j < cols; j++) {
    const e = Math.exp(z[start + j]! - max)
    z[start + j] = e
    sum += e
  }
  const inv = 1 / sum
  for (let j = 0; j < cols; j++) z[start + j] = z[start + j]! * inv
}

/**
 * Turns the gradient with respect to the activation's output into the gradient with respect to
 * its input, in place. Uses only the output `a`: every derivative here can be written from it
 * (σ' = a(1−a), tanh' = 1−a², ReLU' = [a > 0]; leaky ReLU with α ≥ 0 has a > 0 exactly when z > 0).
 */
export function activationBackward(
  act: ActivationPlan,
  a: FloatArray,
  grad: FloatArray,
  rows: number,
  cols: number,
): void {
  const n = rows * cols
  switch (act.name) {
    case 'linear':
      return
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const y = a[i]!
        grad[i] = grad[i]! * y * (1 - y)
      }
      return
    case 'tanh':
      for (let i = 0; i < n; i++) {
        const y = a[i]!
        grad[i] = grad[i]! * (1 - y * y)
      }
      return
    case 'relu':
      for (let i = 0; i < n; i++) if (!(a[i]! > 0)) grad[i] = 0
      return
    case 'leakyRelu': {
      const alpha = act.alpha ?? 0.2
      for (let i = 0; i < n; i++) if (!(a[i]! > 0)) grad[i] = grad[i]! * alpha
      return
    }
    case 'softmax':
      // dz_j = a_j (g_j − Σ_k g_k a_k): the softmax Jacobian applied to the row's gradient.
      for (let r = 0; r < rows; r++) {
        const s = r * cols
        let dot = 0
        for (let j = 0; j < cols; j++) dot += grad[s + j]! * a[s + j]!
        for (let j = 0; j < cols; j++) grad[s + j] = a[s + j]! * (grad[s + j]! - dot)
      }
      return
  }
}
