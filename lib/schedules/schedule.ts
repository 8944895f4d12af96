import { checkInteger } from '../validate.js'

/**
 * A learning-rate schedule: the rate for each epoch, counted over the model's life (so a model
 * that was saved and loaded continues its schedule where it stopped). Schedules are pure
 * functions of the epoch, described by plain data (`toJSON`), so a search can send them to a
 * worker thread and a report can print them.
 *
 * Keras schedules count optimizer steps (batches); these count epochs, because the engines
 * take one learning rate per epoch and the epoch is what users reason about when they plan
 * "warm up for 5 epochs, then decay over 50".
 */
export abstract class LearningRateSchedule {
  /** The learning rate for zero-based epoch `epoch`. */
  at(epoch: number): number {
    checkInteger(`${this.constructor.name} epoch`, epoch, { min: 0 })
    return this.rate(epoch)
  }

  /** The plain-data description, from which `scheduleFromSpec` rebuilds the schedule. */
  abstract toJSON(): ScheduleSpec

  protected abstract rate(epoch: number): number
}

/** A schedule as plain data (JSON-serialisable). */
export type ScheduleSpec =
  | { kind: 'stepDecay'; initialLearningRate: number; stepSize: number; factor: number }
  | { kind: 'exponentialDecay'; initialLearningRate: number; decaySteps: number; decayRate: number; staircase: boolean }
  | {
      kind: 'cosineDecay'
      initialLearningRate: number
      decaySteps: number
      alpha: number
      warmupSteps: number
      warmupTarget: number | null
    }

export const SCHEDULE_KINDS = ['stepDecay', 'exponentialDecay', 'cosineDecay'] as const
