/** Picking rows (samples) out of features and targets by index, keeping each one's kind. */
import { ShapeError } from '../errors.js'
import { Matrix } from '../matrix.js'
import { describe } from '../validate.js'

/** Features or targets whose rows can be taken: a Matrix, rows of numbers, or one value per row. */
export type RowData = Matrix | readonly (readonly number[])[] | readonly (number | string)[] | Int32Array | Float32Array | Float64Array | Uint8Array

/** The number of rows (samples) in `data`. */
export function rowCount(name: string, data: unknown): number {
  if (data instanceof Matrix) return data.rows
  if (Array.isArray(data) || data instanceof Int32Array || data instanceof Float32Array || data instanceof Float64Array || data instanceof Uint8Array) {
    return data.length
  }
  throw new TypeError(`${name} must be a Matrix, an array of rows, or an array or typed array of values, got ${describe(data)}`)
}

/** The rows at `indices`, in that order, as the same kind of container (copied). */
export function takeRows<T extends RowData>(data: T, indices: ArrayLike<number>): T {
  const n = rowCount('takeRows data', data)
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!
    if (!Number.isInteger(k) || k < 0 || k >= n) throw new ShapeError(`takeRows indices[${i}] is ${k}; rows are numbered 0–${n - 1}`)
  }
  if (data instanceof Matrix) {
    const out = new Matrix(indices.length, data.cols)
    for (let i = 0; i < indices.length; i++) out.data.set(data.data.subarray(indices[i]! * data.cols, (indices[i]! + 1) * data.cols), i * data.cols)
    return out as T
  }
  if (Array.isArray(data)) return Array.from(indices, (k) => (Array.isArray(data[k]) ? [...(data[k] as number[])] : data[k])) as unknown as T
  const typed = data as Int32Array | Float32Array | Float64Array | Uint8Array
  const out = new (typed.constructor as new (n: number) => typeof typed)(indices.length)
  for (let i = 0; i < indices.length; i++) out[i] = typed[indices[i]!]!
  return out as T
}
