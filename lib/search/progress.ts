import type { TrialResult } from './trial.js'

/** What a search reports after each trial. */
export interface SearchProgress {
  /** The trial that just ended. */
  trial: TrialResult
  /** Trials ended so far. */
  done: number
  /** Trials the search will run, or null when only a time budget bounds it. */
  total: number | null
  /** Trials still in flight. */
  running: number
  /** The best completed trial so far. */
  best: TrialResult | null
  elapsedMs: number
}

/** The stream the bar writes to: process.stderr, or anything with the same shape. */
export interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean
}

/**
 * A one-line progress bar for searches: `[########------------] 8/20  best 0.9722 (trial 5)  12.3 s`,
 * redrawn in place on a terminal and printed a line per trial elsewhere (CI logs).
 */
export function progressBar(stream: ProgressStream = process.stderr, width = 24): (event: SearchProgress) => void {
  return (event) => {
    const fraction = event.total === null ? 0 : event.done / event.total
    const filled = Math.round(fraction * width)
    const bar = event.total === null ? '' : `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] `
    const count = event.total === null ? `${event.done} trials` : `${event.done}/${event.total}`
    const best = event.best ? `  best ${event.best.score!.toFixed(4)} (trial ${event.best.index})` : ''
    const failed = event.trial.status === 'failed' ? `  trial ${event.trial.index} failed` : ''
    const line = `${bar}${count}${best}${failed}  ${(event.elapsedMs / 1000).toFixed(1)} s`
    const finished = event.total !== null && event.done === event.total
    stream.write(stream.isTTY ? `\r${line}\x1b[K${finished ? '\n' : ''}` : `${line}\n`)
  }
}
