import { ShapeError } from '../errors.js'
import { toFeatures, toTargets } from '../inputs.js'
import { Matrix } from '../matrix.js'
import type { LossName } from '../plan.js'
import { Rng } from '../rng.js'
import { describe } from '../validate.js'

/**
 * The data of a search as flat arrays (what is sent to each worker once), and how it is cut
 * into training and validation sets: one split, given validation data, or k folds. Every
 * trial uses the same cut, so scores compare like with like.
 */
export interface SearchData {
  /** rows × inputSize, row-major: the training samples, then any given validation samples. */
  x: Float32Array
  /** rows × targetCols: targets, or one class index per row for sparse labels. */
  y: Float32Array
  rows: number
  inputSize: number
  targetCols: number
  outputSize: number
  /** For each fold (one, unless cross-validating), the training and validation rows. */
  folds: { train: Uint32Array; validation: Uint32Array }[]
}

export type Validation = { kind: 'split'; fraction: number } | { kind: 'data'; x: unknown; y: unknown } | { kind: 'folds'; k: number }

/** PRNG stream of the search's seed that shuffles the rows before splitting. */
const SPLIT_STREAM = 3

/** Converts and checks the data, and cuts it as `validation` says (shuffled from `seed`). */
export function prepareSearchData(name: string, x: unknown, y: unknown, loss: LossName, validation: Validation, seed: number): SearchData {
  const matrix = asMatrix(`${name} x`, x)
  if (matrix.cols === 0) throw new ShapeError(`${name} x has no features (0 columns)`)
  const features = toFeatures(`${name} x`, matrix, matrix.cols)
  const extra = validation.kind === 'data' ? toFeatures(`${name} validationData x`, asMatrix(`${name} validationData x`, validation.x), features.cols) : null
  const outputSize = outputColumns(name, loss, y, validation.kind === 'data' ? validation.y : undefined)
  const targets = toTargets(`${name} y`, y, loss, outputSize, features.rows)
  const extraTargets = extra ? toTargets(`${name} validationData y`, (validation as { y: unknown }).y, loss, outputSize, extra.rows) : null
  const rows = features.rows + (extra?.rows ?? 0)
  const targetCols = loss === 'sparseCategoricalCrossEntropy' ? 1 : outputSize
  const data: SearchData = {
    x: concat(features.data, extra?.data),
    y: concat(targets, extraTargets ?? undefined),
    rows,
    inputSize: features.cols,
    targetCols,
    outputSize,
    folds: [],
  }
  const n = features.rows
  if (validation.kind === 'data') {
    data.folds.push({ train: range(0, n), validation: range(n, rows) })
    return data
  }
  const order = permutation(n, seed)
  if (validation.kind === 'split') {
    const trainRows = Math.floor(n * (1 - validation.fraction))
    if (trainRows < 1 || trainRows === n) {
      throw new RangeError(`${name} validationSplit ${validation.fraction} of ${n} samples leaves ${trainRows} for training and ${n - trainRows} for validation; both need at least one`)
    }
    data.folds.push({ train: sorted(order.subarray(0, trainRows)), validation: sorted(order.subarray(trainRows)) })
    return data
  }
  if (validation.k > n) throw new RangeError(`${name} folds must be at most the number of samples (${n}), got ${validation.k}`)
  for (let f = 0; f < validation.k; f++) {
    const start = Math.floor((f * n) / validation.k)
    const end = Math.floor(((f + 1) * n) / validation.k)
    data.folds.push({
      train: sorted(Uint32Array.from([...order.subarray(0, start), ...order.subarray(end)])),
      validation: sorted(order.subarray(start, end)),
    })
  }
  return data
}

/** The rows of a fold as the arrays fit takes. */
export function foldData(data: SearchData, rows: Uint32Array): { x: Matrix; y: Matrix | Float32Array } {
  const x = new Float32Array(rows.length * data.inputSize)
  const y = new Float32Array(rows.length * data.targetCols)
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * data.inputSize, (r + 1) * data.inputSize), i * data.inputSize)
    y.set(data.y.subarray(r * data.targetCols, (r + 1) * data.targetCols), i * data.targetCols)
  })
  return { x: new Matrix(rows.length, data.inputSize, x), y: data.targetCols === 1 ? y : new Matrix(rows.length, data.targetCols, y) }
}

function asMatrix(name: string, x: unknown): Matrix {
  if (x instanceof Matrix) return x
  if (Array.isArray(x)) return Matrix.from(x as number[][], name)
  throw new TypeError(`${name} must be a Matrix or an array of rows (number[][]), got ${describe(x)}`)
}

/**
 * The output width the loss needs: the number of classes for class indices (the largest
 * label + 1, at least 2), otherwise the target columns.
 */
function outputColumns(name: string, loss: LossName, y: unknown, validationY: unknown): number {
  if (loss === 'sparseCategoricalCrossEntropy') {
    let max = 0
    for (const [label, labels] of [[`${name} y`, y], [`${name} validationData y`, validationY]] as const) {
      if (labels === undefined) continue
      const values = labels instanceof Matrix ? labels.data : labels
      if (!(Array.isArray(values) || ArrayBuffer.isView(values))) {
        throw new TypeError(`${label} must be class indices (number[]) for sparseCategoricalCrossEntropy, got ${describe(labels)}`)
      }
      const list = values as ArrayLike<unknown>
      for (let i = 0; i < list.length; i++) {
        const v = list[i]
        if (typeof v === 'number' && Number.isInteger(v) && v > max) max = v
      }
    }
    return Math.max(2, max + 1)
  }
  if (y instanceof Matrix) return y.cols
  if (Array.isArray(y) && y.length > 0 && Array.isArray(y[0])) return (y[0] as unknown[]).length
  return 1
}

function concat(a: Float32Array, b?: Float32Array): Float32Array {
  if (!b) return a
  const out = new Float32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function range(start: number, end: number): Uint32Array {
  return Uint32Array.from({ length: end - start }, (_, i) => start + i)
}

/** Kept in the data's order within each set, so only membership depends on the shuffle. */
function sorted(rows: Uint32Array): Uint32Array {
  return Uint32Array.from(rows).sort()
}

/** A seeded Fisher–Yates shuffle of 0 … n−1. */
function permutation(n: number, seed: number): Uint32Array {
  const rng = Rng.seeded(seed, SPLIT_STREAM)
  const p = range(0, n)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1)
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}
