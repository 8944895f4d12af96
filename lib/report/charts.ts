/**
 * The report's charts as Vega-Lite specifications: training curves, the confusion matrix, the
 * decision boundary of 2-D classification data, and predicted against actual values for
 * regression. Each function takes plain numbers and returns a spec that renderSvg draws.
 */
import type { TopLevelSpec } from 'vega-lite'

const WIDTH = 440
const HEIGHT = 280
const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
  view: { stroke: '#cccccc' },
}
/** A categorical palette that stays readable for up to 10 classes. */
const CLASS_COLOURS = { scheme: 'tableau10' }

export interface Series {
  name: string
  /** One value per epoch; NaN where the series was not measured. */
  values: number[]
}

/** Curves over epochs (e.g. loss and validation loss), one line per series. */
export function curveChart(title: string, yTitle: string, series: Series[], options: { logScale?: boolean } = {}): TopLevelSpec {
  const values = series.flatMap((s) => s.values.map((v, e) => ({ epoch: e + 1, value: v, series: s.name })).filter((d) => Number.isFinite(d.value)))
  const positive = values.every((d) => d.value > 0)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values },
    mark: { type: 'line', point: values.length <= 4 * 60 ? { size: 24 } : false, strokeWidth: 2 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' }, scale: { domainMin: 1, nice: false } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: options.logScale && positive ? { type: 'log' } : { zero: false } },
      // One curve needs no legend: the chart's title names it.
      color: { field: 'series', type: 'nominal', title: null, sort: series.map((s) => s.name), legend: series.length > 1 ? { orient: 'top', direction: 'horizontal', labelLimit: 240 } : null },
      tooltip: [{ field: 'series', type: 'nominal' }, { field: 'epoch', type: 'quantitative' }, { field: 'value', type: 'quantitative', format: '.4f' }],
    },
  }
}

/** Counts of true class (rows) against predicted class (columns), each cell labelled. */
export function confusionMatrixChart(matrix: number[][], labelNames: string[]): TopLevelSpec {
  const values = matrix.flatMap((row, t) => {
    const total = row.reduce((a, b) => a + b, 0)
    return row.map((count, p) => ({ actual: labelNames[t]!, predicted: labelNames[p]!, count, share: total ? count / total : 0 }))
  })
  const max = Math.max(1, ...values.map((d) => d.count))
  const size = Math.max(28, Math.min(80, Math.floor(440 / labelNames.length)))
  const axis = { labelLimit: 120, labelAngle: 0 }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Confusion matrix (test set)',
    config: { ...CONFIG, view: { stroke: null } },
    width: size * labelNames.length,
    height: size * labelNames.length,
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: labelNames, title: 'predicted class', axis: { ...axis, orient: 'top', labelAngle: labelNames.some((n) => n.length * 6.5 > size) ? -40 : 0 } },
      y: { field: 'actual', type: 'nominal', sort: labelNames, title: 'actual class', axis },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#e4e4e4', strokeWidth: 1 },
        encoding: {
          color: { field: 'count', type: 'quantitative', scale: { range: ['#ffffff', '#08519c'], interpolate: 'rgb', domain: [0, max] }, legend: { title: 'samples' } },
          tooltip: [
            { field: 'actual', type: 'nominal' },
            { field: 'predicted', type: 'nominal' },
            { field: 'count', type: 'quantitative' },
            { field: 'share', type: 'quantitative', format: '.1%', title: 'share of actual' },
          ],
        },
      },
      {
        mark: { type: 'text', fontSize: size >= 40 ? 12 : 10 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: [{ test: `datum.count > ${max / 2}`, value: 'white' }, { test: 'datum.count === 0', value: '#bbbbbb' }], value: '#222222' },
        },
      },
    ],
  }
}

export interface BoundaryGrid {
  /** Cell centres along each axis. */
  xs: number[]
  ys: number[]
  /** The predicted class of each cell, row-major over ys then xs. */
  classes: ArrayLike<number>
}

/** 2-D samples coloured by class over the model's predicted class for every point of the plane. */
export function decisionBoundaryChart(
  points: { x: number; y: number; label: number }[],
  grid: BoundaryGrid | null,
  labelNames: string[],
  axisTitles: [string, string],
): TopLevelSpec {
  const name = (k: number) => labelNames[k] ?? String(k)
  const layers: TopLevelSpec[] = []
  const half = (v: number[]) => (v.length > 1 ? (v[1]! - v[0]!) / 2 : 0.5)
  const xDomain = grid ? [grid.xs[0]! - half(grid.xs), grid.xs.at(-1)! + half(grid.xs)] : undefined
  const yDomain = grid ? [grid.ys[0]! - half(grid.ys), grid.ys.at(-1)! + half(grid.ys)] : undefined
  const colour = { field: 'class', type: 'nominal' as const, scale: { ...CLASS_COLOURS, domain: labelNames }, title: 'class', legend: { symbolOpacity: 1 } }
  if (grid) {
    const hx = half(grid.xs)
    const hy = half(grid.ys)
    // One rectangle per run of equal classes along a row keeps the SVG small (a few hundred
    // rectangles instead of one per cell).
    const cells: { x0: number; x1: number; y0: number; y1: number; class: string }[] = []
    grid.ys.forEach((y, r) => {
      const at = (c: number) => grid.classes[r * grid.xs.length + c]!
      for (let start = 0; start < grid.xs.length; ) {
        let end = start
        while (end + 1 < grid.xs.length && at(end + 1) === at(start)) end++
        cells.push({ x0: grid.xs[start]! - hx, x1: grid.xs[end]! + hx, y0: y - hy, y1: y + hy, class: name(at(start)) })
        start = end + 1
      }
    })
    layers.push({
      data: { values: cells },
      mark: { type: 'rect', opacity: 0.28, strokeWidth: 0 },
      encoding: {
        x: { field: 'x0', type: 'quantitative', scale: { domain: xDomain!, nice: false, zero: false }, title: axisTitles[0] },
        x2: { field: 'x1' },
        y: { field: 'y0', type: 'quantitative', scale: { domain: yDomain!, nice: false, zero: false }, title: axisTitles[1] },
        y2: { field: 'y1' },
        color: colour,
      },
    } as unknown as TopLevelSpec)
  }
  layers.push({
    data: { values: points.map((p) => ({ x: p.x, y: p.y, class: name(p.label) })) },
    mark: { type: 'circle', size: 26, opacity: 0.9, stroke: 'white', strokeWidth: 0.6 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: axisTitles[0], scale: xDomain ? { domain: xDomain, nice: false, zero: false } : { zero: false } },
      y: { field: 'y', type: 'quantitative', title: axisTitles[1], scale: yDomain ? { domain: yDomain, nice: false, zero: false } : { zero: false } },
      color: colour,
      tooltip: [{ field: 'class', type: 'nominal' }, { field: 'x', type: 'quantitative', format: '.3f' }, { field: 'y', type: 'quantitative', format: '.3f' }],
    },
  } as unknown as TopLevelSpec)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: grid ? 'Test samples and the learned decision boundary' : 'Samples by class',
    width: WIDTH,
    height: WIDTH * 0.8,
    config: CONFIG,
    layer: layers,
  } as unknown as TopLevelSpec
}

/** Predicted against actual values for regression, with the line y = x where they would agree. */
export function predictedVsActualChart(actual: ArrayLike<number>, predicted: ArrayLike<number>, targetName: string): TopLevelSpec {
  const values = Array.from(actual, (a, i) => ({ actual: a, predicted: predicted[i]! }))
  let lo = Infinity
  let hi = -Infinity
  for (const d of values) {
    lo = Math.min(lo, d.actual, d.predicted)
    hi = Math.max(hi, d.actual, d.predicted)
  }
  const scale = { domain: [lo, hi], zero: false }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Predicted against actual (test set)',
    width: WIDTH * 0.75,
    height: WIDTH * 0.75,
    config: CONFIG,
    layer: [
      {
        data: { values: [{ actual: lo, predicted: lo }, { actual: hi, predicted: hi }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'actual', type: 'quantitative', scale }, y: { field: 'predicted', type: 'quantitative', scale } },
      },
      {
        data: { values },
        mark: { type: 'circle', size: 22, opacity: 0.7, color: '#4c78a8' },
        encoding: {
          x: { field: 'actual', type: 'quantitative', scale, title: `actual ${targetName}` },
          y: { field: 'predicted', type: 'quantitative', scale, title: `predicted ${targetName}` },
          tooltip: [{ field: 'actual', type: 'quantitative', format: '.4f' }, { field: 'predicted', type: 'quantitative', format: '.4f' }],
        },
      },
    ],
  } as unknown as TopLevelSpec
}
