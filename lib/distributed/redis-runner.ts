/**
 * The coordinator's side of a distributed search: a TrialRunner whose trials run on workers
 * (see worker.ts). Each trial is queued once under a job id made of the search id and the trial
 * index, with BullMQ's attempts and backoff for workers that die; its result is what the worker
 * returned. A coordinator restarted with the same search id finds the trials already finished
 * in Redis and takes their results instead of queueing them again.
 */
import { Queue, QueueEvents, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { MedianPruner } from '../search/median-pruner.js'
import type { TrialRunner } from '../search/trial-runner.js'
import type { TrialResult, TrialTask } from '../search/trial.js'
import { connect } from './redis-connection.js'
import { pruneDecisionKey, TRIAL_JOB, trialJobId, type TrialJob } from './trial-job.js'

export interface RedisRunnerOptions {
  url: string
  queue: string
  searchId: string
  /** Trials queued at once (the others wait here, so a time budget can still stop them). */
  inFlight: number
  /** Runs of a trial whose worker died before finishing it, in all (BullMQ attempts). */
  attempts: number
  /** Everything of a job but its task. */
  job: Omit<TrialJob, 'task'>
}

export class RedisRunner implements TrialRunner {
  readonly concurrency: number
  private readonly queue: Queue
  private readonly events: QueueEvents
  /** The queue's, the events', and one for pruning decisions. */
  private readonly connections: Redis[]
  private readonly abortController = new AbortController()

  constructor(
    private readonly options: RedisRunnerOptions,
    private readonly pruner: MedianPruner | null,
  ) {
    this.concurrency = options.inFlight
    this.connections = [connect(options.url), connect(options.url), connect(options.url)]
    const [queueConnection, eventsConnection] = this.connections
    this.queue = new Queue(options.queue, { connection: queueConnection! })
    this.events = new QueueEvents(options.queue, { connection: eventsConnection! })
    // Without listeners these would throw; ioredis keeps reconnecting meanwhile.
    this.queue.on('error', () => {})
    this.events.on('error', () => {})
    // Each trial waiting for its result listens on the events (BullMQ's waitUntilFinished).
    this.events.setMaxListeners(options.inFlight + 16)
    this.queue.setMaxListeners(options.inFlight + 16)
    if (pruner) this.events.on('progress', ({ jobId, data }) => void this.decide(jobId, data))
  }

  /** Connected and listening for results. */
  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()])
  }

  async run(task: TrialTask): Promise<TrialResult> {
    const id = trialJobId(this.options.searchId, task.index)
    const payload: TrialJob = { ...this.options.job, task }
    // Adding an id that exists returns the existing job: a restarted coordinator re-attaches.
    const job: Job = await this.queue.add(TRIAL_JOB, payload, {
      jobId: id,
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    })
    const signal = this.abortController.signal
    let onAbort = () => {}
    const cancelled = new Promise<TrialResult>((resolve) => {
      onAbort = () => resolve(this.unfinished(task, 'cancelled', null))
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([this.resultOf(job, task), cancelled])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private async resultOf(job: Job, task: TrialTask): Promise<TrialResult> {
    try {
      const result = (await job.waitUntilFinished(this.events)) as TrialResult
      if (result === null || typeof result !== 'object' || result.index !== task.index) {
        return this.unfinished(task, 'failed', `the worker returned ${JSON.stringify(result)?.slice(0, 200)} for trial ${task.index}`)
      }
      return result
    } catch (error) {
      // The job failed for good: its attempts ran out, or it could not run at all.
      return this.unfinished(task, 'failed', `the job failed on the workers: ${(error as Error).message}`)
    }
  }

  private unfinished(task: TrialTask, status: 'failed' | 'cancelled', error: string | null): TrialResult {
    return { index: task.index, params: task.params, seed: task.seed, status, score: null, foldScores: [], epochsTrained: 0, bestEpoch: 0, fitTimeMs: 0, error }
  }

  /** A worker reported a trial's score at an epoch: decide (in trial order) and answer it. */
  private async decide(jobId: string, data: unknown): Promise<void> {
    const prefix = `${this.options.searchId}-`
    if (!jobId.startsWith(prefix) || typeof data !== 'object' || data === null) return
    const index = Number(jobId.slice(prefix.length))
    const { epoch, value } = data as { epoch?: unknown; value?: unknown }
    if (!Number.isInteger(index) || typeof epoch !== 'number' || typeof value !== 'number') return
    const prune = await this.pruner!.report(index, epoch, value)
    const key = pruneDecisionKey(this.options.queue, this.options.searchId, index, epoch)
    const redis = this.connections[2]!
    await redis.multi().rpush(key, prune ? '1' : '0').expire(key, 3600).exec()
  }

  /** Stops waiting for the trials in flight (they end 'cancelled') and removes those not started. */
  abort(): void {
    this.abortController.abort()
    void this.removeWaiting()
  }

  private async removeWaiting(): Promise<void> {
    const prefix = `${this.options.searchId}-`
    for (const job of await this.queue.getJobs(['waiting', 'delayed', 'prioritized'])) {
      if (job.id?.startsWith(prefix)) await job.remove().catch(() => {})
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.queue.close(), this.events.close()])
    await Promise.allSettled(this.connections.map((c) => c.quit()))
  }
}
