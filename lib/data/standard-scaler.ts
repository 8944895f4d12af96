/**
 * Standardisation, as scikit-learn's StandardScaler: each feature minus its mean, divided by its
 * standard deviation (the population one, ddof = 0), both learned by `fit`. A constant feature
 * keeps scale 1, so it becomes 0 rather than NaN.
 */
import type { Features } from '../inputs.js'
import { Matrix } from '../matrix.js'
import { checkBoolean, checkOptions, optional } from '../validate.js'
import { checkScalerJSON, columnsOf, fittedOrThrow, mapColumns } from './scaler-common.js'

export interface StandardScalerOptions {
  /** Subtract the mean (default true). */
  withMean?: boolean
  /** Divide by the standard deviation (default true). */
  withStd?: boolean
}

export interface StandardScalerJSON {
  kind: 'standard'
  mean: number[]
  scale: number[]
}

export class StandardScaler {
  readonly withMean: boolean
  readonly withStd: boolean
  /** Per-feature mean subtracted (zeros without withMean); null until fitted. */
  mean: Float64Array | null = null
  /** Per-feature divisor (ones without withStd); null until fitted. */
  scale: Float64Array | null = null

  constructor(options: StandardScalerOptions = {}) {
    const o = checkOptions('StandardScaler options', options, ['withMean', 'withStd'])
    this.withMean = optional(o.withMean, true, (v) => checkBoolean('StandardScaler withMean', v))
    this.withStd = optional(o.withStd, true, (v) => checkBoolean('StandardScaler withStd', v))
  }

  /** Learns each feature's mean and standard deviation (in float64). */
  fit(x: Features): this {
    const m = columnsOf('StandardScaler.fit x', x)
    if (m.rows === 0) throw new RangeError('StandardScaler.fit x has no rows; it needs at least one sample')
    const mean = new Float64Array(m.cols)
    const d = m.data
    for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) mean[c] += d[r * m.cols + c]!
    for (let c = 0; c < m.cols; c++) mean[c] /= m.rows
    // Two passes: the mean first, then squared deviations (stable where Σx² − n·mean² is not).
    const variance = new Float64Array(m.cols)
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < m.cols; c++) {
        const dev = d[r * m.cols + c]! - mean[c]!
        variance[c] += dev * dev
      }
    }
    const scale = new Float64Array(m.cols)
    for (let c = 0; c < m.cols; c++) {
      const std = Math.sqrt(variance[c]! / m.rows)
      scale[c] = this.withStd && std > 0 ? std : 1
    }
    this.mean = this.withMean ? mean : new Float64Array(m.cols)
    this.scale = scale
    return this
  }

  /** (x − mean) / scale, as a new Matrix. */
  transform(x: Features): Matrix {
    const [mean, scale] = fittedOrThrow('StandardScaler', this.mean, this.scale)
    return mapColumns('StandardScaler.transform x', x, mean.length, (v, c) => (v - mean[c]!) / scale[c]!)
  }

  fitTransform(x: Features): Matrix {
    return this.fit(x).transform(x)
  }

  /** x · scale + mean: back to the original units. */
  inverseTransform(x: Features): Matrix {
    const [mean, scale] = fittedOrThrow('StandardScaler', this.mean, this.scale)
    return mapColumns('StandardScaler.inverseTransform x', x, mean.length, (v, c) => v * scale[c]! + mean[c]!)
  }

  toJSON(): StandardScalerJSON {
    const [mean, scale] = fittedOrThrow('StandardScaler', this.mean, this.scale)
    return { kind: 'standard', mean: Array.from(mean), scale: Array.from(scale) }
  }

  static fromJSON(json: unknown): StandardScaler {
    const { mean, scale } = checkScalerJSON('standard', json, ['mean', 'scale'])
    const scaler = new StandardScaler()
    scaler.mean = Float64Array.from(mean!)
    scaler.scale = Float64Array.from(scale!)
    return scaler
  }
}
