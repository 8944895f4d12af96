/** Input checks shared by the metrics: class-index arrays and real-valued arrays or matrices. */
import { ShapeError } from '../errors.js'
import { Matrix } from '../matrix.js'
import { describe } from '../validate.js'

/** Checks that yTrue and yPred are equally long, non-empty arrays of class indices. */
export function checkClassPairs(what: string, yTrue: unknown, yPred: unknown): { yTrue: ArrayLike<number>; yPred: ArrayLike<number>; largest: number } {
  const a = classIndices(`${what} yTrue`, yTrue)
  const b = classIndices(`${what} yPred`, yPred)
  if (a.values.length !== b.values.length) throw new ShapeError(`${what}: yTrue has ${a.values.length} labels but yPred has ${b.values.length}; they must match`)
  if (a.values.length === 0) throw new ShapeError(`${what}: no samples; yTrue and yPred are empty`)
  return { yTrue: a.values, yPred: b.values, largest: Math.max(a.largest, b.largest) }
}

export function classIndices(name: string, y: unknown): { values: ArrayLike<number>; largest: number } {
  if (!(Array.isArray(y) || y instanceof Int32Array || y instanceof Uint8Array || y instanceof Float32Array || y instanceof Float64Array)) {
    throw new TypeError(`${name} must be an array of class indices, got ${describe(y)}`)
  }
  let largest = -1
  for (let i = 0; i < y.length; i++) {
    const v = y[i]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`${name}[${i}] is ${describe(v)}; class indices must be integers ≥ 0`)
    if (v > largest) largest = v
  }
  return { values: y as ArrayLike<number>, largest }
}

/** Real values as columns: a flat array is one column; a Matrix or number[][] has its own. */
export function realColumns(name: string, y: unknown): Matrix {
  if (y instanceof Matrix) return y
  if (Array.isArray(y) && y.length > 0 && Array.isArray(y[0])) return Matrix.from(y as number[][], name)
  if (Array.isArray(y) || y instanceof Float32Array || y instanceof Float64Array || y instanceof Int32Array) {
    const out = new Float32Array(y.length)
    for (let i = 0; i < y.length; i++) {
      const v = y[i]
      if (typeof v !== 'number') throw new TypeError(`${name}[${i}] must be a number, got ${describe(v)}`)
      out[i] = v
    }
    return new Matrix(y.length, 1, out)
  }
  throw new TypeError(`${name} must be an array of numbers, rows of numbers or a Matrix, got ${describe(y)}`)
}

/** Checks two real-valued inputs of one shape and returns them as matrices. */
export function checkRealPairs(what: string, yTrue: unknown, yPred: unknown): [Matrix, Matrix] {
  const a = realColumns(`${what} yTrue`, yTrue)
  const b = realColumns(`${what} yPred`, yPred)
  if (a.rows !== b.rows || a.cols !== b.cols) throw new ShapeError(`${what}: yTrue is ${a.rows} × ${a.cols} but yPred is ${b.rows} × ${b.cols}; they must match`)
  if (a.rows === 0) throw new ShapeError(`${what}: no samples; yTrue and yPred are empty`)
  for (const [name, m] of [['yTrue', a], ['yPred', b]] as const) {
    const i = m.data.findIndex((v) => !Number.isFinite(v))
    if (i >= 0) throw new RangeError(`${what} ${name} holds ${m.data[i]} at row ${Math.floor(i / m.cols)}; values must be finite`)
  }
  return [a, b]
}
