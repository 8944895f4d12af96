/**
 * Regression scores: mean squared error, mean absolute error and the coefficient of
 * determination R², as scikit-learn's (several outputs: R² is the mean over the outputs).
 * Computed in float64.
 */
import { checkRealPairs } from './labels.js'

type Values = ArrayLike<number> | readonly (readonly number[])[] | import('../matrix.js').Matrix

/** Mean of (yTrue − yPred)² over every value. */
export function meanSquaredError(yTrue: Values, yPred: Values): number {
  const [a, b] = checkRealPairs('meanSquaredError', yTrue, yPred)
  let sum = 0
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i]! - b.data[i]!) ** 2
  return sum / a.data.length
}

/** Mean of |yTrue − yPred| over every value. */
export function meanAbsoluteError(yTrue: Values, yPred: Values): number {
  const [a, b] = checkRealPairs('meanAbsoluteError', yTrue, yPred)
  let sum = 0
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!)
  return sum / a.data.length
}

/**
 * 1 − Σ(y − ŷ)² / Σ(y − ȳ)² per output, averaged over outputs. 1 is a perfect fit; 0 is no
 * better than predicting the mean. A constant target scores 1 when predicted exactly, else 0.
 */
export function r2Score(yTrue: Values, yPred: Values): number {
  const [a, b] = checkRealPairs('r2Score', yTrue, yPred)
  let total = 0
  for (let c = 0; c < a.cols; c++) {
    let mean = 0
    for (let r = 0; r < a.rows; r++) mean += a.data[r * a.cols + c]!
    mean /= a.rows
    let residual = 0
    let spread = 0
    for (let r = 0; r < a.rows; r++) {
      const y = a.data[r * a.cols + c]!
      residual += (y - b.data[r * a.cols + c]!) ** 2
      spread += (y - mean) ** 2
    }
    total += spread === 0 ? (residual === 0 ? 1 : 0) : 1 - residual / spread
  }
  return total / a.cols
}
