import { LearningRateSchedule } from '../schedules/schedule.js'
import { describe } from '../validate.js'
import type { Callback, CallbackModel } from './callbacks.js'

/**
 * A schedule as a function: the learning rate for a zero-based lifetime epoch, given the rate
 * in force now (as Keras's `schedule(epoch, lr)`).
 */
export type ScheduleFunction = (epoch: number, learningRate: number) => number

/**
 * Sets the learning rate at the start of every epoch from a schedule, as Keras's
 * LearningRateScheduler. The epoch it passes is the model's lifetime epoch
 * (`model.epochsTrained`), not the index within this fit call: a model saved mid-schedule and
 * loaded continues the schedule exactly where it stopped.
 */
export class LearningRateScheduler implements Callback {
  readonly schedule: LearningRateSchedule | ScheduleFunction
  private model: CallbackModel | null = null

  constructor(schedule: LearningRateSchedule | ScheduleFunction) {
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
    const model = this.model!
    const epoch = model.epochsTrained
    const rate =
      this.schedule instanceof LearningRateSchedule ? this.schedule.at(epoch) : this.schedule(epoch, model.learningRate)
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
      throw new RangeError(`learningRateScheduler: the schedule returned ${describe(rate)} for epoch ${epoch}; it must return a finite number ≥ 0`)
    }
    model.learningRate = rate
  }
}

/** A callback that sets the learning rate of each epoch from `schedule`. */
export function learningRateScheduler(schedule: LearningRateSchedule | ScheduleFunction): LearningRateScheduler {
  return new LearningRateScheduler(schedule)
}
