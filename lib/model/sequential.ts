import type { Network, NetworkOptions, NetworkState } from '../engine/engine.js'
import { BACKENDS, selectEngine, type Backend } from '../engine/select.js'
import { ModelStateError, NotCompiledError, ShapeError, TrainingDivergedError } from '../errors.js'
import { featureMatrix, toSampleWeights, type ClassWeight, type Features, type Targets } from '../inputs.js'
import { Layer } from '../layers/layer.js'
import type { WeightSpec } from '../layers/layer.js'
import { Matrix } from '../matrix.js'
import { floats } from '../memory.js'
import { checkOptimizer, type Optimizer, type OptimizerName } from '../optimizers/index.js'
import {
  LOSSES,
  METRICS,
  initialSlots,
  optimizerSlotCount,
  outputActivation,
  type LossName,
  type MetricName,
  type Plan,
} from '../plan.js'
import { INIT_STREAM, Rng, TRAINING_STREAM, randomSeed, seedState } from '../rng.js'
import type { WeightSnapshot } from '../training/callbacks.js'
import { checkFit, dataset, inMemoryRunner, runFit, type EpochRunner, type FitModel, type FitOptions, type LoopOptions } from '../training/fit.js'
import { History } from '../training/history.js'
import { checkInteger, checkNumber, checkOneOf, checkOptions, describe, optional } from '../validate.js'
import { modelFromBytes, modelToBytes, type CheckpointPosition } from '../io/model-bytes.js'
import { importNodeOnly } from '../node-only.js'
import type { DataSource } from '../data/sources/data-source.js'
import { checkFitDataset, checkSource, evaluateSource, predictSource, sourceRunner, type FitDatasetOptions } from '../training/fit-dataset.js'
import { summarize } from './summary.js'
import { checkPreprocessing, type Preprocessing } from '../data/preprocessing.js'
import type { OnnxExportOptions, TfjsExportOptions } from '../export/index.js'

export interface SequentialOptions {
  /** Seed for initialisation, shuffling and dropout: the same seed gives the same run. */
  seed?: number
  /** Engine: 'auto' (native when it loads, else JS; the default), 'native' or 'js'. */
  backend?: Backend
  /**
   * The most threads the native engine may use for this model (default: all cores, capped by
   * BACKPROP_THREADS). 1 keeps its work on one thread, e.g. for several models training side
   * by side in worker threads. The JS engine always uses one.
   */
  threads?: number
  /** Layers to add, in order. */
  layers?: Layer[]
}

export interface CompileOptions {
  /** The loss to minimise. */
  loss: LossName
  /** An optimizer instance or name (default 'adam'). */
  optimizer?: Optimizer | OptimizerName
  /** Metrics to report besides the loss: 'accuracy', 'meanAbsoluteError', 'meanSquaredError'. */
  metrics?: MetricName[]
}

/** Per-sample loss weights, as in fit. */
export interface WeightOptions {
  /** A loss weight per sample (≥ 0). */
  sampleWeight?: readonly number[] | Float32Array
  /** Loss weights by class: `{ [class]: weight }` or a list; missing classes weigh 1. */
  classWeight?: ClassWeight
}

export interface PredictOptions {
  /** Rows per engine call (default 256); affects memory, not results. */
  batchSize?: number
}

/** Results of evaluate: the loss and each compiled metric by name. */
export type EvaluationResult = Record<string, number> & { loss: number }

/**
 * A stack of layers trained by backpropagation: build it with `add`, `compile` it with a loss
 * and an optimizer, then `fit`, `evaluate` and `predict`. Its numbers live in one flat
 * parameter buffer that the chosen engine (native or JS) works on.
 */
export class Sequential implements FitModel {
  /** The seed in use (drawn at random when none was given, so a run can be repeated). */
  readonly seed: number
  /** The backend asked for. */
  readonly backend: Backend
  /** The most threads the native engine may use for this model (undefined: all it has). */
  readonly threads: number | undefined
  /** Set to true (e.g. from a callback) to stop fit after the current batch or epoch. */
  stopTraining = false
  /** Complete epochs trained over the model's life (saved with it). */
  epochsTrained = 0
  /** Every epoch trained over the model's life, across fit calls (saved with it). */
  readonly trainingHistory = new History()
  private readonly layerList: Layer[] = []
  private built: { plan: Plan; network: Network } | null = null
  private optimizerInstance: Optimizer | null = null
  /**
   * The learning rate in force, which schedules change between epochs. The optimizer instance
   * keeps the rate it was compiled with; this one is training state (saved with the model).
   */
  private currentLearningRate = 0
  /** True while fit runs (it yields to the event loop between batches). */
  private fitting = false
  /**
   * Where the checkpoint this model was loaded from was taken (see `Sequential.resume`), or null.
   * fitDataset continues a mid-epoch position: it skips the batches of that epoch already trained.
   */
  checkpoint: CheckpointPosition | null = null
  private preprocessingInfo: Required<Preprocessing> | null = null

  constructor(options: SequentialOptions = {}) {
    const o = checkOptions('Sequential options', options, ['seed', 'backend', 'threads', 'layers'])
    this.seed = optional(o.seed, randomSeed(), (v) => checkInteger('Sequential seed', v, { min: 0, max: 0xffffffff }))
    this.backend = optional(o.backend, 'auto' as Backend, (v) => checkOneOf('Sequential backend', v, BACKENDS))
    this.threads = optional(o.threads, undefined, (v) => checkInteger('Sequential threads', v, { min: 1 }))
    if (o.layers !== undefined) {
      if (!Array.isArray(o.layers)) throw new TypeError(`Sequential layers must be an array of layers, got ${describe(o.layers)}`)
      for (const layer of o.layers) this.add(layer)
    }
  }

  private get networkOptions(): NetworkOptions {
    return this.threads === undefined ? {} : { threads: this.threads }
  }

  /** The layers, in order. */
  get layers(): readonly Layer[] {
    return this.layerList
  }

  /** Appends a layer. Layers cannot be added once the model is built. */
  add(layer: Layer): this {
    if (!(layer instanceof Layer)) {
      throw new TypeError(`add expects a layer (new Dense({...}), new Dropout({...}), …), got ${describe(layer)}`)
    }
    if (this.built) throw new ModelStateError('cannot add layers to a model that is already built (compiled, trained or used)')
    if (this.layerList.length === 0 && layer.inputSize === undefined) {
      throw new TypeError(`the first layer needs inputSize (the number of input features), e.g. new Dense({ inputSize: 2, units: 3 })`)
    }
    // Checked here, not only in build, so the bad layer is refused and the model stays buildable.
    if (layer.inputSize !== undefined && this.layerList.length > 0) {
      const width = this.outputWidth()
      if (layer.inputSize !== width) {
        throw new ShapeError(`layer ${this.layerList.length} (${layer.className}) declares inputSize ${layer.inputSize} but receives ${width} values from the layer before`)
      }
    }
    this.layerList.push(layer)
    return this
  }

  /**
   * Fixes the architecture: checks the layer widths, lays out the flat buffers and initialises
   * the weights from the seed; `add` is refused after it. `compile`, `fit`, `predict`, `save`,
   * `summary`, the exporters and the weight accessors build the model when they need to;
   * reading `plan` or `network` does not (it throws until the model is built).
   */
  build(): this {
    if (this.built) return this
    if (this.layerList.length === 0) throw new ModelStateError('the model has no layers; add at least one with model.add(...)')
    let paramCount = 0
    let statCount = 0
    const alloc = {
      params: (n: number) => (paramCount += n) - n,
      stats: (n: number) => (statCount += n) - n,
    }
    const inputSize = this.layerList[0]!.inputSize!
    let width = inputSize
    const layers = this.layerList.map((layer, i) => {
      if (layer.inputSize !== undefined && layer.inputSize !== width) {
        throw new ShapeError(`layer ${i} (${layer.className}) declares inputSize ${layer.inputSize} but receives ${width} values from the layer before`)
      }
      const plan = layer.toPlan(width, alloc)
      width = layer.outputSize(width)
      return plan
    })
    const plan: Plan = {
      version: 1,
      inputSize,
      outputSize: width,
      layers,
      paramCount,
      statCount,
      loss: null,
      optimizer: null,
      metrics: [],
    }
    const params = floats(paramCount, `the model's ${paramCount.toLocaleString('en-US')} parameters`)
    const stats = floats(statCount, "the model's running statistics")
    const rng = Rng.seeded(this.seed, INIT_STREAM)
    this.layerList.forEach((layer, i) => layer.initialize(layers[i]!, params, stats, rng))
    const state: NetworkState = { params, stats, slots: new Float32Array(0), step: 0, rng: seedState(this.seed, TRAINING_STREAM) }
    this.built = { plan, network: selectEngine(this.backend).createNetwork(plan, state, this.networkOptions) }
    return this
  }

  /** The model's Plan: its layers, loss, optimizer and metrics as the engines read them. */
  get plan(): Plan {
    return this.requireBuilt('plan').plan
  }

  /** The engine's network. */
  get network(): Network {
    return this.requireBuilt('network').network
  }

  /** Which engine runs this model (chosen from `backend` when the model is built). */
  get engine(): 'js' | 'native' {
    return this.built?.network.engine ?? selectEngine(this.backend).name
  }

  private requireBuilt(what: string): NonNullable<Sequential['built']> {
    if (!this.built) throw new ModelStateError(`${what}: the model is not built yet; compile it, or call build() to fix its layers and initialise the weights`)
    return this.built
  }

  /** Whether compile has been called. */
  get compiled(): boolean {
    return this.built?.plan.loss != null
  }

  /**
   * How raw data becomes this model's input and its outputs become names: a fitted scaler,
   * feature names and class names. Saved with the model, so after `load` you can predict on raw
   * data: `model.predict(applyPreprocessing(model.preprocessing, raw))`. Checked against the model's
   * input and output sizes when set; null when none was set.
   */
  get preprocessing(): Required<Preprocessing> | null {
    return this.preprocessingInfo
  }

  set preprocessing(value: Preprocessing | null) {
    // The sizes come from the layers: setting this does not build the model.
    if (this.layerList.length === 0) throw new ModelStateError('preprocessing: the model has no layers; add them first')
    this.preprocessingInfo = value === null ? null : checkPreprocessing(value, this.layerList[0]!.inputSize!, this.outputWidth())
  }

  /** The width the layers added so far output (the first one has its inputSize). */
  private outputWidth(): number {
    return this.layerList.reduce((w, l) => l.outputSize(w), this.layerList[0]!.inputSize!)
  }

  /** The compiled optimizer. */
  get optimizer(): Optimizer | null {
    return this.optimizerInstance
  }

  /**
   * The learning rate for the next update: the compiled optimizer's, until a schedule (or you)
   * set another. It is part of the training state, so save and load keep it.
   */
  get learningRate(): number {
    this.requireCompiled('learningRate')
    return this.currentLearningRate
  }

  set learningRate(value: number) {
    this.requireCompiled('learningRate')
    // 0 is allowed (a warm-up may start there); a negative rate would climb the loss.
    this.currentLearningRate = checkNumber('learningRate', value, { min: 0 })
  }

  /**
   * Sets the loss, optimizer and metrics. Compiling again keeps the weights and resets the
   * optimizer's state.
   */
  compile(options: CompileOptions): this {
    this.requireIdle('compile')
    const o = checkOptions('compile options', options, ['loss', 'optimizer', 'metrics'])
    if (o.loss === undefined) throw new TypeError(`compile needs a loss: one of ${LOSSES.map((l) => `'${l}'`).join(', ')}`)
    const loss = checkOneOf('compile loss', o.loss, LOSSES)
    const optimizer = checkOptimizer('compile optimizer', o.optimizer ?? 'adam')
    const metrics = optional(o.metrics, [] as MetricName[], (v) => {
      if (!Array.isArray(v)) throw new TypeError(`compile metrics must be an array such as ['accuracy'], got ${describe(v)}`)
      return v.map((m, i) => checkOneOf(`compile metrics[${i}]`, m, METRICS))
    })
    const base = this.build().built!.plan
    checkLossFitsOutput(loss, base)
    if (loss === 'sparseCategoricalCrossEntropy' && metrics.some((m) => m !== 'accuracy')) {
      throw new TypeError(`compile metrics: only 'accuracy' applies to class-index targets (sparseCategoricalCrossEntropy), got ${metrics.join(', ')}`)
    }
    const plan: Plan = { ...base, loss, optimizer: optimizer.toPlan(), metrics: [...new Set(metrics)] }
    const old = this.built!.network.readState()
    const state: NetworkState = { ...old, slots: initialSlots(plan), step: 0 }
    const network = selectEngine(this.backend).createNetwork(plan, state, this.networkOptions)
    this.built!.network.dispose()
    this.built = { plan, network }
    this.optimizerInstance = optimizer
    this.currentLearningRate = optimizer.learningRate
    return this
  }

  /**
   * Trains the model. Resolves with the History of the completed epochs; rejects with a
   * TrainingDivergedError (the model keeping its last finite weights) if the loss or the
   * gradients stop being finite.
   */
  async fit(x: Features, y: Targets, options: FitOptions = {}): Promise<History> {
    const plan = this.requireCompiled('fit')
    const checked = checkFit(plan, x, y, options)
    this.requireIdle('fit')
    if (checked.distributed === null) return this.training(() => runFit(this, checked, inMemoryRunner(this.network, checked)))
    return this.distributedTraining('fit', checked, () => inMemoryRunner(this.network, checked))
  }

  /**
   * Trains on a streaming DataSource (`data.npy(...)`, `data.array(x, y)`, …) with fit's loop:
   * callbacks, early stopping, schedules, divergence and abort behave as in fit. Each epoch reads
   * the source again (shuffling is seeded by the lifetime epoch, so a resumed run sees the same
   * order); memory stays at the model, the source's buffers and two chunks of batches. Resolves
   * with the History of the completed epochs.
   */
  async fitDataset(source: DataSource, options: FitDatasetOptions = {}): Promise<History> {
    const plan = this.requireCompiled('fitDataset')
    this.requireIdle('fitDataset')
    const checked = await checkFitDataset(plan, source, options)
    if (checked.distributed === null) return this.training(() => runFit(this, checked, sourceRunner(this, checked)))
    return this.distributedTraining('fitDataset', checked, (processes) => {
      if (checked.train.batchSize % processes !== 0) {
        throw new RangeError(`fitDataset batch size ${checked.train.batchSize} does not split over ${processes} processes: each trains an equal part of every batch; use a multiple of ${processes}`)
      }
      return sourceRunner(this, { ...checked, processes })
    })
  }

  /** Loss and metrics over a DataSource, in inference mode (as evaluate). */
  async evaluateDataset(source: DataSource, options: { batchSize?: number } = {}): Promise<EvaluationResult> {
    const plan = this.requireCompiled('evaluateDataset')
    const batchSize = checkBatchSize('evaluateDataset', options)
    const result = await evaluateSource(this.network, plan, await checkSource('evaluateDataset data', plan, source, batchSize))
    return this.named(result.loss, result.metrics)
  }

  /** The outputs over a DataSource, one Matrix per block of rows, in the source's order. */
  predictDataset(source: DataSource, options: PredictOptions = {}): AsyncGenerator<Matrix> {
    const batchSize = checkBatchSize('predictDataset', options)
    const { network, plan } = this.build().requireBuilt('predictDataset')
    return predictSource(network, plan, source, batchSize)
  }

  /** @internal For modelCheckpoint: saves with where in the run it stands. */
  async saveCheckpoint(path: string, position: CheckpointPosition): Promise<void> {
    const { saveModel } = await importNodeOnly('./io/model-file.js', 'a checkpoint', 'toBytes()')
    await saveModel(this, path, position)
  }

  /** @internal The batches of the current epoch already trained before a resume (0 if none); clears it. */
  consumeResumePoint(): number {
    const c = this.checkpoint
    this.checkpoint = null
    return c && c.epoch === this.epochsTrained ? c.batchesDone : 0
  }

  /**
   * Loads a checkpoint to continue training: a file written by modelCheckpoint (or save), or the
   * newest checkpoint in a directory. Weights, optimizer state, step, PRNG streams, learning rate
   * and epoch count are restored, and `model.checkpoint` says where it was taken; a following
   * fitDataset skips the batches of that epoch already trained. Train `run.epochs −
   * model.epochsTrained` more epochs to finish the original run: the result is bit-identical to
   * the run that was never interrupted (same engine).
   */
  static async resume(path: string, options: { backend?: Backend } = {}): Promise<Sequential> {
    if (typeof path !== 'string' || path === '') throw new TypeError(`resume path must be a checkpoint file or directory, got ${describe(path)}`)
    const { newestCheckpoint } = await importNodeOnly('./training/model-checkpoint.js', 'Sequential.resume', 'Sequential.fromBytes()')
    return Sequential.load(await newestCheckpoint(path), options)
  }

  /** One update on exactly these samples, in this order; returns the loss and metrics before it. */
  trainOnBatch(x: Features, y: Targets, options: WeightOptions = {}): EvaluationResult {
    const plan = this.requireCompiled('trainOnBatch')
    this.requireIdle('trainOnBatch')
    const o = checkOptions('trainOnBatch options', options, ['sampleWeight', 'classWeight'])
    const data = dataset(plan, 'x', 'y', x, y)
    if (data.rows === 0) throw new ShapeError('x has no samples; trainOnBatch needs at least one')
    const w = toSampleWeights('trainOnBatch', o.sampleWeight, o.classWeight, plan.loss!, plan.outputSize, data.y, data.rows)
    if (w !== undefined) data.w = w
    const result = this.network.trainBatch(data, this.learningRate)
    if (result.diverged !== null) {
      throw new TrainingDivergedError(`trainOnBatch diverged: ${result.diverged}; the update was not applied`, 0, 0)
    }
    return this.named(result.loss, result.metrics)
  }

  /**
   * Loss and metrics in inference mode (running statistics, no dropout); the loss is weighted
   * when sampleWeight or classWeight is given, the metrics are not.
   */
  evaluate(x: Features, y: Targets, options: PredictOptions & WeightOptions = {}): EvaluationResult {
    const plan = this.requireCompiled('evaluate')
    const o = checkOptions('evaluate options', options, ['batchSize', 'sampleWeight', 'classWeight'])
    const batchSize = checkBatchSize('evaluate', { ...(o.batchSize !== undefined && { batchSize: o.batchSize }) })
    const data = dataset(plan, 'x', 'y', x, y)
    if (data.rows === 0) throw new ShapeError('x has no samples; evaluate needs at least one')
    const w = toSampleWeights('evaluate', o.sampleWeight, o.classWeight, plan.loss!, plan.outputSize, data.y, data.rows)
    if (w !== undefined) data.w = w
    const result = this.network.evaluate(data, batchSize)
    return this.named(result.loss, result.metrics)
  }

  /**
   * The network's outputs, one row per sample (probabilities for softmax/sigmoid outputs). A
   * Float32Array is one sample (of the model's input size) and takes `predictRow`'s path.
   */
  predict(x: Features | Float32Array, options: PredictOptions = {}): Matrix {
    const batchSize = checkBatchSize('predict', options)
    const plan = this.build().plan
    if (x instanceof Float32Array) return new Matrix(1, plan.outputSize, this.predictRow(x))
    // The engine checks the values are finite as it reads them (a separate pass was a quarter of
    // a large native predict).
    const features = featureMatrix('x', x, plan.inputSize)
    return new Matrix(features.rows, plan.outputSize, this.network.predict(features.data, features.rows, batchSize))
  }

  /**
   * The outputs for one sample, written into `out` when given (a Float32Array of the model's
   * output size, reused across calls by latency-bound callers such as servers) or a new array.
   * Checks only the row (its length and that its values are finite), copies nothing else, and
   * on the native engine runs a small-batch kernel on the calling thread: the fastest way to
   * answer one request. Returns `out`.
   */
  predictRow(x: Float32Array, out?: Float32Array): Float32Array {
    const plan = this.build().plan
    if (!(x instanceof Float32Array)) throw new TypeError(`predictRow x must be a Float32Array of ${plan.inputSize} values, got ${describe(x)}`)
    if (x.length !== plan.inputSize) throw new ShapeError(`predictRow x has ${x.length} values; the model's input size is ${plan.inputSize}`)
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i]!)) throw new RangeError(`predictRow x[${i}] is ${x[i]}; data must be finite numbers`)
    }
    if (out === undefined) {
      out = new Float32Array(plan.outputSize)
    } else {
      if (!(out instanceof Float32Array)) throw new TypeError(`predictRow out must be a Float32Array of ${plan.outputSize} values, got ${describe(out)}`)
      if (out.length !== plan.outputSize) throw new ShapeError(`predictRow out has ${out.length} values; the model's output size is ${plan.outputSize}`)
      if (out.buffer === x.buffer) throw new RangeError('predictRow out must not share memory with x')
    }
    this.network.predictInto(x, 1, out)
    return out
  }

  /** The predicted class per sample: argmax of the outputs, or output > 0.5 for a single output. */
  predictClasses(x: Features, options: PredictOptions = {}): number[] {
    const out = this.predict(x, options)
    const classes: number[] = []
    for (let r = 0; r < out.rows; r++) {
      if (out.cols === 1) {
        classes.push(out.data[r]! > 0.5 ? 1 : 0)
        continue
      }
      let best = 0
      for (let c = 1; c < out.cols; c++) if (out.data[r * out.cols + c]! > out.data[r * out.cols + best]!) best = c
      classes.push(best)
    }
    return classes
  }

  /**
   * The gradient of the mean loss (regularisation included) over these samples, as one batch in
   * training mode, for each trainable weight in `getWeights({ trainableOnly: true })` order.
   * Changes nothing: dropout masks come from a copy of the model's stream. With sampleWeight or
   * classWeight, the loss and its gradient are weighted as in fit (Σ wᵢ·lossᵢ / rows).
   */
  computeGradients(x: Features, y: Targets, options: WeightOptions = {}): { loss: number; gradients: Matrix[] } {
    const plan = this.requireCompiled('computeGradients')
    const o = checkOptions('computeGradients options', options, ['sampleWeight', 'classWeight'])
    const data = dataset(plan, 'x', 'y', x, y)
    if (data.rows === 0) throw new ShapeError('x has no samples; computeGradients needs at least one')
    const w = toSampleWeights('computeGradients', o.sampleWeight, o.classWeight, plan.loss!, plan.outputSize, data.y, data.rows)
    if (w !== undefined) data.w = w
    const { loss, gradients } = this.network.computeGradients(data)
    const specs = this.weightSpecs().filter((s) => s.buffer === 'params')
    return { loss, gradients: specs.map((s) => toMatrix(gradients, s)) }
  }

  /**
   * The weights, per layer: Dense W (inputs × units) then b (1 × units); BatchNormalization γ,
   * β, running mean, running variance (each 1 × units). Copies.
   */
  getWeights(options: { trainableOnly?: boolean } = {}): Matrix[] {
    const o = checkOptions('getWeights options', options, ['trainableOnly'])
    const state = this.build().network.readState()
    return this.weightSpecs()
      .filter((s) => !o.trainableOnly || s.buffer === 'params')
      .map((s) => toMatrix(s.buffer === 'params' ? state.params : state.stats, s))
  }

  /** Replaces every weight, in getWeights() order; checks them all before changing anything. */
  setWeights(weights: readonly (Matrix | readonly (readonly number[])[] | ArrayLike<number>)[]): void {
    const specs = this.weightSpecs()
    if (!Array.isArray(weights) || weights.length !== specs.length) {
      throw new ShapeError(`setWeights expects ${specs.length} arrays (in getWeights() order), got ${describe(weights)}`)
    }
    const state = this.network.readState()
    specs.forEach((spec, i) => {
      const values = weightValues(`weights[${i}] (${spec.name})`, weights[i], spec.shape)
      ;(spec.buffer === 'params' ? state.params : state.stats).set(values, spec.offset)
    })
    this.network.writeState({ params: state.params, stats: state.stats })
  }

  /**
   * Saves the model — Plan, weights, optimizer state and training state — as one safetensors
   * file, written atomically (a temporary file renamed over `path`).
   */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw new TypeError(`save path must be a file path, got ${describe(path)}`)
    const { saveModel } = await importNodeOnly('./io/model-file.js', 'save', 'toBytes()')
    await saveModel(this, path)
  }

  /** Loads a model saved by `save`: predictions match exactly and training resumes exactly. */
  static async load(path: string, options: { backend?: Backend } = {}): Promise<Sequential> {
    if (typeof path !== 'string' || path === '') throw new TypeError(`load path must be a file path, got ${describe(path)}`)
    const o = checkOptions('load options', options, ['backend'])
    const { loadModel } = await importNodeOnly('./io/model-file.js', 'Sequential.load', 'Sequential.fromBytes()')
    return loadModel(path, optional(o.backend, 'auto' as Backend, (v) => checkOneOf('load backend', v, BACKENDS)))
  }

  /** The bytes `save` writes. */
  toBytes(): Uint8Array {
    return modelToBytes(this)
  }

  /** A model from the bytes of a saved file. */
  static fromBytes(bytes: Uint8Array, options: { backend?: Backend } = {}): Sequential {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`fromBytes expects a Uint8Array, got ${describe(bytes)}`)
    const o = checkOptions('fromBytes options', options, ['backend'])
    return modelFromBytes(bytes, '<bytes>', optional(o.backend, 'auto' as Backend, (v) => checkOneOf('fromBytes backend', v, BACKENDS)))
  }

  /**
   * Writes the model for inference as an ONNX file (opset 13; input 'input' and output
   * 'output', float32 [batch, features]), atomically. See docs/export.md.
   */
  async exportOnnx(path: string, options: OnnxExportOptions = {}): Promise<void> {
    if (typeof path !== 'string' || path === '') throw new TypeError(`exportOnnx path must be a file path, got ${describe(path)}`)
    const { writeOnnx } = await importNodeOnly('./export/files.js', 'exportOnnx(path)', 'the exportOnnx function, which returns the bytes')
    await writeOnnx(this, path, options)
  }

  /**
   * Writes the model for inference as a TF.js Layers model, `dir/model.json` and
   * `dir/weights.bin`, that `tf.loadLayersModel` loads. See docs/export.md.
   */
  async exportTfjs(dir: string, options: TfjsExportOptions = {}): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError(`exportTfjs dir must be a directory path, got ${describe(dir)}`)
    const { writeTfjs } = await importNodeOnly('./export/files.js', 'exportTfjs(dir)', 'the exportTfjs function, which returns the artifacts')
    await writeTfjs(this, dir, options)
  }

  /** A table of the layers, their output shapes and parameter counts. */
  summary(): string {
    return summarize(this)
  }

  /** @internal Every weight's location, in getWeights() order, with layer-qualified names. */
  weightSpecs(): WeightSpec[] {
    const plan = this.build().plan
    return this.layerList.flatMap((layer, i) =>
      layer.weights(plan.layers[i]!).map((s) => ({ ...s, name: `layers.${i}.${s.name}` })),
    )
  }

  /** @internal For callbacks (restoreBestWeights). */
  snapshotWeights(): WeightSnapshot {
    const { params, stats } = this.network.readState()
    return { params, stats }
  }

  /** @internal */
  restoreWeights(snapshot: WeightSnapshot): void {
    this.network.writeState(snapshot)
  }

  /** @internal Replaces the engine state wholesale (used by load). */
  restoreState(state: NetworkState, epochsTrained: number): void {
    const plan = this.plan
    if (state.slots.length !== optimizerSlotCount(plan.optimizer) * plan.paramCount) {
      throw new ShapeError(`optimizer state has ${state.slots.length} values; the plan needs ${optimizerSlotCount(plan.optimizer) * plan.paramCount}`)
    }
    this.network.writeState(state)
    this.epochsTrained = epochsTrained
  }

  /**
   * Runs a training loop with the model marked busy, and records its epochs in the model's
   * lifetime history — also when it fails (diverged, or a source failed): the completed epochs
   * were trained.
   */
  /**
   * Training as one process of an MPI run (fit or fitDataset with distributed: 'mpi'): joins the
   * run (rank 0's state broadcast), keeps the processes equal after each epoch, prints on rank 0.
   */
  private async distributedTraining(what: string, loop: LoopOptions, makeRunner: (processes: number) => EpochRunner): Promise<History> {
    const { joinRun, distributedInfo } = await importNodeOnly('./distributed/mpi.js', `${what} with distributed`, `${what} without it`)
    const runner = makeRunner(distributedInfo().size)
    const run = joinRun(this.network)
    const train = runner.train
    runner.train = async (epoch, epochOptions) => {
      const result = await train(epoch, epochOptions)
      run.afterEpoch()
      return result
    }
    try {
      return await this.training(() => runFit(this, { ...loop, verbose: loop.verbose && run.rank === 0 }, runner))
    } finally {
      run.leave()
    }
  }

  private async training(run: () => Promise<History>): Promise<History> {
    this.fitting = true
    try {
      const history = await run()
      this.trainingHistory.append(history)
      return history
    } catch (error) {
      const partial = (error as { history?: unknown }).history
      if (partial instanceof History) this.trainingHistory.append(partial)
      throw error
    } finally {
      this.fitting = false
    }
  }

  /** Training mutates the model between awaits: a second trainer would interleave with it. */
  private requireIdle(what: string): void {
    if (this.fitting) throw new ModelStateError(`${what} cannot run while fit is training this model; await fit first`)
  }

  private requireCompiled(what: string): Plan {
    const plan = this.built?.plan
    if (!plan || plan.loss === null) {
      throw new NotCompiledError(`${what} needs a compiled model: call model.compile({ loss, optimizer }) first`)
    }
    return plan
  }

  private named(loss: number, metrics: number[]): EvaluationResult {
    const out: EvaluationResult = { loss }
    this.plan.metrics.forEach((m, i) => (out[m] = metrics[i]!))
    return out
  }
}

function checkBatchSize(what: string, options: unknown): number {
  const o = checkOptions(`${what} options`, options, ['batchSize'])
  return optional(o.batchSize, 256, (v) => checkInteger(`${what} batchSize`, v, { min: 1 }))
}

/** Cross-entropy needs probabilities: a sigmoid or softmax output (fused with the loss). */
function checkLossFitsOutput(loss: LossName, plan: Plan): void {
  const act = outputActivation(plan)
  if (loss === 'meanSquaredError') return
  if (act !== 'sigmoid' && act !== 'softmax') {
    throw new TypeError(
      `loss '${loss}' needs probabilities, so the last layer's activation must be 'softmax' or 'sigmoid'; it is '${act}'`,
    )
  }
  if (loss === 'sparseCategoricalCrossEntropy' && plan.outputSize < 2) {
    throw new ShapeError(`loss 'sparseCategoricalCrossEntropy' needs one output per class (≥ 2), the model has ${plan.outputSize}; for two classes with one output use 'binaryCrossEntropy'`)
  }
}

function toMatrix(buffer: Float32Array, spec: WeightSpec): Matrix {
  const [rows, cols] = spec.shape
  return new Matrix(rows, cols, buffer.slice(spec.offset, spec.offset + rows * cols))
}

/** Flattens one weight given as a Matrix, rows of numbers, or (for vectors) a flat list. */
function weightValues(name: string, value: unknown, shape: [number, number]): Float32Array {
  const [rows, cols] = shape
  let flat: Float32Array
  if (value instanceof Matrix) {
    if (value.rows !== rows || value.cols !== cols) {
      throw new ShapeError(`${name} must be ${rows} × ${cols}, got ${value.rows} × ${value.cols}`)
    }
    flat = value.data
  } else if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    const m = Matrix.from(value as number[][], name)
    if (m.rows !== rows || m.cols !== cols) throw new ShapeError(`${name} must be ${rows} × ${cols}, got ${m.rows} × ${m.cols}`)
    flat = m.data
  } else if (rows === 1 && (Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array)) {
    const list = value as ArrayLike<unknown>
    if (list.length !== cols) throw new ShapeError(`${name} must have ${cols} values, got ${list.length}`)
    flat = new Float32Array(cols)
    for (let i = 0; i < cols; i++) {
      if (typeof list[i] !== 'number') throw new TypeError(`${name}[${i}] must be a number, got ${describe(list[i])}`)
      flat[i] = list[i] as number
    }
  } else {
    throw new TypeError(`${name} must be a ${rows} × ${cols} Matrix or number[][]${rows === 1 ? ' (or a list of numbers)' : ''}, got ${describe(value)}`)
  }
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!)) throw new RangeError(`${name} holds ${flat[i]} at index ${i}; weights must be finite`)
  }
  return flat
}
