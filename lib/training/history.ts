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

  /** Appends another History's epochs (e.g. a later fit call's); its stop reason becomes this one's. */
  append(other: History): void {
    const before = this.epochs
    const after = before + other.epochs
    this.loss.push(...other.loss)
    this.learningRate.push(...other.learningRate)
    // A value one of the two did not log (validation, a metric) is NaN in its epochs, so every
    // list keeps one entry per epoch.
    const pad = (list: number[], values: number[], length: number) => {
      while (list.length < length - values.length) list.push(NaN)
      list.push(...values)
    }
    if (this.valLoss.length > 0 || other.valLoss.length > 0) {
      pad(this.valLoss, [], before)
      pad(this.valLoss, other.valLoss, after)
    }
    for (const key of new Set([...Object.keys(this.metrics), ...Object.keys(other.metrics)])) {
      const list = (this.metrics[key] ??= [])
      pad(list, [], before)
      pad(list, other.metrics[key] ?? [], after)
    }
    this.epochs = after
    this.stopReason = other.stopReason
  }

  /**
   * A History from its toJSON() form (e.g. read back from a model file); throws a TypeError
   * saying what is wrong with anything else.
   */
  static fromJSON(json: unknown): History {
    const j = json as Record<string, unknown>
    if (typeof j !== 'object' || j === null) throw new TypeError('a history must be an object')
    const history = new History()
    const numbers = (name: string, v: unknown): number[] => {
      if (!Array.isArray(v) || !v.every((n) => typeof n === 'number' || n === null)) throw new TypeError(`a history's ${name} must be an array of numbers`)
      // JSON writes NaN as null.
      return v.map((n) => (n === null ? NaN : n))
    }
    const epochs = j.epochs
    if (!Number.isInteger(epochs) || (epochs as number) < 0) throw new TypeError('a history\'s epochs must be a count')
    history.epochs = epochs as number
    history.loss.push(...numbers('loss', j.loss))
    history.valLoss.push(...numbers('valLoss', j.valLoss))
    history.learningRate.push(...numbers('learningRate', j.learningRate))
    if (typeof j.metrics !== 'object' || j.metrics === null) throw new TypeError('a history\'s metrics must be an object')
    for (const [key, values] of Object.entries(j.metrics)) history.metrics[key] = numbers(`metrics.${key}`, values)
    const lengths = [history.loss, history.learningRate, ...Object.values(history.metrics)].map((l) => l.length)
    if (lengths.some((n) => n !== history.epochs) || (history.valLoss.length !== 0 && history.valLoss.length !== history.epochs)) {
      throw new TypeError(`a history's lists must each hold one value per epoch (${history.epochs})`)
    }
    const reasons: StopReason[] = ['completed', 'earlyStopping', 'converged', 'callback', 'aborted']
    if (!reasons.includes(j.stopReason as StopReason)) throw new TypeError(`a history's stopReason must be one of ${reasons.join(', ')}`)
    history.stopReason = j.stopReason as StopReason
    return history
  }

  toJSON(): Record<string, unknown> {
    const { loss, valLoss, metrics, learningRate, epochs, stopReason } = this
    return { loss, valLoss, metrics, learningRate, epochs, stopReason }
  }
}

/** One epoch's results as callbacks see them: loss, metrics, and their val-prefixed twins. */
export type EpochLogs = Record<string, number> & { loss: number; valLoss?: number }

/** Validation key of a metric: accuracy → valAccuracy. */
export function validationKey<K extends string>(name: K): `val${Capitalize<K>}` {
  return `val${name[0]!.toUpperCase()}${name.slice(1)}` as `val${Capitalize<K>}`
}
