import { DEFAULT_LEAKY_RELU_ALPHA } from '../../activations.js'
import type { ActivationName, ActivationPlan } from '../../plan.js'
import type { FloatArray } from './gemm.js'

/**
 * An activation's forward and its backward, side by side. `forward` applies it in place to the
 * first n = rows × cols values of z. `backward` turns the gradient with respect to the output
 * into the gradient with respect to the input, in place, from the output `a` alone: every
 * derivative here can be written from it.
 */
interface ActivationOp {
  forward(z: FloatArray, rows: number, cols: number, alpha: number): void
  backward(a: FloatArray, grad: FloatArray, rows: number, cols: number, alpha: number): void
}

/** a = z,  a' = 1. */
const linear: ActivationOp = {
  forward() {},
  backward() {},
}

/** a = σ(z) = 1 / (1 + e^−z),  a' = a(1 − a). */
const sigmoid: ActivationOp = {
  forward(z, rows, cols) {
    for (let i = 0, n = rows * cols; i < n; i++) z[i] = 1 / (1 + Math.exp(-z[i]!))
  },
  backward(a, grad, rows, cols) {
    for (let i = 0, n = rows * cols; i < n; i++) {
      const y = a[i]!
      grad[i] = grad[i]! * y * (1 - y)
    }
  },
}

/** a = tanh z,  a' = 1 − a². */
const tanh: ActivationOp = {
  forward(z, rows, cols) {
    for (let i = 0, n = rows * cols; i < n; i++) z[i] = Math.tanh(z[i]!)
  },
  backward(a, grad, rows, cols) {
    for (let i = 0, n = rows * cols; i < n; i++) {
      const y = a[i]!
      grad[i] = grad[i]! * (1 - y * y)
    }
  },
}

/** a = max(z, 0),  a' = [a > 0]. NaN passes through both, so divergence shows. */
const relu: ActivationOp = {
  forward(z, rows, cols) {
    for (let i = 0, n = rows * cols; i < n; i++) if (z[i]! < 0) z[i] = 0
  },
  backward(a, grad, rows, cols) {
    for (let i = 0, n = rows * cols; i < n; i++) if (!(a[i]! > 0)) grad[i] = 0
  },
}

/** a = z for z ≥ 0, αz below,  a' = 1 or α: with α ≥ 0, a > 0 exactly when z > 0. */
const leakyRelu: ActivationOp = {
  forward(z, rows, cols, alpha) {
    for (let i = 0, n = rows * cols; i < n; i++) {
      const v = z[i]!
      if (v < 0) z[i] = alpha * v
    }
  },
  backward(a, grad, rows, cols, alpha) {
    for (let i = 0, n = rows * cols; i < n; i++) if (!(a[i]! > 0)) grad[i] = grad[i]! * alpha
  },
}

/**
 * Per row, a_j = e^{z_j} / Σ_k e^{z_k} (computed from z − max z, which does not change it);
 * backward applies the Jacobian to the row's gradient g: dz_j = a_j (g_j − Σ_k g_k a_k).
 */
const softmax: ActivationOp = {
  forward(z, rows, cols) {
    for (let r = 0; r < rows; r++) softmaxRow(z, r * cols, cols)
  },
  backward(a, grad, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const s = r * cols
      let dot = 0
      for (let j = 0; j < cols; j++) dot += grad[s + j]! * a[s + j]!
      for (let j = 0; j < cols; j++) grad[s + j] = a[s + j]! * (grad[s + j]! - dot)
    }
  },
}

const OPS: Record<ActivationName, ActivationOp> = { linear, sigmoid, tanh, relu, leakyRelu, softmax }

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

/** Applies the activation in place to the first `rows` rows of a rows × cols buffer. */
export function activationForward(act: ActivationPlan, z: FloatArray, rows: number, cols: number): void {
  OPS[act.name].forward(z, rows, cols, act.alpha ?? DEFAULT_LEAKY_RELU_ALPHA)
}

/** Turns dL/da into dL/dz in place, from the activation's output `a` (see `ActivationOp`). */
export function activationBackward(act: ActivationPlan, a: FloatArray, grad: FloatArray, rows: number, cols: number): void {
  OPS[act.name].backward(a, grad, rows, cols, act.alpha ?? DEFAULT_LEAKY_RELU_ALPHA)
}
