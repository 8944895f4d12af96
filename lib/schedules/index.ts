import { isPlainObject, describe } from '../validate.js'
import { CosineDecay, cosineDecay } from './cosine-decay.js'
import { ExponentialDecay, exponentialDecay } from './exponential-decay.js'
import { LearningRateSchedule, SCHEDULE_KINDS, type ScheduleSpec } from './schedule.js'
import { StepDecay, stepDecay } from './step-decay.js'

export { CosineDecay, ExponentialDecay, LearningRateSchedule, SCHEDULE_KINDS, StepDecay, cosineDecay, exponentialDecay, stepDecay }
export type { ScheduleSpec }

/** Rebuilds a schedule from its plain-data description (what `toJSON` gives). */
export function scheduleFromSpec(spec: ScheduleSpec): LearningRateSchedule {
  if (!isPlainObject(spec)) throw new TypeError(`a schedule spec must be an object such as { kind: 'cosineDecay', … }, got ${describe(spec)}`)
  const { kind, ...options } = spec as Record<string, unknown>
  switch (kind) {
    case 'stepDecay':
      return new StepDecay(options as never)
    case 'exponentialDecay':
      return new ExponentialDecay(options as never)
    case 'cosineDecay':
      // toJSON writes warmupTarget: null for "no warm-up"; the constructor takes it as absent.
      return new CosineDecay({ ...options, ...(options.warmupTarget === null && { warmupTarget: undefined }) } as never)
  }
  throw new TypeError(`a schedule spec's kind must be one of ${SCHEDULE_KINDS.map((k) => `'${k}'`).join(', ')}; got ${describe(kind)}`)
}
