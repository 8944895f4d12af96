import type { Plan } from '../plan.js'

/**
 * The contract between the API layer and an engine. The API builds a Plan and the flat
 * buffers, validates every input, and calls an engine to do the arithmetic. The JS engine and
 * the native engine implement the same interface and compute the same thing.
 */

/** Everything that changes while a network trains; saved with a model. */
export interface NetworkState {
  /** Trainable parameters, laid out by the Plan's offsets. */
  params: Float32Array
  /** Non-trainable statistics (BatchNormalization running mean and variance). */
  stats: Float32Array
  /** Optimizer state: `optimizerSlotCount(plan.optimizer)` buffers of `paramCount` each. */
  slots: Float32Array
  /** Optimizer updates applied so far. */
  step: number
  /** The training PRNG stream (shuffling, dropout), four 32-bit words. */
  rng: Uint32Array
}

/** Training or evaluation data: `rows` samples, row-major. */
export interface TrainingData {
  /** rows × plan.inputSize. */
  x: Float32Array
  /** rows × targetColumns(plan): targets, or one class index per row for sparse labels. */
  y: Float32Array
  rows: number
  /**
   * Per-sample weights (one per row, ≥ 0), or absent for equal weights. A batch's loss is then
   * Σ wᵢ·lossᵢ / rows, as Keras weighs samples; metrics stay unweighted.
   */
  w?: Float32Array
}

/** One batch's results, as the engine reports them and onBatchEnd sees them. */
export interface BatchLogs {
  /** Mean loss of the batch before its update, regularisation included. */
  loss: number
  /** Mean of each compiled metric over the batch's samples, in `plan.metrics` order. */
  metrics: number[]
}

export interface BatchResult extends BatchLogs {
  /** Why the update was not applied (non-finite loss or gradient), or null when it was. */
  diverged: string | null
}

export interface EpochOptions {
  batchSize: number
  shuffle: boolean
  /** Learning rate to use for this epoch's updates. */
  learningRate: number
  /**
   * A rate per batch instead (a schedule that steps per batch): batch i trains at
   * learningRates[i], and batches past its end at its last value.
   */
  learningRates?: Float64Array
  /** Called after each batch's update; returning true stops the epoch after that batch. */
  onBatchEnd?: (batch: number, stats: BatchLogs) => boolean | void
  /** Checked between batches: when aborted, the epoch stops after the current batch. */
  signal?: AbortSignal
}

export interface EpochResult {
  /** Sample-weighted mean of the batch losses, each measured before its update. */
  loss: number
  /** Sample-weighted mean of each metric over the batches. */
  metrics: number[]
  batches: number
  samples: number
  /** The epoch ended early: `onBatchEnd` asked to stop or the signal aborted. */
  stopped: boolean
  /** Set when a batch's loss or gradient was not finite; that batch's update was skipped. */
  diverged: { batch: number; reason: string } | null
}

export interface Evaluation {
  /** Mean loss over all samples, regularisation included, in inference mode. */
  loss: number
  metrics: number[]
}

export interface Network {
  readonly plan: Plan
  /** The engine that runs it. */
  readonly engine: 'js' | 'native'
  /**
   * The native engine: trains as one process of an MPI data-parallel run (see
   * lib/distributed/mpi.ts), or alone again with false. Absent from the JS engine.
   */
  setDistributed?(enabled: boolean): void
  /** A copy of the current state. */
  readState(): NetworkState
  /** Replaces parts of the state (copied in). */
  writeState(state: Partial<NetworkState>): void
  /** One forward/backward/update on the given rows, in the given order. */
  trainBatch(data: TrainingData, learningRate: number): BatchResult
  /** One pass over the data in batches; shuffles first (from the training stream) if asked. */
  trainEpoch(data: TrainingData, options: EpochOptions): EpochResult
  /** The same, yielding to the event loop while it runs. */
  trainEpochAsync(data: TrainingData, options: EpochOptions): Promise<EpochResult>
  /**
   * Training data holding rows `order[0..]` of `source`, in that order: the chunks of an epoch
   * too large to copy whole (lib/training/gathered-chunks.ts). `reuse`, data this method
   * returned earlier that no call is using any more, is filled again instead of allocated. The
   * native engine gathers into its own memory (the result's arrays are then empty, and only this
   * network can train on it), and may do so while it trains other data.
   */
  gatherRows(source: TrainingData, order: Uint32Array, reuse: TrainingData | null): TrainingData
  /** Loss and metrics in inference mode (running statistics, no dropout). */
  evaluate(data: TrainingData, batchSize: number): Evaluation
  /**
   * Outputs (rows × plan.outputSize) in inference mode. Throws a RangeError naming the first
   * value of x that is not finite (`x[row][column] is NaN; …`), checked as the rows are read.
   */
  predict(x: Float32Array, rows: number, batchSize: number): Float32Array
  /**
   * The same written into `out` (rows × plan.outputSize, not overlapping `x`), as one batch,
   * allocating nothing: the path of one-row, latency-bound calls such as a server's.
   */
  predictInto(x: Float32Array, rows: number, out: Float32Array): void
  /**
   * `predict` off the calling thread where the engine can (the native engine, on the libuv
   * pool, over a copy of x; while it runs, other calls on this network throw 'busy'); the JS
   * engine computes synchronously and returns a settled promise.
   */
  predictAsync(x: Float32Array, rows: number, batchSize: number): Promise<Float32Array>
  /**
   * Gradient of the mean loss (regularisation included) over all rows as one batch, in
   * training mode, without changing any state: dropout draws come from a copy of the stream
   * and running statistics are left alone.
   */
  computeGradients(data: TrainingData): { loss: number; gradients: Float32Array }
  /** Releases native resources; the JS engine needs nothing. */
  dispose(): void
}

export interface NetworkOptions {
  /**
   * The most threads the network's work may use; undefined for the engine's default (the native
   * pool: all cores, capped by BACKPROP_THREADS). The JS engine always uses one.
   */
  threads?: number
}

export interface Engine {
  readonly name: 'js' | 'native'
  createNetwork(plan: Plan, state: NetworkState, options?: NetworkOptions): Network
}
