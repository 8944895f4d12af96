/**
 * A training report: SVG charts (training curves, the confusion matrix, the decision boundary of
 * 2-D data, predicted against actual values) and one index.html that shows them with the facts
 * and the test scores. Written by `backprop train --report dir/`, and usable from code.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ShapeError } from '../errors.js'
import type { Features } from '../inputs.js'
import { Matrix } from '../matrix.js'
import { columnsOf } from '../data/scaler-common.js'
import { accuracyScore, precisionRecallF1 } from '../metrics/classification.js'
import { confusionMatrix } from '../metrics/confusion-matrix.js'
import type { History } from '../training/history.js'
import { describe } from '../validate.js'
import { confusionMatrixChart, curveChart, decisionBoundaryChart, predictedVsActualChart, type Series } from './charts.js'
import { reportHtml, type HtmlChart, type HtmlTable } from './report-html.js'
import { renderSvg } from './render-svg.js'

export interface ReportInput {
  /** The page title (default 'backprop training report'). */
  title?: string
  /** Facts shown at the top, in order, e.g. [['data', 'digits'], ['engine', 'native']]. */
  facts?: [string, string][]
  /** Training history: loss, validation loss and metric curves. */
  history?: History | null
  /** Scores to list, e.g. { 'test accuracy': 0.97 }. */
  scores?: Record<string, number>
  /** Class predictions on test data: the confusion matrix and per-class precision/recall/F1. */
  classification?: { yTrue: ArrayLike<number>; yPred: ArrayLike<number>; labelNames?: string[] }
  /** Real-valued predictions on test data: predicted against actual. */
  regression?: { yTrue: ArrayLike<number>; yPred: ArrayLike<number>; targetName?: string }
  /**
   * 2-feature samples to plot coloured by class; with `classify`, over the class it predicts for
   * every point of the plane (the decision boundary). `classify` gets raw feature rows.
   */
  scatter?: {
    x: Features
    y: ArrayLike<number>
    labelNames?: string[]
    featureNames?: [string, string]
    classify?: (points: Matrix) => ArrayLike<number>
  }
}

export interface ReportFiles {
  /** The index.html path. */
  index: string
  /** The SVG chart paths. */
  charts: string[]
}

/** Points plotted at most; more are thinned evenly (the boundary still covers them all). */
const MAX_POINTS = 2000
/** Cells per side of the decision-boundary grid. */
const GRID = 160

/** Writes the charts and index.html into `directory` (created if needed). */
export async function writeReport(directory: string, input: ReportInput): Promise<ReportFiles> {
  if (typeof directory !== 'string' || directory === '') throw new TypeError(`writeReport directory must be a path, got ${describe(directory)}`)
  const charts: { file: string; caption: string; spec: Parameters<typeof renderSvg>[0] }[] = []
  const tables: HtmlTable[] = []
  const history = input.history
  if (history && history.epochs > 0) {
    const loss: Series[] = [{ name: 'training', values: history.loss }]
    if (history.valLoss.length) loss.push({ name: 'validation', values: history.valLoss })
    charts.push({ file: 'loss.svg', caption: 'Loss per epoch (training: mean over the epoch’s batches; validation: after the epoch)', spec: curveChart('Loss', 'loss', loss) })
    for (const key of Object.keys(history.metrics).filter((k) => !/^val[A-Z]/.test(k))) {
      const series: Series[] = [{ name: 'training', values: history.metrics[key]! }]
      const valKey = `val${key[0]!.toUpperCase()}${key.slice(1)}`
      if (history.metrics[valKey]) series.push({ name: 'validation', values: history.metrics[valKey]! })
      charts.push({ file: `${fileName(key)}.svg`, caption: `${capitalise(words(key))} per epoch`, spec: curveChart(capitalise(words(key)), words(key), series) })
    }
    if (new Set(history.learningRate).size > 1) {
      charts.push({ file: 'learning-rate.svg', caption: 'Learning rate in force during each epoch', spec: curveChart('Learning rate', 'learning rate', [{ name: 'learning rate', values: history.learningRate }]) })
    }
  }
  if (input.scores && Object.keys(input.scores).length) {
    tables.push({ title: 'Scores', header: ['', 'value'], rows: Object.entries(input.scores).map(([k, v]) => [k, ...fixed(v)]) })
  }
  if (input.classification) {
    const { yTrue, yPred } = input.classification
    const classes = input.classification.labelNames?.length
    const matrix = confusionMatrix(yTrue, yPred, classes ? { classes } : {})
    const labelNames = input.classification.labelNames ?? matrix.map((_, k) => String(k))
    const s = precisionRecallF1(yTrue, yPred, { classes: labelNames.length })
    tables.push({
      title: `Per class (test accuracy ${accuracyScore(yTrue, yPred).toFixed(4)})`,
      header: ['class', 'precision', 'recall', 'F1', 'support'],
      rows: [
        ...s.perClass.map((c, k) => [labelNames[k]!, ...fixed(c.precision, c.recall, c.f1), c.support]),
        ['macro avg', ...fixed(s.macro.precision, s.macro.recall, s.macro.f1), yTrue.length],
        ['weighted avg', ...fixed(s.weighted.precision, s.weighted.recall, s.weighted.f1), yTrue.length],
      ],
    })
    charts.push({ file: 'confusion-matrix.svg', caption: 'Confusion matrix: rows are the actual classes, columns the predicted ones', spec: confusionMatrixChart(matrix, labelNames) })
  }
  if (input.regression) {
    const { yTrue, yPred } = input.regression
    charts.push({ file: 'predicted-vs-actual.svg', caption: 'Each test sample’s prediction against its actual value; the dashed line is a perfect fit', spec: predictedVsActualChart(yTrue, yPred, input.regression.targetName ?? 'target') })
  }
  if (input.scatter) charts.push(scatterChart(input.scatter))

  await mkdir(directory, { recursive: true })
  const rendered: HtmlChart[] = []
  for (const chart of charts) {
    const svg = await renderSvg(chart.spec)
    await writeFile(join(directory, chart.file), svg)
    rendered.push({ file: chart.file, caption: chart.caption, svg })
  }
  const index = join(directory, 'index.html')
  await writeFile(index, reportHtml({ title: input.title ?? 'backprop training report', facts: input.facts ?? [], tables, charts: rendered, generator: `Generated by backprop on ${new Date().toISOString()}` }))
  return { index, charts: charts.map((c) => join(directory, c.file)) }
}

function scatterChart(scatter: NonNullable<ReportInput['scatter']>) {
  const x = columnsOf('writeReport scatter x', scatter.x)
  if (x.cols !== 2) throw new ShapeError(`writeReport scatter x must have 2 columns (features to plot), got ${x.rows} × ${x.cols}`)
  if (scatter.y.length !== x.rows) throw new ShapeError(`writeReport scatter y has ${scatter.y.length} labels but x has ${x.rows} rows`)
  const step = Math.max(1, Math.ceil(x.rows / MAX_POINTS))
  const points: { x: number; y: number; label: number }[] = []
  for (let r = 0; r < x.rows; r += step) points.push({ x: x.data[2 * r]!, y: x.data[2 * r + 1]!, label: scatter.y[r]! })
  const largest = Math.max(0, ...Array.from(scatter.y))
  const labelNames = scatter.labelNames ?? Array.from({ length: largest + 1 }, (_, k) => String(k))
  let grid = null
  if (scatter.classify) {
    const [xs, ys] = [0, 1].map((c) => {
      let lo = Infinity
      let hi = -Infinity
      for (let r = 0; r < x.rows; r++) {
        lo = Math.min(lo, x.data[2 * r + c]!)
        hi = Math.max(hi, x.data[2 * r + c]!)
      }
      const pad = (hi - lo || 1) * 0.08
      const width = (hi - lo + 2 * pad) / GRID
      return Array.from({ length: GRID }, (_, i) => lo - pad + (i + 0.5) * width)
    }) as [number[], number[]]
    const cells = new Matrix(GRID * GRID, 2)
    ys.forEach((yv, r) => xs.forEach((xv, c) => cells.data.set([xv, yv], 2 * (r * GRID + c))))
    grid = { xs, ys, classes: scatter.classify(cells) }
  }
  return {
    file: 'decision-boundary.svg',
    caption: grid ? 'Test samples coloured by their class, over the class the model predicts at each point (the decision boundary)' : 'Samples coloured by their class',
    spec: decisionBoundaryChart(points, grid, labelNames, scatter.featureNames ?? ['feature 1', 'feature 2']),
  }
}

/** Scores shown with four decimals, 1 as 1.0000. */
function fixed(...values: number[]): string[] {
  return values.map((v) => v.toFixed(4))
}

/** meanAbsoluteError → mean absolute error */
function words(key: string): string {
  return key.replace(/([A-Z])/g, ' $1').toLowerCase()
}

function capitalise(text: string): string {
  return text[0]!.toUpperCase() + text.slice(1)
}

function fileName(key: string): string {
  return key.replace(/([A-Z])/g, '-$1').toLowerCase()
}
