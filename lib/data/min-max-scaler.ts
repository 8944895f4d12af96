/**
 * Min-max scaling, as scikit-learn's MinMaxScaler: each feature mapped linearly so that its
 * minimum and maximum in the fitted data land on the ends of `featureRange` (default [0, 1]).
 * A constant feature keeps scale 1 (it is only shifted).
 */
import type { Features } from '../inputs.js'
import { Matrix } from '../matrix.js'
import { checkFiniteNumber, checkOptions, describe, optional } from '../validate.js'
import { ShapeError } from '../errors.js'
import type { DataSourceLike } from './sources/data-source.js'
import { checkScalerJSON, columnsOf, fittedOrThrow, mapColumns, mapRowsInPlace, partialFitSource } from './scaler-common.js'

export interface MinMaxScalerOptions {
  /** The range features are mapped to (default [0, 1]). */
  featureRange?: [number, number]
}

export interface MinMaxScalerJSON {
  kind: 'minMax'
  /** x · scale + offset maps a feature into the range. */
  scale: number[]
  offset: number[]
  dataMin: number[]
  dataMax: number[]
  featureRange: [number, number]
}

export class MinMaxScaler {
  readonly featureRange: [number, number]
  dataMin: Float64Array | null = null
  dataMax: Float64Array | null = null
  /** Per-feature factor; null until fitted. */
  scale: Float64Array | null = null
  /** Per-feature offset added after scaling; null until fitted. */
  offset: Float64Array | null = null

  constructor(options: MinMaxScalerOptions = {}) {
    const o = checkOptions('MinMaxScaler options', options, ['featureRange'])
    this.featureRange = optional(o.featureRange, [0, 1] as [number, number], (v) => {
      if (!Array.isArray(v) || v.length !== 2) throw new TypeError(`MinMaxScaler featureRange must be [min, max], got ${describe(v)}`)
      const [lo, hi] = [checkFiniteNumber('MinMaxScaler featureRange[0]', v[0]), checkFiniteNumber('MinMaxScaler featureRange[1]', v[1])]
      if (!(lo < hi)) throw new RangeError(`MinMaxScaler featureRange must have min < max, got [${lo}, ${hi}]`)
      return [lo, hi]
    })
  }

  /** Learns each feature's minimum and maximum, forgetting earlier data. */
  fit(x: Features): this {
    const m = columnsOf('MinMaxScaler.fit x', x)
    if (m.rows === 0) throw new RangeError('MinMaxScaler.fit x has no rows; it needs at least one sample')
    this.dataMin = this.dataMax = null
    return this.partialFit(m)
  }

  /**
   * Widens the minimum and maximum learned so far by more rows, for data that does not fit in
   * memory (e.g. each block of a DataSource): the result equals `fit` on all rows seen, exactly.
   */
  partialFit(x: Features): this {
    const m = columnsOf('MinMaxScaler.partialFit x', x)
    if (m.rows === 0) return this
    if (this.dataMin && this.dataMin.length !== m.cols) {
      throw new ShapeError(`MinMaxScaler.partialFit x has ${m.cols} columns; the rows seen before had ${this.dataMin.length}`)
    }
    const min = this.dataMin ? Float64Array.from(this.dataMin) : new Float64Array(m.cols).fill(Infinity)
    const max = this.dataMax ? Float64Array.from(this.dataMax) : new Float64Array(m.cols).fill(-Infinity)
    const d = m.data
    for (let r = 0; r < m.rows; r++) {
      for (let c = 0; c < m.cols; c++) {
        const v = d[r * m.cols + c]!
        if (v < min[c]!) min[c] = v
        if (v > max[c]!) max[c] = v
      }
    }
    const [lo, hi] = this.featureRange
    const scale = new Float64Array(m.cols)
    const offset = new Float64Array(m.cols)
    for (let c = 0; c < m.cols; c++) {
      const range = max[c]! - min[c]!
      scale[c] = (hi - lo) / (range > 0 ? range : 1)
      offset[c] = lo - min[c]! * scale[c]!
    }
    Object.assign(this, { dataMin: min, dataMax: max, scale, offset })
    return this
  }

  /** Learns the minimum and maximum of every row of a source (epoch 0), one block at a time, forgetting earlier data. */
  async fitSource(source: DataSourceLike): Promise<this> {
    this.dataMin = this.dataMax = this.scale = this.offset = null
    if ((await partialFitSource(this, source)) === 0) throw new RangeError('MinMaxScaler.fitSource source has no rows; it needs at least one sample')
    return this
  }

  /** Scales rows of features in place: `x · scale + offset` (e.g. a block of a file source that the caller owns). */
  transformInPlace(x: Float32Array): Float32Array {
    const { scale, offset } = this.fitted()
    return mapRowsInPlace('MinMaxScaler.transformInPlace x', x, scale.length, (v, c) => v * scale[c]! + offset[c]!)
  }

  /** `x · scale + offset` of rows of features, into a new array: what `source.map(scaler)` applies to each block. */
  transformRows(x: Float32Array): Float32Array {
    return this.transformInPlace(Float32Array.from(x))
  }

  /** x · scale + offset, as a new Matrix. */
  transform(x: Features): Matrix {
    const { scale, offset } = this.fitted()
    return mapColumns('MinMaxScaler.transform x', x, scale.length, (v, c) => v * scale[c]! + offset[c]!)
  }

  fitTransform(x: Features): Matrix {
    return this.fit(x).transform(x)
  }

  /** (x − offset) / scale: back to the original units. */
  inverseTransform(x: Features): Matrix {
    const { scale, offset } = this.fitted()
    return mapColumns('MinMaxScaler.inverseTransform x', x, scale.length, (v, c) => (v - offset[c]!) / scale[c]!)
  }

  toJSON(): MinMaxScalerJSON {
    const { scale, offset } = this.fitted()
    return {
      kind: 'minMax',
      scale: Array.from(scale),
      offset: Array.from(offset),
      dataMin: Array.from(this.dataMin!),
      dataMax: Array.from(this.dataMax!),
      featureRange: [...this.featureRange],
    }
  }

  static fromJSON(json: unknown): MinMaxScaler {
    const j = checkScalerJSON('minMax', json, ['scale', 'offset', 'dataMin', 'dataMax', 'featureRange'])
    const range = j.featureRange!
    if (range.length !== 2 || !(range[0]! < range[1]!)) throw new TypeError(`a minMax scaler's featureRange must be [min, max] with min < max, got [${range.join(', ')}]`)
    const scaler = new MinMaxScaler({ featureRange: [range[0]!, range[1]!] })
    Object.assign(scaler, {
      scale: Float64Array.from(j.scale!),
      offset: Float64Array.from(j.offset!),
      dataMin: Float64Array.from(j.dataMin!),
      dataMax: Float64Array.from(j.dataMax!),
    })
    return scaler
  }

  private fitted(): { scale: Float64Array; offset: Float64Array } {
    const [scale, offset] = fittedOrThrow('MinMaxScaler', this.scale, this.offset)
    return { scale, offset }
  }
}
