import { LearningRateSchedule } from '../schedules/schedule.js'
import { checkOneOf, checkOptions, describe, optional } from '../validate.js'
import type { Callback, CallbackModel } from './callbacks.js'

/**
 * A schedule as a function: the learning rate for a zero-based lifetime epoch, given the rate
 * in force now (as Keras's `schedule(epoch, lr)`).
 */
export type ScheduleFunction = (epoch: number, learningRate: number) => number

export interface LearningRateSchedulerOptions {
  /**
   * 'epoch' (the default, as Keras's LearningRateScheduler callback): the schedule is read once
   * per epoch, at the model's lifetime epoch. 'batch' (as a Keras LearningRateSchedule given to
   * an optimizer): it is read for every batch, at the optimizer's step — the updates applied over
   * the model's life — so `decaySteps` and the like count batches.
   */
  per?: 'epoch' | 'batch'
}

/**
 * Sets the learning rate from a schedule, as Keras's LearningRateScheduler (per epoch) or a
 * Keras LearningRateSchedule (per batch). Per epoch, the epoch it passes is the model's lifetime
 * epoch (`model.epochsTrained`), not the index within this fit call; per batch, the optimizer's
 * step. Either way a model saved mid-schedule and loaded continues the schedule exactly.
 */
export class LearningRateScheduler implements Callback {
  readonly schedule: LearningRateSchedule | ScheduleFunction
  /** Whether the schedule steps per epoch or per batch. */
  readonly per: 'epoch' | 'batch'
  private model: CallbackModel | null = null

  constructor(schedule: LearningRateSchedule | ScheduleFunction, options: LearningRateSchedulerOptions = {}) {
    const o = checkOptions('learningRateScheduler options', options, ['per'])
    this.per = optional(o.per, 'epoch' as const, (v) => checkOneOf('learningRateScheduler per', v, ['epoch', 'batch'] as const))
    if (!(schedule instanceof LearningRateSchedule) && typeof schedule !== 'function') {
      throw new TypeError(
        `learningRateScheduler expects a schedule (cosineDecay({...}), stepDecay({...}), …) or a function (epoch, learningRate) => number, got ${describe(schedule)}`,
      )
    }
    this.schedule = schedule
  }

  setModel(model: CallbackModel): void {
    this.model = model
  }

  onEpochBegin(): void {
    // Per batch, fit asks rateFrom for the epoch's rates; the model's rate is the first of them.
    if (this.per === 'batch') return
    const model = this.model!
    model.learningRate = this.rate(model.epochsTrained, 'epoch')
  }

  /** Per batch: the rate of batch i of an epoch that starts at optimizer step `step`. */
  rateFrom(step: number): (batch: number) => number {
    const first = this.rate(step, 'step')
    this.model!.learningRate = first
    return (batch) => (batch === 0 ? first : this.rate(step + batch, 'step'))
  }

  private rate(at: number, unit: 'epoch' | 'step'): number {
    const rate = this.schedule instanceof LearningRateSchedule ? this.schedule.at(at) : this.schedule(at, this.model!.learningRate)
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
      throw new RangeError(`learningRateScheduler: the schedule returned ${describe(rate)} for ${unit} ${at}; it must return a finite number ≥ 0`)
    }
    return rate
  }
}

/** A callback that sets the learning rate of each epoch (or, with `{ per: 'batch' }`, each batch) from `schedule`. */
export function learningRateScheduler(schedule: LearningRateSchedule | ScheduleFunction, options: LearningRateSchedulerOptions = {}): LearningRateScheduler {
  return new LearningRateScheduler(schedule, options)
}
