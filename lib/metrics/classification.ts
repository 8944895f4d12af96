/**
 * Classification scores from true and predicted class indices: accuracy, and precision, recall
 * and F1 per class with their macro (unweighted) and weighted (by support) averages, as
 * scikit-learn's. A ratio whose denominator is 0 counts as 0.
 */
import { checkInteger, checkOptions, optional } from '../validate.js'
import { confusionMatrix } from './confusion-matrix.js'
import { checkClassPairs } from './labels.js'

/** The share of samples whose predicted class is the true one. */
export function accuracyScore(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const { yTrue: t, yPred: p } = checkClassPairs('accuracyScore', yTrue, yPred)
  let correct = 0
  for (let i = 0; i < t.length; i++) if (t[i] === p[i]) correct++
  return correct / t.length
}

export interface ClassScores {
  precision: number
  recall: number
  f1: number
}

export interface PrecisionRecallF1 {
  /** One entry per class index. */
  perClass: (ClassScores & { support: number })[]
  /** Unweighted mean over classes. */
  macro: ClassScores
  /** Mean over classes weighted by their support (true samples). */
  weighted: ClassScores
}

/** Precision, recall and F1 for every class, with macro and weighted averages. */
export function precisionRecallF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, options: { classes?: number } = {}): PrecisionRecallF1 {
  const o = checkOptions('precisionRecallF1 options', options, ['classes'])
  const { largest } = checkClassPairs('precisionRecallF1', yTrue, yPred)
  const classes = optional(o.classes, largest + 1, (v) => checkInteger('precisionRecallF1 classes', v, { min: 1 }))
  const m = confusionMatrix(yTrue, yPred, { classes })
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b)
  const perClass = m.map((row, k) => {
    const truePositives = row[k]!
    const support = row.reduce((s, v) => s + v, 0)
    const predicted = m.reduce((s, r) => s + r[k]!, 0)
    const precision = ratio(truePositives, predicted)
    const recall = ratio(truePositives, support)
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support }
  })
  const total = perClass.reduce((s, c) => s + c.support, 0)
  const average = (weight: (c: (typeof perClass)[number]) => number): ClassScores => ({
    precision: perClass.reduce((s, c) => s + weight(c) * c.precision, 0),
    recall: perClass.reduce((s, c) => s + weight(c) * c.recall, 0),
    f1: perClass.reduce((s, c) => s + weight(c) * c.f1, 0),
  })
  return { perClass, macro: average(() => 1 / classes), weighted: average((c) => c.support / total) }
}
