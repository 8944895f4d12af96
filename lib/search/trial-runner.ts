import type { Worker } from 'node:worker_threads'
import { moduleWorker } from '../module-worker.js'
import type { MedianPruner } from './median-pruner.js'
import type { SearchData } from './search-data.js'
import { runTrial, type BuildFunction, type TrialResult, type TrialTask } from './trial.js'
import type { FromWorker, ToWorker } from './worker-protocol.js'

/** Runs trials: in the calling thread, or on a pool of worker threads. */
export interface TrialRunner {
  /** How many trials it runs at once. */
  readonly concurrency: number
  run(task: TrialTask): Promise<TrialResult>
  /** Stops the trials in flight (they end as 'cancelled'). */
  abort(): void
  close(): Promise<void>
}

/** Runs trials one at a time in this thread (the only place a user's build function can run). */
export class InProcessRunner implements TrialRunner {
  readonly concurrency = 1
  private controller = new AbortController()

  constructor(
    private readonly data: SearchData,
    private readonly pruner: MedianPruner | null,
    private readonly build: BuildFunction | undefined,
  ) {}

  run(task: TrialTask): Promise<TrialResult> {
    const pruner = this.pruner
    return runTrial(task, this.data, {
      signal: this.controller.signal,
      ...(this.build && { build: this.build }),
      ...(pruner && { report: (epoch: number, value: number) => pruner.report(task.index, epoch, value) }),
    })
  }

  abort(): void {
    this.controller.abort()
  }

  async close(): Promise<void> {}
}

interface Slot {
  worker: Worker
  /** Set once the worker has loaded and taken the data. */
  ready: boolean
  current: { task: TrialTask; resolve: (result: TrialResult) => void } | null
}

/** Thrown when a worker thread cannot start at all (as opposed to a trial failing in one). */
export class WorkerStartError extends Error {
  override name = 'WorkerStartError'
}

/**
 * One model per worker thread, each worker running one trial at a time, so `size` workers use
 * `size` cores. A worker that dies fails its trial and is replaced.
 */
export class WorkerPool implements TrialRunner {
  readonly concurrency: number
  private readonly slots: Slot[] = []
  private readonly idle: Slot[] = []
  private readonly queue: { task: TrialTask; resolve: (result: TrialResult) => void; reject: (error: Error) => void }[] = []
  private startError: Error | null = null
  private closing = false

  constructor(
    size: number,
    private readonly data: SearchData,
    private readonly pruner: MedianPruner | null,
  ) {
    this.concurrency = size
    for (let i = 0; i < size; i++) this.spawn()
  }

  run(task: TrialTask): Promise<TrialResult> {
    return new Promise((resolve, reject) => {
      if (this.startError) return reject(this.startError)
      this.queue.push({ task, resolve, reject })
      this.dispatch()
    })
  }

  abort(): void {
    for (const slot of this.slots) if (slot.current) this.send(slot, { type: 'abort' })
  }

  async close(): Promise<void> {
    this.closing = true
    await Promise.all(this.slots.map((s) => s.worker.terminate()))
  }

  private spawn(): void {
    const worker = createWorker()
    const slot: Slot = { worker, ready: false, current: null }
    this.slots.push(slot)
    worker.on('message', (message: FromWorker) => this.receive(slot, message))
    worker.on('error', (error) => this.lost(slot, error))
    worker.on('exit', (code) => this.lost(slot, new Error(`the worker thread exited with code ${code}`)))
    this.send(slot, { type: 'init', data: this.data })
  }

  private send(slot: Slot, message: ToWorker): void {
    slot.worker.postMessage(message)
  }

  private receive(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true
        this.idle.push(slot)
        this.dispatch()
        return
      case 'report':
        if (this.pruner) {
          void this.pruner.report(message.index, message.epoch, message.value).then((prune) => this.send(slot, { type: 'verdict', id: message.id, prune }))
        } else {
          this.send(slot, { type: 'verdict', id: message.id, prune: false })
        }
        return
      case 'result': {
        const current = slot.current!
        slot.current = null
        this.idle.push(slot)
        current.resolve(message.result)
        this.dispatch()
        return
      }
    }
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const slot = this.idle.shift()!
      const job = this.queue.shift()!
      slot.current = { task: job.task, resolve: job.resolve }
      this.send(slot, { type: 'trial', task: job.task })
    }
  }

  /** A worker died: fail its trial and replace it; if it never started, the pool cannot work. */
  private lost(slot: Slot, error: Error): void {
    const index = this.slots.indexOf(slot)
    if (index < 0 || this.closing) return
    this.slots.splice(index, 1)
    const idleIndex = this.idle.indexOf(slot)
    if (idleIndex >= 0) this.idle.splice(idleIndex, 1)
    void slot.worker.terminate()
    if (!slot.ready) {
      this.startError = new WorkerStartError(`a search worker thread could not start: ${error.message}; pass workers: 0 to run the trials in this thread`, { cause: error })
      for (const job of this.queue.splice(0)) job.reject(this.startError)
      return
    }
    if (slot.current) {
      const { task, resolve } = slot.current
      resolve({
        index: task.index,
        params: task.params,
        seed: task.seed,
        status: 'failed',
        score: null,
        foldScores: [],
        epochsTrained: 0,
        bestEpoch: 0,
        fitTimeMs: 0,
        error: `WorkerError: the worker running this trial died: ${error.message}`,
      })
    }
    this.spawn()
  }
}

/**
 * A worker on ./worker.js (./worker.ts from the sources).
 *
 * BACKPROP_THREADS=1 states that each trial's engine should stay single-threaded. The native
 * kernels read the real process environment once per process, which a worker's `env` does not
 * change, so for them the cap must be set for the whole process (the CLI does; see README).
 */
function createWorker(): Worker {
  return moduleWorker(import.meta.url, 'worker', { env: { ...process.env, BACKPROP_THREADS: '1' } })
}
