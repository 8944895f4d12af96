/**
 * What the callbacks that watch one logged value share (earlyStopping, reduceLROnPlateau):
 * the key, its direction, the check that fit logs it, and what counts as an improvement.
 */
import type { MetricName } from '../plan.js'
import { checkOneOf, optional } from '../validate.js'

/**
 * A key fit logs each epoch: the loss, a compiled metric, or either on the validation data
 * (`valLoss`, `valAccuracy`, …). Whether this fit logs it is checked when training begins.
 */
export type LogKey = 'loss' | MetricName | 'valLoss' | `val${Capitalize<MetricName>}`

/** The key to watch: a non-empty log key such as 'valLoss' (the default) or 'accuracy'. */
export function checkMonitor(name: string, value: unknown): LogKey {
  return optional(value, 'valLoss', (v) => {
    if (typeof v !== 'string' || v === '') throw new TypeError(`${name} monitor must be a log key such as 'valLoss', got ${String(v)}`)
    return v as LogKey
  })
}

/** 'min' or 'max' as given; 'auto' (the default) is 'max' for accuracies and 'min' otherwise. */
export function checkMode(name: string, value: unknown, monitor: string): 'min' | 'max' {
  const mode = optional(value, 'auto', (v) => checkOneOf(`${name} mode`, v, ['auto', 'min', 'max'] as const))
  return mode === 'auto' ? (/accuracy/i.test(monitor) ? 'max' : 'min') : mode
}

/** Refuses a monitor this fit does not log, listing what it does. */
export function requireLogged(name: string, monitor: string, logKeys: readonly string[]): void {
  if (logKeys.includes(monitor)) return
  const hint = monitor.startsWith('val') ? '; pass validationSplit or validationData to fit, or monitor a training key' : ''
  throw new RangeError(`${name} monitors '${monitor}', which this fit does not log (it logs ${logKeys.map((k) => `'${k}'`).join(', ')})${hint}`)
}

/** Whether `value` beats `best` (NaN: nothing seen yet) by more than `minDelta`. */
export function improves(mode: 'min' | 'max', value: number, best: number, minDelta: number): boolean {
  return Number.isNaN(best) || (mode === 'min' ? value < best - minDelta : value > best + minDelta)
}
