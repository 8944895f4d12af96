/**
 * `backprop search`: a grid or random search of hyper-parameters on a dataset. The space comes
 * from a JSON file (--space) and/or flags (one per key); trials run on worker threads; the best
 * parameters are refitted and scored on a held-out test set; the results are written as JSON,
 * CSV, a chart (SVG and its Vega-Lite spec) and the best model.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, InvalidArgumentError, Option } from 'commander'
import { BACKENDS } from '../../engine/select.js'
import type { Task } from '../../data/dataset.js'
import { TASKS } from '../../data/dataset.js'
import type { LossName } from '../../plan.js'
import { MODEL_SPEC_KEYS, type ModelSpecKey } from '../../model/model-spec.js'
import { progressBar } from '../../search/progress.js'
import { gridSearch, randomSearch, type SearchOptions } from '../../search/search.js'
import type { SearchResult } from '../../search/search-result.js'
import { parameterGrid, parameterSampler, type SearchSpace } from '../../search/space.js'
import type { ScoreMetric } from '../../search/trial.js'
import { DATA_NAMES, labelColumn, preprocessingOf } from '../loaded-data.js'
import { followReference } from '../../distributed/data-reference.js'
import { checkReference, newSearchId } from '../../distributed/distributed-options.js'
import { quitNow } from '../quit-now.js'
import { withJsonOutput } from '../json-output.js'
import { EXIT, UsageError } from '../exit-codes.js'
import { chooseLoss, LOSS_NAMES } from '../network.js'
import { integer, number } from '../option-parsers.js'
import { prepareOutput, writeTextAtomically } from '../output-files.js'
import { scoreModel } from '../scores.js'
import { chartPackagesAvailable } from '../chart-packages.js'
import { CHART_PACKAGES } from '../../report/render-svg.js'

const SCALERS = ['standard', 'minmax', 'none'] as const

/** The space keys that have a flag, as --kebab-case. */
const AXIS_FLAGS: ModelSpecKey[] = MODEL_SPEC_KEYS.filter((k) => k !== 'schedule' && k !== 'kernelInitializer')
const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

interface SearchFlags {
  json?: boolean
  data: string
  label?: string
  task?: Task
  samples: number
  space?: string
  method: 'random' | 'grid'
  trials?: number
  timeBudget?: number
  loss?: LossName
  metric?: ScoreMetric
  direction?: 'min' | 'max'
  validationSplit?: number
  folds?: number
  testSplit: number
  earlyStopping?: number | true
  pruneAfter?: number
  scale: (typeof SCALERS)[number]
  seed: number
  workers?: number
  threadsPerWorker: number
  backend: SearchOptions['backend']
  refitAll?: boolean
  out?: string
  progress: boolean
  redis?: string
  queue?: string
  searchId?: string
  [axis: string]: unknown
}

export function searchCommand(program: Command): void {
  const command = program
    .command('search')
    .description('search hyper-parameters (grid or random) on worker threads; refit and test the best; write results, a chart and the best model')
    .option('--data <source>', `a dataset name (${DATA_NAMES.join(', ')}), a CSV file, or a directory of MNIST-style IDX files`, 'digits')
    .option('--label <column>', 'CSV: the label column, by name or 0-based index (default: the last column)')
    .addOption(new Option('--task <task>', 'CSV: classification or regression').choices(TASKS))
    .option('--samples <n>', 'synthetic datasets: number of samples', integer(10), 1000)
    .option('--space <file>', 'the search space as JSON: { "key": [choices] | { "logUniform": [lo, hi] } | value, … } or a list of such spaces')
    .addOption(new Option('--method <method>', 'grid tries every combination; random draws --trials').choices(['random', 'grid']).default('random'))
    .option('--trials <n>', 'random search: trials to draw (default 20, or unlimited with only --time-budget)', integer(1))
    .option('--time-budget <seconds>', 'start no trial after this many seconds', number(0, Infinity, { minInclusive: false }))
    .addOption(new Option('--loss <name>', 'loss (default: sparseCategoricalCrossEntropy for classes, meanSquaredError for regression)').choices(LOSS_NAMES))
    .addOption(new Option('--metric <name>', 'validation score (default: accuracy for classes, loss for regression)').choices(['loss', 'accuracy', 'meanAbsoluteError', 'meanSquaredError']))
    .addOption(new Option('--direction <dir>', 'whether a higher (max) or lower (min) score is better (default: max for accuracy)').choices(['min', 'max']))
    .option('--validation-split <fraction>', 'share of the search samples each trial is scored on (default 0.2)', number(0, 1, { minInclusive: false, maxInclusive: false }))
    .option('--folds <k>', 'k-fold cross-validation instead of one validation split', integer(2))
    .option('--test-split <fraction>', 'share of the samples held out to test the best model (sources with a test set use it)', number(0, 1, { minInclusive: false, maxInclusive: false }), 0.2)
    .option('--early-stopping [patience]', 'stop each trial when its validation score has not improved for this many epochs (default 5)', integer(0))
    .option('--prune-after <epochs>', 'median pruning: from this epoch on, stop trials worse than the median of earlier trials', integer(1))
    .addOption(new Option('--scale <scaler>', 'feature scaling, fitted on the search samples and saved with the best model').choices(SCALERS).default('standard'))
    .option('--seed <n>', 'seed of the search: the same seed gives the same trials and scores', integer(0, 0xffffffff), 42)
    .option('--workers <n>', 'worker threads running trials (default: the cores; 0: in this thread)', integer(0))
    .option('--threads-per-worker <n>', 'native engine: threads each trial may use (the refit of the best uses all)', integer(1), 1)
    .addOption(new Option('--backend <engine>', 'engine: auto, native or js').choices(BACKENDS).default('auto'))
    .option('--refit-all', 'refit the best parameters on training + validation samples (default: as the trial was trained)')
    .option('--out <dir>', 'write search.json, search.csv, search-chart.svg (+ .vl.json) and best-model.safetensors here')
    .option('--json', 'print the search result (every trial, the best, and the test scores of its refit) as one JSON document on stdout; progress and other text go to stderr')
    .option('--no-progress', 'print no progress bar')
    .option('--redis <url>', 'run the trials on `backprop worker` processes pulling from this Redis (redis://host:6379); --data must be a name or a path every worker reads')
    .option('--queue <name>', 'with --redis: the queue the workers pull from', 'backprop')
    .option('--search-id <id>', 'with --redis: names the search in Redis; give an interrupted search\'s id to continue it')
  for (const key of AXIS_FLAGS) {
    command.option(
      `--${flagName(key)} <axis>`,
      key === 'layers' ? 'hidden layer widths: choices separated by ";", e.g. "64;128;128,64" ("none" for no hidden layer)' : `${key}: choices "a,b,c", or log:LO:HI, uniform:LO:HI, int:LO:HI`,
      key === 'layers' ? layersAxis : valueAxis,
    )
  }
  command
    .addHelpText('after', `
A flag sets one key of the space, overriding the JSON file's (in every space of a list), or
without --space the default space's: for random search layers "64;128;128,64", learning-rate
log:3e-4:3e-2, batch-size 16,32,64, dropout uniform:0:0.3, epochs 40; for a grid layers
"64;128,64", learning-rate 0.001,0.003,0.01, dropout 0,0.2, epochs 40. schedule and
kernelInitializer are set in the JSON file only. Prints one line per trial as it ends, the best trials, then the refitted best model's
test scores ("test accuracy: 0.9722").

Examples:
  backprop search --data digits --trials 20 --early-stopping 8
  backprop search --learning-rate log:1e-4:1e-1 --layers "64;128,64" --dropout uniform:0:0.3 --epochs 40
  backprop search --method grid --space space.json --folds 5 --out search-results/`)
    .action(async (flags: SearchFlags) => {
      process.exitCode = await withJsonOutput(flags.json, () => search(flags))
    })
}

/** A --layers value: architectures separated by ';', each a comma list of widths. */
function layersAxis(value: string): number[][] {
  return value.split(';').map((choice) => {
    if (choice.trim() === 'none' || choice.trim() === '') return []
    const widths = choice.split(',').map((w) => Number(w.trim()))
    if (widths.some((w) => !Number.isInteger(w) || w < 1)) throw new InvalidArgumentError('Expected architectures such as "64;128,64": comma-separated positive widths, choices separated by ";".')
    return widths
  })
}

/** A key's axis: log:LO:HI, uniform:LO:HI, int:LO:HI, or a comma list of values. */
function valueAxis(value: string): unknown {
  const range = /^(log|uniform|int):([^:]+):([^:]+)$/.exec(value.trim())
  if (range) {
    const [low, high] = [Number(range[2]), Number(range[3])]
    if (!Number.isFinite(low) || !Number.isFinite(high)) throw new InvalidArgumentError(`Expected ${range[1]}:LO:HI with two numbers.`)
    return { [range[1] === 'log' ? 'logUniform' : range[1] === 'int' ? 'intUniform' : 'uniform']: [low, high] }
  }
  return value.split(',').map((v) => {
    const text = v.trim()
    if (text === 'true' || text === 'false') return text === 'true'
    return text !== '' && Number.isFinite(Number(text)) ? Number(text) : text
  })
}

/** Searched when no --space is given, with the key flags overriding its keys. */
const DEFAULT_SPACE: Record<'random' | 'grid', SearchSpace> = {
  random: {
    layers: [[64], [128], [128, 64]],
    learningRate: { logUniform: [3e-4, 3e-2] },
    batchSize: [16, 32, 64],
    dropout: { uniform: [0, 0.3] },
    epochs: [40],
  },
  grid: { layers: [[64], [128, 64]], learningRate: [1e-3, 3e-3, 1e-2], dropout: [0, 0.2], epochs: [40] },
}

async function readSpace(flags: SearchFlags): Promise<SearchSpace | SearchSpace[]> {
  let space: SearchSpace | SearchSpace[] | null = null
  if (flags.space) {
    let text: string
    try {
      text = await readFile(flags.space, 'utf8')
    } catch (error) {
      throw new UsageError(`--space ${flags.space} cannot be read: ${(error as Error).message}`)
    }
    try {
      space = JSON.parse(text)
    } catch (error) {
      throw new UsageError(`--space ${flags.space} is not valid JSON: ${(error as Error).message}`)
    }
  }
  const fromFlags = Object.fromEntries(AXIS_FLAGS.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]))
  if (space === null) return { ...DEFAULT_SPACE[flags.method], ...fromFlags }
  return Array.isArray(space) ? space.map((s) => ({ ...s, ...fromFlags })) : { ...space, ...fromFlags }
}

async function search(flags: SearchFlags): Promise<{ status: number; document: Record<string, unknown> }> {
  if (flags.out) await prepareOutput(flags.out, '--out', { directory: true })
  if (flags.validationSplit !== undefined && flags.folds !== undefined) throw new UsageError('give --validation-split or --folds, not both')
  const space = await readSpace(flags)
  // Check the space before loading data, and report it as a usage error.
  try {
    if (flags.method === 'grid') parameterGrid(space)
    else parameterSampler(space, { trials: 1, seed: flags.seed })
  } catch (error) {
    throw new UsageError(`the search space: ${(error as Error).message.replace(/^parameter(Grid|Sampler) space ?/, '')}`)
  }

  // The recipe of the search's rows: followed here, and by every worker of a distributed search.
  const reference = {
    data: flags.data,
    ...(flags.label !== undefined && { label: labelColumn(flags.label)! }),
    ...(flags.task && { task: flags.task }),
    samples: flags.samples,
    seed: flags.seed,
    testSplit: flags.testSplit,
    scale: flags.scale,
  }
  const { source, train, test, scaler, x, y, loss } = await followReference(checkReference('the search data', reference), (task, classes, name) => {
    if (task === 'classification' && classes < 2) throw new UsageError(`${name} has ${classes} class; classification needs at least 2`)
    return chooseLoss(task, classes, flags.loss)
  })

  console.error(`data: ${source.name}: ${source.description}`)
  console.error(`      search on ${train.x.rows} samples (${flags.folds ? `${flags.folds}-fold cross-validation` : `${flags.validationSplit ?? 0.2} held out to score each trial`}), test ${test.x.rows}; ${train.x.cols} features`)
  console.error(`space: ${JSON.stringify(space)}`)
  const options: SearchOptions & { trials?: number } = {
    loss,
    seed: flags.seed,
    backend: flags.backend,
    ...(flags.metric && { metric: flags.metric }),
    ...(flags.direction && { direction: flags.direction }),
    ...(flags.validationSplit !== undefined && { validationSplit: flags.validationSplit }),
    ...(flags.folds !== undefined && { folds: flags.folds }),
    ...(flags.workers !== undefined && { workers: flags.workers }),
    threadsPerTrial: flags.threadsPerWorker,
    ...(flags.timeBudget !== undefined && { timeBudgetMs: flags.timeBudget * 1000 }),
    ...(flags.earlyStopping !== undefined && { earlyStopping: flags.earlyStopping === true ? 5 : flags.earlyStopping }),
    ...(flags.pruneAfter !== undefined && { pruning: { afterEpochs: flags.pruneAfter } }),
    ...(flags.refitAll && { refit: 'all' as const }),
    ...(flags.progress && { progress: progressBar(process.stderr) }),
    ...(flags.redis !== undefined && { distributed: { redis: flags.redis, queue: flags.queue ?? 'backprop', searchId: flags.searchId ?? newSearchId(), data: reference } }),
  }
  if (options.distributed) console.error(`distributed: search ${options.distributed.searchId} on ${options.distributed.redis}, queue ${options.distributed.queue} (continue it with --search-id ${options.distributed.searchId})`)
  const controller = new AbortController()
  const onInterrupt = () => {
    process.stdout.write('\nstopping the trials in flight (Ctrl-C again to quit at once)…\n')
    controller.abort()
    process.once('SIGINT', () => quitNow('SIGINT'))
  }
  process.once('SIGINT', onInterrupt)
  let result: SearchResult
  try {
    result =
      flags.method === 'grid'
        ? await gridSearch(x, y, space, { ...options, signal: controller.signal })
        : await randomSearch(x, y, space, { ...options, trials: flags.trials ?? (flags.timeBudget !== undefined ? undefined : 20), signal: controller.signal } as never)
  } finally {
    process.removeListener('SIGINT', onInterrupt)
  }

  console.log(`${result.trials.length} trials in ${(result.elapsedMs / 1000).toFixed(1)} s (${summary(result)}; stopped: ${result.stopReason})`)
  for (const [rank, t] of result.trials.slice(0, 5).entries()) {
    console.log(`  ${rank + 1}. ${t.score === null ? t.status : `${result.metric} ${t.score.toFixed(4)}`}  ${t.epochsTrained} epochs  ${(t.fitTimeMs / 1000).toFixed(1)} s  ${JSON.stringify(t.params)}`)
  }
  const best = result.best
  if (best === null) {
    console.error('backprop: no trial completed; see the errors above or in --out search.csv')
    if (flags.out) await writeResults(flags.out, result)
    return { status: result.stopReason === 'aborted' ? EXIT.interrupted : EXIT.failure, document: { search: result.toJSON() } }
  }
  console.log(`best: trial ${best.index}, validation ${result.metric} ${best.score!.toFixed(4)}: ${JSON.stringify(best.params)}`)
  const model = result.model
  let testScores: Record<string, number> | null = null
  if (model) {
    const scored = scoreModel(model, loss, scaler ? scaler.transform(test.x) : test.x, test)
    testScores = scored.scores
    console.log(scored.lines.join('\n'))
    model.preprocessing = preprocessingOf(train, scaler)
  }
  if (flags.out) {
    await writeResults(flags.out, result)
    if (model) await model.save(join(flags.out, 'best-model.safetensors'))
    console.error(`results written to ${flags.out}`)
  }
  return {
    status: result.stopReason === 'aborted' ? EXIT.interrupted : EXIT.ok,
    document: { search: result.toJSON(), ...(testScores && { test: testScores }), ...(flags.out && { out: flags.out }) },
  }
}

function summary(result: SearchResult): string {
  return (['completed', 'pruned', 'failed', 'cancelled'] as const)
    .map((s) => [s, result.count(s)] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ')
}

async function writeResults(dir: string, result: SearchResult): Promise<void> {
  const chart = result.chartSpec()
  await writeTextAtomically(join(dir, 'search.json'), JSON.stringify(result, null, 2) + '\n')
  await writeTextAtomically(join(dir, 'search.csv'), result.toCSV())
  await writeTextAtomically(join(dir, 'search-chart.vl.json'), JSON.stringify(chart, null, 2) + '\n')
  if (await chartPackagesAvailable()) await writeTextAtomically(join(dir, 'search-chart.svg'), await result.chartSvg())
  else console.error(`search-chart.svg not written: it needs the optional packages vega and vega-lite (npm install ${CHART_PACKAGES}); search-chart.vl.json holds the chart`)
}

/** The source's own test set, or a seeded split (stratified for classes) of its samples. */
