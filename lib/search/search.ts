import { availableParallelism } from 'node:os'
import { BACKENDS, type Backend } from '../engine/select.js'
import type { Features, Targets } from '../inputs.js'
import type { Sequential } from '../model/sequential.js'
import { LOSSES, METRICS, type LossName } from '../plan.js'
import { randomSeed, seedState } from '../rng.js'
import { checkInteger, checkNumber, checkOneOf, checkOptions, describe, optional } from '../validate.js'
import { MedianPruner } from './median-pruner.js'
import { progressBar, type SearchProgress } from './progress.js'
import { prepareSearchData, type SearchData, type Validation } from './search-data.js'
import { SearchResult, rankTrials, type SearchStopReason } from './search-result.js'
import { SpaceSampler, checkSpace, gridPoint, gridSize, type SearchSpace, type TrialParams } from './space.js'
import { trainOnRows, type BuildFunction, type ScoreMetric, type TrialResult, type TrialTask } from './trial.js'
import { InProcessRunner, WorkerPool, type TrialRunner } from './trial-runner.js'
import { checkQueueName, checkRedisUrl, checkReference, checkSearchId, DEFAULT_QUEUE, newSearchId, type DataReference, type ResolvedReference } from '../distributed/distributed-options.js'
import type { JobValidation } from '../distributed/trial-job.js'

export interface SearchOptions {
  /** The loss every trial minimises (the output layer follows it). Required. */
  loss: LossName
  /** What scores a trial on the validation rows: 'loss' or a metric (default 'accuracy' for classification, 'loss' for MSE). */
  metric?: ScoreMetric
  /** Whether a higher or lower score is better (default 'max' for accuracy, 'min' otherwise). */
  direction?: 'min' | 'max'
  /** Hold out this fraction of the samples, chosen at random from the seed (default 0.2). */
  validationSplit?: number
  /** Score on these samples instead. */
  validationData?: [Features, Targets]
  /** k-fold cross-validation: each trial trains k models and scores their mean. */
  folds?: number
  /** Seed of the search: the same seed gives the same trials, splits and scores (default: random, recorded). */
  seed?: number
  /** Worker threads running trials in parallel (default: the available cores; 0 runs them in this thread). */
  workers?: number
  /** Engine of the trials' models (default 'auto'). */
  backend?: Backend
  /**
   * Threads each trial's native model may use (default: 1 with workers, so trials running side
   * by side do not fight over the cores; all of them without workers).
   */
  threadsPerTrial?: number
  /** Start no trial after this many milliseconds (the trials then running finish). */
  timeBudgetMs?: number
  /** Early stopping inside each trial on the validation score: a patience, or { patience, minDelta }. Off by default. */
  earlyStopping?: number | { patience: number; minDelta?: number } | false
  /** Median pruning of clearly bad trials from epoch `afterEpochs` on (off by default). */
  pruning?: { afterEpochs: number; minTrials?: number } | false
  /**
   * Refit the best parameters: true (the default) trains them as the trial did (on all the
   * data when cross-validating); 'all' trains on training and validation data together for the
   * best trial's epoch count; false skips it.
   */
  refit?: boolean | 'all'
  /** Builds the model from a trial's parameters instead of the model spec (runs in this thread only). */
  build?: BuildFunction
  /** true draws a progress bar on stderr; a function is called after each trial. */
  progress?: boolean | ((event: SearchProgress) => void)
  /** Cancels the search: trials in flight end as 'cancelled' and the search resolves. */
  signal?: AbortSignal
  /**
   * Runs the trials on worker processes through Redis (BullMQ) instead of worker threads: see
   * `DistributedOptions` and docs/distributed.md. Same seed, same trials and scores.
   */
  distributed?: DistributedOptions
}

/** Where a distributed search's trials go, and how the workers find its data. */
export interface DistributedOptions {
  /** The Redis server the workers pull from: redis://[:password@]host:port[/db] or rediss://. */
  redis: string
  /** The queue name (default 'backprop'); the workers' `queue`. */
  queue?: string
  /**
   * Names the search in Redis (default: a new random id). Give the id of a search that was
   * interrupted to continue it: trials it finished are taken from Redis, not run again.
   */
  searchId?: string
  /**
   * How the workers make the search's rows: the recipe x and y came from (a dataset name or a
   * shared path, and the split and scaling). Workers check they made the same rows (SHA-256).
   */
  data: DataReference
  /** Trials queued at once (default 64). */
  inFlight?: number
  /** Runs of a trial whose worker died before finishing it, in all (default 3). */
  attempts?: number
}

export interface RandomSearchOptions extends SearchOptions {
  /** Trials to draw (default 10, or unlimited when only timeBudgetMs is given). */
  trials?: number
}

const SEARCH_OPTIONS = [
  'loss', 'metric', 'direction', 'validationSplit', 'validationData', 'folds', 'seed', 'workers',
  'backend', 'threadsPerTrial', 'timeBudgetMs', 'earlyStopping', 'pruning', 'refit', 'build', 'progress', 'signal', 'distributed',
]

/**
 * Tries every combination of the listed values (a space, or a list of spaces tried in turn)
 * and returns the trials ranked by validation score, with the best model refitted.
 *
 *   const result = await gridSearch(x, y, { layers: [[32], [64, 32]], learningRate: [1e-3, 1e-2], epochs: [20] },
 *     { loss: 'sparseCategoricalCrossEntropy', earlyStopping: 3 })
 */
export function gridSearch(x: Features, y: Targets, space: SearchSpace | SearchSpace[], options: SearchOptions): Promise<SearchResult> {
  const o = checkOptions('gridSearch options', options, SEARCH_OPTIONS)
  const checked = checkSpace('gridSearch space', space, 'grid', o.build !== undefined)
  return runSearch('gridSearch', 'grid', x, y, o, gridSize(checked), (i) => gridPoint(checked, i))
}

/**
 * Draws `trials` parameter sets from the space (lists are uniform choices; uniform,
 * logUniform and intUniform are distributions) and returns them ranked by validation score,
 * with the best model refitted.
 */
export function randomSearch(x: Features, y: Targets, space: SearchSpace | SearchSpace[], options: RandomSearchOptions): Promise<SearchResult> {
  const o = checkOptions('randomSearch options', options, [...SEARCH_OPTIONS, 'trials'])
  const checked = checkSpace('randomSearch space', space, 'random', o.build !== undefined)
  const trials = optional(o.trials, o.timeBudgetMs !== undefined ? Infinity : 10, (v) => checkInteger('randomSearch trials', v, { min: 1 }))
  // Drawn lazily but strictly in index order, so trial i's parameters never depend on timing.
  let sampler: SpaceSampler | null = null
  return runSearch('randomSearch', 'random', x, y, o, trials, (_, seed) => (sampler ??= new SpaceSampler(checked, seed)).next())
}

/** The model seed of trial `index`: a hash of the search seed and the index. */
export function trialSeed(seed: number, index: number): number {
  return seedState((seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0, 0)[0]!
}

async function runSearch(
  name: string,
  method: 'grid' | 'random',
  x: unknown,
  y: unknown,
  o: Record<string, unknown>,
  total: number,
  paramsAt: (index: number, seed: number) => TrialParams,
): Promise<SearchResult> {
  const started = performance.now()
  const settings = checkSettings(name, o)
  const { loss, metric, direction, seed, signal } = settings
  const data = prepareSearchData(name, x, y, loss, settings.validation, seed)
  const pruner = settings.pruning ? new MedianPruner(direction, settings.pruning.minTrials) : null
  const workers = Math.min(settings.workers, total)
  const runner: TrialRunner = settings.distributed
    ? await distributedRunner(settings, data, pruner)
    : workers === 0
      ? new InProcessRunner(data, pruner, settings.build)
      : new WorkerPool(workers, data, pruner)
  const deadline = settings.timeBudgetMs === null ? Infinity : started + settings.timeBudgetMs
  const results: TrialResult[] = []
  const report = settings.progress
  const onAbort = () => {
    runner.abort()
    pruner?.close()
  }
  signal?.addEventListener('abort', onAbort)
  let next = 0
  // A worker pool that cannot start, or a progress callback that throws, ends the search.
  let fatal: { error: unknown } | null = null
  try {
    const running = new Set<Promise<void>>()
    const canStart = () => fatal === null && next < total && performance.now() < deadline && !signal?.aborted
    while (true) {
      while (running.size < runner.concurrency && canStart()) {
        const task = trialTask(settings, next, paramsAt(next, seed))
        next++
        const done: Promise<void> = runner
          .run(task)
          .then((result) => {
            pruner?.finish(result.index)
            results.push(result)
            report?.({
              trial: result,
              done: results.length,
              total: Number.isFinite(total) ? total : null,
              running: running.size - 1,
              best: rankTrials(results, direction).find((t) => t.status === 'completed') ?? null,
              elapsedMs: performance.now() - started,
            })
          })
          .catch((error: unknown) => {
            if (fatal === null) {
              fatal = { error }
              onAbort()
            }
          })
          .finally(() => running.delete(done))
        running.add(done)
      }
      if (running.size === 0) break
      await Promise.race(running)
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await runner.close()
  }
  if (fatal !== null) throw (fatal as { error: unknown }).error
  const stopReason: SearchStopReason = signal?.aborted ? 'aborted' : next < total ? 'timeBudget' : 'completed'
  const best = rankTrials(results, direction).find((t) => t.status === 'completed')
  const model = best && settings.refit !== false && stopReason !== 'aborted' ? await refit(settings, data, best) : null
  return new SearchResult(method, seed, metric, direction, results, stopReason, performance.now() - started, model)
}

/** The runner of a distributed search, connected (node-only modules, loaded when asked for). */
async function distributedRunner(settings: Settings, data: SearchData, pruner: MedianPruner | null): Promise<TrialRunner> {
  const d = settings.distributed!
  const { RedisRunner } = await import('../distributed/redis-runner.js')
  const { searchDataDigest } = await import('../distributed/data-reference.js')
  const validation = settings.validation as JobValidation
  const runner = new RedisRunner(
    {
      url: d.redis,
      queue: d.queue,
      searchId: d.searchId,
      inFlight: d.inFlight,
      attempts: d.attempts,
      job: { searchId: d.searchId, data: d.data, digest: searchDataDigest(data), loss: settings.loss, validation, searchSeed: settings.seed },
    },
    pruner,
  )
  await runner.ready()
  return runner
}

interface Settings {
  loss: LossName
  metric: ScoreMetric
  direction: 'min' | 'max'
  validation: Validation
  seed: number
  workers: number
  backend: Backend
  threadsPerTrial: number | null
  timeBudgetMs: number | null
  earlyStopping: { patience: number; minDelta: number } | null
  pruning: { afterEpochs: number; minTrials: number } | null
  refit: boolean | 'all'
  build: BuildFunction | undefined
  progress: ((event: SearchProgress) => void) | null
  signal: AbortSignal | undefined
  distributed: ResolvedDistributed | null
}

type ResolvedDistributed = Required<Omit<DistributedOptions, 'data'>> & { data: ResolvedReference }

function checkSettings(name: string, o: Record<string, unknown>): Settings {
  if (o.loss === undefined) throw new TypeError(`${name} options need a loss: one of ${LOSSES.map((l) => `'${l}'`).join(', ')}`)
  const loss = checkOneOf(`${name} loss`, o.loss, LOSSES)
  const metric = optional(o.metric, loss === 'meanSquaredError' ? 'loss' : 'accuracy', (v) => checkOneOf(`${name} metric`, v, ['loss', ...METRICS] as const))
  if (loss === 'sparseCategoricalCrossEntropy' && metric !== 'loss' && metric !== 'accuracy') {
    throw new TypeError(`${name} metric '${metric}' does not apply to class-index targets (sparseCategoricalCrossEntropy); use 'accuracy' or 'loss'`)
  }
  const direction = optional(o.direction, metric === 'accuracy' ? 'max' : 'min', (v) => checkOneOf(`${name} direction`, v, ['min', 'max'] as const))
  const given = ['validationSplit', 'validationData', 'folds'].filter((k) => o[k] !== undefined)
  if (given.length > 1) throw new TypeError(`${name} takes one of validationSplit, validationData and folds; got ${given.join(' and ')}`)
  let validation: Validation = { kind: 'split', fraction: 0.2 }
  if (o.validationSplit !== undefined) {
    validation = { kind: 'split', fraction: checkNumber(`${name} validationSplit`, o.validationSplit, { min: 0, max: 1, minInclusive: false, maxInclusive: false }) }
  } else if (o.validationData !== undefined) {
    if (!Array.isArray(o.validationData) || o.validationData.length !== 2) throw new TypeError(`${name} validationData must be [x, y], got ${describe(o.validationData)}`)
    validation = { kind: 'data', x: o.validationData[0], y: o.validationData[1] }
  } else if (o.folds !== undefined) {
    validation = { kind: 'folds', k: checkInteger(`${name} folds`, o.folds, { min: 2 }) }
  }
  const build = optional(o.build, undefined, (v) => {
    if (typeof v !== 'function') throw new TypeError(`${name} build must be a function (params, context) => compiled Sequential, got ${describe(v)}`)
    return v as BuildFunction
  })
  const workers = optional(o.workers, build ? 0 : availableParallelism(), (v) => checkInteger(`${name} workers`, v, { min: 0 }))
  if (build && workers > 0) {
    throw new TypeError(`${name} build is a function, which cannot be sent to worker threads: pass workers: 0, or describe the model with the spec keys (layers, units, …) to run trials in parallel`)
  }
  const earlyStopping = optional(o.earlyStopping, null, (v) => {
    if (v === false) return null
    if (typeof v === 'number') return { patience: checkInteger(`${name} earlyStopping`, v, { min: 0 }), minDelta: 0 }
    const e = checkOptions(`${name} earlyStopping`, v, ['patience', 'minDelta'])
    return {
      patience: checkInteger(`${name} earlyStopping patience`, e.patience, { min: 0 }),
      minDelta: optional(e.minDelta, 0, (d) => checkNumber(`${name} earlyStopping minDelta`, d, { min: 0 })),
    }
  })
  const pruning = optional(o.pruning, null, (v) => {
    if (v === false) return null
    const p = checkOptions(`${name} pruning`, v, ['afterEpochs', 'minTrials'])
    return {
      afterEpochs: checkInteger(`${name} pruning afterEpochs`, p.afterEpochs, { min: 1 }),
      minTrials: optional(p.minTrials, 5, (m) => checkInteger(`${name} pruning minTrials`, m, { min: 1 })),
    }
  })
  const progress = optional(o.progress, null, (v) => {
    if (v === false) return null
    if (v === true) return progressBar()
    if (typeof v !== 'function') throw new TypeError(`${name} progress must be true, false or a function (event) => void, got ${describe(v)}`)
    return v as (event: SearchProgress) => void
  })
  const distributed = optional(o.distributed, null, (v): ResolvedDistributed => {
    const d = checkOptions(`${name} distributed`, v, ['redis', 'queue', 'searchId', 'data', 'inFlight', 'attempts'])
    if (build) throw new TypeError(`${name} build is a function, which cannot be sent to other machines: describe the model with the spec keys (layers, units, …) to distribute the search`)
    if (validation.kind === 'data') throw new TypeError(`${name} validationData cannot be distributed (the workers read the data by reference): use validationSplit or folds`)
    return {
      redis: checkRedisUrl(`${name} distributed redis`, d.redis),
      queue: optional(d.queue, DEFAULT_QUEUE, (q) => checkQueueName(`${name} distributed queue`, q)),
      searchId: optional(d.searchId, newSearchId(), (s) => checkSearchId(`${name} distributed searchId`, s)),
      data: checkReference(`${name} distributed data`, d.data),
      inFlight: optional(d.inFlight, 64, (n) => checkInteger(`${name} distributed inFlight`, n, { min: 1 })),
      attempts: optional(d.attempts, 3, (n) => checkInteger(`${name} distributed attempts`, n, { min: 1, max: 100 })),
    }
  })
  const signal = optional(o.signal, undefined, (v) => {
    if (!(v instanceof AbortSignal)) throw new TypeError(`${name} signal must be an AbortSignal, got ${describe(v)}`)
    return v
  })
  return {
    loss,
    metric,
    direction,
    validation,
    seed: optional(o.seed, randomSeed(), (v) => checkInteger(`${name} seed`, v, { min: 0, max: 0xffffffff })),
    workers,
    backend: optional(o.backend, 'auto' as Backend, (v) => checkOneOf(`${name} backend`, v, BACKENDS)),
    threadsPerTrial: optional(o.threadsPerTrial, workers > 0 ? 1 : null, (v) => checkInteger(`${name} threadsPerTrial`, v, { min: 1 })),
    timeBudgetMs: optional(o.timeBudgetMs, null, (v) => checkNumber(`${name} timeBudgetMs`, v, { min: 0, minInclusive: false })),
    earlyStopping,
    pruning,
    refit: optional(o.refit, true as boolean | 'all', (v) => {
      if (typeof v === 'boolean' || v === 'all') return v
      throw new TypeError(`${name} refit must be true, false or 'all', got ${describe(v)}`)
    }),
    build,
    progress,
    signal,
    distributed,
  }
}

function trialTask(settings: Settings, index: number, params: TrialParams): TrialTask {
  return {
    index,
    params,
    seed: trialSeed(settings.seed, index),
    loss: settings.loss,
    metric: settings.metric,
    direction: settings.direction,
    backend: settings.backend,
    threads: settings.threadsPerTrial,
    earlyStopping: settings.earlyStopping,
    pruneAfterEpochs: settings.pruning?.afterEpochs ?? null,
  }
}

/**
 * The best parameters trained again, in this thread, with the best trial's seed: on the same
 * rows as the trial (the same model, as training is deterministic), or on every row for the
 * epochs the trial needed when cross-validating or when asked for 'all'.
 */
async function refit(settings: Settings, data: SearchData, best: TrialResult): Promise<Sequential> {
  // The refit model is the search's result: it may use every thread, whatever the trials had.
  const task = { ...trialTask(settings, best.index, best.params), threads: null }
  const options = settings.build ? { build: settings.build } : {}
  if (settings.refit === true && data.folds.length === 1) {
    const fold = data.folds[0]!
    return (await trainOnRows(task, data, fold.train, fold.validation, options)).model
  }
  const every = Uint32Array.from({ length: data.rows }, (_, i) => i)
  const epochs = Math.max(1, Math.round(best.bestEpoch))
  return (await trainOnRows(task, data, every, null, { ...options, epochs })).model
}

