/**
 * A worker: a long-running process (or part of one) that pulls search trials from a BullMQ
 * queue on Redis, runs each with the engine it has — through the same `runTrial` as a local
 * search — and returns the result. BullMQ's lock renewal is the heartbeat: a worker killed
 * mid-trial stops renewing, the job is found stalled and another worker runs it again, and its
 * deterministic job id makes sure it is counted once. A trial that throws is a 'failed' result
 * (runTrial never throws), so it is not retried; a job that cannot be run at all (malformed, or
 * data that differs from the coordinator's) fails at once with the reason, without retries.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import { prepareSearchData, type SearchData } from '../search/search-data.js'
import { runTrial, type TrialResult } from '../search/trial.js'
import { checkInteger, checkNumber, checkOptions, describe, optional } from '../validate.js'
import { describeReference, followReference, searchDataDigest } from './data-reference.js'
import { checkQueueName, checkRedisUrl, DEFAULT_QUEUE } from './distributed-options.js'
import { connect } from './redis-connection.js'
import { checkTrialJob, pruneDecisionKey, TRIAL_JOB, type TrialJob } from './trial-job.js'
import { checkPredictJob, PREDICT_JOB, runPredictJob, type PredictJob } from './predict-job.js'

export interface WorkerOptions {
  /** The Redis server: redis://[:password@]host:port[/db], or rediss:// for TLS. Required. */
  connection: string
  /** The queue to pull from (default 'backprop'); the coordinator's `queue`. */
  queue?: string
  /** Trials run at once (default 1). On the native engine each trains on the libuv pool. */
  concurrency?: number
  /** Threads each trial's native model may use (default: what the coordinator asked, else 1). */
  threadsPerTrial?: number
  /**
   * How long a job stays locked to this worker without a renewal (default 30 s): a killed
   * worker's trial is retried elsewhere after about this long.
   */
  lockDurationMs?: number
  /** How often stalled jobs are looked for (default 30 s). */
  stalledIntervalMs?: number
  /** Called with a line per event (a trial started, finished, failed); default: nothing. */
  log?: (line: string) => void
}

export interface BackpropWorker {
  /** Trials and prediction chunks this worker has finished. */
  readonly completed: number
  /** Resolves once connected to Redis and pulling jobs. */
  ready(): Promise<void>
  /**
   * Stops pulling jobs and waits for the trials in flight to finish; with `force`, stops at once
   * and leaves them to be retried by another worker (their lock lapses).
   */
  close(options?: { force?: boolean }): Promise<void>
}

/** The rows of the last few searches this worker served, loaded once each. */
const CACHED_SEARCHES = 4

/** How long a trial waits for the coordinator's pruning decision before training on. */
const DECISION_TIMEOUT_S = 60

export function startWorker(options: WorkerOptions): BackpropWorker {
  const o = checkOptions('startWorker options', options, ['connection', 'queue', 'concurrency', 'threadsPerTrial', 'lockDurationMs', 'stalledIntervalMs', 'log'])
  const url = checkRedisUrl('startWorker connection', o.connection)
  const queue = optional(o.queue, DEFAULT_QUEUE, (v) => checkQueueName('startWorker queue', v))
  const concurrency = optional(o.concurrency, 1, (v) => checkInteger('startWorker concurrency', v, { min: 1, max: 256 }))
  const threadsPerTrial = optional(o.threadsPerTrial, null as number | null, (v) => checkInteger('startWorker threadsPerTrial', v, { min: 1 }))
  const lockDuration = optional(o.lockDurationMs, 30_000, (v) => checkNumber('startWorker lockDurationMs', v, { min: 100 }))
  const stalledInterval = optional(o.stalledIntervalMs, 30_000, (v) => checkNumber('startWorker stalledIntervalMs', v, { min: 100 }))
  const log = optional(o.log, () => {}, (v) => {
    if (typeof v !== 'function') throw new TypeError(`startWorker log must be a function (line) => void, got ${describe(v)}`)
    return v as (line: string) => void
  })

  const searches = new Map<string, Promise<{ data: SearchData; digest: string }>>()
  /** The rows a job names, loaded once per search (and checked against its digest each time). */
  async function rowsOf(job: TrialJob): Promise<SearchData> {
    const key = JSON.stringify([job.data, job.loss, job.validation, job.searchSeed])
    let entry = searches.get(key)
    if (!entry) {
      entry = (async () => {
        const { x, y } = await followReference(job.data, job.loss)
        const data = prepareSearchData('the referenced data', x, y, job.loss, job.validation, job.searchSeed)
        return { data, digest: searchDataDigest(data) }
      })()
      searches.set(key, entry)
      entry.catch(() => searches.delete(key))
      if (searches.size > CACHED_SEARCHES) searches.delete(searches.keys().next().value!)
    }
    const { data, digest } = await entry
    if (digest !== job.digest) {
      throw new UnrecoverableError(`the data this worker reads for ${describeReference(job.data)} is not the coordinator's (SHA-256 ${digest.slice(0, 12)}… here, ${job.digest.slice(0, 12)}… there): every worker must read the same file`)
    }
    return data
  }

  const blocking: Redis[] = []
  async function runJob(job: Job): Promise<TrialResult | { text: string }> {
    if (job.name === PREDICT_JOB) return predictChunk(job)
    if (job.name !== TRIAL_JOB) throw new UnrecoverableError(`unknown job kind '${String(job.name).slice(0, 64)}'; this worker runs '${TRIAL_JOB}' and '${PREDICT_JOB}' jobs`)
    let trial: TrialJob
    try {
      trial = checkTrialJob(job.data)
    } catch (error) {
      throw new UnrecoverableError(`a malformed trial job: ${(error as Error).message}`)
    }
    let data: SearchData
    try {
      data = await rowsOf(trial)
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error
      throw new UnrecoverableError(`cannot load ${describeReference(trial.data)}: ${(error as Error).message}`)
    }
    const task = { ...trial.task, threads: threadsPerTrial ?? trial.task.threads ?? 1 }
    log(`trial ${trial.searchId}/${task.index} started (attempt ${job.attemptsMade + 1})`)
    // Pruning: report each epoch's score, then wait for the coordinator's decision (its median
    // pruner decides in trial order, as in a local search). A blocking pop needs its own connection.
    const report = async (epoch: number, value: number): Promise<boolean> => {
      await job.updateProgress({ epoch, value })
      const conn = blocking.pop() ?? connect(url)
      try {
        const answer = await conn.blpop(pruneDecisionKey(queue, trial.searchId, task.index, epoch), DECISION_TIMEOUT_S)
        return answer?.[1] === '1'
      } finally {
        blocking.push(conn)
      }
    }
    const result = await runTrial(task, data, { report })
    log(`trial ${trial.searchId}/${task.index} ${result.status}${result.score !== null ? ` (score ${result.score})` : ''}${result.error ? `: ${result.error}` : ''}`)
    state.completed++
    return result
  }

  async function predictChunk(job: Job): Promise<{ text: string }> {
    let chunk: PredictJob
    try {
      chunk = checkPredictJob(job.data)
    } catch (error) {
      throw new UnrecoverableError(`a malformed predict job: ${(error as Error).message}`)
    }
    log(`chunk ${chunk.runId}/${chunk.index} (${chunk.rows} rows) started`)
    try {
      const text = await runPredictJob(chunk, (message) => new UnrecoverableError(message))
      state.completed++
      return { text }
    } catch (error) {
      // A file that cannot be read the same way twice: fail the chunk now, not after retries.
      if (error instanceof UnrecoverableError) throw error
      throw new UnrecoverableError(`chunk ${chunk.index}: ${(error as Error).message}`)
    }
  }

  const state = { completed: 0 }
  const connection = connect(url)
  const worker = new Worker(queue, runJob, { connection, concurrency, lockDuration, stalledInterval, autorun: true })
  // Without a listener an error event would throw; a lost connection is retried by ioredis.
  worker.on('error', (error) => log(`redis: ${error.message}`))
  worker.on('failed', (job, error) => log(`job ${job?.id ?? '?'} failed: ${error.message}`))
  return {
    get completed() {
      return state.completed
    },
    ready: () => worker.waitUntilReady().then(() => undefined),
    async close(closeOptions = {}) {
      await worker.close(closeOptions.force === true)
      await Promise.all([connection, ...blocking.splice(0)].map((c) => c.quit().catch(() => c.disconnect())))
    },
  }
}
