/**
 * `backprop train` on data read as a stream (.npy features with --labels, a directory of
 * x-*.npy / y-*.npy shards, or a CSV file with --stream or above AUTO_STREAM_BYTES): memory stays at the model, the shuffle buffer and two chunks of
 * batches, whatever the size of the data. Checkpoints (--checkpoint) make the run survive a
 * kill: --resume continues it exactly, and SIGINT/SIGTERM write a checkpoint before exiting.
 * With --log-format json, stdout holds one JSON object per epoch (and per --log-every batches)
 * and nothing else; human text goes to stderr.
 */
import { stat } from 'node:fs/promises'
import { MinMaxScaler } from '../../data/min-max-scaler.js'
import type { Scaler } from '../../data/scaler.js'
import { StandardScaler } from '../../data/standard-scaler.js'
import { data } from '../../data/sources/index.js'
import type { DataSource } from '../../data/sources/data-source.js'
import { backendInfo } from '../../engine/select.js'
import { Matrix } from '../../matrix.js'
import { Sequential } from '../../model/sequential.js'
import { cosineDecay } from '../../schedules/index.js'
import type { Callback } from '../../training/callbacks.js'
import { learningRateScheduler } from '../../training/learning-rate-scheduler.js'
import { modelCheckpoint } from '../../training/model-checkpoint.js'
import { quitNow } from '../quit-now.js'
import { distributedInfo } from '../../distributed/mpi.js'
import { EXIT, UsageError } from '../exit-codes.js'
import { buildModel, describeNetwork, type NetworkFlags } from '../network.js'
import { prepareOutput } from '../output-files.js'

export interface StreamFlags extends NetworkFlags {
  data: string
  labels?: string
  /** CSV: the label column. */
  label?: string
  stream?: boolean
  task?: 'classification' | 'regression'
  epochs?: number
  batchSize?: number
  validationSplit: number
  scale: 'standard' | 'minmax' | 'none'
  lrSchedule: 'cosine' | 'constant'
  shuffleBuffer: number
  checkpoint?: string
  checkpointEvery: number
  resume?: string
  logFormat: 'text' | 'json'
  logEvery?: number
  progressEvery: number
  out?: string
  progress: boolean
  distributed?: 'mpi'
}

/** The flags that define a run: a resumed run keeps them, and refuses different ones. */
const RUN_FLAGS = ['data', 'labels', 'label', 'task', 'epochs', 'batchSize', 'validationSplit', 'scale', 'lrSchedule', 'shuffleBuffer', 'seed', 'layers', 'activation', 'dropout', 'l2', 'loss', 'optimizer', 'learningRate', 'momentum', 'nesterov', 'beta1', 'beta2', 'rho', 'weightDecay', 'clipNorm', 'globalClipNorm'] as const

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

/** A CSV file larger than this streams without --stream (in memory it would need about as much again). */
export const AUTO_STREAM_BYTES = 1 << 30

/**
 * Whether `backprop train` should stream this data: .npy files, a directory of .npy shards, or a
 * CSV file given --stream or larger than AUTO_STREAM_BYTES.
 */
export async function isStreamData(flags: { data: string; labels?: string | undefined; stream?: boolean | undefined }): Promise<boolean> {
  const { data: path, labels } = flags
  if (labels !== undefined || COLUMNAR.test(path) || path.endsWith('.npy')) return true
  const info = await stat(path).catch(() => null)
  if (info?.isFile()) return flags.stream === true || info.size > AUTO_STREAM_BYTES
  if (!info?.isDirectory()) return false
  return (await import('node:fs/promises')).readdir(path).then((names) => names.some((n) => /^x-.*\.npy$/.test(n) || COLUMNAR.test(n)))
}

/** Parquet and Arrow files: always streamed. */
const COLUMNAR = /\.(parquet|arrow|arrows)$/

async function sourceOf(flags: StreamFlags, labelNames: string[] | null): Promise<DataSource> {
  const info = await stat(flags.data).catch(() => null)
  const columnar = { ...(flags.label !== undefined && { label: flags.label }), ...(flags.task && { task: flags.task }), ...(labelNames && { labelNames }) }
  if (info?.isFile() && !flags.data.endsWith('.npy')) {
    if (flags.labels) throw new UsageError('--labels goes with a .npy file of features in --data; CSV, Parquet and Arrow files name their label column with --label')
    if (flags.data.endsWith('.parquet')) return data.parquet(flags.data, columnar)
    if (/\.arrows?$/.test(flags.data)) return data.arrow(flags.data, columnar)
    return data.csv(flags.data, {
      ...columnar,
      ...(flags.label !== undefined && { label: /^\d+$/.test(flags.label) ? Number(flags.label) : flags.label }),
    })
  }
  if (flags.data.endsWith('.npy')) {
    if (!flags.labels) throw new UsageError(`--data ${flags.data} is a .npy file of features: give its labels with --labels y.npy`)
    return Promise.resolve(data.npy(flags.data, flags.labels))
  }
  if (flags.labels) throw new UsageError('--labels goes with a .npy file of features in --data, not with a directory of shards')
  return data.directory(flags.data, columnar)
}

/**
 * What a streamed run prints: notes and progress to stderr; the run's summary to stdout, unless
 * stdout holds --log-format json's records (then the summary is a note too).
 */
function logger(flags: StreamFlags, quiet: boolean) {
  const json = flags.logFormat === 'json'
  if (quiet) return { say: (_: string) => {}, result: (_: string) => {}, record: (_: Record<string, unknown>) => {} }
  return {
    say: (line: string) => process.stderr.write(`${line}\n`),
    result: (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`),
    record: (entry: Record<string, unknown>) => json && process.stdout.write(`${JSON.stringify(entry)}\n`),
  }
}

export async function trainStream(flags: StreamFlags, explicit: ReadonlySet<string>): Promise<number> {
  // One process of an MPI run: rank 0 alone prints, checkpoints and saves.
  const mpi = flags.distributed ? distributedInfo() : null
  if (mpi && mpi.rank !== 0) flags = { ...flags, checkpoint: undefined, out: undefined } as StreamFlags
  const log = logger(flags, mpi !== null && mpi.rank !== 0)
  let model: Sequential | null = null
  if (flags.resume) {
    model = await Sequential.resume(flags.resume, { backend: flags.backend })
    const run = model.checkpoint?.run
    if (!run) throw new UsageError(`--resume ${flags.resume}: the checkpoint records no run settings (it was not written by backprop train --checkpoint)`)
    for (const key of RUN_FLAGS) {
      if (!explicit.has(key)) {
        if (key in run) (flags as unknown as Record<string, unknown>)[key] = run[key]
        continue
      }
      const given = JSON.stringify((flags as unknown as Record<string, unknown>)[key])
      const recorded = JSON.stringify(run[key])
      if (given !== recorded) throw new UsageError(`${flagName(key)} ${given} differs from the run being resumed (${recorded}, in ${flags.resume}); a resumed run keeps its settings: leave ${flagName(key)} out`)
    }
    flags.checkpoint ??= flags.resume
  }
  if (flags.out) await prepareOutput(flags.out, '--out')
  if (!flags.stream && !flags.data.endsWith('.npy') && !COLUMNAR.test(flags.data) && (await stat(flags.data)).isFile()) {
    log.say(`${flags.data} is larger than ${AUTO_STREAM_BYTES / 2 ** 30} GiB: streaming it rather than loading it (as --stream does)`)
  }
  const all = await sourceOf(flags, model?.preprocessing?.labelNames ?? null)
  // A CSV or Arrow file is read once before training to count its rows (and find its classes):
  // say so, since on a large file that takes minutes.
  if (!flags.data.endsWith('.npy') && !flags.data.endsWith('.parquet') && (await stat(flags.data)).isFile()) log.say(`reading ${flags.data} once to count its rows and classes …`)
  const shape = await all.shape()
  const rows = shape.rows!
  const trainRows = Math.floor(rows * (1 - flags.validationSplit))
  if (trainRows < 1) throw new UsageError(`--validation-split ${flags.validationSplit} leaves no rows of ${rows} to train on`)
  // The last rows validate (as Keras's validationSplit), read in order; the others train, shuffled.
  let train = all.take(trainRows)
  let validation = trainRows < rows ? all.skip(trainRows) : null

  // One pass for what the model needs to know: the classes, and the scaler's statistics.
  const task = flags.task ?? 'classification'
  let classes = 0
  let scaler: Scaler | null = model?.preprocessing?.scaler ?? null
  if (!model) {
    scaler = flags.scale === 'standard' ? new StandardScaler() : flags.scale === 'minmax' ? new MinMaxScaler() : null
    let maxLabel = -1
    // A pass over the data only when it tells something the shape does not: the scaler's
    // statistics, or the number of classes in a label file (a CSV file's first pass named them).
    if (scaler || (task === 'classification' && !shape.labelNames)) {
      for await (const b of train.blocks({ epoch: 0 })) {
        scaler?.partialFit(new Matrix(b.rows, shape.xColumns, b.x))
        if (task === 'classification') for (let i = 0; i < b.y.length; i++) maxLabel = Math.max(maxLabel, b.y[i]!)
      }
    }
    // Class names from the file (CSV), else the indices the label file holds.
    classes = task === 'classification' ? (shape.labelNames?.length ?? maxLabel + 1) : 0
    if (task === 'classification' && classes < 2) throw new UsageError(`${flags.data} has ${classes} class${classes === 1 ? '' : 'es'}; classification needs at least 2`)
    model = buildModel(flags, shape.xColumns, task, classes).model
    model.preprocessing = {
      ...(scaler && { scaler }),
      ...(shape.featureNames && { featureNames: shape.featureNames }),
      ...(task === 'classification' && { labelNames: shape.labelNames ?? Array.from({ length: classes }, (_, k) => String(k)) }),
    }
  } else {
    classes = model.plan.outputSize
  }
  if (scaler) {
    const s = scaler
    train = train.map((b) => ({ ...b, x: s.transformInPlace(b.x) }))
    validation = validation?.map((b) => ({ ...b, x: s.transformInPlace(b.x) })) ?? null
  }
  const large = trainRows >= 10_000
  const epochs = (flags.epochs ??= large ? 20 : 60)
  const batchSize = (flags.batchSize ??= large ? 128 : 32)
  // Data-parallel, --batch-size is per process: each batch of the stream is split over them.
  const globalBatch = batchSize * (mpi?.size ?? 1)
  const pipeline = train.shuffle(flags.shuffleBuffer, { seed: flags.seed }).batch(globalBatch)
  const memory = await pipeline.memoryEstimate()

  const engine = backendInfo()
  log.say(`data: ${flags.data}${flags.labels ? ` with labels ${flags.labels}` : ''}: ${rows} rows × ${shape.xColumns} features; train ${trainRows}, validation ${rows - trainRows} (streamed; data buffers ≤ ${(memory / 2 ** 20).toFixed(0)} MB)`)
  log.say(`model: ${describeNetwork(model)}; engine: ${model.engine}${model.engine === 'native' && engine.isa ? ` (${engine.isa})` : ''}`)
  if (model.epochsTrained > 0 || (model.checkpoint?.batchesDone ?? 0) > 0) {
    log.say(`resuming after ${model.epochsTrained} epochs${model.checkpoint?.batchesDone ? ` and ${model.checkpoint.batchesDone} batches` : ''} of ${epochs}`)
  }

  const callbacks: Callback[] = []
  const run = Object.fromEntries(RUN_FLAGS.filter((k) => (flags as unknown as Record<string, unknown>)[k] !== undefined).map((k) => [k, (flags as unknown as Record<string, unknown>)[k]]))
  if (flags.lrSchedule === 'cosine') {
    const initial = (run.learningRate as number | undefined) ?? (flags.resume ? undefined : model.learningRate)
    run.learningRate = initial ?? model.learningRate
    callbacks.push(learningRateScheduler(cosineDecay({ initialLearningRate: run.learningRate as number, decaySteps: epochs })))
  }
  const checkpoints = flags.checkpoint ? modelCheckpoint({ path: flags.checkpoint, everyEpochs: flags.checkpointEvery, keep: 3, run }) : null
  if (checkpoints) callbacks.push(checkpoints)
  const started = performance.now()
  let epochStarted = started
  const batchesPerEpoch = Math.ceil(trainRows / globalBatch)
  /** Rows of this epoch trained so far, for the progress lines. */
  let trained = 0
  let validatingSaid = false
  callbacks.push({
    onEpochBegin: () => {
      epochStarted = performance.now()
      trained = 0
      validatingSaid = false
    },
    // Between the engine's chunks of batches: a per-batch callback would cost the native engine
    // a thread round trip per batch.
    onBatchesEnd: (_, batchesDone) => void (trained = Math.min(trainRows, batchesDone * globalBatch)),
    onEpochEnd: (_, logs) => {
      const seconds = (performance.now() - epochStarted) / 1000
      const done = model!.epochsTrained
      const eta = ((performance.now() - started) / 1000 / Math.max(1, done - startEpoch)) * (epochs - done)
      const text = Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')
      if (flags.progress) log.say(`epoch ${done}/${epochs}  ${text}  (${seconds.toFixed(1)} s, ${Math.round(trainRows / seconds)} samples/s, ETA ${eta.toFixed(0)} s)`)
      log.record({ epoch: done, ...logs, learningRate: model!.learningRate, seconds, samplesPerSecond: trainRows / seconds })
    },
    ...(flags.logEvery && {
      onBatchEnd: (batch: number, stats: { loss: number }) => {
        if ((batch + 1) % flags.logEvery! === 0) log.record({ epoch: model!.epochsTrained + 1, batch: batch + 1, of: batchesPerEpoch, loss: stats.loss })
      },
    }),
  })
  const startEpoch = model.epochsTrained
  const controller = new AbortController()
  let signalled: NodeJS.Signals | null = null
  const onSignal = (signal: NodeJS.Signals) => {
    // In an MPI run the processes could stop after different batches and wait on each other:
    // they stop at once instead (mpirun delivers the signal to all); saved checkpoints stay valid.
    if (signalled || mpi) quitNow(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT')
    signalled = signal
    log.say(`${signal}: stopping after the current batches${checkpoints ? ' and writing a checkpoint' : ''} (again to quit at once)…`)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const remaining = epochs - model.epochsTrained
  if (remaining <= 0) {
    log.say(`the run in ${flags.resume} has already trained its ${epochs} epochs`)
    return EXIT.ok
  }
  // Within a long epoch, a line every --progress-every seconds: how far, how fast, how long still.
  const ticker = flags.progress
    ? setInterval(() => {
        const seconds = (performance.now() - epochStarted) / 1000
        if (trained === 0 || seconds <= 0) return
        if (trained >= trainRows) {
          // The epoch's rows are trained; the validation rows are being read and scored.
          if (!validatingSaid && validation) log.say(`epoch ${model!.epochsTrained + 1}/${epochs}  trained in ${seconds.toFixed(0)} s; validating on ${rows - trainRows} rows …`)
          validatingSaid = true
          return
        }
        const rate = trained / seconds
        log.say(`epoch ${model!.epochsTrained + 1}/${epochs}  ${((100 * trained) / trainRows).toFixed(0)}% (${trained} of ${trainRows} rows)  ${Math.round(rate)} samples/s  epoch ETA ${((trainRows - trained) / rate).toFixed(0)} s`)
      }, flags.progressEvery * 1000).unref()
    : null
  let history
  try {
    history = await model.fitDataset(pipeline, {
      epochs: remaining,
      ...(validation && { validationData: validation }),
      callbacks,
      signal: controller.signal,
      ...(mpi && { distributed: 'mpi' as const }),
    })
  } finally {
    if (ticker) clearInterval(ticker)
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  if (signalled && checkpoints) {
    const path = await checkpoints.save()
    if (path) log.say(`checkpoint written to ${path}; continue with --resume ${flags.checkpoint}`)
  }
  const seconds = (performance.now() - started) / 1000
  log.result(`trained ${history.epochs} epoch${history.epochs === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (stopped: ${history.stopReason})`)
  if (flags.out) {
    await model.save(flags.out)
    log.say(`model saved to ${flags.out}`)
  }
  if (signalled) return signalled === 'SIGTERM' ? 143 : EXIT.interrupted
  return EXIT.ok
}
