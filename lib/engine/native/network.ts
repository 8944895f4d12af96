import { yieldToEventLoop } from '../../yield-to-event-loop.js'
import type { Network as RawNetwork, NativeTrainingData } from '../../../native/index.js'
import { targetColumns, type Plan } from '../../plan.js'
import type {
  BatchResult,
  BatchLogs,
  TrainingData,
  EpochOptions,
  EpochResult,
  Evaluation,
  Network,
  NetworkOptions,
  NetworkState,
} from '../engine.js'
import type { NativeBinding } from './binding.js'
import { encodePlan } from './plan-code.js'

/** See runEpochsInCallingThread. */
let epochsInCallingThread = false

/**
 * Makes `trainEpochAsync` (what fit uses) train in the calling thread, as `trainEpoch` does, for
 * this thread's native networks. For threads that exist to be blocked, such as the search's
 * workers: it saves a hop to the libuv pool and back per epoch, which made short trials ~25%
 * slower when two ran side by side. Events sent to the thread (an abort message) then wait for
 * the end of the epoch.
 */
export function runEpochsInCallingThread(enabled: boolean): void {
  epochsInCallingThread = enabled
}

/**
 * The native data of a JS TrainingData: a copy and the arrays it was copied from, or rows that
 * `gatherRows` gathered into native memory (`from` null: nothing to compare with).
 */
interface CachedTrainingData {
  native: NativeTrainingData
  from: { x: Float32Array; y: Float32Array; w: Float32Array | undefined; rows: number } | null
}

const EMPTY = new Float32Array(0)

/**
 * The Network interface over the Rust executor (crates/kernels through crates/node): one
 * native call per batch, per epoch or per prediction. Computes what JsNetwork computes, to float
 * tolerance, with the same PRNG stream for shuffling and dropout.
 *
 * trainEpochAsync runs the epoch on the libuv thread pool. With `onBatchEnd`, the pool thread
 * pauses after each batch until the callback has run on the main thread (it may use the
 * network then, and a `true` return stops right after that batch, as in the JS engine); the
 * pause costs a thread round trip (tens of µs) per batch, so it is only made when a callback
 * is given. Otherwise, while an epoch runs asynchronously, any other use of this network
 * (readState, predict, …) throws an Error with code 'ERR_BACKPROP_BUSY' instead of seeing a
 * half-trained state. Aborting `signal` stops the epoch at the next batch boundary the pool
 * thread reaches (the one it is training finishes first).
 *
 * Epoch data is copied into native memory once per TrainingData object and compared (not copied)
 * before each later epoch, so changes to its arrays between epochs are still seen; data from
 * `gatherRows` is gathered straight into native memory.
 */
export class NativeNetwork implements Network {
  readonly engine = 'native'
  readonly plan: Plan
  private readonly native: RawNetwork
  private readonly datasets = new WeakMap<TrainingData, CachedTrainingData>()
  private readonly targetCols: number

  constructor(binding: NativeBinding, plan: Plan, state: NetworkState, options: NetworkOptions = {}) {
    this.plan = plan
    this.targetCols = targetColumns(plan)
    this.native = new binding.Network(encodePlan(plan), state.params, state.stats, state.slots, state.step, state.rng)
    if (options.threads !== undefined) this.native.setThreads(options.threads)
  }

  readState(): NetworkState {
    return this.native.readState()
  }

  setDistributed(enabled: boolean): void {
    this.native.setDistributed(enabled)
  }

  writeState(state: Partial<NetworkState>): void {
    this.native.writeState(state)
  }

  trainBatch(data: TrainingData, learningRate: number): BatchResult {
    const { x, y, w } = this.rowsOf(data)
    return this.native.trainBatch(x, y, data.rows, learningRate, w)
  }

  trainEpoch(data: TrainingData, options: EpochOptions): EpochResult {
    const { onBatchEnd, signal } = options
    const onBatch =
      onBatchEnd || signal
        ? (batch: number, loss: number, metrics: number[]) => onBatchEnd?.(batch, { loss, metrics }) === true || signal?.aborted === true
        : undefined
    return this.native.trainEpoch(this.nativeTrainingData(data), options.batchSize, options.shuffle, options.learningRates ?? options.learningRate, onBatch)
  }

  async trainEpochAsync(data: TrainingData, options: EpochOptions): Promise<EpochResult> {
    if (epochsInCallingThread) {
      const result = this.trainEpoch(data, options)
      // A macrotask turn, so that messages to this thread (an abort) are seen between epochs.
      await yieldToEventLoop()
      return result
    }
    const { onBatchEnd, signal } = options
    const native = this.native
    // Lockstep: the pool thread waits while the callback runs, so it sees (and may use) the
    // network between batches, and cancel() from it stops right after that batch.
    const onBatch = onBatchEnd
      ? (batch: number, loss: number, metrics: number[]) => {
          const stats: BatchLogs = { loss, metrics }
          if (onBatchEnd(batch, stats) === true) native.cancel()
        }
      : undefined
    const promise = native.trainEpochAsync(this.nativeTrainingData(data), options.batchSize, options.shuffle, options.learningRates ?? options.learningRate, onBatch, true)
    if (!signal) return promise
    const abort = (): void => native.cancel()
    // Already aborted: like the JS engine, the first batch still runs, then the epoch stops.
    if (signal.aborted) abort()
    else signal.addEventListener('abort', abort, { once: true })
    try {
      return await promise
    } finally {
      signal.removeEventListener('abort', abort)
    }
  }

  gatherRows(source: TrainingData, order: Uint32Array, reuse: TrainingData | null): TrainingData {
    const { x, y, w } = this.rowsOf(source)
    let into = reuse
    let cached = into ? this.datasets.get(into) : undefined
    if (!into || cached?.from !== null) {
      into = { x: EMPTY, y: EMPTY, rows: 0 }
      cached = { native: this.native.createTrainingData(EMPTY, EMPTY, 0), from: null }
      this.datasets.set(into, cached)
    }
    // Its rows count only once they are gathered: a failed gather leaves the data empty.
    into.rows = 0
    this.native.gatherTrainingData(cached.native, x, y, w, order)
    into.rows = order.length
    return into
  }

  evaluate(data: TrainingData, batchSize: number): Evaluation {
    return this.native.evaluate(this.nativeTrainingData(data), batchSize)
  }

  predict(x: Float32Array, rows: number, batchSize: number): Float32Array {
    return this.native.predict(x.subarray(0, rows * this.plan.inputSize), rows, batchSize)
  }

  predictAsync(x: Float32Array, rows: number, batchSize: number): Promise<Float32Array> {
    return this.native.predictAsync(x.subarray(0, rows * this.plan.inputSize), rows, batchSize)
  }

  predictInto(x: Float32Array, rows: number, out: Float32Array): void {
    this.native.predictInto(x, rows, out)
  }

  computeGradients(data: TrainingData): { loss: number; gradients: Float32Array } {
    const { x, y, w } = this.rowsOf(data)
    return this.native.computeGradients(x, y, data.rows, w)
  }

  dispose(): void {
    this.native.dispose()
  }

  /** Exactly the rows the dataset claims (its arrays may be longer views), and its weights. */
  private rowsOf(data: TrainingData): { x: Float32Array; y: Float32Array; w: Float32Array | null } {
    return {
      x: data.x.subarray(0, data.rows * this.plan.inputSize),
      y: data.y.subarray(0, data.rows * this.targetCols),
      w: data.w?.subarray(0, data.rows) ?? null,
    }
  }

  /**
   * The native copy of `data`, made on first use (fit passes the same TrainingData every epoch, so
   * its data is copied once) and brought up to date on later uses.
   */
  private nativeTrainingData(data: TrainingData): NativeTrainingData {
    const cached = this.datasets.get(data)
    if (cached?.from === null) return cached.native
    const { x, y, w } = this.rowsOf(data)
    const from = cached?.from
    if (cached && from && from.x === data.x && from.y === data.y && from.w === data.w && from.rows === data.rows) {
      this.native.refreshTrainingData(cached.native, x, y, w)
      return cached.native
    }
    const native = this.native.createTrainingData(x, y, data.rows, w)
    this.datasets.set(data, { native, from: { x: data.x, y: data.y, w: data.w, rows: data.rows } })
    return native
  }
}
