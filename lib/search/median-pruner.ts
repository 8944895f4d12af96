/**
 * Median pruning (as Optuna's MedianPruner): from epoch `afterEpochs` on, a trial whose best
 * validation score so far is worse than the median of earlier trials' best scores at the same
 * epoch is stopped. "Earlier" means a lower trial index, and a decision waits until every
 * earlier trial has either reported that epoch or finished, so the decisions — and with them
 * the whole search — do not depend on how fast each worker happened to run.
 */
export class MedianPruner {
  /** Best score so far of each trial, by 1-based epoch. */
  private readonly reports = new Map<number, Map<number, number>>()
  private readonly finished = new Set<number>()
  private waiting: { index: number; epoch: number; value: number; resolve: (prune: boolean) => void }[] = []
  private closed = false

  constructor(
    private readonly direction: 'min' | 'max',
    /** Trials with a report at the epoch needed before pruning anything there (Optuna's n_startup_trials). */
    private readonly minTrials: number,
  ) {}

  /** Records trial `index`'s best score so far at `epoch`; resolves to true to prune it. */
  report(index: number, epoch: number, value: number): Promise<boolean> {
    let byEpoch = this.reports.get(index)
    if (!byEpoch) this.reports.set(index, (byEpoch = new Map()))
    byEpoch.set(epoch, value)
    const decision = new Promise<boolean>((resolve) => this.waiting.push({ index, epoch, value, resolve }))
    this.settle()
    return decision
  }

  /** Marks trial `index` done (whatever its outcome): later trials stop waiting for it. */
  finish(index: number): void {
    this.finished.add(index)
    this.settle()
  }

  /** Lets every waiting trial go on (the search is being cancelled). */
  close(): void {
    this.closed = true
    this.settle()
  }

  private settle(): void {
    this.waiting = this.waiting.filter((w) => {
      if (this.closed) {
        w.resolve(false)
        return false
      }
      const peers: number[] = []
      for (let j = 0; j < w.index; j++) {
        const value = this.reports.get(j)?.get(w.epoch)
        if (value !== undefined) peers.push(value)
        else if (!this.finished.has(j)) return true // trial j may still report this epoch
      }
      w.resolve(peers.length >= this.minTrials && worse(w.value, median(peers), this.direction))
      return false
    })
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

function worse(value: number, reference: number, direction: 'min' | 'max'): boolean {
  return direction === 'min' ? value > reference : value < reference
}
