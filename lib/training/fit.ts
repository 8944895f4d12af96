import type { TrainingData, EpochOptions, EpochResult, Evaluation, Network } from '../engine/engine.js'
import { ShapeError, TrainingDivergedError } from '../errors.js'
import { toFeatures, toSampleWeights, toTargets, type ClassWeight, type Features, type Targets } from '../inputs.js'
import type { Plan } from '../plan.js'
import {
  checkBoolean,
  checkInteger,
  checkNumber,
  checkOneOf,
  checkOptions,
  describe,
  optional,
} from '../validate.js'
import { EarlyStopping, type Callback, type CallbackModel } from './callbacks.js'
import { LearningRateScheduler } from './learning-rate-scheduler.js'
import { ratesOf, trainChunks } from './chunked-epoch.js'
import { gatheredChunks } from './gathered-chunks.js'
import { History, validationKey, type EpochLogs, type StopReason } from './history.js'

export interface FitOptions {
  /** Passes over the training data (default 1). */
  epochs?: number
  /** Samples per update: 1 is online SGD, ≥ the sample count is full-batch (default 32). */
  batchSize?: number
  /** Reshuffle the training samples before each epoch, from the model's seeded stream (default true). */
  shuffle?: boolean
  /** Hold out this fraction of the samples (the last ones, before shuffling) for validation, in [0, 1). */
  validationSplit?: number
  /** Validation samples as [x, y]; takes precedence over validationSplit. */
  validationData?: [Features, Targets]
  /** Batch size for validation (default: batchSize). */
  validationBatchSize?: number
  /** Callbacks, e.g. earlyStopping({ patience: 5 }). */
  callbacks?: Callback[]
  /**
   * Convergence criterion: stop when the training loss has not improved on its best by more
   * than `tolerance` for `patience` epochs in a row (like scikit-learn's tol / n_iter_no_change,
   * which waits one epoch more).
   */
  tolerance?: number
  /** Epochs without an improvement of `tolerance` before stopping (default 10; needs tolerance). */
  patience?: number
  /** 0 (or false) is silent; 1 (or true) prints a line per epoch. Default 0. */
  verbose?: 0 | 1 | boolean
  /** Stops training after the current batch when aborted; fit then resolves normally. */
  signal?: AbortSignal
  /**
   * A loss weight per training sample (≥ 0): each batch's loss is Σ wᵢ·lossᵢ / rows, as Keras
   * weighs samples. Validation and metrics stay unweighted.
   */
  sampleWeight?: readonly number[] | Float32Array
  /**
   * Loss weights by class, for imbalanced data: `{ 0: 1, 1: 5 }` or `[1, 5]`; missing classes
   * weigh 1. Multiplies sampleWeight when both are given.
   */
  classWeight?: ClassWeight
  /**
   * 'mpi': train as one process of an MPI run started by mpirun (native engine): every process
   * passes the same data and options; each trains `batchSize` rows of every batch of
   * `batchSize × processes` rows, in the order one process would, and all make the same update.
   * Rank 0 prints (verbose); see docs/mpi.md.
   */
  distributed?: 'mpi'
}

const FIT_OPTIONS = [
  'epochs', 'batchSize', 'shuffle', 'validationSplit', 'validationData', 'validationBatchSize',
  'callbacks', 'tolerance', 'patience', 'verbose', 'signal', 'sampleWeight', 'classWeight', 'distributed',
]

/** The model as fit drives it. */
export interface FitModel extends CallbackModel {
  readonly network: Network
  readonly plan: Plan
  /** Complete epochs trained over the model's life. */
  epochsTrained: number
}

export interface CheckedFit extends LoopOptions {
  batchSize: number
  shuffle: boolean
  validationBatchSize: number
  train: TrainingData
  validation: TrainingData | null
  distributed: 'mpi' | null
}

/** Checks everything fit was given before anything changes. */
export function checkFit(plan: Plan, x: unknown, y: unknown, options: unknown): CheckedFit {
  const o = checkOptions('fit options', options, FIT_OPTIONS)
  const batchSize = optional(o.batchSize, 32, (v) => checkInteger('fit batchSize', v, { min: 1 }))
  const loop = checkLoop('fit', o)
  const all = dataset(plan, 'x', 'y', x, y)
  if (all.rows === 0) throw new ShapeError('x has no samples; fit needs at least one')
  const w = toSampleWeights('fit', o.sampleWeight, o.classWeight, plan.loss!, plan.outputSize, all.y, all.rows)
  if (w !== undefined) all.w = w
  const split = optional(o.validationSplit, 0, (v) => checkNumber('fit validationSplit', v, { min: 0, max: 1, maxInclusive: false }))
  let train = all
  let validation: TrainingData | null = null
  if (o.validationData !== undefined) {
    if (!Array.isArray(o.validationData) || o.validationData.length !== 2) {
      throw new TypeError(`fit validationData must be [x, y], got ${describe(o.validationData)}`)
    }
    validation = dataset(plan, 'validationData x', 'validationData y', o.validationData[0], o.validationData[1])
    if (validation.rows === 0) throw new ShapeError('validationData x has no samples')
  } else if (split > 0) {
    // As Keras: the last samples, taken before any shuffling, so the split is reproducible.
    const trainRows = Math.floor(all.rows * (1 - split))
    if (trainRows < 1 || trainRows === all.rows) {
      throw new RangeError(
        `fit validationSplit ${split} of ${all.rows} samples leaves ${trainRows} for training and ${all.rows - trainRows} for validation; both need at least one`,
      )
    }
    const inCols = plan.inputSize
    const tCols = all.y.length / all.rows
    train = { x: all.x.subarray(0, trainRows * inCols), y: all.y.subarray(0, trainRows * tCols), rows: trainRows }
    if (w !== undefined) train.w = w.subarray(0, trainRows)
    validation = { x: all.x.subarray(trainRows * inCols), y: all.y.subarray(trainRows * tCols), rows: all.rows - trainRows }
  }
  return {
    ...loop,
    batchSize,
    shuffle: optional(o.shuffle, true, (v) => checkBoolean('fit shuffle', v)),
    validationBatchSize: optional(o.validationBatchSize, batchSize, (v) => checkInteger('fit validationBatchSize', v, { min: 1 })),
    train,
    validation,
    distributed: optional(o.distributed, null, (v) => checkOneOf('fit distributed', v, ['mpi'] as const)),
  }
}

/** Checks the options of the loop fit and fitDataset share (`what` names the method). */
export function checkLoop(what: string, o: Record<string, unknown>): LoopOptions {
  const tolerance = optional(o.tolerance, null, (v) => checkNumber(`${what} tolerance`, v, { min: 0 }))
  if (o.patience !== undefined && tolerance === null) {
    throw new TypeError(`${what} patience applies to the convergence criterion and needs tolerance; for early stopping on validation use callbacks: [earlyStopping({ patience })]`)
  }
  return {
    epochs: optional(o.epochs, 1, (v) => checkInteger(`${what} epochs`, v, { min: 1 })),
    callbacks: optional(o.callbacks, [] as Callback[], (v) => {
      if (!Array.isArray(v) || v.some((c) => typeof c !== 'object' || c === null)) {
        throw new TypeError(`${what} callbacks must be an array of callback objects, got ${describe(v)}`)
      }
      return v as Callback[]
    }),
    tolerance,
    patience: optional(o.patience, 10, (v) => checkInteger(`${what} patience`, v, { min: 1 })),
    verbose: optional(o.verbose, false, (v) => {
      if (v === 0 || v === 1 || typeof v === 'boolean') return v === 1 || v === true
      throw new TypeError(`${what} verbose must be 0, 1, true or false, got ${describe(v)}`)
    }),
    signal: optional(o.signal, undefined, (v) => {
      if (!(v instanceof AbortSignal)) throw new TypeError(`${what} signal must be an AbortSignal, got ${describe(v)}`)
      return v
    }),
  }
}

/** Converts and checks x and y against a compiled plan. */
export function dataset(plan: Plan, xName: string, yName: string, x: unknown, y: unknown): TrainingData {
  const features = toFeatures(xName, x, plan.inputSize)
  const targets = toTargets(yName, y, plan.loss!, plan.outputSize, features.rows)
  return { x: features.data, y: targets, rows: features.rows }
}

/** How an epoch trains: the engine's options, and the rate of each batch when a schedule steps per batch. */
export type RunOptions = Omit<EpochOptions, 'batchSize' | 'shuffle' | 'learningRates'> & {
  /** The learning rate of batch `i` of the epoch (a schedule stepping per batch), or absent. */
  rateAt?: (batch: number) => number
}

/** What the training loop needs besides the model: how to train one epoch and how to validate. */
export interface EpochRunner {
  /** Trains epoch `epoch` (0-based within this call) with these options. */
  train(epoch: number, options: RunOptions): Promise<EpochResult>
  /** Loss and metrics on the validation data, or null without validation. */
  validate: (() => Promise<Evaluation>) | null
}

/** The options of the loop that fit and fitDataset share. */
export interface LoopOptions {
  epochs: number
  callbacks: Callback[]
  tolerance: number | null
  patience: number
  verbose: boolean
  signal: AbortSignal | undefined
}

/**
 * Training data above this size is not copied whole into the native engine: each epoch's rows
 * are gathered in their shuffled order into two chunks that the engine trains in turn, so peak
 * memory stays near the caller's data (a copy would double it).
 */
export const COPY_LIMIT_BYTES = 64 << 20

/** fit's runner: epochs of the in-memory data, validated on the held-out rows. */
export function inMemoryRunner(network: Network, fit: CheckedFit): EpochRunner {
  const validation = fit.validation
  // Data-parallel, every process cuts the whole shuffled order into its parts of each batch.
  const large = network.engine === 'native' && fit.distributed === null && fit.train.x.byteLength + fit.train.y.byteLength > COPY_LIMIT_BYTES
  const chunks: (TrainingData | null)[] = [null, null]
  return {
    train: large
      ? (_epoch, options) => trainChunks(network, network.plan, gatheredChunks(network, fit, chunks), fit.batchSize, 0, options, 1, () => Promise.resolve(false))
      : (_epoch, { rateAt, ...options }) =>
          network.trainEpochAsync(fit.train, {
            ...options,
            batchSize: fit.batchSize,
            shuffle: fit.shuffle,
            ...(rateAt && { learningRates: ratesOf(rateAt, 0, Math.ceil(fit.train.rows / fit.batchSize)) }),
          }),
    validate: validation ? () => Promise.resolve(network.evaluate(validation, fit.validationBatchSize)) : null,
  }
}

/** The training loop: epochs of engine work, validation, callbacks and stopping rules. */
export async function runFit(model: FitModel, fit: LoopOptions, runner: EpochRunner): Promise<History> {
  const { plan, network } = model
  const history = new History()
  const logKeys = ['loss', ...plan.metrics]
  if (runner.validate) logKeys.push('valLoss', ...plan.metrics.map(validationKey))
  model.stopTraining = false
  for (const cb of fit.callbacks) cb.setModel?.(model)
  for (const cb of fit.callbacks) await cb.onTrainBegin?.({ logKeys, epochs: fit.epochs })
  const batchCallbacks = fit.callbacks.filter((cb) => cb.onBatchEnd)
  const onBatchEnd =
    batchCallbacks.length === 0
      ? undefined
      : (batch: number, stats: { loss: number; metrics: number[] }) => {
          for (const cb of batchCallbacks) cb.onBatchEnd!(batch, stats)
          return model.stopTraining
        }
  let best = Infinity
  let epochsWithoutImprovement = 0
  let stopReason: StopReason = 'completed'
  for (let epoch = 0; epoch < fit.epochs; epoch++) {
    if (fit.signal?.aborted) {
      stopReason = 'aborted'
      break
    }
    for (const cb of fit.callbacks) await cb.onEpochBegin?.(epoch)
    const perBatch = fit.callbacks.find((cb): cb is LearningRateScheduler => cb instanceof LearningRateScheduler && cb.per === 'batch')
    // A schedule stepping per batch: rates by optimizer step, from the step this epoch starts at
    // (it also sets the model's rate to the epoch's first, which the history records).
    const rateAt = perBatch?.rateFrom(network.readState().step)
    const learningRate = model.learningRate
    const started = performance.now()
    let result: EpochResult
    try {
      result = await runner.train(epoch, {
        learningRate,
        ...(rateAt && { rateAt }),
        ...(onBatchEnd && { onBatchEnd }),
        ...(fit.signal && { signal: fit.signal }),
      })
    } catch (error) {
      // A failing source (a bad row deep in a file) ends training; the epochs before it count.
      if (typeof error === 'object' && error !== null) Object.assign(error, { history })
      throw error
    }
    if (result.diverged !== null) {
      const { batch, reason } = result.diverged
      const error = new TrainingDivergedError(
        `training diverged in epoch ${epoch + 1}, batch ${batch + 1}: ${reason}. The model keeps its last finite weights; ` +
          `try a smaller learning rate (now ${learningRate}), gradient clipping (clipNorm) or standardised inputs`,
        epoch,
        batch,
      )
      throw Object.assign(error, { history })
    }
    if (result.stopped) {
      // An incomplete epoch is not recorded: history holds complete epochs only.
      stopReason = fit.signal?.aborted ? 'aborted' : 'callback'
      break
    }
    const logs: EpochLogs = { loss: result.loss }
    plan.metrics.forEach((m, i) => (logs[m] = result.metrics[i]!))
    if (runner.validate) {
      const evaluation = await runner.validate()
      logs.valLoss = evaluation.loss
      plan.metrics.forEach((m, i) => (logs[validationKey(m)] = evaluation.metrics[i]!))
    }
    history.record(logs, learningRate)
    model.epochsTrained++
    if (fit.verbose) console.log(formatEpoch(epoch, fit.epochs, logs, performance.now() - started))
    for (const cb of fit.callbacks) await cb.onEpochEnd?.(epoch, logs)
    if (model.stopTraining || fit.signal?.aborted) {
      stopReason = fit.signal?.aborted
        ? 'aborted'
        : fit.callbacks.some((cb) => cb instanceof EarlyStopping && cb.stoppedEpoch !== null)
          ? 'earlyStopping'
          : 'callback'
      break
    }
    if (fit.tolerance !== null) {
      epochsWithoutImprovement = result.loss > best - fit.tolerance ? epochsWithoutImprovement + 1 : 0
      best = Math.min(best, result.loss)
      if (epochsWithoutImprovement >= fit.patience) {
        stopReason = 'converged'
        break
      }
    }
  }
  history.stopReason = stopReason
  for (const cb of fit.callbacks) await cb.onTrainEnd?.(history)
  return history
}

function formatEpoch(epoch: number, epochs: number, logs: EpochLogs, ms: number): string {
  const width = String(epochs).length
  const parts = Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`)
  return `Epoch ${String(epoch + 1).padStart(width)}/${epochs}  ${parts.join('  ')}  (${ms.toFixed(0)} ms)`
}
