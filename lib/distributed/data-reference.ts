/**
 * How the data of a distributed search reaches the workers: by reference, never inside a job.
 * A reference is the recipe `backprop search` follows to make its training rows — a data name
 * or path (what `--data` takes), the CSV label and task, the synthetic sample count, the seed
 * and test split, the scaling — and every worker follows it to make the same rows. A SHA-256
 * digest of the rows travels with each job, so a worker whose file differs (another version on
 * a shared disk, a different machine's copy) fails the job saying so instead of scoring trials
 * on other data.
 */
import { createHash } from 'node:crypto'
import type { LabeledDataset, Task } from '../data/dataset.js'
import { MinMaxScaler } from '../data/min-max-scaler.js'
import type { Scaler } from '../data/scaler.js'
import { StandardScaler } from '../data/standard-scaler.js'
import type { Features, Targets } from '../inputs.js'
import { LOSSES, type LossName } from '../plan.js'
import type { SearchData } from '../search/search-data.js'
import { checkOneOf } from '../validate.js'
import type { ResolvedReference } from './distributed-options.js'
import { loadSource, trainAndTest, type LoadedData } from '../cli/loaded-data.js'
import { targetsFor } from '../cli/network.js'

/** What following a reference gives: the search's rows, and for the coordinator the rest. */
export interface ReferencedData {
  loss: LossName
  source: LoadedData
  train: LabeledDataset
  test: LabeledDataset
  scaler: Scaler | null
  classes: number
  /** The search's features (scaled) and targets (as `loss` needs them). */
  x: Features
  y: Targets
}

/**
 * Loads the data a reference names and makes the search's rows from it, with targets as `loss`
 * needs them (a loss, or a function choosing one once the data's task and classes are known).
 */
export async function followReference(ref: ResolvedReference, lossOf: LossName | ((task: Task, classes: number, name: string) => LossName)): Promise<ReferencedData> {
  const source = await loadSource(ref.data, {
    ...(ref.label !== undefined && { label: ref.label }),
    ...(ref.task && { task: ref.task }),
    samples: ref.samples,
    seed: ref.seed,
  })
  const { train, test } = trainAndTest(source, ref.testSplit, ref.seed)
  const classes = train.task === 'classification' ? train.labelNames.length : 0
  const loss = checkOneOf('loss', typeof lossOf === 'function' ? lossOf(source.task, classes, source.name) : lossOf, LOSSES)
  const scaler = ref.scale === 'standard' ? new StandardScaler() : ref.scale === 'minmax' ? new MinMaxScaler() : null
  const x = scaler ? scaler.fitTransform(train.x) : train.x
  return { loss, source, train, test, scaler, classes, x, y: targetsFor(loss, train.y, classes) }
}

/** SHA-256 of the rows a search trains and scores on, and of how they are cut into folds. */
export function searchDataDigest(data: SearchData): string {
  const hash = createHash('sha256')
  hash.update(JSON.stringify([data.rows, data.inputSize, data.targetCols, data.outputSize]))
  hash.update(new Uint8Array(data.x.buffer, data.x.byteOffset, data.x.byteLength))
  hash.update(new Uint8Array(data.y.buffer, data.y.byteOffset, data.y.byteLength))
  for (const fold of data.folds) {
    hash.update(new Uint8Array(fold.train.buffer, fold.train.byteOffset, fold.train.byteLength))
    hash.update(new Uint8Array(fold.validation.buffer, fold.validation.byteOffset, fold.validation.byteLength))
  }
  return hash.digest('hex')
}

/** A short description of a reference for messages. */
export function describeReference(ref: ResolvedReference): string {
  return `--data ${ref.data}${ref.label !== undefined ? ` --label ${ref.label}` : ''} (seed ${ref.seed}, test split ${ref.testSplit}, scale ${ref.scale}, ${ref.samples} synthetic samples)`
}
