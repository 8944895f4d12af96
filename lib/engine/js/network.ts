import { yieldToEventLoop } from '../../yield-to-event-loop.js'
import { checkFinite } from '../../inputs.js'
import {
  accuracyKind,
  fusedOutput,
  targetColumns,
  variableRanges,
  type AccuracyKind,
  type LayerPlan,
  type Plan,
} from '../../plan.js'
import { Rng } from '../../rng.js'
import type {
  BatchResult,
  TrainingData,
  EpochOptions,
  EpochResult,
  Evaluation,
  Network,
  NetworkState,
} from '../engine.js'
import { activationBackward, activationForward } from './activations.js'
import {
  batchNormBackward,
  batchNormInferenceForward,
  batchNormTrainForward,
  batchNormUpdateStats,
  createBatchNormCache,
  type BatchNormCache,
} from './batch-normalization.js'
import { denseBackward, denseForward } from './dense.js'
import { dropoutBackward, dropoutForward } from './dropout.js'
import { Gemm, type FloatArray, type FloatArrayConstructor } from './gemm.js'
import { gatherRows } from './gather-rows.js'
import { fusedLoss, outputLoss } from './losses.js'
import { addMetricSums } from './metrics.js'
import { clipGradients, optimizerStep } from './optimizers.js'

/** Buffers for batches of up to `capacity` rows, allocated once and reused for every batch. */
interface Workspace {
  capacity: number
  x: FloatArray
  y: FloatArray
  /** The loaded batch's sample weights (valid when `weighted`). */
  w: FloatArray
  /** Each layer's output (rows × units). */
  outputs: FloatArray[]
  /** Each layer's input during the last forward pass (the previous output, or x). */
  inputs: FloatArray[]
  /** Gradient with respect to each layer's output. */
  deltas: FloatArray[]
  /** Pre-activation outputs of the last layer when its activation is fused with the loss. */
  logits: FloatArray | null
  masks: (FloatArray | null)[]
  batchNorm: (BatchNormCache | null)[]
}

/** How one forward/backward pass treats training-only behaviour. */
export interface PassMode {
  /** Batch statistics in BatchNormalization and active Dropout. */
  training: boolean
  /** The stream dropout masks are drawn from. */
  rng: Rng
}

/** Milliseconds of work between yields to the event loop in the async epoch. */
const YIELD_INTERVAL_MS = 8

/**
 * The Plan executor in TypeScript. It runs in float32 for training and, for gradient checks
 * in tests, in float64 (pass Float64Array as `ctor`): the algorithms are the same code.
 */
export class JsNetwork implements Network {
  readonly engine = 'js'
  readonly plan: Plan
  readonly params: FloatArray
  readonly stats: FloatArray
  readonly slots: FloatArray
  readonly grads: FloatArray
  step: number
  readonly rng: Rng
  private readonly ctor: FloatArrayConstructor
  private readonly gemm = new Gemm()
  private readonly fused: ReturnType<typeof fusedOutput>
  private readonly accuracy: AccuracyKind
  private readonly targetCols: number
  private readonly metricSums: Float64Array
  /** The parameter ranges of regularised kernels, with their strengths. */
  /** The parameters' variables (per-variable clipping's unit). */
  private readonly variables: [number, number][]
  private readonly regularized: { start: number; end: number; l1: number; l2: number }[]
  private workspace: Workspace | null = null
  /** Whether the loaded batch carries sample weights. */
  private weighted = false
  /** params, slots and stats as they were before the last update (see trainLoaded). */
  private backup: FloatArray | null = null
  private permutation = new Uint32Array(0)
  /**
   * When trainEpochAsync last yielded to the event loop. Kept across calls: an epoch shorter
   * than the interval must not restart the clock, or a fit of many short epochs never yields.
   */
  private lastYield = 0

  constructor(plan: Plan, state: NetworkState, ctor: FloatArrayConstructor = Float32Array) {
    this.plan = plan
    this.variables = variableRanges(plan)
    this.ctor = ctor
    this.params = ctor.from(state.params)
    this.stats = ctor.from(state.stats)
    this.slots = ctor.from(state.slots)
    this.grads = new ctor(plan.paramCount)
    this.step = state.step
    this.rng = new Rng(Uint32Array.from(state.rng))
    this.fused = fusedOutput(plan)
    this.accuracy = accuracyKind(plan)
    this.targetCols = targetColumns(plan)
    this.metricSums = new Float64Array(plan.metrics.length)
    this.regularized = plan.layers.flatMap((layer) =>
      layer.kind === 'dense' && layer.kernelRegularizer !== null
        ? [{ start: layer.kernelOffset, end: layer.kernelOffset + layer.inputs * layer.units, ...layer.kernelRegularizer }]
        : [],
    )
  }

  readState(): NetworkState {
    return {
      params: Float32Array.from(this.params),
      stats: Float32Array.from(this.stats),
      slots: Float32Array.from(this.slots),
      step: this.step,
      rng: Uint32Array.from(this.rng.state),
    }
  }

  writeState(state: Partial<NetworkState>): void {
    if (state.params) this.params.set(state.params)
    if (state.stats) this.stats.set(state.stats)
    if (state.slots) this.slots.set(state.slots)
    if (state.step !== undefined) this.step = state.step
    if (state.rng) this.rng.state.set(state.rng)
  }

  trainBatch(data: TrainingData, learningRate: number): BatchResult {
    this.load(data.x, data.y, 0, data.rows, data.w)
    return this.trainLoaded(data.rows, learningRate)
  }

  trainEpoch(data: TrainingData, options: EpochOptions): EpochResult {
    const result = emptyEpoch(this.plan.metrics.length)
    const steps = this.epochSteps(data, options, result)
    while (!steps.next().done);
    return finishEpoch(result)
  }

  async trainEpochAsync(data: TrainingData, options: EpochOptions): Promise<EpochResult> {
    const result = emptyEpoch(this.plan.metrics.length)
    for (const _ of this.epochSteps(data, options, result)) {
      if (performance.now() - this.lastYield > YIELD_INTERVAL_MS) {
        await yieldToEventLoop()
        this.lastYield = performance.now()
      }
    }
    return finishEpoch(result)
  }

  gatherRows(source: TrainingData, order: Uint32Array, reuse: TrainingData | null): TrainingData {
    return gatherRows(this.plan, source, order, reuse)
  }

  evaluate(data: TrainingData, batchSize: number): Evaluation {
    let lossSum = 0
    this.metricSums.fill(0)
    const mode: PassMode = { training: false, rng: this.rng }
    for (let start = 0; start < data.rows; start += batchSize) {
      const rows = Math.min(batchSize, data.rows - start)
      this.load(data.x, data.y, start, rows, data.w)
      lossSum += this.forwardLoss(rows, mode, 0)
    }
    const n = Math.max(data.rows, 1)
    return {
      loss: lossSum / n + this.regularizationLoss(),
      metrics: Array.from(this.metricSums, (s) => s / n),
    }
  }

  predict(x: Float32Array, rows: number, batchSize: number): Float32Array {
    checkFinite('x', x.subarray(0, rows * this.plan.inputSize), this.plan.inputSize)
    const cols = this.plan.outputSize
    const out = new Float32Array(rows * cols)
    const mode: PassMode = { training: false, rng: this.rng }
    for (let start = 0; start < rows; start += batchSize) {
      const n = Math.min(batchSize, rows - start)
      this.load(x, null, start, n)
      const result = this.forward(n, mode, false)
      for (let i = 0; i < n * cols; i++) out[start * cols + i] = result[i]!
    }
    return out
  }

  async predictAsync(x: Float32Array, rows: number, batchSize: number): Promise<Float32Array> {
    return this.predict(x, rows, batchSize)
  }

  predictInto(x: Float32Array, rows: number, out: Float32Array): void {
    this.load(x, null, 0, rows)
    out.set(this.forward(rows, { training: false, rng: this.rng }, false).subarray(0, rows * this.plan.outputSize))
  }

  computeGradients(data: TrainingData): { loss: number; gradients: Float32Array } {
    this.load(data.x, data.y, 0, data.rows, data.w)
    const loss = this.lossAndGradients(data.rows, { training: true, rng: new Rng(Uint32Array.from(this.rng.state)) })
    return { loss, gradients: Float32Array.from(this.grads.subarray(0, this.plan.paramCount)) }
  }

  dispose(): void {
    this.workspace = null
  }

  /**
   * Forward and backward on the batch already loaded (see `load`). Public for gradient checks:
   * returns the mean loss with regularisation and leaves its gradient in `grads`. Only the
   * stream in `mode` advances; parameters and running statistics are left alone.
   */
  lossAndGradients(rows: number, mode: PassMode): number {
    this.metricSums.fill(0)
    const lossSum = this.forwardLoss(rows, mode, 1 / rows)
    this.backward(rows)
    this.addRegularizationGradients()
    return lossSum / rows + this.regularizationLoss()
  }

  /** Copies rows [start, start + count) of x, y and the sample weights into the workspace. */
  load(
    x: Float32Array | FloatArray,
    y: Float32Array | FloatArray | null,
    start: number,
    count: number,
    w?: Float32Array | FloatArray,
  ): void {
    const ws = this.ensureWorkspace(count)
    const inCols = this.plan.inputSize
    ws.x.set(x.subarray(start * inCols, (start + count) * inCols))
    if (y !== null) ws.y.set(y.subarray(start * this.targetCols, (start + count) * this.targetCols))
    this.weighted = w !== undefined
    if (w !== undefined) ws.w.set(w.subarray(start, start + count))
  }

  private *epochSteps(data: TrainingData, options: EpochOptions, result: EpochResult): Generator<void> {
    const { batchSize, learningRate } = options
    const order = this.shuffledOrder(data.rows, options.shuffle)
    for (let batch = 0, start = 0; start < data.rows; batch++, start += batchSize) {
      const rows = Math.min(batchSize, data.rows - start)
      this.gather(data, order, start, rows)
      const rates = options.learningRates
      const stats = this.trainLoaded(rows, rates && rates.length > 0 ? rates[Math.min(batch, rates.length - 1)]! : learningRate)
      if (stats.diverged !== null) {
        result.diverged = { batch, reason: stats.diverged }
        return
      }
      result.batches++
      result.samples += rows
      result.loss += stats.loss * rows
      for (let m = 0; m < stats.metrics.length; m++) result.metrics[m]! += stats.metrics[m]! * rows
      if (options.onBatchEnd?.(batch, stats) === true || options.signal?.aborted) {
        result.stopped = start + rows < data.rows
        return
      }
      yield
    }
  }

  /** The identity order, Fisher–Yates shuffled from the training stream when asked. */
  private shuffledOrder(rows: number, shuffle: boolean): Uint32Array {
    if (this.permutation.length < rows) this.permutation = new Uint32Array(rows)
    const order = this.permutation
    for (let i = 0; i < rows; i++) order[i] = i
    if (shuffle) {
      for (let i = rows - 1; i > 0; i--) {
        const j = this.rng.nextBelow(i + 1)
        const t = order[i]!
        order[i] = order[j]!
        order[j] = t
      }
    }
    return order
  }

  private gather(data: TrainingData, order: Uint32Array, start: number, rows: number): void {
    const ws = this.ensureWorkspace(rows)
    const inCols = this.plan.inputSize
    const tCols = this.targetCols
    for (let r = 0; r < rows; r++) {
      const src = order[start + r]!
      ws.x.set(data.x.subarray(src * inCols, (src + 1) * inCols), r * inCols)
      ws.y.set(data.y.subarray(src * tCols, (src + 1) * tCols), r * tCols)
    }
    this.weighted = data.w !== undefined
    if (data.w !== undefined) for (let r = 0; r < rows; r++) ws.w[r] = data.w[order[start + r]!]!
  }

  /** Forward, backward and update on the loaded batch; skips the update if anything diverged. */
  private trainLoaded(rows: number, learningRate: number): BatchResult {
    const loss = this.lossAndGradients(rows, { training: true, rng: this.rng })
    const metrics = Array.from(this.metricSums, (s) => s / rows)
    if (!Number.isFinite(loss)) return { loss, metrics, diverged: `the loss is ${loss}` }
    const optimizer = this.plan.optimizer!
    const sumSquares = clipGradients(optimizer.clip, this.grads, this.plan.paramCount, this.variables)
    if (!Number.isFinite(sumSquares)) {
      return { loss, metrics, diverged: 'the gradient has NaN or infinite components' }
    }
    // A finite gradient can still overflow float32 in the update (a huge learning rate): keep a
    // copy of the state so that such an update is undone and the model keeps finite weights.
    const { params, slots, stats } = this
    const backup = (this.backup ??= new this.ctor(params.length + slots.length + stats.length))
    backup.set(params, 0)
    backup.set(slots, params.length)
    backup.set(stats, params.length + slots.length)
    this.step++
    optimizerStep(optimizer, this.params, this.grads, this.slots, this.plan.paramCount, this.step, learningRate)
    this.commitBatchStatistics()
    if (!allFinite(params) || !allFinite(slots) || !allFinite(stats)) {
      params.set(backup.subarray(0, params.length))
      slots.set(backup.subarray(params.length, params.length + slots.length))
      stats.set(backup.subarray(params.length + slots.length))
      this.step--
      return { loss, metrics, diverged: 'the update made weights or optimizer state overflow to non-finite values' }
    }
    return { loss, metrics, diverged: null }
  }

  private commitBatchStatistics(): void {
    const ws = this.workspace!
    this.plan.layers.forEach((layer, l) => {
      if (layer.kind === 'batchNormalization') batchNormUpdateStats(layer, this.stats, ws.batchNorm[l]!)
    })
  }

  /**
   * Forward pass plus the loss of the loaded batch: returns the sum of per-sample losses (no
   * regularisation), adds the metric sums, and leaves in the last layer's delta the gradient of
   * `gradScale` × that sum (with respect to the logits when the output is fused).
   */
  private forwardLoss(rows: number, mode: PassMode, gradScale: number): number {
    const ws = this.workspace!
    const last = this.plan.layers.length - 1
    const cols = this.plan.outputSize
    const out = this.forward(rows, mode, this.fused !== null)
    const delta = ws.deltas[last]!
    const weights = this.weighted ? ws.w : null
    const loss =
      this.fused !== null
        ? fusedLoss(this.fused, this.plan.loss === 'sparseCategoricalCrossEntropy', ws.logits!, out, ws.y, rows, cols, delta, gradScale, weights)
        : outputLoss(this.plan.loss!, out, ws.y, rows, cols, delta, gradScale, weights)
    addMetricSums(this.plan.metrics, this.accuracy, out, ws.y, rows, cols, this.metricSums)
    return loss
  }

  /**
   * Runs every layer on the loaded batch and returns the network's output buffer. With
   * `keepLogits`, the last Dense layer leaves its pre-activation values in `logits` and skips
   * its activation: the fused loss computes it.
   */
  forward(rows: number, mode: PassMode, keepLogits: boolean): FloatArray {
    const ws = this.workspace!
    const layers = this.plan.layers
    let input = ws.x
    for (let l = 0; l < layers.length; l++) {
      const layer = layers[l]!
      ws.inputs[l] = input
      const out = ws.outputs[l]!
      switch (layer.kind) {
        case 'dense': {
          const fuse = keepLogits && l === layers.length - 1
          denseForward(this.gemm, layer, input, fuse ? ws.logits! : out, rows, this.params)
          if (!fuse) activationForward(layer.activation, out, rows, layer.units)
          input = out
          break
        }
        case 'dropout':
          if (mode.training && layer.rate > 0) {
            dropoutForward(layer.rate, input, out, ws.masks[l]!, rows * layer.units, mode.rng)
            input = out
          }
          break
        case 'batchNormalization':
          if (mode.training) batchNormTrainForward(layer, input, out, rows, this.params, ws.batchNorm[l]!)
          else batchNormInferenceForward(layer, input, out, rows, this.params, this.stats)
          input = out
          break
        case 'activation':
          if (keepLogits && l === layers.length - 1) {
            ws.logits!.set(input.subarray(0, rows * layer.units))
          } else {
            out.set(input.subarray(0, rows * layer.units))
            activationForward(layer.activation, out, rows, layer.units)
          }
          input = out
          break
      }
    }
    return input
  }

  /** Backpropagates the last layer's delta through every layer, filling `grads`. */
  private backward(rows: number): void {
    const ws = this.workspace!
    const layers = this.plan.layers
    const last = layers.length - 1
    for (let l = last; l >= 0; l--) {
      const layer = layers[l]!
      const delta = ws.deltas[l]!
      const dx = l > 0 ? ws.deltas[l - 1]! : null
      const input = ws.inputs[l]!
      switch (layer.kind) {
        case 'dense': {
          if (!(l === last && this.fused !== null)) {
            activationBackward(layer.activation, ws.outputs[l]!, delta, rows, layer.units)
          }
          denseBackward(this.gemm, layer, input, delta, dx, rows, this.params, this.grads)
          break
        }
        case 'dropout':
          if (dx === null) break
          if (layer.rate > 0) dropoutBackward(delta, dx, ws.masks[l]!, rows * layer.units)
          else dx.set(delta.subarray(0, rows * layer.units))
          break
        case 'batchNormalization':
          batchNormBackward(layer, delta, dx, rows, this.params, this.grads, ws.batchNorm[l]!)
          break
        case 'activation':
          if (dx === null) break
          dx.set(delta.subarray(0, rows * layer.units))
          if (!(l === last && this.fused !== null)) {
            activationBackward(layer.activation, ws.outputs[l]!, dx, rows, layer.units)
          }
          break
      }
    }
  }

  /** λ₁·Σ|w| + λ₂·Σw² over every regularised kernel. */
  regularizationLoss(): number {
    let total = 0
    for (const { start, end, l1, l2 } of this.regularized) {
      for (let i = start; i < end; i++) {
        const w = this.params[i]!
        total += l1 * Math.abs(w) + l2 * w * w
      }
    }
    return total
  }

  /** Adds λ₁·sign(w) + 2λ₂·w to each regularised kernel's gradient. */
  private addRegularizationGradients(): void {
    for (const { start, end, l1, l2 } of this.regularized) {
      for (let i = start; i < end; i++) {
        const w = this.params[i]!
        this.grads[i] = this.grads[i]! + l1 * Math.sign(w) + 2 * l2 * w
      }
    }
  }

  private ensureWorkspace(rows: number): Workspace {
    if (this.workspace !== null && this.workspace.capacity >= rows) return this.workspace
    const cap = Math.max(rows, 1)
    const ctor = this.ctor
    const layers: LayerPlan[] = this.plan.layers
    this.workspace = {
      capacity: cap,
      x: new ctor(cap * this.plan.inputSize),
      y: new ctor(cap * this.targetCols),
      w: new ctor(cap),
      outputs: layers.map((layer) => new ctor(cap * layer.units)),
      inputs: layers.map(() => new ctor(0)),
      deltas: layers.map((layer) => new ctor(cap * layer.units)),
      logits: this.fused !== null ? new ctor(cap * this.plan.outputSize) : null,
      masks: layers.map((layer) => (layer.kind === 'dropout' ? new ctor(cap * layer.units) : null)),
      batchNorm: layers.map((layer) =>
        layer.kind === 'batchNormalization' ? createBatchNormCache(layer.units, cap, ctor) : null,
      ),
    }
    return this.workspace
  }
}

function allFinite(values: FloatArray): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false
  return true
}

function emptyEpoch(metricCount: number): EpochResult {
  return { loss: 0, metrics: new Array<number>(metricCount).fill(0), batches: 0, samples: 0, stopped: false, diverged: null }
}

/** Turns the running sums into sample-weighted means. */
function finishEpoch(result: EpochResult): EpochResult {
  const n = result.samples
  if (n > 0) {
    result.loss /= n
    result.metrics = result.metrics.map((m) => m / n)
  } else {
    result.loss = NaN
    result.metrics = result.metrics.map(() => NaN)
  }
  return result
}

