import type { Network } from '../engine/engine.js'
import { ModelStateError, QueueFullError, ShapeError } from '../errors.js'
import { Sequential } from '../model/sequential.js'
import { checkInteger, checkNumber, checkOptions, describe, optional } from '../validate.js'

export interface PredictorOptions {
  /**
   * The most rows one engine call computes (default 64). Concurrent `predict` calls are grouped
   * up to this many; 1 turns batching off (one engine call per row).
   */
  maxBatch?: number
  /**
   * How long, in milliseconds, the first row of a batch waits for others to join it before the
   * batch runs (default 0). A full batch runs at once. With 0, a batch still gathers every row
   * that arrives in the same turn of the event loop (e.g. all requests read from the sockets
   * together) and while an earlier batch computes, so batches grow with the load by themselves
   * and a lone request waits for nothing; a positive delay trades latency for larger batches.
   */
  maxDelayMs?: number
  /**
   * The most rows that may wait for their turn (default 1024; rows being computed are not
   * counted). `predict` beyond it rejects at once with a QueueFullError, so a burst larger than
   * the predictor can absorb is shed, never held in memory without bound.
   */
  maxQueue?: number
}

/** What a predictor has done so far (a snapshot). */
export interface PredictorStats {
  /** Engine calls made: each computes one batch of rows. */
  batches: number
  /** Rows computed. */
  rows: number
  /** The most rows one engine call computed. */
  largestBatch: number
  /** `predict` calls refused because the queue was full. */
  rejected: number
  /** Rows waiting now (not yet in an engine call). */
  queued: number
}

/** Micro-batching in front of a model; see `createPredictor`. */
export interface Predictor {
  /** The model's input size: the length a row must have. */
  readonly inputSize: number
  /** The model's output size: the length of each answer. */
  readonly outputSize: number
  /** The model's outputs for one row (its own Float32Array), computed in a batch with others. */
  predict(row: Float32Array | readonly number[]): Promise<Float32Array>
  /** A snapshot of what the predictor has done. */
  readonly stats: PredictorStats
  /**
   * Stops taking rows (later `predict` calls reject), runs what is queued without waiting for
   * more, and resolves once every accepted row has its answer — or, with `timeoutMs`, after at
   * most that long: rows still queued then are rejected. Frees the predictor's copy of the model.
   */
  close(options?: { timeoutMs?: number }): Promise<void>
}

/** Rows gathered for one engine call. */
interface Batch {
  x: Float32Array
  count: number
  /** When its first row arrived (performance.now()). */
  firstAt: number
  waiters: { resolve: (out: Float32Array) => void; reject: (error: unknown) => void }[]
}

/**
 * Groups concurrent one-row predictions into batches, framework-free: rows that arrive within
 * `maxDelayMs` of each other (or while the previous batch computes) share one engine call, and
 * each caller gets its own row of the result. On the native engine the batch runs off the main
 * thread (the libuv pool), so the event loop keeps accepting requests meanwhile.
 *
 * The predictor works on its own copy of the model, taken now: the model can be trained, used
 * or disposed meanwhile without making the predictor's calls fail as busy, and what it answers
 * does not change until a new predictor is made (a server swaps predictors to reload a model).
 */
export function createPredictor(model: Sequential, options: PredictorOptions = {}): Predictor {
  if (!(model instanceof Sequential)) throw new TypeError(`createPredictor needs a Sequential model, got ${describe(model)}`)
  const o = checkOptions('createPredictor options', options, ['maxBatch', 'maxDelayMs', 'maxQueue'])
  const maxBatch = optional(o.maxBatch, 64, (v) => checkInteger('createPredictor maxBatch', v, { min: 1, max: 65536 }))
  const maxDelayMs = optional(o.maxDelayMs, 0, (v) => checkNumber('createPredictor maxDelayMs', v, { min: 0, max: 60_000 }))
  const maxQueue = optional(o.maxQueue, 1024, (v) => checkInteger('createPredictor maxQueue', v, { min: 1 }))
  const copy = Sequential.fromBytes(model.toBytes(), { backend: model.engine })
  return new MicroBatcher(copy.network, maxBatch, maxDelayMs, maxQueue)
}

/** Batches of at most this many rows run on the calling thread; larger ones on the libuv pool. */
const INLINE_ROWS = 16

class MicroBatcher implements Predictor {
  readonly inputSize: number
  readonly outputSize: number
  private readonly batches: Batch[] = []
  private queued = 0
  private running = false
  private timer: NodeJS.Timeout | null = null
  /** A run of the head batch is scheduled for the end of this event-loop turn. */
  private immediate: NodeJS.Immediate | null = null
  private closed = false
  private readonly drained: (() => void)[] = []
  /** Input buffers of finished batches, reused: a fresh maxBatch-row buffer per request would keep the GC busy. */
  private readonly spare: Float32Array[] = []
  private readonly counts = { batches: 0, rows: 0, largestBatch: 0, rejected: 0 }

  constructor(
    private readonly network: Network,
    private readonly maxBatch: number,
    private readonly maxDelayMs: number,
    private readonly maxQueue: number,
  ) {
    this.inputSize = network.plan.inputSize
    this.outputSize = network.plan.outputSize
  }

  get stats(): PredictorStats {
    return { ...this.counts, queued: this.queued }
  }

  predict(row: Float32Array | readonly number[]): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new ModelStateError('the predictor is closed; create a new one'))
    try {
      this.checkRow(row)
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.queued >= this.maxQueue) {
      this.counts.rejected++
      return Promise.reject(new QueueFullError(`the predictor's queue is full (${this.maxQueue} rows waiting, its maxQueue); retry later`))
    }
    let batch = this.batches.at(-1)
    if (batch === undefined || batch.count === this.maxBatch) {
      batch = { x: this.spare.pop() ?? new Float32Array(this.maxBatch * this.inputSize), count: 0, firstAt: performance.now(), waiters: [] }
      this.batches.push(batch)
    }
    batch.x.set(row, batch.count * this.inputSize)
    batch.count++
    this.queued++
    const answer = new Promise<Float32Array>((resolve, reject) => batch.waiters.push({ resolve, reject }))
    this.pump()
    return answer
  }

  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    const o = checkOptions('close options', options, ['timeoutMs'])
    const timeoutMs = optional(o.timeoutMs, undefined, (v) => checkNumber('close timeoutMs', v, { min: 0 }))
    this.closed = true
    this.pump()
    if (this.running || this.batches.length > 0) {
      const idle = new Promise<void>((resolve) => this.drained.push(resolve))
      if (timeoutMs === undefined) {
        await idle
      } else {
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
        await Promise.race([idle, late])
        clearTimeout(timer)
        this.abandonQueued()
      }
    }
    // Frees native memory now, or when a batch still computing ends.
    this.network.dispose()
  }

  /** O(row): the length and that every value is a finite number. */
  private checkRow(row: unknown): void {
    if (!(row instanceof Float32Array) && !Array.isArray(row)) {
      throw new TypeError(`predict row must be a Float32Array or an array of ${this.inputSize} numbers, got ${describe(row)}`)
    }
    const values = row as ArrayLike<unknown>
    if (values.length !== this.inputSize) {
      throw new ShapeError(`predict row has ${values.length} values; the model's input size is ${this.inputSize}`)
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new (typeof v === 'number' ? RangeError : TypeError)(`predict row[${i}] is ${describe(v)}; it must be a finite number`)
      }
    }
  }

  /** Runs the first batch if it is due, else arms the timer for when it will be. */
  private pump(): void {
    if (this.running) return
    const head = this.batches[0]
    if (head === undefined) {
      if (this.closed) this.drained.splice(0).forEach((resolve) => resolve())
      return
    }
    const wait = head.count >= this.maxBatch || this.closed ? 0 : head.firstAt + this.maxDelayMs - performance.now()
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = null
        this.pump()
      }, wait)
      return
    }
    if (this.timer !== null) {
      clearTimeout(this.timer)
      this.timer = null
    }
    // Not now but after this turn's I/O callbacks: the rows of requests read together join it.
    this.immediate ??= setImmediate(() => {
      this.immediate = null
      if (this.running) return
      const batch = this.batches.shift()
      if (batch === undefined) return this.pump()
      this.queued -= batch.count
      void this.run(batch)
    })
  }

  private async run(batch: Batch): Promise<void> {
    this.running = true
    const { count, waiters } = batch
    this.counts.batches++
    this.counts.rows += count
    this.counts.largestBatch = Math.max(this.counts.largestBatch, count)
    try {
      const x = batch.x.subarray(0, count * this.inputSize)
      // A few rows cost microseconds (the skinny kernels), less than handing them to another thread.
      const out = count <= INLINE_ROWS ? this.network.predict(x, count, count) : await this.network.predictAsync(x, count, count)
      const cols = this.outputSize
      waiters.forEach((w, i) => w.resolve(out.slice(i * cols, (i + 1) * cols)))
    } catch (error) {
      waiters.forEach((w) => w.reject(error))
    } finally {
      if (this.spare.length < 2) this.spare.push(batch.x)
      this.running = false
      this.pump()
    }
  }

  /** After close's timeout: the rows that never ran get an error instead of waiting forever. */
  private abandonQueued(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    if (this.immediate !== null) clearImmediate(this.immediate)
    this.timer = null
    this.immediate = null
    const error = new ModelStateError('the predictor was closed before this row was computed (close timed out)')
    for (const batch of this.batches.splice(0)) batch.waiters.forEach((w) => w.reject(error))
    this.queued = 0
  }
}
