/**
 * The raw binding of the native core (crates/node), as loaded by the generated `index.js`.
 * Hand-written: `napi build` does not generate types without napi-derive. lib/engine/native/
 * wraps it in the Engine/Network interface; use that unless you want the kernels themselves.
 *
 * Every function checks what it is given (exact typed-array types, lengths, detached buffers,
 * integer sizes, finite numbers) and throws TypeError/RangeError naming the argument; a Rust
 * panic becomes an Error. Outputs that share memory with inputs are handled (inputs are copied).
 */

export type ActivationName = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'softmax'

export interface MatmulOptions {
  /** `a` is stored k × m and used transposed. */
  transA?: boolean
  /** `b` is stored n × k and used transposed. */
  transB?: boolean
  /** Where to write the m × n result (else a new array). */
  out?: Float32Array
  /** Add the product to `out` instead of overwriting it. */
  accumulate?: boolean
}

/** `op(a)·op(b)` (m × k times k × n, row-major), on the SIMD GEMM. Returns `out` or a new array. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, options?: MatmulOptions): Float32Array

/** `activation(x·w + b)` for rows × inputs `x` and inputs × units `w`; `alpha` is leakyRelu's slope (default 0.2). */
export function denseForward(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  rows: number,
  inputs: number,
  units: number,
  activation: ActivationName,
  alpha?: number,
  out?: Float32Array,
): Float32Array

/**
 * Gradients of a dense layer whose output was `a = activation(x·w + b)`, given `grad` = dL/da:
 * dX (rows × inputs), dW (inputs × units), db (units). `a` may be null for 'linear'.
 */
export function denseBackward(
  x: Float32Array,
  w: Float32Array,
  a: Float32Array | null,
  grad: Float32Array,
  rows: number,
  inputs: number,
  units: number,
  activation: ActivationName,
  alpha?: number,
): { dX: Float32Array; dW: Float32Array; db: Float32Array }

/** Applies the activation in place to rows of `cols` values; returns `z`. */
export function activationForward(name: ActivationName, z: Float32Array, cols: number, alpha?: number): Float32Array

/** Turns dL/da into dL/dz in place, from the activation's output `a`; returns `grad`. */
export function activationBackward(name: ActivationName, a: Float32Array, grad: Float32Array, cols: number, alpha?: number): Float32Array

export interface NativeInfo {
  /** The SIMD tier in use: 'avx512', 'avx2' or 'scalar' (capped by BACKPROP_ISA). */
  isa: 'avx512' | 'avx2' | 'scalar'
  /**
   * The tier the matrix products run on: `isa`, except that on an AVX-512 CPU whose AVX2 kernel
   * measures clearly faster (a core with half-rate 512-bit FMAs) the products run on AVX2, with
   * bit-identical results.
   */
  gemmIsa: 'avx512' | 'avx2' | 'scalar'
  /** Threads the kernels may use (capped by BACKPROP_THREADS). */
  threads: number
  /** Version of the native core. */
  version: string
  /** Why BACKPROP_ISA was ignored, when it was. */
  isaProblem?: string
  /** Why BACKPROP_THREADS was ignored, when it was. */
  threadsProblem?: string
}

export function info(): NativeInfo

/**
 * Decodes a Plan code (lib/plan-schema.ts) as the native engine does and returns the code Rust
 * writes back for it: equal to `planCode` when both sides of the schema agree. Throws a
 * RangeError naming what is wrong with an invalid code (version, unknown code, sizes, offsets).
 */
export function planRoundTrip(planCode: Float64Array): Float64Array

/** An opaque, checked copy of training data, bound to the network that created it. */
export interface NativeTrainingData {
  readonly rows: number
}

export interface NativeState {
  params: Float32Array
  stats: Float32Array
  slots: Float32Array
  step: number
  rng: Uint32Array
}

export interface NativeBatchResult {
  loss: number
  metrics: number[]
  diverged: string | null
}

export interface NativeEpochResult {
  loss: number
  metrics: number[]
  batches: number
  samples: number
  stopped: boolean
  diverged: { batch: number; reason: string } | null
}

export interface NativeEvaluation {
  loss: number
  metrics: number[]
}

/**
 * A network of the Rust executor. While `trainEpochAsync` or `predictAsync` runs, every other
 * method but `cancel` throws an Error with code 'ERR_BACKPROP_BUSY' (except from a lockstep
 * callback, which runs while the epoch is paused).
 */
export class Network {
  /** From a Plan encoded by lib/engine/native/plan-code.ts and the state buffers (copied). */
  constructor(planCode: Float64Array, params: Float32Array, stats: Float32Array, slots: Float32Array, step: number, rng: Uint32Array)
  /** Copies of the state. */
  readState(): NativeState
  /** Replaces the given parts of the state; every part is checked before any is written. */
  writeState(state: Partial<NativeState>): void
  /** A private copy of rows × inputs `x` and rows × target-columns `y`, checked against the plan. */
  createTrainingData(x: Float32Array, y: Float32Array, rows: number, sampleWeight?: Float32Array | null): NativeTrainingData
  /** Updates the copy from arrays of the same size (compared first); returns whether it changed. */
  refreshTrainingData(data: NativeTrainingData, x: Float32Array, y: Float32Array, sampleWeight?: Float32Array | null): boolean
  /**
   * Replaces the rows of `data` with rows `order[0..]` of the whole datasets x, y and
   * sampleWeight, checked; may run while the network trains other data.
   */
  gatherTrainingData(data: NativeTrainingData, x: Float32Array, y: Float32Array, sampleWeight: Float32Array | null, order: Uint32Array): void
  /** One forward/backward/update on these rows, in order. */
  trainBatch(x: Float32Array, y: Float32Array, rows: number, learningRate: number, sampleWeight?: Float32Array | null): NativeBatchResult
  /** One epoch on this thread; `onBatch` runs after each batch (it may use the network) and returning true stops. */
  trainEpoch(
    data: NativeTrainingData,
    batchSize: number,
    shuffle: boolean,
    /** One rate, or one per batch (batches past its end keep its last value). */
    learningRate: number | Float64Array,
    onBatch?: (batch: number, loss: number, metrics: number[]) => boolean | void,
  ): NativeEpochResult
  /**
   * One epoch on the libuv thread pool. `onBatch` runs on the main thread after each batch,
   * always before the promise settles: as a notification while training goes on, or with
   * `lockstep` between batches while the pool thread waits (the network is then usable from the
   * callback, as in trainEpoch). Its result is ignored (call cancel() to stop); a throw from it
   * stops the epoch and rejects the promise with what was thrown.
   */
  trainEpochAsync(
    data: NativeTrainingData,
    batchSize: number,
    shuffle: boolean,
    learningRate: number | Float64Array,
    onBatch?: (batch: number, loss: number, metrics: number[]) => void,
    lockstep?: boolean,
  ): Promise<NativeEpochResult>
  /** Stops a running epoch after its current batch. */
  cancel(): void
  /** Caps this network's work at `threads` pool threads (1: the calling thread only); the pool's size still caps it. */
  setThreads(threads: number): void
  /**
   * Trains as one process of an MPI data-parallel run (its part of every batch; gradients,
   * losses and metrics summed over the processes), or alone (false). Throws without MPI.
   */
  setDistributed(enabled: boolean): void
  /** Loss and metrics in inference mode. */
  evaluate(data: NativeTrainingData, batchSize: number): NativeEvaluation
  /** Outputs (rows × outputSize) in inference mode. */
  predict(x: Float32Array, rows: number, batchSize: number): Float32Array
  /** The same on the thread pool, over a copy of `x`. */
  predictAsync(x: Float32Array, rows: number, batchSize: number): Promise<Float32Array>
  /** Outputs (rows × outputSize) written into `out`, as one batch, allocating nothing. */
  predictInto(x: Float32Array, rows: number, out: Float32Array): void
  /** Gradient of the mean loss over all rows as one batch in training mode; changes nothing. */
  computeGradients(x: Float32Array, y: Float32Array, rows: number, sampleWeight?: Float32Array | null): { loss: number; gradients: Float32Array }
  /** Frees the executor (after running work, which it cancels); later calls throw. */
  dispose(): void
}

/** Which artifact the generated loader loaded ('native' here). */
export const __napiBindingTarget: string

/**
 * Tells the addon the process is exiting (the loader calls it from the main thread's 'exit'
 * event): running epochs stop after their batch, and no native thread waits for JavaScript.
 */
export function shutdown(): void

/**
 * Initialises MPI (once: Open MPI's libmpi.so.40 or BACKPROP_MPI_LIB, loaded now) and tells this
 * process's place in the run; throws why MPI cannot be used.
 */
export function mpi(): { rank: number; size: number; library: string }
/** Sums the values across the processes of the run, in place (MPI_Allreduce). */
export function mpiSum(values: Float32Array | Float64Array): void
/** Every process gets the values of process `root` (MPI_Bcast). */
export function mpiBroadcast(values: Float32Array, root: number): void
/** Ends MPI in this process (at exit; mpirun expects every process to). */
export function mpiFinalize(): void
