/**
 * An epoch trained as a sequence of chunks of whole batches: one engine call per chunk, and
 * while the engine trains one chunk (off the main thread on the native engine) the next one is
 * gathered. fitDataset feeds it from a DataSource; fit feeds it a large in-memory dataset
 * gathered in its shuffled order, so the native engine never holds a second copy of the data.
 */
import type { TrainingData, EpochResult, Network } from '../engine/engine.js'
import type { RunOptions } from './fit.js'
import type { Plan } from '../plan.js'

/**
 * Bytes of rows a chunk holds at most: each chunk is one call into the engine, and two are held
 * at once. 784-256-128-10 at batch 128 trained 180–203k samples/s on two threads with 16 MB
 * chunks against 170–186k with 4 MB (in-memory fit; bench/in-memory-fit.ts), and fitDataset on
 * one thread 94–99k rows/s against 94k.
 */
const CHUNK_BYTES = 16 << 20

/** Rows of a chunk: whole batches of rows of `rowBytes` bytes, at least one batch. */
export function chunkRows(rowBytes: number, batchSize: number): number {
  return batchSize * Math.max(1, Math.floor(CHUNK_BYTES / (rowBytes * batchSize)))
}

/**
 * Trains the chunks in order. `before` batches of the epoch were trained earlier (a resume):
 * batch indices and `afterChunk`'s count include them. `afterChunk(batchesDone)` runs between
 * chunks while the network is idle (checkpoints); it returns true to stop. Each chunk must stay
 * unchanged until the next one is asked for (chunk producers alternate two buffers). In an MPI
 * run of `processes` processes, each trains batchSize / processes rows of every batch.
 */
export async function trainChunks(
  network: Network,
  plan: Plan,
  chunks: AsyncIterable<TrainingData>,
  batchSize: number,
  before: number,
  options: RunOptions,
  processes: number,
  afterChunk: (batchesDone: number) => Promise<boolean>,
): Promise<EpochResult> {
  const result: EpochResult = { loss: 0, metrics: plan.metrics.map(() => 0), batches: 0, samples: 0, stopped: false, diverged: null }
  let pending: Promise<EpochResult> | null = null
  /** Batches trained in this call. */
  let trained = 0
  const finish = async (): Promise<boolean> => {
    if (!pending) return false
    const r = await pending
    pending = null
    merge(result, r, before + trained)
    trained += r.batches
    const stop = await afterChunk(before + trained)
    return r.stopped || r.diverged !== null || stop
  }
  let stopped = false
  for await (const chunk of chunks) {
    if (await finish()) {
      stopped = true
      break
    }
    const offset = before + trained
    const onBatchEnd = options.onBatchEnd
    pending = network.trainEpochAsync(chunk, {
      batchSize: batchSize / processes,
      shuffle: false,
      learningRate: options.learningRate,
      ...(options.rateAt && { learningRates: ratesOf(options.rateAt, offset, Math.ceil(chunk.rows / batchSize)) }),
      ...(onBatchEnd && { onBatchEnd: (batch, stats) => onBatchEnd(offset + batch, stats) }),
      ...(options.signal && { signal: options.signal }),
    })
    if (options.signal?.aborted) break
  }
  if (!stopped) await finish()
  // Aborted: the epoch is incomplete (a checkpoint saved since knows how far it got).
  if (options.signal?.aborted) result.stopped = true
  const n = Math.max(result.samples, 1)
  return { ...result, loss: result.loss / n, metrics: result.metrics.map((m) => m / n) }
}

/** Adds a chunk's result (sample-weighted means) to the epoch's sums; its batch indices start at `offset`. */
function merge(into: EpochResult, r: EpochResult, offset: number): void {
  into.loss += r.loss * r.samples
  r.metrics.forEach((m, i) => (into.metrics[i]! += m * r.samples))
  into.batches += r.batches
  into.samples += r.samples
  into.stopped ||= r.stopped
  if (r.diverged && !into.diverged) into.diverged = { batch: offset + r.diverged.batch, reason: r.diverged.reason }
}

/** The rates of `count` batches from batch `first` on, for the engine. */
export function ratesOf(rateAt: (batch: number) => number, first: number, count: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => rateAt(first + i))
}
