import type { Sequential } from '../model/sequential.js'
import type { TrialParams } from './space.js'
import type { ScoreMetric, TrialResult, TrialStatus } from './trial.js'

/** Why a search ended. */
export type SearchStopReason = 'completed' | 'timeBudget' | 'aborted'

/** A Vega-Lite specification (plain JSON). */
export type VegaLiteSpec = Record<string, unknown>

/**
 * What a search found: every trial (best first), the best parameters, and the best model
 * refitted. Exports as JSON, CSV and a Vega-Lite chart of the score against each parameter.
 */
export class SearchResult {
  /** Every trial, best first: completed by score, then pruned by score, then failed and cancelled. */
  readonly trials: TrialResult[]

  constructor(
    readonly method: 'grid' | 'random',
    /** The search seed (drawn at random when none was given, so a search can be repeated). */
    readonly seed: number,
    readonly metric: ScoreMetric,
    readonly direction: 'min' | 'max',
    trials: TrialResult[],
    readonly stopReason: SearchStopReason,
    readonly elapsedMs: number,
    /** The best trial's model refitted (see the search's `refit` option), or null. */
    readonly model: Sequential | null,
  ) {
    this.trials = rankTrials(trials, direction)
  }

  /** The best completed trial, or null when none completed. */
  get best(): TrialResult | null {
    const first = this.trials[0]
    return first && first.status === 'completed' ? first : null
  }

  get bestParams(): TrialParams | null {
    return this.best?.params ?? null
  }

  get bestScore(): number | null {
    return this.best?.score ?? null
  }

  /** Trials of each status. */
  count(status: TrialStatus): number {
    return this.trials.filter((t) => t.status === status).length
  }

  toJSON(): Record<string, unknown> {
    const { method, seed, metric, direction, stopReason, elapsedMs, trials } = this
    return { method, seed, metric, direction, stopReason, elapsedMs, bestParams: this.bestParams, bestScore: this.bestScore, trials }
  }

  /**
   * One row per trial, best first: rank, index, status, score, fitTimeMs, epochsTrained, bestEpoch,
   * seed, one column per parameter (lists and objects as JSON), error. RFC 4180 quoting.
   */
  toCSV(): string {
    const keys = parameterKeys(this.trials)
    const header = ['rank', 'index', 'status', 'score', 'fitTimeMs', 'epochsTrained', 'bestEpoch', 'seed', ...keys, 'error']
    const rows = this.trials.map((t, i) => [
      i + 1,
      t.index,
      t.status,
      t.score ?? '',
      Math.round(t.fitTimeMs),
      t.epochsTrained,
      t.bestEpoch,
      t.seed,
      ...keys.map((k) => cell((t.params as Record<string, unknown>)[k])),
      t.error ?? '',
    ])
    return [header, ...rows].map((row) => row.map((v) => quote(String(v))).join(',')).join('\n') + '\n'
  }

  /**
   * A Vega-Lite chart: the score of each completed (and pruned) trial against each parameter
   * that varied, one panel per parameter. Numbers get a quantitative axis (logarithmic when
   * they span a decade or more, as log-uniform draws do), other values a nominal one.
   */
  chartSpec(): VegaLiteSpec {
    const scored = this.trials.filter((t) => t.score !== null)
    const keys = parameterKeys(scored).filter((k) => new Set(scored.map((t) => JSON.stringify((t.params as Record<string, unknown>)[k]))).size > 1)
    const values = scored.map((t) => ({
      trial: t.index,
      status: t.status,
      score: t.score,
      ...Object.fromEntries(keys.map((k) => [k, chartValue((t.params as Record<string, unknown>)[k])])),
    }))
    const scoreTitle = `validation ${this.metric} (${this.direction === 'max' ? 'higher' : 'lower'} is better)`
    const panel = (key: string) => {
      const numbers = values.map((v) => v[key as keyof typeof v]).filter((v): v is number => typeof v === 'number')
      const numeric = numbers.length === values.length && numbers.length > 0
      const log = numeric && numbers.every((v) => v > 0) && Math.max(...numbers) / Math.min(...numbers) >= 10
      return {
        width: 220,
        height: 180,
        mark: { type: 'point', filled: true, tooltip: true },
        encoding: {
          x: { field: key, type: numeric ? 'quantitative' : 'nominal', title: key, ...(log && { scale: { type: 'log' } }) },
          y: { field: 'score', type: 'quantitative', title: scoreTitle, scale: { zero: false } },
          color: { field: 'status', type: 'nominal', title: 'status' },
        },
      }
    }
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `${this.method === 'grid' ? 'Grid' : 'Random'} search: ${this.metric} against each hyper-parameter (${scored.length} trials)`,
      data: { values },
      // With nothing that varied, the score by trial index is all there is to show.
      concat: keys.length > 0 ? keys.map(panel) : [panel('trial')],
      columns: 3,
    }
  }

  /**
   * The chart as an SVG document, drawn by the report module's Vega renderer (loaded only
   * here: Vega is large, and worker threads never need it).
   */
  async chartSvg(): Promise<string> {
    const { renderSvg } = await import('../report/render-svg.js')
    return renderSvg(this.chartSpec() as unknown as Parameters<typeof renderSvg>[0])
  }
}

const STATUS_ORDER: Record<TrialStatus, number> = { completed: 0, pruned: 1, failed: 2, cancelled: 3 }

/** Best first: by status (completed, pruned, failed, cancelled), then score, then index. */
export function rankTrials(trials: readonly TrialResult[], direction: 'min' | 'max'): TrialResult[] {
  return [...trials].sort((a, b) => {
    const byStatus = STATUS_ORDER[a.status] - STATUS_ORDER[b.status]
    if (byStatus !== 0) return byStatus
    if (a.score !== null && b.score !== null && a.score !== b.score) return direction === 'max' ? b.score - a.score : a.score - b.score
    return a.index - b.index
  })
}

/** Every parameter key, in the order trials (by index) first use them. */
function parameterKeys(trials: readonly TrialResult[]): string[] {
  const keys = new Set<string>()
  for (const t of [...trials].sort((a, b) => a.index - b.index)) for (const k of Object.keys(t.params)) keys.add(k)
  return [...keys]
}

function cell(value: unknown): string {
  if (value === undefined) return ''
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
}

function chartValue(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? value : cell(value)
}

function quote(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
