/** What the feature scalers share: input checks, the column-wise map, and JSON checks. */
import { ModelStateError, ShapeError } from '../errors.js'
import type { Features } from '../inputs.js'
import { toFeatures } from '../inputs.js'
import { Matrix } from '../matrix.js'
import { describe, isPlainObject } from '../validate.js'
import type { DataSourceLike } from './sources/data-source.js'

/** x as a Matrix of finite numbers, whatever its width. */
export function columnsOf(name: string, x: Features): Matrix {
  const cols = x instanceof Matrix ? x.cols : Array.isArray(x) && Array.isArray(x[0]) ? x[0].length : 0
  return toFeatures(name, x, cols)
}

/** A new Matrix with f applied to every value, given its column; checks the width. */
export function mapColumns(name: string, x: Features, cols: number, f: (value: number, col: number) => number): Matrix {
  const m = columnsOf(name, x)
  if (m.cols !== cols) throw new ShapeError(`${name} must have ${cols} columns (as the data the scaler was fitted on), got ${m.rows} × ${m.cols}`)
  const out = new Float32Array(m.data.length)
  const d = m.data
  for (let r = 0, i = 0; r < m.rows; r++) for (let c = 0; c < cols; c++, i++) out[i] = f(d[i]!, c)
  return new Matrix(m.rows, cols, out)
}

/** Applies f to rows of features (a flat row-major array) in place, given each value's column; checks the width. */
export function mapRowsInPlace(name: string, x: Float32Array, cols: number, f: (value: number, col: number) => number): Float32Array {
  if (x.length % cols !== 0) throw new ShapeError(`${name} has ${x.length} values, not a whole number of rows of ${cols} features`)
  for (let i = 0; i < x.length; i += cols) for (let c = 0; c < cols; c++) x[i + c] = f(x[i + c]!, c)
  return x
}

/** Something that learns from rows a block at a time: both scalers. */
interface PartialFitter {
  partialFit(x: Matrix): unknown
}

/** Feeds every row of a source's epoch 0 to partialFit, one block at a time; returns how many rows it saw. */
export async function partialFitSource(scaler: PartialFitter, source: DataSourceLike): Promise<number> {
  const { xColumns } = await source.shape()
  let rows = 0
  for await (const block of source.blocks({ epoch: 0 })) {
    if (block.rows === 0) continue
    scaler.partialFit(new Matrix(block.rows, xColumns, block.x))
    rows += block.rows
  }
  return rows
}

/** The two fitted arrays, or a ModelStateError when fit has not run. */
export function fittedOrThrow(what: string, a: Float64Array | null, b: Float64Array | null): [Float64Array, Float64Array] {
  if (a === null || b === null) throw new ModelStateError(`${what} is not fitted; call fit(x) first`)
  return [a, b]
}

/** Checks a scaler's saved form: its kind and arrays of finite numbers of one length. */
export function checkScalerJSON(kind: string, json: unknown, keys: string[]): Record<string, number[]> {
  if (!isPlainObject(json) || json.kind !== kind) throw new TypeError(`expected a saved scaler of kind '${kind}', got ${describe(json)}`)
  const out: Record<string, number[]> = {}
  for (const key of keys) {
    const v = json[key]
    if (!Array.isArray(v) || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      throw new TypeError(`a saved ${kind} scaler's '${key}' must be an array of finite numbers, got ${describe(v)}`)
    }
    out[key] = v
  }
  const lengths = new Set(keys.filter((k) => k !== 'featureRange').map((k) => out[k]!.length))
  if (lengths.size !== 1) throw new TypeError(`a saved ${kind} scaler's arrays must all have one length per feature`)
  if (kind === 'standard' && out.scale!.some((s) => s === 0)) throw new TypeError(`a saved standard scaler's 'scale' must not hold 0`)
  if (kind === 'minMax' && out.scale!.some((s) => s === 0)) throw new TypeError(`a saved minMax scaler's 'scale' must not hold 0`)
  return out
}
