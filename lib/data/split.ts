/**
 * Splitting samples into a training and a test set, as scikit-learn's train_test_split: seeded
 * shuffling, and optionally stratified so each class keeps its share in both parts.
 */
import { ShapeError } from '../errors.js'
import { Rng } from '../rng.js'
import { checkBoolean, checkInteger, checkNumber, checkOptions, optional } from '../validate.js'
import { rowCount, takeRows, type RowData } from './rows.js'

export interface TrainTestSplitOptions {
  /** The test set's share of the samples, in (0, 1) (default 0.25), or a count of samples (≥ 1). */
  testSize?: number
  /** Shuffle before splitting (default true); without it the last samples are the test set. */
  shuffle?: boolean
  /** Keep each class's share in both sets, by the labels y (default false; needs shuffle). */
  stratify?: boolean
  /** Seed of the shuffle (default 0). */
  seed?: number
}

export interface TrainTestSplit<X, Y> {
  xTrain: X
  xTest: X
  yTrain: Y
  yTest: Y
  /** Which original rows went where. */
  trainIndices: Int32Array
  testIndices: Int32Array
}

/** Splits x and y (matching rows) into training and test sets; each keeps its container kind. */
export function trainTestSplit<X extends RowData, Y extends RowData>(x: X, y: Y, options: TrainTestSplitOptions = {}): TrainTestSplit<X, Y> {
  const o = checkOptions('trainTestSplit options', options, ['testSize', 'shuffle', 'stratify', 'seed'])
  const n = rowCount('trainTestSplit x', x)
  const ny = rowCount('trainTestSplit y', y)
  if (ny !== n) throw new ShapeError(`trainTestSplit y has ${ny} rows but x has ${n}; they must match`)
  const shuffle = optional(o.shuffle, true, (v) => checkBoolean('trainTestSplit shuffle', v))
  const stratify = optional(o.stratify, false, (v) => checkBoolean('trainTestSplit stratify', v))
  if (stratify && !shuffle) throw new TypeError('trainTestSplit stratify needs shuffle: true')
  const size = optional(o.testSize, 0.25, (v) => checkNumber('trainTestSplit testSize', v, { min: 0, minInclusive: false }))
  const testCount = size < 1 ? Math.ceil(size * n) : checkInteger('trainTestSplit testSize (a count)', size, { min: 1 })
  if (testCount >= n) throw new RangeError(`trainTestSplit testSize ${size} of ${n} samples leaves ${n - testCount} for training; both sets need at least one`)
  const rng = Rng.seeded(optional(o.seed, 0, (v) => checkInteger('trainTestSplit seed', v, { min: 0, max: 0xffffffff })), 0)
  let train: number[]
  let test: number[]
  if (!shuffle) {
    train = Array.from({ length: n - testCount }, (_, i) => i)
    test = Array.from({ length: testCount }, (_, i) => n - testCount + i)
  } else if (!stratify) {
    const order = permutation(n, rng)
    test = order.slice(0, testCount)
    train = order.slice(testCount)
  } else {
    ;({ train, test } = stratifiedSplit(classKeys('trainTestSplit y', y), testCount, rng))
  }
  return {
    xTrain: takeRows(x, train),
    xTest: takeRows(x, test),
    yTrain: takeRows(y, train),
    yTest: takeRows(y, test),
    trainIndices: Int32Array.from(train),
    testIndices: Int32Array.from(test),
  }
}

/** 0 … n−1 in a seeded random order (Fisher–Yates). */
export function permutation(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/** The rows of each class, in order of first appearance: the class of a row is its label (or one-hot row). */
export function classKeys(name: string, y: RowData): string[] {
  const n = rowCount(name, y)
  const keys: string[] = []
  for (let i = 0; i < n; i++) {
    const row = 'rows' in y ? (y as { row(i: number): Float32Array }).row(i) : (y as ArrayLike<unknown>)[i]
    keys.push(ArrayBuffer.isView(row) || Array.isArray(row) ? Array.from(row as ArrayLike<number>).join(',') : String(row))
  }
  return keys
}

/** Each class's rows, shuffled; its share of the test set rounded so the total is exact. */
function stratifiedSplit(keys: string[], testCount: number, rng: Rng): { train: number[]; test: number[] } {
  const groups = new Map<string, number[]>()
  keys.forEach((k, i) => (groups.get(k) ?? groups.set(k, []).get(k)!).push(i))
  const n = keys.length
  const classes = [...groups.values()].map((rows) => {
    const order = permutation(rows.length, rng).map((i) => rows[i]!)
    const exact = (rows.length * testCount) / n
    return { order, take: Math.floor(exact), remainder: exact - Math.floor(exact) }
  })
  // Largest remainders first get the samples that rounding down left over.
  let left = testCount - classes.reduce((s, c) => s + c.take, 0)
  for (const c of [...classes].sort((a, b) => b.remainder - a.remainder)) {
    if (left === 0) break
    if (c.take < c.order.length) {
      c.take++
      left--
    }
  }
  const test = classes.flatMap((c) => c.order.slice(0, c.take))
  const train = classes.flatMap((c) => c.order.slice(c.take))
  // Interleave the classes again so neither set is sorted by class.
  const shuffled = (rows: number[]) => permutation(rows.length, rng).map((i) => rows[i]!)
  return { train: shuffled(train), test: shuffled(test) }
}
