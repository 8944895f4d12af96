/**
 * A search trial as a BullMQ job: plain JSON the coordinator writes and every worker checks
 * before acting on it (a job comes from the network: a wrong type, a huge value or an unknown
 * key fails that job with an error, never the worker). The job says which rows to use by
 * reference (see data-reference.ts) and how to cut them, so a worker builds the same
 * SearchData as the coordinator, and the digest proves it did.
 */
import { BACKENDS } from '../engine/select.js'
import { LOSSES, METRICS, type LossName } from '../plan.js'
import type { TrialTask } from '../search/trial.js'
import { checkInteger, checkNumber, checkOneOf, checkOptions, checkString, describe, isPlainObject } from '../validate.js'
import { checkReference, checkSearchId, type ResolvedReference } from './distributed-options.js'

/** The job name of a trial in the queue. */
export const TRIAL_JOB = 'trial'

/** How the rows are cut: a held-out fraction or k folds, shuffled from the search seed. */
export type JobValidation = { kind: 'split'; fraction: number } | { kind: 'folds'; k: number }

export interface TrialJob {
  /** The search this trial belongs to: job ids and pruning keys start with it. */
  searchId: string
  data: ResolvedReference
  /** SHA-256 of the coordinator's SearchData (searchDataDigest). */
  digest: string
  loss: LossName
  validation: JobValidation
  /** The search seed: it shuffles the rows before they are cut. */
  searchSeed: number
  task: TrialTask
}

/** The job id of trial `index` of a search: the same trial is only ever queued once. */
export function trialJobId(searchId: string, index: number): string {
  return `${searchId}-${index}`
}

/** The largest trial parameters a job may carry, as JSON: a model spec is a few hundred bytes. */
const MAX_PARAMS_JSON = 64 * 1024

export function checkTrialJob(value: unknown): TrialJob {
  const o = checkOptions('trial job', value, ['searchId', 'data', 'digest', 'loss', 'validation', 'searchSeed', 'task'])
  const digest = checkString('trial job digest', o.digest, 64)
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new TypeError(`trial job digest must be 64 hex digits, got '${digest}'`)
  return {
    searchId: checkSearchId('trial job searchId', o.searchId),
    data: checkReference('trial job data', o.data),
    digest,
    loss: checkOneOf('trial job loss', o.loss, LOSSES),
    validation: checkValidation(o.validation),
    searchSeed: checkInteger('trial job searchSeed', o.searchSeed, { min: 0, max: 0xffffffff }),
    task: checkTask(o.task),
  }
}

function checkValidation(value: unknown): JobValidation {
  if (isPlainObject(value) && value.kind === 'split') {
    const o = checkOptions('trial job validation', value, ['kind', 'fraction'])
    return { kind: 'split', fraction: checkNumber('trial job validation fraction', o.fraction, { min: 0, max: 1, minInclusive: false, maxInclusive: false }) }
  }
  if (isPlainObject(value) && value.kind === 'folds') {
    const o = checkOptions('trial job validation', value, ['kind', 'k'])
    return { kind: 'folds', k: checkInteger('trial job validation k', o.k, { min: 2, max: 1000 }) }
  }
  throw new TypeError(`trial job validation must be { kind: 'split', fraction } or { kind: 'folds', k }, got ${describe(value)}`)
}

function checkTask(value: unknown): TrialTask {
  const o = checkOptions('trial job task', value, ['index', 'params', 'seed', 'loss', 'metric', 'direction', 'backend', 'threads', 'earlyStopping', 'pruneAfterEpochs'])
  if (!isPlainObject(o.params)) throw new TypeError(`trial job task params must be an object, got ${describe(o.params)}`)
  if (JSON.stringify(o.params).length > MAX_PARAMS_JSON) throw new RangeError(`trial job task params are larger than ${MAX_PARAMS_JSON} bytes of JSON`)
  const nullable = <T>(v: unknown, check: (v: unknown) => T): T | null => (v === null ? null : check(v))
  return {
    index: checkInteger('trial job task index', o.index, { min: 0 }),
    // Checked as model-spec keys when the trial builds its model; a bad key fails the trial.
    params: o.params as TrialTask['params'],
    seed: checkInteger('trial job task seed', o.seed, { min: 0, max: 0xffffffff }),
    loss: checkOneOf('trial job task loss', o.loss, LOSSES),
    metric: checkOneOf('trial job task metric', o.metric, ['loss', ...METRICS] as const),
    direction: checkOneOf('trial job task direction', o.direction, ['min', 'max'] as const),
    backend: checkOneOf('trial job task backend', o.backend, BACKENDS),
    threads: nullable(o.threads, (v) => checkInteger('trial job task threads', v, { min: 1, max: 1024 })),
    earlyStopping: nullable(o.earlyStopping, (v) => {
      const e = checkOptions('trial job task earlyStopping', v, ['patience', 'minDelta'])
      return { patience: checkInteger('trial job task earlyStopping patience', e.patience, { min: 0 }), minDelta: checkNumber('trial job task earlyStopping minDelta', e.minDelta, { min: 0 }) }
    }),
    pruneAfterEpochs: nullable(o.pruneAfterEpochs, (v) => checkInteger('trial job task pruneAfterEpochs', v, { min: 1 })),
  }
}

/** The Redis list a worker waits on for the pruning decision of trial `index` at `epoch`. */
export function pruneDecisionKey(queue: string, searchId: string, index: number, epoch: number): string {
  return `backprop:${queue}:${searchId}:prune:${index}:${epoch}`
}
