import type { Workload } from '../definitions.js'

/**
 * One library behind the benchmark: builds a workload's network and returns a function that
 * runs one timed repetition (an epoch over the first `rows` samples, or predictions for them).
 */
export interface Adapter {
  /** The library's version. */
  version(): string
  /** Facts about how it runs here (backend, SIMD tier, threads), recorded with the results. */
  details(): Record<string, string | number | boolean | null>
  /** A network for `w`, seeded; `x` holds at least w.samples rows of w.sizes[0] features, `y` their class indices. */
  create(w: Workload, x: Float32Array, y: Float32Array): Promise<Trainer>
}

export interface Trainer {
  /**
   * A function that trains one epoch (shuffled mini-batches) over the first `rows` samples, or
   * predicts them, in the workload's batch size. `rows` is a multiple of the batch size or
   * w.samples. Preparation (copying the data into the library's tensors) happens here, untimed.
   */
  prepare(rows: number): Promise<() => Promise<unknown> | unknown>
  /** One whole fit() call of one epoch on the first `rows` samples, setup included (backprop only). */
  fitOnce?(rows: number): Promise<void>
  dispose(): void
}
