import type { Backend } from '../engine/select.js'
import type { Sequential } from '../model/sequential.js'
import type { LossName, MetricName } from '../plan.js'
import { EarlyStopping, type Callback, type CallbackModel } from '../training/callbacks.js'
import type { History } from '../training/history.js'
import { validationKey } from '../training/history.js'
import { buildModel, scheduleCallback } from '../model/build-model.js'
import { resolveSpec, type ResolvedSpec } from '../model/model-spec.js'
import { foldData, type SearchData } from './search-data.js'
import type { TrialParams } from './space.js'

/** What scores a trial: 'loss' or a compiled metric, on the validation rows. */
export type ScoreMetric = 'loss' | MetricName

/** A trial as plain data, as it is sent to a worker. */
export interface TrialTask {
  index: number
  params: TrialParams
  /** The model's seed: derived from the search seed and the trial index. */
  seed: number
  loss: LossName
  metric: ScoreMetric
  direction: 'min' | 'max'
  backend: Backend
  /** Threads the trial's native model may use (null: all). */
  threads: number | null
  /** Stop a fit when the validation score has not improved for `patience` epochs. */
  earlyStopping: { patience: number; minDelta: number } | null
  /** Report the validation score from epoch `afterEpochs` on (first fold) for pruning. */
  pruneAfterEpochs: number | null
}

export type TrialStatus = 'completed' | 'pruned' | 'failed' | 'cancelled'

/** One trial's outcome. */
export interface TrialResult {
  /** Position in the order the search generated trials (grid order, or draw order). */
  index: number
  params: TrialParams
  seed: number
  status: TrialStatus
  /**
   * The mean validation score over the folds (completed trials); for a pruned trial, its best
   * score when it was pruned; null when failed or cancelled.
   */
  score: number | null
  /** The score of each fold (one, unless cross-validating). */
  foldScores: number[]
  /** Epochs trained (early stopping or pruning may end a trial early), averaged over folds. */
  epochsTrained: number
  /** Epochs up to the best validation score (what early stopping restored), averaged over folds. */
  bestEpoch: number
  /** Wall time of the trial's training and scoring. */
  fitTimeMs: number
  /** Why it failed (the error's name and message), or null. */
  error: string | null
}

/** Context a user's build function gets besides the trial's parameters. */
export interface BuildContext {
  inputSize: number
  outputSize: number
  loss: LossName
  /** The trial's seed: pass it to `new Sequential({ seed })` for reproducible trials. */
  seed: number
  /** Metrics the model must compile (the score's metric, unless it is the loss). */
  metrics: MetricName[]
}

/** A user's model builder (in-process searches): returns a compiled model for the parameters. */
export type BuildFunction = (params: TrialParams, context: BuildContext) => Sequential

export interface TrialHooks {
  /** Called after each reported epoch; resolves to true when the trial should be pruned. */
  report?: (epoch: number, value: number) => Promise<boolean>
  signal?: AbortSignal
  build?: BuildFunction
}

/** Trains one model on one fold: the building block of trials and of the final refit. */
export async function trainOnRows(
  task: TrialTask,
  data: SearchData,
  train: Uint32Array,
  validation: Uint32Array | null,
  options: { build?: BuildFunction; epochs?: number; signal?: AbortSignal; callbacks?: Callback[] },
): Promise<{ model: Sequential; history: History; spec: ResolvedSpec; earlyStopping: EarlyStopping | null; held: ReturnType<typeof foldData> | null }> {
  const spec = resolveSpec('trial params', options.build ? paramsForBuild(task.params) : task.params)
  const metrics: MetricName[] = task.metric === 'loss' ? [] : [task.metric]
  const context = { inputSize: data.inputSize, outputSize: data.outputSize, loss: task.loss, seed: task.seed, metrics }
  const model = options.build ? checkBuilt(options.build(task.params, context), context) : buildModel(spec, { ...context, backend: task.backend, threads: task.threads })
  const callbacks: Callback[] = []
  const schedule = scheduleCallback(spec, model, validation !== null)
  if (schedule) callbacks.push(schedule)
  const monitor = task.metric === 'loss' ? 'valLoss' : validationKey(task.metric)
  const earlyStopping =
    validation !== null && task.earlyStopping
      ? new EarlyStopping({ monitor, mode: task.direction, patience: task.earlyStopping.patience, minDelta: task.earlyStopping.minDelta, restoreBestWeights: true })
      : null
  if (earlyStopping) callbacks.push(earlyStopping)
  if (options.callbacks) callbacks.push(...options.callbacks)
  const fold = foldData(data, train)
  const held = validation && foldData(data, validation)
  const history = await model.fit(fold.x, fold.y, {
    epochs: options.epochs ?? spec.epochs,
    batchSize: spec.batchSize,
    ...(held && { validationData: [held.x, held.y] }),
    callbacks,
    ...(options.signal && { signal: options.signal }),
  })
  return { model, history, spec, earlyStopping, held }
}

/**
 * Runs a trial: one model per fold, each scored on its validation rows after early stopping
 * restored its best weights. Never throws: an error (a diverged fit, a bad build) makes the
 * trial 'failed' with the error recorded.
 */
export async function runTrial(task: TrialTask, data: SearchData, hooks: TrialHooks = {}): Promise<TrialResult> {
  const started = performance.now()
  const result: TrialResult = {
    index: task.index,
    params: task.params,
    seed: task.seed,
    status: 'completed',
    score: null,
    foldScores: [],
    epochsTrained: 0,
    bestEpoch: 0,
    fitTimeMs: 0,
    error: null,
  }
  const monitor = task.metric === 'loss' ? 'valLoss' : validationKey(task.metric)
  const better = (a: number, b: number) => (task.direction === 'min' ? a < b : a > b)
  let epochs = 0
  let bestEpochs = 0
  let foldsTrained = 0
  try {
    for (const [f, fold] of data.folds.entries()) {
      let best = NaN
      let pruned = false
      let trained: CallbackModel | null = null
      const watcher: Callback = {
        setModel: (m) => (trained = m),
        onEpochEnd: async (epoch, logs) => {
          const value = logs[monitor]!
          if (Number.isNaN(best) || better(value, best)) best = value
          // Pruning compares trials on the first fold only: later folds would be compared with
          // trials that stopped before reaching them.
          if (f !== 0 || hooks.report === undefined || task.pruneAfterEpochs === null || epoch + 1 < task.pruneAfterEpochs) return
          if (await hooks.report(epoch + 1, best)) {
            pruned = true
            trained!.stopTraining = true
          }
        },
      }
      const { model, history, earlyStopping, held } = await trainOnRows(task, data, fold.train, fold.validation, {
        ...(hooks.build && { build: hooks.build }),
        ...(hooks.signal && { signal: hooks.signal }),
        callbacks: [watcher],
      })
      if (hooks.signal?.aborted) {
        result.status = 'cancelled'
        break
      }
      foldsTrained++
      epochs += history.epochs
      bestEpochs += earlyStopping && earlyStopping.bestEpoch >= 0 ? earlyStopping.bestEpoch + 1 : history.epochs
      if (pruned) {
        result.status = 'pruned'
        result.score = best
        break
      }
      const evaluation = model.evaluate(held!.x, held!.y)
      const score = evaluation[task.metric]!
      if (!Number.isFinite(score)) throw new Error(`the validation ${task.metric} is ${score}`)
      result.foldScores.push(score)
    }
    if (result.status === 'completed') result.score = result.foldScores.reduce((a, b) => a + b, 0) / result.foldScores.length
  } catch (error) {
    result.status = hooks.signal?.aborted ? 'cancelled' : 'failed'
    result.score = null
    result.error = `${(error as Error).name ?? 'Error'}: ${(error as Error).message ?? String(error)}`
  }
  result.epochsTrained = epochs / Math.max(1, foldsTrained)
  result.bestEpoch = bestEpochs / Math.max(1, foldsTrained)
  result.fitTimeMs = performance.now() - started
  return result
}

/** With a user build, only the keys the trial runner reads are checked as model-spec keys. */
function paramsForBuild(params: TrialParams): TrialParams {
  const p = params as Record<string, unknown>
  return Object.fromEntries(['batchSize', 'epochs', 'schedule'].filter((k) => p[k] !== undefined).map((k) => [k, p[k]]))
}

function checkBuilt(model: unknown, context: BuildContext): Sequential {
  const m = model as Sequential
  if (typeof m !== 'object' || m === null || typeof m.fit !== 'function' || !m.compiled) {
    throw new TypeError('build must return a compiled Sequential model (call model.compile(...) before returning it)')
  }
  for (const metric of context.metrics) {
    if (!m.plan.metrics.includes(metric)) throw new TypeError(`build must compile the metric '${metric}' the search scores by: compile({ …, metrics: ['${metric}'] })`)
  }
  if (m.plan.loss !== context.loss) throw new TypeError(`build must compile the search's loss '${context.loss}', got '${m.plan.loss}'`)
  return m
}
