/** One-hot encoding of class indices, and back (the index of each row's largest value). */
import { ShapeError } from '../errors.js'
import { Matrix } from '../matrix.js'
import { checkInteger, describe } from '../validate.js'
import { columnsOf } from './scaler-common.js'

/**
 * Class indices as one-hot rows: label k becomes a row of `classes` zeros with a 1 at k.
 * `classes` defaults to the largest label + 1.
 */
export function oneHot(labels: ArrayLike<number>, classes?: number): Matrix {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`oneHot labels must be an array of class indices, got ${describe(labels)}`)
  }
  let largest = -1
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`oneHot labels[${i}] is ${describe(v)}; class indices must be integers ≥ 0`)
    largest = Math.max(largest, v)
  }
  const width = classes === undefined ? largest + 1 : checkInteger('oneHot classes', classes, { min: 1 })
  if (largest >= width) throw new RangeError(`oneHot labels hold class ${largest}, but classes is ${width} (indices 0–${width - 1})`)
  const out = new Matrix(labels.length, Math.max(width, 0))
  for (let i = 0; i < labels.length; i++) out.data[i * width + labels[i]!] = 1
  return out
}

/** The class index of each row: the column of its largest value (the first one on ties). */
export function fromOneHot(rows: Matrix | readonly (readonly number[])[]): Int32Array {
  const m = columnsOf('fromOneHot rows', rows)
  if (m.cols === 0 && m.rows > 0) throw new ShapeError('fromOneHot rows have no columns')
  const out = new Int32Array(m.rows)
  for (let r = 0; r < m.rows; r++) {
    let best = 0
    for (let c = 1; c < m.cols; c++) if (m.data[r * m.cols + c]! > m.data[r * m.cols + best]!) best = c
    out[r] = best
  }
  return out
}
