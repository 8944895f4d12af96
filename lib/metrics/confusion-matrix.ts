/** The confusion matrix: counts of samples by true class (rows) and predicted class (columns). */
import { checkInteger } from '../validate.js'
import { checkClassPairs } from './labels.js'

export interface ConfusionMatrixOptions {
  /** Number of classes (default: the largest label in either input + 1). */
  classes?: number
}

/**
 * `matrix[t][p]` counts the samples of true class t predicted as p, as scikit-learn's
 * confusion_matrix. The diagonal holds the correct predictions.
 */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, options: ConfusionMatrixOptions = {}): number[][] {
  const { yTrue: t, yPred: p, largest } = checkClassPairs('confusionMatrix', yTrue, yPred)
  const classes = options.classes === undefined ? largest + 1 : checkInteger('confusionMatrix classes', options.classes, { min: 1 })
  if (largest >= classes) throw new RangeError(`confusionMatrix: a label is ${largest}, but classes is ${classes} (indices 0–${classes - 1})`)
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
  for (let i = 0; i < t.length; i++) matrix[t[i]!]![p[i]!]!++
  return matrix
}
