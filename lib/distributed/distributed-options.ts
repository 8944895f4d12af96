/**
 * The checks of what a distributed search or worker is given (Redis URLs, queue names, search
 * ids, data references), kept apart from the modules that connect, so that checking options
 * loads neither ioredis nor BullMQ.
 */
import type { Task } from '../data/dataset.js'
import { TASKS } from '../data/dataset.js'
import { checkInteger, checkNumber, checkOneOf, checkOptions, checkString, optional } from '../validate.js'

/** The queue name when none is given. */
export const DEFAULT_QUEUE = 'backprop'

/** Checks a Redis URL; the error names the argument and what is accepted. */
export function checkRedisUrl(name: string, value: unknown): string {
  const url = checkString(name, value)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`${name} must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379), got '${url}'`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(`${name} must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379), got '${url}'`)
  }
  return url
}

/** A queue name: letters, digits, '-', '_' and '.' (BullMQ uses it inside Redis keys). */
export function checkQueueName(name: string, value: unknown): string {
  const queue = checkString(name, value, 100)
  if (!/^[\w.-]+$/.test(queue)) throw new TypeError(`${name} may hold letters, digits, '-', '_' and '.', got '${queue}'`)
  return queue
}

/** A search id: letters, digits, '-' and '_' (it goes into job ids and Redis keys). */
export function checkSearchId(name: string, value: unknown): string {
  const id = checkString(name, value, 64)
  if (!/^[\w-]+$/.test(id)) throw new TypeError(`${name} may hold letters, digits, '-' and '_', got '${id}'`)
  return id
}

/** A fresh search id: time and randomness, so ids sort by start and never collide in practice. */
export function newSearchId(): string {
  return `s${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0')}`
}

/** The recipe of a search's training rows; plain JSON. */
export interface DataReference {
  /**
   * What `backprop train --data` takes: a built-in dataset ('iris', 'digits', 'breast-cancer',
   * 'fashion-mnist'), a synthetic one ('moons', …), or a path every worker can read (a CSV file
   * or an IDX directory on a shared disk).
   */
  data: string
  /** CSV: the label column, by name or 0-based index (default: the last). */
  label?: string | number
  /** CSV: 'classification' (default) or 'regression'. */
  task?: Task
  /** Synthetic data: how many samples (default 1000). */
  samples?: number
  /** The seed of the synthetic data and of the test split (default 42, as the CLI's). */
  seed?: number
  /** The fraction held out as the test set before searching (default 0.2). */
  testSplit?: number
  /** Feature scaling fitted on the training rows (default 'standard'). */
  scale?: 'standard' | 'minmax' | 'none'
}

/** A reference with every default filled in: what goes into a job. */
export type ResolvedReference = Required<Omit<DataReference, 'label' | 'task'>> & Pick<DataReference, 'label' | 'task'>

const KEYS = ['data', 'label', 'task', 'samples', 'seed', 'testSplit', 'scale'] as const

export function checkReference(name: string, value: unknown): ResolvedReference {
  const o = checkOptions(name, value, KEYS)
  return {
    data: checkString(`${name} data`, o.data),
    ...(o.label !== undefined && { label: typeof o.label === 'number' ? checkInteger(`${name} label`, o.label, { min: 0 }) : checkString(`${name} label`, o.label) }),
    ...(o.task !== undefined && { task: checkOneOf(`${name} task`, o.task, TASKS) }),
    samples: optional(o.samples, 1000, (v) => checkInteger(`${name} samples`, v, { min: 1 })),
    seed: optional(o.seed, 42, (v) => checkInteger(`${name} seed`, v, { min: 0, max: 0xffffffff })),
    testSplit: optional(o.testSplit, 0.2, (v) => checkNumber(`${name} testSplit`, v, { min: 0, max: 1, minInclusive: false, maxInclusive: false })),
    scale: optional(o.scale, 'standard' as const, (v) => checkOneOf(`${name} scale`, v, ['standard', 'minmax', 'none'] as const)),
  }
}

