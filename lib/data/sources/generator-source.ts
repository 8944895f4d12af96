/**
 * Rows from code: `fn()` returns a fresh (sync or async) iterable for each epoch, of samples
 * `{ x: number[] | Float32Array, y: number | number[] | Float32Array, w? }` or of blocks
 * `{ x, y, rows }`. The first item fixes the columns; the row count is unknown (null).
 */
import { ShapeError } from '../../errors.js'
import { describe } from '../../validate.js'
import { DataSource, DEFAULT_BLOCK_ROWS, headOf, type EpochContext, type RowBlock, type SourceShape } from './data-source.js'

type Sample = { x: ArrayLike<number>; y: number | ArrayLike<number> }
type Block = { x: ArrayLike<number>; y: ArrayLike<number>; w?: ArrayLike<number>; rows: number }
type Item = Sample | Block
export type GeneratorFunction = () => Iterable<Item> | AsyncIterable<Item>

const isBlock = (item: Item): item is Block => typeof (item as Block).rows === 'number'
const yLength = (y: Item['y']): number => (typeof y === 'number' ? 1 : y.length)

export class GeneratorSource extends DataSource {
  private known: SourceShape | null = null

  constructor(private readonly fn: GeneratorFunction) {
    super()
    if (typeof fn !== 'function') throw new TypeError(`data.generator expects a function that returns an iterable of samples, got ${describe(fn)}`)
  }

  async shape(): Promise<SourceShape> {
    if (this.known) return this.known
    for await (const item of this.items()) {
      const rows = isBlock(item) ? item.rows : 1
      this.known = { xColumns: item.x.length / rows, yColumns: yLength(item.y) / rows, rows: null, featureNames: null, labelNames: null }
      return this.known
    }
    throw new ShapeError('data.generator: the function returned an empty iterable; it must yield at least one sample')
  }

  async memoryEstimate(): Promise<number> {
    const s = await this.shape()
    return DEFAULT_BLOCK_ROWS * (s.xColumns + s.yColumns + 1) * 4
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const { xColumns: xc, yColumns: yc } = await this.shape()
    let out: RowBlock | null = null
    let index = 0
    for await (const item of this.items()) {
      context.signal?.throwIfAborted()
      if (isBlock(item)) {
        if (item.x.length !== item.rows * xc || item.y.length !== item.rows * yc) {
          throw new ShapeError(`data.generator: block ${index} has ${item.x.length} feature and ${item.y.length} label values for ${item.rows} rows; expected ${xc} and ${yc} per row`)
        }
        if (out && out.rows > 0) yield headOf(out, out.rows, xc, yc)
        out = null
        yield { x: Float32Array.from(item.x), y: Float32Array.from(item.y), rows: item.rows, ...(item.w && { w: Float32Array.from(item.w) }) }
        index++
        continue
      }
      if (!item || item.x == null || item.y == null || item.x.length !== xc || yLength(item.y) !== yc) {
        throw new ShapeError(`data.generator: sample ${index} must be { x: ${xc} numbers, y: ${yc === 1 ? 'a number' : `${yc} numbers`} } like the first, got ${describe(item)}`)
      }
      out ??= { x: new Float32Array(DEFAULT_BLOCK_ROWS * xc), y: new Float32Array(DEFAULT_BLOCK_ROWS * yc), rows: 0 }
      out.x.set(item.x, out.rows * xc)
      if (typeof item.y === 'number') out.y[out.rows] = item.y
      else out.y.set(item.y, out.rows * yc)
      out.rows++
      index++
      if (out.rows === DEFAULT_BLOCK_ROWS) {
        yield out
        out = null
      }
    }
    if (out && out.rows > 0) yield headOf(out, out.rows, xc, yc)
  }

  private items(): Iterable<Item> | AsyncIterable<Item> {
    const it = this.fn()
    if (it == null || (typeof (it as Iterable<Item>)[Symbol.iterator] !== 'function' && typeof (it as AsyncIterable<Item>)[Symbol.asyncIterator] !== 'function')) {
      throw new TypeError(`data.generator: the function must return a fresh iterable (e.g. a generator) each time it is called, got ${describe(it)}`)
    }
    return it
  }
}
