/**
 * modelCheckpoint: saves the model while it trains, so a run killed at any moment continues from
 * its last checkpoint with `Sequential.resume` — bit-identical to the run that was not killed.
 * Each file is a complete model (weights, optimizer state, step, PRNG, learning rate, epochs)
 * plus where in the run it was taken, written atomically (temporary file, fsync, rename): a
 * kill during a save leaves the previous checkpoint intact.
 */
import { mkdir, readdir, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ModelFileError } from '../errors.js'
import type { CheckpointPosition } from '../io/model-bytes.js'
import { checkBoolean, checkInteger, checkNumber, checkOptions, describe, optional } from '../validate.js'
import type { Callback, CallbackModel } from './callbacks.js'
import type { EpochLogs } from './history.js'
import { checkMode, checkMonitor, improves, type LogKey } from './monitor.js'

export interface ModelCheckpointOptions {
  /**
   * Where to write: a file name that may hold `{epoch}` (epochs completed) and `{batch}`
   * (batches into the next epoch), e.g. `ckpt/model-{epoch}-{batch}.safetensors`; or a
   * directory (a path without `.safetensors`), where files are named
   * `checkpoint-{epoch}-{batch}.safetensors`.
   */
  path: string
  /** Save at the end of every this many epochs (default 1; 0 = not at epoch ends). */
  everyEpochs?: number
  /** fitDataset only: also save every this many batches within an epoch. */
  everyBatches?: number
  /** fitDataset: also save when this many seconds have passed since the last save (checked between chunks of batches and at epoch ends). */
  everySeconds?: number
  /** At epoch ends, save only when `monitor` improved on its best (default false). */
  saveBestOnly?: boolean
  /** The logged value saveBestOnly watches (default 'valLoss'). */
  monitor?: LogKey
  /** 'min', 'max' or 'auto' (max for accuracies), for saveBestOnly. */
  mode?: 'auto' | 'min' | 'max'
  /** Keep only the newest this many checkpoint files of this path (default: keep all). */
  keep?: number
  /** A description of the run (plain JSON) saved in each checkpoint, e.g. the settings to resume with. */
  run?: Record<string, unknown>
}

/** The model as a checkpoint saves it. */
export interface CheckpointModel extends CallbackModel {
  saveCheckpoint(path: string, position: CheckpointPosition): Promise<void>
}

const DEFAULT_NAME = 'checkpoint-{epoch}-{batch}.safetensors'

/** The file name pattern of a checkpoint path: a directory gets the default name. */
function patternOf(path: string): string {
  return path.endsWith('.safetensors') ? path : join(path, DEFAULT_NAME)
}

/** A pattern's files: a RegExp that matches its names and reads epoch and batch. */
function matcher(pattern: string): RegExp {
  const name = pattern.slice(dirname(pattern).length + 1)
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^${escaped.replace('\\{epoch\\}', '(?<epoch>\\d+)').replace('\\{batch\\}', '(?<batch>\\d+)')}$`)
}

/** Checkpoint files of a pattern in its directory, oldest first (by epoch, then batch). */
async function checkpointsOf(pattern: string): Promise<{ path: string; epoch: number; batch: number }[]> {
  const dir = dirname(pattern)
  const re = matcher(pattern)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return []
  }
  return names
    .flatMap((n) => {
      const m = re.exec(n)
      return m ? [{ path: join(dir, n), epoch: Number(m.groups?.epoch ?? 0), batch: Number(m.groups?.batch ?? 0) }] : []
    })
    .sort((a, b) => a.epoch - b.epoch || a.batch - b.batch)
}

/** The checkpoint to resume from: `path` itself if it is a file, else the newest checkpoint in the directory. */
export async function newestCheckpoint(path: string): Promise<string> {
  const info = await stat(path).catch(() => null)
  if (info === null) throw new ModelFileError(`no checkpoint at ${path}`, path)
  if (info.isFile()) return path
  const found = await checkpointsOf(join(path, DEFAULT_NAME))
  if (found.length === 0) throw new ModelFileError(`${path} holds no checkpoint (${DEFAULT_NAME.replace('{epoch}', 'N').replace('{batch}', 'M')})`, path)
  return found.at(-1)!.path
}

export class ModelCheckpoint implements Callback {
  readonly pattern: string
  readonly everyEpochs: number
  readonly everyBatches: number | null
  readonly everySeconds: number | null
  readonly saveBestOnly: boolean
  readonly monitor: LogKey
  readonly mode: 'min' | 'max'
  readonly keep: number
  readonly run: Record<string, unknown> | undefined
  /** Files this callback wrote, oldest first. */
  readonly saved: string[] = []
  private model: CheckpointModel | null = null
  private best = NaN
  private lastSave = 0
  /** Where training stood at the last chunk boundary, for save() after an interruption. */
  private position: CheckpointPosition | null = null

  constructor(options: ModelCheckpointOptions) {
    const o = checkOptions('modelCheckpoint options', options, ['path', 'everyEpochs', 'everyBatches', 'everySeconds', 'saveBestOnly', 'monitor', 'mode', 'keep', 'run'])
    if (typeof o.path !== 'string' || o.path === '') throw new TypeError(`modelCheckpoint path must be a file name or a directory, got ${describe(o.path)}`)
    this.pattern = patternOf(o.path)
    this.everyEpochs = optional(o.everyEpochs, 1, (v) => checkInteger('modelCheckpoint everyEpochs', v, { min: 0 }))
    this.everyBatches = optional(o.everyBatches, null, (v) => checkInteger('modelCheckpoint everyBatches', v, { min: 1 }))
    this.everySeconds = optional(o.everySeconds, null, (v) => checkNumber('modelCheckpoint everySeconds', v, { min: 0, minInclusive: false }))
    this.saveBestOnly = optional(o.saveBestOnly, false, (v) => checkBoolean('modelCheckpoint saveBestOnly', v))
    this.monitor = checkMonitor('modelCheckpoint', o.monitor)
    this.mode = checkMode('modelCheckpoint', o.mode, this.monitor)
    this.keep = optional(o.keep, Infinity, (v) => checkInteger('modelCheckpoint keep', v, { min: 1 }))
    if (o.run !== undefined && (typeof o.run !== 'object' || o.run === null || Array.isArray(o.run))) {
      throw new TypeError(`modelCheckpoint run must be a plain object of settings, got ${describe(o.run)}`)
    }
    this.run = o.run as Record<string, unknown> | undefined
  }

  get batchInterval(): number | undefined {
    return this.everyBatches ?? undefined
  }

  setModel(model: CallbackModel): void {
    if (typeof (model as Partial<CheckpointModel>).saveCheckpoint !== 'function') throw new TypeError('modelCheckpoint needs a Sequential model')
    this.model = model as CheckpointModel
    this.lastSave = performance.now()
  }

  async onBatchesEnd(epoch: number, batchesDone: number): Promise<void> {
    this.position = { epoch, batchesDone }
    const due = (this.everyBatches !== null && batchesDone % this.everyBatches === 0) || this.secondsDue()
    if (due) await this.save()
  }

  async onEpochEnd(_epoch: number, logs: EpochLogs): Promise<void> {
    const model = this.model!
    this.position = { epoch: model.epochsTrained, batchesDone: 0 }
    if (this.saveBestOnly) {
      const value = logs[this.monitor]
      if (value === undefined) throw new RangeError(`modelCheckpoint monitors '${this.monitor}', which this fit does not log (it logs ${Object.keys(logs).map((k) => `'${k}'`).join(', ')})`)
      if (!improves(this.mode, value, this.best, 0)) return
      this.best = value
      await this.save()
      return
    }
    if ((this.everyEpochs > 0 && model.epochsTrained % this.everyEpochs === 0) || this.secondsDue()) await this.save()
  }

  /**
   * Writes a checkpoint of where training stands now (the last chunk or epoch boundary): what a
   * program does on SIGTERM after stopping fit. Returns the file, or null before any training.
   */
  async save(): Promise<string | null> {
    const model = this.model
    const position = this.position
    if (!model || !position) return null
    const path = this.pattern.replace('{epoch}', String(position.epoch)).replace('{batch}', String(position.batchesDone))
    await mkdir(dirname(path), { recursive: true })
    await model.saveCheckpoint(path, { ...position, ...(this.run && { run: this.run }) })
    this.lastSave = performance.now()
    if (!this.saved.includes(path)) this.saved.push(path)
    await this.prune()
    return path
  }

  private secondsDue(): boolean {
    return this.everySeconds !== null && performance.now() - this.lastSave >= this.everySeconds * 1000
  }

  /** Removes all but the newest `keep` checkpoints of this pattern (earlier runs' included). */
  private async prune(): Promise<void> {
    if (this.keep === Infinity) return
    const files = await checkpointsOf(this.pattern)
    for (const old of files.slice(0, Math.max(0, files.length - this.keep))) {
      await unlink(old.path).catch(() => {})
      const i = this.saved.indexOf(old.path)
      if (i >= 0) this.saved.splice(i, 1)
    }
  }
}

/** A callback that saves checkpoints while training; see ModelCheckpointOptions. */
export function modelCheckpoint(options: ModelCheckpointOptions): ModelCheckpoint {
  return new ModelCheckpoint(options)
}
