import { checkInteger, checkNumber, checkOptions, optional } from '../validate.js'
import { checkMode, checkMonitor, improves, requireLogged, type LogKey } from './monitor.js'
import type { Callback, CallbackModel, TrainBeginInfo } from './callbacks.js'
import type { EpochLogs } from './history.js'

export interface ReduceLROnPlateauOptions {
  /** The log key to watch (default 'valLoss'; e.g. 'loss', 'valAccuracy'). */
  monitor?: LogKey
  /** Multiplier applied to the learning rate on a plateau, in (0, 1) (default 0.1). */
  factor?: number
  /** Epochs in a row without improvement after which the rate is reduced (default 10). */
  patience?: number
  /** 'min', 'max', or 'auto' (max for accuracy, min otherwise; the default). */
  mode?: 'auto' | 'min' | 'max'
  /** Smallest change that counts as an improvement (default 1e-4, as Keras). */
  minDelta?: number
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number
  /** The rate is never reduced below this (default 0). */
  minLR?: number
}

/**
 * Reduces the learning rate by `factor` when a monitored value has not improved for `patience`
 * epochs, as Keras's ReduceLROnPlateau (same defaults and the same counting). The new rate
 * applies from the next epoch and is part of the model's training state, so save and load
 * keep it; the plateau counters start afresh with each fit call, as in Keras.
 */
export class ReduceLROnPlateau implements Callback {
  readonly monitor: LogKey
  readonly factor: number
  readonly patience: number
  readonly mode: 'min' | 'max'
  readonly minDelta: number
  readonly cooldown: number
  readonly minLR: number
  /** Epochs (within the last fit call) at whose end the rate was reduced. */
  readonly reducedAt: number[] = []
  private best = NaN
  private wait = 0
  private cooldownLeft = 0
  private model: CallbackModel | null = null

  constructor(options: ReduceLROnPlateauOptions = {}) {
    const o = checkOptions('reduceLROnPlateau options', options, ['monitor', 'factor', 'patience', 'mode', 'minDelta', 'cooldown', 'minLR'])
    this.monitor = checkMonitor('reduceLROnPlateau', o.monitor)
    this.factor = optional(o.factor, 0.1, (v) => checkNumber('reduceLROnPlateau factor', v, { min: 0, max: 1, minInclusive: false, maxInclusive: false }))
    this.patience = optional(o.patience, 10, (v) => checkInteger('reduceLROnPlateau patience', v, { min: 0 }))
    this.mode = checkMode('reduceLROnPlateau', o.mode, this.monitor)
    this.minDelta = optional(o.minDelta, 1e-4, (v) => checkNumber('reduceLROnPlateau minDelta', v, { min: 0 }))
    this.cooldown = optional(o.cooldown, 0, (v) => checkInteger('reduceLROnPlateau cooldown', v, { min: 0 }))
    this.minLR = optional(o.minLR, 0, (v) => checkNumber('reduceLROnPlateau minLR', v, { min: 0 }))
  }

  setModel(model: CallbackModel): void {
    this.model = model
  }

  onTrainBegin(info: TrainBeginInfo): void {
    requireLogged('reduceLROnPlateau', this.monitor, info.logKeys)
    this.best = NaN
    this.wait = 0
    this.cooldownLeft = 0
    this.reducedAt.length = 0
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    const value = logs[this.monitor]!
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--
      this.wait = 0
    }
    if (improves(this.mode, value, this.best, this.minDelta)) {
      this.best = value
      this.wait = 0
      return
    }
    if (this.cooldownLeft > 0) return
    this.wait++
    if (this.wait < this.patience) return
    const model = this.model!
    // As Keras: once at the floor, keep counting but change nothing.
    if (model.learningRate > this.minLR) {
      model.learningRate = Math.max(model.learningRate * this.factor, this.minLR)
      this.reducedAt.push(epoch)
      this.cooldownLeft = this.cooldown
      this.wait = 0
    }
  }
}

/** Reduce the learning rate when a monitored value stops improving (see ReduceLROnPlateau). */
export function reduceLROnPlateau(options: ReduceLROnPlateauOptions = {}): ReduceLROnPlateau {
  return new ReduceLROnPlateau(options)
}
