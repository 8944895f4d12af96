/** Why fit stopped. */
export type StopReason = 'completed' | 'earlyStopping' | 'converged' | 'callback' | 'aborted'

/** What fit measured, one entry per completed epoch. */
export class History {
  /** Training loss per epoch: the sample-weighted mean of each batch's loss before its update. */
  readonly loss: number[] = []
  /** Validation loss per epoch (empty without validation data). */
  readonly valLoss: number[] = []
  /** Each compiled metric per epoch, and its validation value as `val` + Name (e.g. valAccuracy). */
  readonly metrics: Record<string, number[]> = {}
  /** Learning rate in force during each epoch. */
  readonly learningRate: number[] = []
  /** Epochs completed in this call. */
  epochs = 0
  /** Why training stopped. */
  stopReason: StopReason = 'completed'

  /** Appends one epoch's logs. */
  record(logs: EpochLogs, learningRate: number): void {
    this.epochs++
    this.learningRate.push(learningRate)
    for (const [key, value] of Object.entries(logs)) {
      if (key === 'loss') this.loss.push(value)
      else if (key === 'valLoss') this.valLoss.push(value)
      else (this.metrics[key] ??= []).push(value)
    }
  }

  toJSON(): Record<string, unknown> {
    const { loss, valLoss, metrics, learningRate, epochs, stopReason } = this
    return { loss, valLoss, metrics, learningRate, epochs, stopReason }
  }
}

/** One epoch's results as callbacks see them: loss, metrics, and their val-prefixed twins. */
export type EpochLogs = Record<string, number> & { loss: number; valLoss?: number }

/** Validation key of a metric: accuracy → valAccuracy. */
export function validationKey(name: string): string {
  return `val${name[0]!.toUpperCase()}${name.slice(1)}`
}
