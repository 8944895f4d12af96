/**
 * Standardisation, as scikit-learn's StandardScaler: each feature minus its mean, divided by its
 * standard deviation (the population one, ddof = 0), both learned by `fit`. A constant feature
 * keeps scale 1, so it becomes 0 rather than NaN.
 */
import type { Features } from '../inputs.js'
import { ShapeError } from '../errors.js'
import { Matrix } from '../matrix.js'
import { checkBoolean, checkOptions, optional } from '../validate.js'
import type { DataSourceLike } from './sources/data-source.js'
import { checkScalerJSON, columnsOf, fittedOrThrow, mapColumns, mapRowsInPlace, partialFitSource } from './scaler-common.js'

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

  /** Running count, mean and sum of squared deviations of what partialFit has seen (float64). */
  private running: { n: number; mean: Float64Array; m2: Float64Array } | null = null

  /**
   * Adds rows to what the scaler has learned, for data that does not fit in memory (e.g. each
   * block of a DataSource): the result equals `fit` on all rows seen, up to rounding. Each batch
   * is reduced in two passes and merged with Chan et al.'s update, which stays stable.
   */
  partialFit(x: Features): this {
    const m = columnsOf('StandardScaler.partialFit x', x)
    if (m.rows === 0) return this
    if (this.running && this.running.mean.length !== m.cols) {
      throw new ShapeError(`StandardScaler.partialFit x has ${m.cols} columns; the rows seen before had ${this.running.mean.length}`)
    }
    const { mean: mb, m2: m2b } = columnMoments(m)
    const r = (this.running ??= { n: 0, mean: new Float64Array(m.cols), m2: new Float64Array(m.cols) })
    const n = r.n + m.rows
    for (let c = 0; c < m.cols; c++) {
      const delta = mb[c]! - r.mean[c]!
      r.mean[c] = r.mean[c]! + (delta * m.rows) / n
      r.m2[c] = r.m2[c]! + m2b[c]! + (delta * delta * r.n * m.rows) / n
    }
    r.n = n
    this.setMoments(r.mean, r.m2, n)
    return this
  }

  /** Learns each feature's mean and standard deviation (in float64). */
  fit(x: Features): this {
    const m = columnsOf('StandardScaler.fit x', x)
    if (m.rows === 0) throw new RangeError('StandardScaler.fit x has no rows; it needs at least one sample')
    const { mean, m2 } = columnMoments(m)
    this.running = null
    this.setMoments(mean, m2, m.rows)
    return this
  }

  /** Learns the mean and standard deviation of every row of a source (epoch 0), one block at a time, forgetting earlier data. */
  async fitSource(source: DataSourceLike): Promise<this> {
    this.running = null
    this.mean = this.scale = null
    if ((await partialFitSource(this, source)) === 0) throw new RangeError('StandardScaler.fitSource source has no rows; it needs at least one sample')
    return this
  }

  private setMoments(mean: Float64Array, sumSquares: Float64Array, n: number): void {
    const scale = new Float64Array(mean.length)
    for (let c = 0; c < mean.length; c++) {
      const std = Math.sqrt(sumSquares[c]! / n)
      scale[c] = this.withStd && std > 0 ? std : 1
    }
    this.mean = this.withMean ? Float64Array.from(mean) : new Float64Array(mean.length)
    this.scale = scale
  }

  /** Scales rows of features in place: `(x − mean) / scale` (e.g. a block of a file source that the caller owns). */
  transformInPlace(x: Float32Array): Float32Array {
    const [mean, scale] = fittedOrThrow('StandardScaler', this.mean, this.scale)
    return mapRowsInPlace('StandardScaler.transformInPlace x', x, mean.length, (v, c) => (v - mean[c]!) / scale[c]!)
  }

  /** `(x − mean) / scale` of rows of features, into a new array: what `source.map(scaler)` applies to each block. */
  transformRows(x: Float32Array): Float32Array {
    return this.transformInPlace(Float32Array.from(x))
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

/** Each column's mean and sum of squared deviations, in two passes (stable where Σx² − n·mean² is not). */
function columnMoments(m: Matrix): { mean: Float64Array; m2: Float64Array } {
  const mean = new Float64Array(m.cols)
  const d = m.data
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) mean[c]! += d[r * m.cols + c]!
  for (let c = 0; c < m.cols; c++) mean[c]! /= m.rows
  const m2 = new Float64Array(m.cols)
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const dev = d[r * m.cols + c]! - mean[c]!
      m2[c]! += dev * dev
    }
  }
  return { mean, m2 }
}
