/** Rows already in memory as a source: the in-memory case of streaming, with random access. */
import { ShapeError } from '../../errors.js'
import { asMatrix, type Features, type Targets } from '../../inputs.js'
import { Matrix } from '../../matrix.js'
import { describe } from '../../validate.js'
import { DataSource, DEFAULT_BLOCK_ROWS, readRanges, type EpochContext, type RowBlock, type RowRanges, type SourceShape } from './data-source.js'

/** Labels as a rows × columns Matrix: a flat list (or typed array) is one column. */
function labelMatrix(y: unknown, rows: number): Matrix {
  let m: Matrix
  if (y instanceof Int32Array || y instanceof Uint8Array || y instanceof Float32Array || y instanceof Float64Array) m = new Matrix(y.length, 1, Float32Array.from(y))
  else if (Array.isArray(y) && (y.length === 0 || !Array.isArray(y[0]))) {
    const out = new Float32Array(y.length)
    y.forEach((v, i) => {
      if (typeof v !== 'number') throw new TypeError(`data.array y[${i}] must be a number, got ${describe(v)}`)
      out[i] = v
    })
    m = new Matrix(y.length, 1, out)
  } else m = asMatrix('data.array y', y)
  if (m.rows !== rows) throw new ShapeError(`data.array y has ${m.rows} rows but x has ${rows}; they must match`)
  return m
}

export class ArraySource extends DataSource implements RowRanges {
  private readonly x: Matrix
  private readonly y: Matrix

  constructor(x: Features, y: Targets) {
    super()
    this.x = asMatrix('data.array x', x)
    this.y = labelMatrix(y, this.x.rows)
  }

  get rows(): number {
    return this.x.rows
  }

  shape(): Promise<SourceShape> {
    return Promise.resolve({ xColumns: this.x.cols, yColumns: this.y.cols, rows: this.x.rows, featureNames: null, labelNames: null })
  }

  /** The arrays are the caller's, and a pass reads views of them: nothing more is held. */
  memoryEstimate(): Promise<number> {
    return Promise.resolve(0)
  }

  override ranges(): Promise<RowRanges> {
    return Promise.resolve(this)
  }

  read(start: number, count: number, into?: RowBlock): Promise<RowBlock> {
    const xc = this.x.cols
    const yc = this.y.cols
    const rows: RowBlock = { x: this.x.data.subarray(start * xc, (start + count) * xc), y: this.y.data.subarray(start * yc, (start + count) * yc), rows: count }
    if (!into) return Promise.resolve(rows)
    into.x.set(rows.x)
    into.y.set(rows.y)
    return Promise.resolve(into)
  }

  blocks(context: EpochContext): AsyncIterable<RowBlock> {
    // Not recycled: reads without a block to fill are views of the arrays, no copy.
    return readRanges(this, DEFAULT_BLOCK_ROWS, { signal: context.signal })
  }
}
