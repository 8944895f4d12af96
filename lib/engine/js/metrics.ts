import type { AccuracyKind, MetricName } from '../../plan.js'
import type { FloatArray } from './gemm.js'

function argmax(v: FloatArray, start: number, cols: number): number {
  let best = 0
  for (let j = 1; j < cols; j++) if (v[start + j]! > v[start + best]!) best = j
  return best
}

/**
 * Adds each metric's sum of per-sample values over `rows` to `sums` (one entry per metric), so
 * that a sum over batches divided by the sample count is the epoch's metric.
 */
export function addMetricSums(
  metrics: readonly MetricName[],
  accuracy: AccuracyKind,
  a: FloatArray,
  y: FloatArray,
  rows: number,
  cols: number,
  sums: Float64Array,
): void {
  for (let m = 0; m < metrics.length; m++) {
    let total = 0
    switch (metrics[m]) {
      case 'accuracy':
        if (accuracy === 'binary') {
          let correct = 0
          for (let i = 0; i < rows * cols; i++) if (a[i]! > 0.5 === y[i]! > 0.5) correct++
          total = correct / cols
        } else if (accuracy === 'sparse') {
          for (let r = 0; r < rows; r++) if (argmax(a, r * cols, cols) === y[r]) total++
        } else {
          for (let r = 0; r < rows; r++) if (argmax(a, r * cols, cols) === argmax(y, r * cols, cols)) total++
        }
        break
      case 'meanAbsoluteError':
        for (let i = 0; i < rows * cols; i++) total += Math.abs(a[i]! - y[i]!) / cols
        break
      case 'meanSquaredError':
        for (let i = 0; i < rows * cols; i++) {
          const d = a[i]! - y[i]!
          total += (d * d) / cols
        }
        break
    }
    sums[m] = sums[m]! + total
  }
}
