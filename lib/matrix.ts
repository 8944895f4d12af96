import { ShapeError } from './errors.js'
import { checkInteger, describe } from './validate.js'

/**
 * A dense row-major matrix of float32 values: rows are samples, columns are features.
 * `data` is shared, not copied, when given to the constructor.
 */
export class Matrix {
  readonly rows: number
  readonly cols: number
  readonly data: Float32Array

  constructor(rows: number, cols: number, data?: Float32Array) {
    checkInteger('Matrix rows', rows, { min: 0 })
    checkInteger('Matrix cols', cols, { min: 0 })
    if (data === undefined) {
      this.data = new Float32Array(rows * cols)
    } else {
      if (!(data instanceof Float32Array)) {
        throw new TypeError(`Matrix data must be a Float32Array, got ${describe(data)}`)
      }
      if (data.length !== rows * cols) {
        throw new ShapeError(
          `Matrix data must hold rows × cols = ${rows} × ${cols} = ${rows * cols} values, got ${data.length}`,
        )
      }
      this.data = data
    }
    this.rows = rows
    this.cols = cols
  }

  /** Copies a rectangular `number[][]` into a new Matrix. */
  static from(values: readonly (readonly number[])[], name = 'values'): Matrix {
    if (!Array.isArray(values)) {
      throw new TypeError(`${name} must be an array of rows (number[][]), got ${describe(values)}`)
    }
    const rows = values.length
    const first = values[0]
    if (rows > 0 && !Array.isArray(first)) {
      throw new TypeError(`${name}[0] must be an array of numbers, got ${describe(first)}`)
    }
    const cols = rows === 0 ? 0 : first!.length
    const data = new Float32Array(rows * cols)
    for (let r = 0; r < rows; r++) {
      const row = values[r]
      if (!Array.isArray(row)) {
        throw new TypeError(`${name}[${r}] must be an array of numbers, got ${describe(row)}`)
      }
      if (row.length !== cols) {
        throw new ShapeError(
          `${name} must be rectangular: row 0 has ${cols} values but row ${r} has ${row.length}`,
        )
      }
      for (let c = 0; c < cols; c++) {
        const v = row[c]
        if (typeof v !== 'number') {
          throw new TypeError(`${name}[${r}][${c}] must be a number, got ${describe(v)}`)
        }
        data[r * cols + c] = v
      }
    }
    return new Matrix(rows, cols, data)
  }

  /** A column vector (n × 1) from a flat list of numbers. */
  static column(values: ArrayLike<number>): Matrix {
    return new Matrix(values.length, 1, Float32Array.from(values))
  }

  get shape(): [number, number] {
    return [this.rows, this.cols]
  }

  get(row: number, col: number): number {
    this.checkIndex(row, col)
    return this.data[row * this.cols + col]!
  }

  set(row: number, col: number, value: number): void {
    this.checkIndex(row, col)
    this.data[row * this.cols + col] = value
  }

  /** A copy of one row. */
  row(index: number): Float32Array {
    checkInteger('row index', index, { min: 0, max: this.rows - 1 })
    return this.data.slice(index * this.cols, (index + 1) * this.cols)
  }

  toArray(): number[][] {
    const out: number[][] = []
    for (let r = 0; r < this.rows; r++) out.push(Array.from(this.data.subarray(r * this.cols, (r + 1) * this.cols)))
    return out
  }

  clone(): Matrix {
    return new Matrix(this.rows, this.cols, this.data.slice())
  }

  toString(): string {
    return `Matrix(${this.rows}×${this.cols})`
  }

  private checkIndex(row: number, col: number): void {
    checkInteger('row', row, { min: 0, max: this.rows - 1 })
    checkInteger('col', col, { min: 0, max: this.cols - 1 })
  }
}
