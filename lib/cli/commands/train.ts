/**
 * `backprop train`: load data, split off a test set, scale the features, build and train a
 * network with a live progress display, print the test scores, and save the model (with its
 * scaler and class names) and an HTML report. Ctrl-C stops after the current batch and still
 * saves both.
 */
import { Command, Option } from 'commander'
import { backendInfo, BACKENDS } from '../../engine/select.js'
import { MinMaxScaler } from '../../data/min-max-scaler.js'
import { StandardScaler } from '../../data/standard-scaler.js'
import type { LabeledDataset, Task } from '../../data/dataset.js'
import { TASKS } from '../../data/dataset.js'
import { Matrix } from '../../matrix.js'
import { earlyStopping, type Callback } from '../../training/callbacks.js'
import { learningRateScheduler } from '../../training/learning-rate-scheduler.js'
import { cosineDecay } from '../../schedules/index.js'
import { writeReport } from '../../report/write-report.js'
import { requireChartPackages } from '../chart-packages.js'
import { DATA_NAMES, labelColumn, loadSource, preprocessingOf, trainAndTest } from '../loaded-data.js'
import { quitNow } from '../quit-now.js'
import { withJsonOutput } from '../json-output.js'
import { distributedInfo } from '../../distributed/mpi.js'
import { EXIT, UsageError } from '../exit-codes.js'
import { buildModel, describeNetwork, HIDDEN_ACTIVATIONS, LOSS_NAMES, OPTIMIZER_NAMES, targetsFor, type NetworkFlags } from '../network.js'
import { integer, layerSizes, number } from '../option-parsers.js'
import { prepareOutput } from '../output-files.js'
import { liveOutput, ProgressDisplay } from '../progress.js'
import { isStreamData, trainStream, type StreamFlags } from './train-stream.js'
import { predictedClasses, scoreModel } from '../scores.js'

const SCALERS = ['standard', 'minmax', 'none'] as const
const SCHEDULES = ['cosine', 'constant'] as const
/** At or above this many training samples, the defaults switch to fewer epochs and larger batches. */
const LARGE = 10_000

interface TrainFlags extends Omit<NetworkFlags, 'layers'> {
  data: string
  label?: string
  task?: Task
  samples: number
  layers: number[]
  epochs?: number
  batchSize?: number
  validationSplit: number
  testSplit: number
  earlyStopping?: number | true
  scale: (typeof SCALERS)[number]
  lrSchedule: (typeof SCHEDULES)[number]
  threads?: number
  out?: string
  report?: string
  progress: boolean
  json?: boolean
  distributed?: 'mpi'
}

export function trainCommand(program: Command): void {
  program
    .command('train')
    .description('train a network on a dataset; print its test scores; save the model and a report')
    .option('--data <source>', `a dataset name (${DATA_NAMES.join(', ')}), a CSV file, a directory of MNIST-style IDX files; streamed: a .npy file (with --labels) or a directory of x-*.npy/y-*.npy shards`, 'digits')
    .option('--label <column>', 'CSV: the label column, by name or 0-based index (default: the last column)')
    .addOption(new Option('--task <task>', 'CSV: classification (labels are classes) or regression (labels are numbers)').choices(TASKS))
    .option('--samples <n>', 'synthetic datasets: number of samples', integer(10), 1000)
    .addOption(new Option('--layers <sizes>', 'hidden layer widths, comma-separated ("none" for no hidden layer)').argParser(layerSizes).default([128, 64], '128,64'))
    .addOption(new Option('--activation <name>', 'hidden layer activation').choices(HIDDEN_ACTIVATIONS).default('relu'))
    .option('--dropout <rate>', 'dropout after each hidden layer, in [0, 1)', number(0, 1, { maxInclusive: false }))
    .option('--l2 <lambda>', 'L2 weight penalty λ·Σw² on every kernel', number(0, Infinity, { minInclusive: false }))
    .addOption(new Option('--loss <name>', 'loss (default: sparseCategoricalCrossEntropy for classes, meanSquaredError for regression)').choices(LOSS_NAMES))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZER_NAMES).default('adam'))
    .option('--learning-rate <lr>', "learning rate (default: the optimizer's, 0.001 for adam)", number(0, Infinity, { minInclusive: false }))
    .addOption(new Option('--lr-schedule <schedule>', 'cosine: decay the learning rate to 0 over the epochs (Keras\'s CosineDecay); constant: keep it').choices(SCHEDULES).default('cosine'))
    .option('--momentum <m>', 'sgd, rmsprop: momentum', number(0, 1, { maxInclusive: false }))
    .option('--nesterov', 'sgd: Nesterov momentum')
    .option('--beta1 <b>', 'adam, adamw: β1', number(0, 1, { maxInclusive: false }))
    .option('--beta2 <b>', 'adam, adamw: β2', number(0, 1, { maxInclusive: false }))
    .option('--rho <r>', 'rmsprop: ρ', number(0, 1, { maxInclusive: false }))
    .option('--weight-decay <wd>', 'adamw: decoupled weight decay', number(0, Infinity))
    .option('--clip-norm <n>', "clip each layer's kernel and bias gradients to this L2 norm (Keras's clipnorm)", number(0, Infinity, { minInclusive: false }))
    .option('--global-clip-norm <n>', "clip the whole gradient to this L2 norm (Keras's global_clipnorm)", number(0, Infinity, { minInclusive: false }))
    .option('--epochs <n>', `passes over the training data (default: 20 for ≥ ${LARGE} training samples, else 60)`, integer(1))
    .option('--batch-size <n>', `samples per update (default: 128 for ≥ ${LARGE} training samples, else 32)`, integer(1))
    .option('--validation-split <fraction>', 'share of the training samples held out to validate each epoch (0: none)', number(0, 1, { maxInclusive: false }), 0.1)
    .option('--test-split <fraction>', "share of the samples held out as the test set (sources with a test set of their own use it instead)", number(0, 1, { minInclusive: false, maxInclusive: false }), 0.2)
    .option('--early-stopping [patience]', 'stop when the validation loss has not improved for this many epochs (default 5), keeping the best weights', integer(1))
    .addOption(new Option('--scale <scaler>', 'feature scaling, fitted on the training samples and saved with the model').choices(SCALERS).default('standard'))
    .option('--seed <n>', 'seed for the split, the initial weights, shuffling and dropout', integer(0, 0xffffffff), 42)
    .addOption(new Option('--backend <engine>', 'engine: auto (native when it loads, else js), native or js').choices(BACKENDS).default('auto'))
    .option('--threads <n>', 'native engine: at most this many threads (sets BACKPROP_THREADS)', integer(1))
    .option('--out <file>', 'save the trained model here (safetensors)')
    .option('--report <dir>', 'write an HTML report with charts into this directory')
    .option('--no-progress', 'print no per-epoch progress')
    .option('--json', 'print one JSON document with the run and its test scores on stdout (progress and other text go to stderr)')
    .addOption(new Option('--distributed <kind>', 'mpi: one process of `mpirun -np N backprop train …`, each training --batch-size rows of every batch; rank 0 prints and saves (native engine, Open MPI)').choices(['mpi']))
    .option('--labels <file>', 'streamed training: the .npy file of labels for a .npy file of features in --data')
    .option('--stream', `stream a CSV file in blocks instead of loading it (automatic above ${1 << 10} MiB), with the streamed training flags`)
    .option('--shuffle-buffer <rows>', 'streamed training: rows the shuffle buffer holds (memory: rows × features × 4 bytes)', integer(1), 65536)
    .option('--checkpoint <dir>', 'streamed training: write checkpoints into this directory (the newest 3 are kept)')
    .option('--checkpoint-every <epochs>', 'streamed training: checkpoint every this many epochs', integer(1), 1)
    .option('--resume <dir>', 'streamed training: continue the run whose checkpoints are in this directory, with its settings')
    .addOption(new Option('--log-format <format>', 'streamed training: json prints one JSON object per epoch on stdout, human text on stderr').choices(['text', 'json']).default('text'))
    .option('--log-every <batches>', 'streamed training, --log-format json: also a JSON line every this many batches', integer(1))
    .option('--progress-every <seconds>', 'streamed training: a progress line (share of the epoch, samples/s, ETA) every this many seconds', number(0.1, Infinity), 30)
    .addHelpText('after', `
On a terminal a progress bar shows each epoch; otherwise one line is printed per epoch.
The last lines give the test scores, e.g. "test accuracy: 0.9722" (classification) or
"test r2: 0.9512" (regression). Ctrl-C stops after the current batch and still saves the model
and the report (exit code 130); press it twice to quit at once.

Examples:
  backprop train                                   # digits, 64 → 128 → 64 → 10
  backprop train --data iris --report iris-report/
  backprop train --data fashion-mnist --layers 256,128 --out fashion.safetensors
  backprop train --data houses.csv --label price --task regression --layers 64,64`)
    .action(async (flags: TrainFlags & StreamFlags, command: Command) => {
      if (flags.distributed && !(await isStreamData(flags) || flags.resume)) {
        process.exitCode = await trainInMpiRun(flags)
        return
      }
      if (await isStreamData(flags) || flags.resume) {
        if (flags.json) throw new UsageError('--json applies to in-memory training; streamed training writes JSON lines with --log-format json')
        const explicit = new Set(Object.keys(flags).filter((key) => command.getOptionValueSource(key) === 'cli'))
        process.exitCode = await trainStream(flags, explicit)
        return
      }
      for (const key of ['labels', 'checkpoint', 'resume', 'logEvery'] as const) {
        if (flags[key] !== undefined) throw new UsageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to streamed training: .npy data (--data x.npy --labels y.npy, or a directory of x-*.npy/y-*.npy shards), or a CSV file with --stream`)
      }
      process.exitCode = await withJsonOutput(flags.json, () => train(flags))
    })
}

/**
 * `--distributed mpi`, one process of `mpirun -np N backprop train …`: every process trains its
 * part of each batch; rank 0 alone prints, saves and writes the report, the others are silent
 * (errors aside).
 */
async function trainInMpiRun(flags: TrainFlags): Promise<number> {
  const { rank } = distributedInfo()
  if (rank !== 0) {
    console.log = console.error = () => {}
    const { out: _out, report: _report, ...quiet } = flags
    return (await train({ ...quiet, progress: false })).status
  }
  return withJsonOutput(flags.json, () => train(flags))
}

async function train(flags: TrainFlags): Promise<{ status: number; document: Record<string, unknown> }> {
  if (flags.threads !== undefined) process.env.BACKPROP_THREADS = String(flags.threads)
  if (flags.out) await prepareOutput(flags.out, '--out')
  if (flags.report) {
    await requireChartPackages('--report')
    await prepareOutput(flags.report, '--report', { directory: true })
  }
  const source = await loadSource(flags.data, {
    ...(flags.label !== undefined && { label: labelColumn(flags.label) }),
    ...(flags.task && { task: flags.task }),
    samples: flags.samples,
    seed: flags.seed,
  })
  if (flags.task && flags.task !== source.task) throw new UsageError(`--task ${flags.task} does not apply to ${source.name}, a ${source.task} dataset`)
  const { train, test } = trainAndTest(source, flags.testSplit, flags.seed)
  const task = source.task
  const classes = train.task === 'classification' ? train.labelNames.length : 0
  if (task === 'classification' && classes < 2) throw new UsageError(`${source.name} has ${classes} class; classification needs at least 2`)

  const scaler = flags.scale === 'standard' ? new StandardScaler() : flags.scale === 'minmax' ? new MinMaxScaler() : null
  const xTrain = scaler ? scaler.fitTransform(train.x) : train.x
  const xTest = scaler ? scaler.transform(test.x) : test.x
  const { model, loss } = buildModel({ ...flags, layers: flags.layers }, train.x.cols, task, classes)
  const trainRows = Math.floor(train.x.rows * (1 - flags.validationSplit))
  const epochs = flags.epochs ?? (trainRows >= LARGE ? 20 : 60)
  const batchSize = flags.batchSize ?? (trainRows >= LARGE ? 128 : 32)

  const engine = backendInfo()
  const engineText = model.engine === 'native' && engine.isa ? `native (${engine.isa}${engine.threads ? `, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}` : ''})` : model.engine
  const what = task === 'classification' ? `${classes} classes` : `target '${train.targetName}'`
  console.error(`data: ${source.name}: ${source.description}`)
  const features = `${train.x.cols} feature${train.x.cols === 1 ? '' : 's'}`
  console.error(`      ${train.x.rows + test.x.rows} samples × ${features}, ${what}; train ${trainRows}, validation ${train.x.rows - trainRows}, test ${test.x.rows}`)
  console.error(`model: ${describeNetwork(model)}; engine: ${engineText}`)
  const rate = `learning rate ${model.learningRate}${flags.lrSchedule === 'cosine' ? ' with cosine decay' : ''}`
  console.error(`training: ${flags.optimizer} (${rate}), loss ${loss}, batch ${batchSize}${flags.distributed ? ` per process × ${distributedInfo().size} processes (MPI)` : ''}, ${epochs} epochs, scaling ${flags.scale}, seed ${flags.seed}${flags.earlyStopping ? `, early stopping after ${flags.earlyStopping === true ? 5 : flags.earlyStopping} epochs without improvement` : ''}`)

  const callbacks: Callback[] = []
  if (flags.lrSchedule === 'cosine') callbacks.push(learningRateScheduler(cosineDecay({ initialLearningRate: model.learningRate, decaySteps: epochs })))
  if (flags.progress) {
    callbacks.push(new ProgressDisplay({ samples: trainRows, batchSize, metrics: model.plan.metrics, live: liveOutput(process.stderr), stream: process.stderr }))
  }
  if (flags.earlyStopping) {
    if (flags.validationSplit === 0) throw new UsageError('--early-stopping watches the validation loss: it needs --validation-split > 0')
    callbacks.push(earlyStopping({ patience: flags.earlyStopping === true ? 5 : flags.earlyStopping, restoreBestWeights: true }))
  }
  const controller = new AbortController()
  const onInterrupt = () => {
    process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit at once)…\n')
    controller.abort()
    process.once('SIGINT', () => quitNow('SIGINT'))
  }
  process.once('SIGINT', onInterrupt)
  const started = performance.now()
  let history
  try {
    history = await model.fit(xTrain, targetsFor(loss, train.y, classes), {
      ...(flags.distributed && { distributed: flags.distributed }),
      epochs,
      batchSize,
      validationSplit: flags.validationSplit,
      callbacks,
      signal: controller.signal,
    })
  } finally {
    process.removeListener('SIGINT', onInterrupt)
  }
  const seconds = (performance.now() - started) / 1000
  const samplesPerSecond = (history.epochs * trainRows) / seconds
  console.log(`trained ${history.epochs} epoch${history.epochs === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${Math.round(samplesPerSecond).toLocaleString('en-US')} samples/s; stopped: ${history.stopReason})`)

  const result = scoreModel(model, loss, xTest, test)
  console.log(result.lines.join('\n'))
  model.preprocessing = preprocessingOf(train, scaler)
  if (flags.out) {
    await model.save(flags.out)
    console.error(`model saved to ${flags.out}`)
  }
  if (flags.report) {
    const files = await writeReport(flags.report, {
      title: `backprop: ${source.name}`,
      facts: [
        ['data', `${source.name}: ${source.description}`],
        ['samples', `train ${trainRows}, validation ${train.x.rows - trainRows}, test ${test.x.rows}; ${features}`],
        ['model', describeNetwork(model)],
        ['training', `${flags.optimizer} (${rate}), loss ${loss}, batch ${batchSize}, ${history.epochs} of ${epochs} epochs (${history.stopReason}), scaling ${flags.scale}, seed ${flags.seed}`],
        ['engine', `${engineText}; ${seconds.toFixed(1)} s, ${Math.round(samplesPerSecond).toLocaleString('en-US')} samples/s`],
      ],
      history,
      scores: Object.fromEntries(Object.entries(result.scores).map(([k, v]) => [`test ${k}`, v])),
      ...result.report,
      ...(task === 'classification' && test.x.cols === 2 && {
        scatter: {
          x: test.x,
          y: test.y,
          labelNames: (test as Extract<LabeledDataset, { task: 'classification' }>).labelNames,
          featureNames: [test.featureNames[0]!, test.featureNames[1]!] as [string, string],
          classify: (points: Matrix) => predictedClasses(model.predict(scaler ? scaler.transform(points) : points)),
        },
      }),
    })
    console.error(`report written to ${files.index}`)
  }
  return {
    status: history.stopReason === 'aborted' ? EXIT.interrupted : EXIT.ok,
    document: {
      data: source.name,
      model: describeNetwork(model),
      engine: model.engine,
      samples: { train: trainRows, validation: train.x.rows - trainRows, test: test.x.rows },
      epochs: history.epochs,
      stopReason: history.stopReason,
      seconds,
      samplesPerSecond,
      history: { loss: history.loss, valLoss: history.valLoss, ...history.metrics },
      test: result.scores,
      ...(flags.out && { out: flags.out }),
      ...(flags.report && { report: flags.report }),
    },
  }
}

/** The source's own test set, or a seeded split (stratified for classes) of its samples. */
