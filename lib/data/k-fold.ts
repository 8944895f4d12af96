/**
 * k-fold cross-validation splits, as scikit-learn's KFold and StratifiedKFold: the samples are
 * cut into k folds of near-equal size; each fold is the validation set once, the rest training.
 */
import { Rng } from '../rng.js'
import { checkBoolean, checkInteger, checkOptions, optional } from '../validate.js'
import { rowCount, type RowData } from './rows.js'
import { classKeys, permutation } from './split.js'

export interface KFoldOptions {
  /** Number of folds, ≥ 2 (default 5). */
  k?: number
  /** Shuffle the samples before cutting the folds (default true). */
  shuffle?: boolean
  /** Seed of the shuffle (default 0). */
  seed?: number
  /** Labels to stratify by: each fold then keeps every class's share of the samples. */
  stratify?: RowData
}

export interface Fold {
  /** Rows to train on. */
  train: Int32Array
  /** Rows to validate on. */
  validation: Int32Array
}

/**
 * The k folds of `samples` rows (a count, or the data itself). Every row is in exactly one
 * validation set. Use takeRows(x, fold.train) and the like to pick the samples.
 */
export function kFold(samples: number | RowData, options: KFoldOptions = {}): Fold[] {
  const o = checkOptions('kFold options', options, ['k', 'shuffle', 'seed', 'stratify'])
  const n = typeof samples === 'number' ? checkInteger('kFold samples', samples, { min: 1 }) : rowCount('kFold samples', samples)
  const k = optional(o.k, 5, (v) => checkInteger('kFold k', v, { min: 2 }))
  if (k > n) throw new RangeError(`kFold k is ${k}, but there are only ${n} samples; each fold needs at least one`)
  const shuffle = optional(o.shuffle, true, (v) => checkBoolean('kFold shuffle', v))
  const rng = Rng.seeded(optional(o.seed, 0, (v) => checkInteger('kFold seed', v, { min: 0, max: 0xffffffff })), 0)
  const foldOf = new Int32Array(n)
  if (o.stratify === undefined) {
    const order = shuffle ? permutation(n, rng) : Array.from({ length: n }, (_, i) => i)
    // The first n mod k folds get one extra sample, as scikit-learn's.
    let at = 0
    for (let f = 0; f < k; f++) {
      const size = Math.floor(n / k) + (f < n % k ? 1 : 0)
      for (let i = 0; i < size; i++) foldOf[order[at++]!] = f
    }
  } else {
    const keys = classKeys('kFold stratify', o.stratify as RowData)
    if (keys.length !== n) throw new RangeError(`kFold stratify has ${keys.length} labels but there are ${n} samples`)
    const groups = new Map<string, number[]>()
    keys.forEach((key, i) => (groups.get(key) ?? groups.set(key, []).get(key)!).push(i))
    // Deal each class's rows round the folds in turn, continuing where the last class stopped,
    // so every fold gets its share of each class and the fold sizes differ by at most one.
    let next = 0
    for (const rows of groups.values()) {
      const order = shuffle ? permutation(rows.length, rng).map((i) => rows[i]!) : rows
      for (const row of order) foldOf[row] = next++ % k
    }
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = []
    const validation: number[] = []
    for (let i = 0; i < n; i++) (foldOf[i] === f ? validation : train).push(i)
    return { train: Int32Array.from(train), validation: Int32Array.from(validation) }
  })
}
