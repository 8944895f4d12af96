import { checkMode, checkMonitor, improves, requireLogged, type LogKey } from './monitor.js'
import { checkBoolean, checkInteger, checkNumber, checkOptions, optional } from '../validate.js'
import type { BatchLogs } from '../engine/engine.js'
import type { EpochLogs, History } from './history.js'

/**
 * The model as callbacks see it: they can stop training, snapshot or restore weights, and set
 * the learning rate for the next epoch.
 */
export interface CallbackModel {
  /** Set to true to stop fit after the current batch or epoch. */
  stopTraining: boolean
  /** The learning rate for the next update; fit reads it at the start of each epoch. */
  learningRate: number
  /** Complete epochs trained over the model's life (not only in this fit call). */
  readonly epochsTrained: number
  /** A copy of every weight (parameters and running statistics). */
  snapshotWeights(): WeightSnapshot
  restoreWeights(snapshot: WeightSnapshot): void
}

export interface WeightSnapshot {
  params: Float32Array
  stats: Float32Array
}

/** What fit tells callbacks before the first epoch. */
export interface TrainBeginInfo {
  /** Keys the epoch logs will have (loss, metrics, and val-prefixed ones with validation). */
  logKeys: string[]
  epochs: number
}

export type { BatchLogs }

/**
 * Hooks into fit. Any may be async except onBatchEnd, which runs between batches inside the
 * engine's loop. To stop training, set `model.stopTraining = true`.
 */
export interface Callback {
  setModel?(model: CallbackModel): void
  onTrainBegin?(info: TrainBeginInfo): void | Promise<void>
  onEpochBegin?(epoch: number): void | Promise<void>
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>
  onBatchEnd?(batch: number, logs: BatchLogs): void
  onTrainEnd?(history: History): void | Promise<void>
  /**
   * fitDataset only: called between the engine's chunks of batches, while the model is idle and
   * consistent, with the lifetime epoch and the batches of it trained so far (checkpoints save
   * here). Awaited before training goes on.
   */
  onBatchesEnd?(epoch: number, batchesDone: number): void | Promise<void>
  /** fitDataset only: onBatchesEnd must come at least on every multiple of this many batches. */
  readonly batchInterval?: number
}

export interface EarlyStoppingOptions {
  /** The log key to watch (default 'valLoss'; e.g. 'loss', 'valAccuracy'). */
  monitor?: LogKey
  /** Epochs in a row without improvement after which training stops (default 0: the first). */
  patience?: number
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number
  /** 'min', 'max', or 'auto' (max for accuracy, min otherwise; the default). */
  mode?: 'auto' | 'min' | 'max'
  /** At the end, put back the weights of the best epoch (default false). */
  restoreBestWeights?: boolean
}

/** Stops training when a monitored value stops improving, as Keras's EarlyStopping. */
export class EarlyStopping implements Callback {
  readonly monitor: LogKey
  readonly patience: number
  readonly minDelta: number
  readonly mode: 'min' | 'max'
  readonly restoreBestWeights: boolean
  /** Epoch (within the fit call) at which it stopped training, or null. */
  stoppedEpoch: number | null = null
  /** Epoch of the best monitored value. */
  bestEpoch = -1
  best = NaN
  private wait = 0
  private bestWeights: WeightSnapshot | null = null
  private model: CallbackModel | null = null

  constructor(options: EarlyStoppingOptions = {}) {
    const o = checkOptions('earlyStopping options', options, ['monitor', 'patience', 'minDelta', 'mode', 'restoreBestWeights'])
    this.monitor = checkMonitor('earlyStopping', o.monitor)
    this.patience = optional(o.patience, 0, (v) => checkInteger('earlyStopping patience', v, { min: 0 }))
    this.minDelta = optional(o.minDelta, 0, (v) => checkNumber('earlyStopping minDelta', v, { min: 0 }))
    this.mode = checkMode('earlyStopping', o.mode, this.monitor)
    this.restoreBestWeights = optional(o.restoreBestWeights, false, (v) => checkBoolean('earlyStopping restoreBestWeights', v))
  }

  setModel(model: CallbackModel): void {
    this.model = model
  }

  onTrainBegin(info: TrainBeginInfo): void {
    requireLogged('earlyStopping', this.monitor, info.logKeys)
    this.wait = 0
    this.best = NaN
    this.bestEpoch = -1
    this.stoppedEpoch = null
    this.bestWeights = null
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    const value = logs[this.monitor]!
    if (improves(this.mode, value, this.best, this.minDelta)) {
      this.best = value
      this.bestEpoch = epoch
      this.wait = 0
      if (this.restoreBestWeights) this.bestWeights = this.model!.snapshotWeights()
      return
    }
    this.wait++
    // As Keras: stop once `patience` epochs in a row failed to improve (the first, for 0).
    if (this.wait >= Math.max(this.patience, 1)) {
      this.stoppedEpoch = epoch
      this.model!.stopTraining = true
    }
  }

  onTrainEnd(): void {
    if (this.restoreBestWeights && this.bestWeights !== null) this.model!.restoreWeights(this.bestWeights)
  }
}

/** Stop training when a monitored value stops improving (see EarlyStopping). */
export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(options)
}
