/**
 * Training progress for the command line, as a fit callback. On a terminal: a live progress bar
 * per epoch (batches done, samples/s, ETA, running loss and metrics), left in place as the
 * epoch's record. Elsewhere (a pipe, a log file, CI): one plain line per epoch.
 */
import cliProgress from 'cli-progress'
import type { BatchLogs, Callback, TrainBeginInfo } from '../training/callbacks.js'
import type { EpochLogs } from '../training/history.js'

export interface ProgressOptions {
  /** Training samples per epoch (after the validation split). */
  samples: number
  batchSize: number
  /** Metric names in the order the engine reports them. */
  metrics: string[]
  /** Live bars (true on a terminal) or one line per epoch. */
  live: boolean
  /** Where to write (default process.stderr: progress is not a result). */
  stream?: NodeJS.WriteStream
}

/**
 * Whether to draw live bars on a stream: on a terminal that can move the cursor. The CLI writes
 * no colour codes anywhere, so NO_COLOR needs nothing more; TERM=dumb gets plain lines.
 */
export function liveOutput(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && process.env.TERM !== 'dumb'
}

export class ProgressDisplay implements Callback {
  private readonly batches: number
  private readonly stream: NodeJS.WriteStream
  private epochs = 0
  private epoch = 0
  private started = 0
  private lossSum = 0
  private metricSums: number[] = []
  private seen = 0
  private bar: cliProgress.SingleBar | null = null

  constructor(private readonly options: ProgressOptions) {
    this.batches = Math.ceil(options.samples / options.batchSize)
    this.stream = options.stream ?? process.stderr
  }

  onTrainBegin(info: TrainBeginInfo): void {
    this.epochs = info.epochs
  }

  onEpochBegin(epoch: number): void {
    this.epoch = epoch
    this.started = performance.now()
    this.lossSum = 0
    this.metricSums = this.options.metrics.map(() => 0)
    this.seen = 0
    if (!this.options.live) return
    this.bar = new cliProgress.SingleBar(
      {
        format: `${this.epochLabel()} {bar} {value}/{total} batches | {speed} samples/s | ETA {eta_formatted} | {logs}`,
        stream: this.stream,
        barsize: 20,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
        fps: 8,
        // Redraw at most `fps` times a second even when batches come faster.
        noTTYOutput: false,
      },
      cliProgress.Presets.shades_classic,
    )
    this.bar.start(this.batches, 0, { speed: '—', logs: '' })
  }

  onBatchEnd(batch: number, logs: BatchLogs): void {
    // The running mean over the epoch so far, weighted by batch size as fit's epoch loss is.
    const size = Math.min(this.options.batchSize, this.options.samples - batch * this.options.batchSize)
    this.seen += size
    this.lossSum += logs.loss * size
    logs.metrics.forEach((m, i) => (this.metricSums[i]! += m * size))
    if (!this.bar) return
    const running: Record<string, number> = { loss: this.lossSum / this.seen }
    this.options.metrics.forEach((name, i) => (running[name] = this.metricSums[i]! / this.seen))
    this.bar.update(batch + 1, { speed: this.speed(), logs: formatLogs(running) })
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    const seconds = (performance.now() - this.started) / 1000
    const summary = `${formatLogs(logs)}  (${seconds.toFixed(1)} s, ${formatRate(this.options.samples / seconds)} samples/s)`
    if (this.bar) {
      this.bar.update(this.batches, { speed: formatRate(this.options.samples / seconds), logs: formatLogs(logs) })
      this.bar.stop()
      this.bar = null
      return
    }
    this.stream.write(`${this.epochLabel(epoch)}  ${summary}\n`)
  }

  onTrainEnd(): void {
    // An epoch cut short (Ctrl-C) leaves its bar running: end it on its own line.
    if (this.bar) {
      this.bar.stop()
      this.bar = null
    }
  }

  private epochLabel(epoch = this.epoch): string {
    const width = String(this.epochs).length
    return `epoch ${String(epoch + 1).padStart(width)}/${this.epochs}`
  }

  private speed(): string {
    const seconds = (performance.now() - this.started) / 1000
    return seconds > 0 ? formatRate(this.seen / seconds) : '—'
  }
}

/** "loss 0.1234  accuracy 0.9500  val loss 0.2000" */
export function formatLogs(logs: Record<string, number>): string {
  return Object.entries(logs)
    .map(([key, value]) => `${key.replace(/^val([A-Z])/, 'val $1').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} ${value.toFixed(4)}`)
    .join('  ')
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—'
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(perSecond >= 100_000 ? 0 : 1)}k` : perSecond.toFixed(0)
}
