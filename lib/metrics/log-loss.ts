/**
 * Log loss (cross-entropy) of predicted class probabilities: the mean over samples of
 * −log p(true class), with probabilities clipped to [ε, 1 − ε] so a confident mistake costs a
 * large finite amount rather than infinity.
 */
import { ShapeError } from '../errors.js'
import { checkNumber, checkOptions, optional } from '../validate.js'
import { classIndices, realColumns } from './labels.js'

export interface LogLossOptions {
  /** Clipping bound ε (default 1e-15). */
  epsilon?: number
}

/**
 * `probabilities` has one row per sample: a probability per class, or for two classes a single
 * column holding the probability of class 1.
 */
export function logLoss(yTrue: ArrayLike<number>, probabilities: unknown, options: LogLossOptions = {}): number {
  const o = checkOptions('logLoss options', options, ['epsilon'])
  const eps = optional(o.epsilon, 1e-15, (v) => checkNumber('logLoss epsilon', v, { min: 0, max: 0.5, minInclusive: false, maxInclusive: false }))
  const { values: t, largest } = classIndices('logLoss yTrue', yTrue)
  const p = realColumns('logLoss probabilities', probabilities)
  if (p.rows !== t.length) throw new ShapeError(`logLoss: yTrue has ${t.length} labels but probabilities has ${p.rows} rows; they must match`)
  if (t.length === 0) throw new ShapeError('logLoss: no samples')
  const binary = p.cols === 1
  if (largest >= (binary ? 2 : p.cols)) throw new RangeError(`logLoss: a label is ${largest}, but probabilities has ${binary ? '1 column (two classes)' : `${p.cols} columns`}`)
  let sum = 0
  for (let i = 0; i < t.length; i++) {
    const raw = binary ? (t[i] === 1 ? p.data[i]! : 1 - p.data[i]!) : p.data[i * p.cols + t[i]!]!
    if (!Number.isFinite(raw)) throw new RangeError(`logLoss probabilities row ${i} holds ${raw}; probabilities must be finite`)
    sum -= Math.log(Math.min(Math.max(raw, eps), 1 - eps))
  }
  return sum / t.length
}
