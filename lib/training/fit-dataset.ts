/**
 * fitDataset, evaluateDataset and predictDataset: the fit loop over a streaming DataSource.
 * Batches are gathered from the source's blocks into two reused chunks of whole batches; the
 * engine trains one chunk while the next is read and filled, so the source and the engine work
 * at the same time (the native engine trains off the main thread).
 */
import type { TrainingData, Evaluation, Network } from '../engine/engine.js'
import { ShapeError } from '../errors.js'
import { DataSource, rowBytes, type RowBlock, type SourceShape } from '../data/sources/data-source.js'
import { ArraySource } from '../data/sources/array-source.js'
import { Matrix } from '../matrix.js'
import type { Plan } from '../plan.js'
import { checkInteger, checkOneOf, checkOptions, describe, optional } from '../validate.js'
import { checkLoop, type EpochRunner, type FitModel, type LoopOptions } from './fit.js'
import { Chunk } from './source-batches.js'
import { chunkRows, trainChunks } from './chunked-epoch.js'

export interface FitDatasetOptions {
  /** Passes over the data (default 1). */
  epochs?: number
  /** Rows per update when the source is not batched (default 32); a `.batch(n)` source's n otherwise. */
  batchSize?: number
  /** Stop each epoch after this many batches (default: when the source ends). */
  batchesPerEpoch?: number
  /** Validation data: a DataSource or [x, y] in memory. */
  validationData?: DataSource | [unknown, unknown]
  /** Validate on at most this many batches (default all). */
  validationBatches?: number
  /** Callbacks, as in fit (earlyStopping, schedules, modelCheckpoint, …). */
  callbacks?: LoopOptions['callbacks']
  /** As fit's tolerance and patience: stop when the training loss stops improving. */
  tolerance?: number
  patience?: number
  /** 0 (or false) is silent; 1 (or true) prints a line per epoch. */
  verbose?: 0 | 1 | boolean
  /** Stops after the current chunk of batches when aborted; fitDataset then resolves normally. */
  signal?: AbortSignal
  /**
   * 'mpi': train as one process of an MPI run (native engine; see docs/mpi.md). Every process
   * reads the same source; each trains its 1/N of every batch (the batch size must divide by
   * the number of processes), so the run trains what one process would with the same batches.
   */
  distributed?: 'mpi'
}

const OPTIONS = ['epochs', 'batchSize', 'batchesPerEpoch', 'validationData', 'validationBatches', 'callbacks', 'tolerance', 'patience', 'verbose', 'signal', 'distributed']

/** A DataSource fitted to a compiled plan: its shape checked against the model. */
export interface CheckedSource {
  source: DataSource
  shape: SourceShape
  batchSize: number
}

/** Checks a source's columns against the model's input. */
export async function checkSource(what: string, plan: Plan, source: unknown, batchSize: number): Promise<CheckedSource> {
  if (!(source instanceof DataSource)) throw new TypeError(`${what} must be a DataSource (data.npy(...), data.array(x, y), …), got ${describe(source)}`)
  const shape = await source.shape()
  if (shape.xColumns !== plan.inputSize) {
    throw new ShapeError(`${what} has ${shape.xColumns} feature columns, but the model takes ${plan.inputSize}`)
  }
  return { source, shape, batchSize: source.batchSize ?? batchSize }
}

export interface CheckedFitDataset extends LoopOptions {
  train: CheckedSource
  batchesPerEpoch: number
  validation: CheckedSource | null
  validationBatches: number
  distributed: 'mpi' | null
  /** The processes each batch is split over (1 unless distributed; set when the run is joined). */
  processes: number
}

export async function checkFitDataset(plan: Plan, source: unknown, options: unknown): Promise<CheckedFitDataset> {
  const o = checkOptions('fitDataset options', options, OPTIONS)
  const loop = checkLoop('fitDataset', o)
  const batchSize = optional(o.batchSize, 32, (v) => checkInteger('fitDataset batchSize', v, { min: 1 }))
  const train = await checkSource('fitDataset data', plan, source, batchSize)
  let validation: CheckedSource | null = null
  if (o.validationData !== undefined) {
    let v = o.validationData
    if (Array.isArray(v)) {
      if (v.length !== 2) throw new TypeError(`fitDataset validationData must be a DataSource or [x, y], got ${describe(v)}`)
      v = new ArraySource(v[0] as never, v[1] as never)
    }
    validation = await checkSource('fitDataset validationData', plan, v, batchSize)
  }
  return {
    ...loop,
    train,
    batchesPerEpoch: optional(o.batchesPerEpoch, Infinity, (v) => checkInteger('fitDataset batchesPerEpoch', v, { min: 1 })),
    validation,
    validationBatches: optional(o.validationBatches, Infinity, (v) => checkInteger('fitDataset validationBatches', v, { min: 1 })),
    distributed: optional(o.distributed, null, (v) => checkOneOf('fitDataset distributed', v, ['mpi'] as const)),
    processes: 1,
  }
}

/**
 * Yields the source's rows of one epoch as full chunks (and a last, shorter one): after skipping
 * `skipBatches` batches (already trained before a resume), at most `maxBatches` batches in all.
 * Two chunks alternate: while the engine trains one, the other fills. `chunkEnd(batchesSoFar,
 * most)` may end a chunk early on a batch boundary (where a checkpoint is due).
 */
async function* chunksOf(
  plan: Plan,
  checked: CheckedSource,
  epoch: number,
  skipBatches: number,
  maxBatches: number,
  signal: AbortSignal | undefined,
  chunkEnd: (batchesSoFar: number, most: number) => number,
): AsyncGenerator<Chunk> {
  const { source, shape, batchSize } = checked
  const capacity = chunkRows(rowBytes(shape), batchSize)
  const chunks = [new Chunk(plan, capacity), new Chunk(plan, capacity)]
  let current = 0
  let chunk = chunks[current]!
  let toSkip = skipBatches * batchSize
  /** Rows of the epoch read so far, skipped ones included. */
  let row = 0
  let batches = 0
  const maxRows = toSkip + maxBatches * batchSize
  let limit = Math.min(capacity, chunkEnd(0, capacity / batchSize) * batchSize)
  // Each block's rows are copied into the chunk before the next is asked for.
  const iterator = source.blocks({ epoch, recycle: true, ...(signal && { signal }) })[Symbol.asyncIterator]()
  try {
    for (;;) {
      let next: IteratorResult<RowBlock>
      try {
        next = await iterator.next()
      } catch (error) {
        // Aborting stops the reading too; what was read so far still trains (or not) as the runner decides.
        if (signal?.aborted) break
        throw error
      }
      if (next.done) break
      const block: RowBlock = next.value
      const blockStart = row
      let from = Math.min(toSkip, block.rows)
      toSkip -= from
      row += from
      while (from < block.rows && row < maxRows) {
        const n = chunk.append(block, from, Math.min(block.rows - from, limit - chunk.rows, maxRows - row), shape.yColumns, { epoch, row: blockStart })
        from += n
        row += n
        if (chunk.rows === limit || row === maxRows) {
          batches += Math.ceil(chunk.rows / batchSize)
          yield chunk
          current ^= 1
          chunk = chunks[current]!
          chunk.clear()
          limit = Math.min(capacity, chunkEnd(batches, capacity / batchSize) * batchSize)
        }
      }
      if (row >= maxRows) break
    }
    if (chunk.rows > 0) yield chunk
  } finally {
    await iterator.return?.()
  }
}

/** fitDataset's runner: each epoch streams the source; the model's resume point, if any, skips batches already trained. */
export function sourceRunner(model: FitModel & { consumeResumePoint(): number }, fit: CheckedFitDataset): EpochRunner {
  const { network, plan } = model
  const batchSize = fit.train.batchSize
  const intervals = fit.callbacks.map((cb) => cb.batchInterval).filter((v): v is number => typeof v === 'number' && v > 0)
  return {
    async train(_epoch, options) {
      // Shuffling is seeded per lifetime epoch, so a resumed run sees the same order.
      const epoch = model.epochsTrained
      const skip = model.consumeResumePoint()
      const chunkEnd = (done: number, most: number): number => {
        let n = most
        // End chunks on the batch boundaries where a callback wants to act (checkpoints).
        for (const every of intervals) n = Math.min(n, every - ((done + skip) % every))
        return Math.max(1, n)
      }
      const chunks = chunksOf(plan, fit.train, epoch, skip, fit.batchesPerEpoch - skip, options.signal, chunkEnd)
      return trainChunks(network, plan, mapChunks(chunks), batchSize, skip, options, fit.processes, async (done) => {
        for (const cb of fit.callbacks) await cb.onBatchesEnd?.(epoch, done)
        return model.stopTraining
      })
    },
    validate: fit.validation ? () => evaluateSource(network, plan, fit.validation!, fit.validationBatches) : null,
  }
}

async function* mapChunks(chunks: AsyncIterable<Chunk>): AsyncGenerator<TrainingData> {
  for await (const chunk of chunks) yield chunk.data
}

/** Loss and metrics of a model over a source, in inference mode. */
export async function evaluateSource(network: Network, plan: Plan, checked: CheckedSource, maxBatches = Infinity): Promise<Evaluation> {
  let rows = 0
  let loss = 0
  const metrics = plan.metrics.map(() => 0)
  for await (const chunk of chunksOf(plan, checked, 0, 0, maxBatches, undefined, (_, most) => most)) {
    const e = network.evaluate(chunk.data, checked.batchSize)
    loss += e.loss * chunk.rows
    e.metrics.forEach((m, i) => (metrics[i]! += m * chunk.rows))
    rows += chunk.rows
  }
  if (rows === 0) throw new ShapeError('the data source yielded no rows to evaluate')
  return { loss: loss / rows, metrics: metrics.map((m) => m / rows) }
}

/** The model's outputs over a source, one Matrix per block of rows, in order. */
export async function* predictSource(network: Network, plan: Plan, source: unknown, batchSize: number): AsyncGenerator<Matrix> {
  if (!(source instanceof DataSource)) throw new TypeError(`predictDataset expects a DataSource, got ${describe(source)}`)
  const shape = await source.shape()
  if (shape.xColumns !== plan.inputSize) throw new ShapeError(`predictDataset data has ${shape.xColumns} feature columns, but the model takes ${plan.inputSize}`)
  let row = 0
  for await (const block of source.blocks({ epoch: 0 })) {
    const x = block.x.subarray(0, block.rows * plan.inputSize)
    const bad = x.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) throw new RangeError(`feature ${bad % plan.inputSize} of row ${row + Math.floor(bad / plan.inputSize)} is ${x[bad]}; features must be finite`)
    yield new Matrix(block.rows, plan.outputSize, network.predict(x, block.rows, batchSize))
    row += block.rows
  }
}
