/**
 * The contract of streaming data (release 2, DESIGN.md "Servers and beyond one machine").
 *
 * A DataSource is a lazy, re-iterable description of labelled rows: a file or a set of shards
 * (npy, csv, arrow, parquet), a generator, or arrays in memory, followed by transformations
 * (shuffle, batch, map, take, skip, shard, prefetch). Nothing is read until an epoch is
 * iterated; memory stays bounded by the shuffle buffer and the read-ahead, whatever the size of
 * the data. It is named DataSource (not Dataset) so that it cannot be confused with the loaded,
 * in-memory datasets of lib/data/dataset.ts or the engine's training data.
 *
 * Everything a source yields is a RowBlock: several rows at once, never one row per object, so
 * that a pipeline over millions of rows costs a few calls per thousand rows. After `.batch(n)`
 * every block is one batch of exactly n rows (the last one shorter unless dropRemainder).
 * A source never writes into a block it has yielded (consumers may keep blocks: prefetch does),
 * unless the consumer says it recycles them (`EpochContext.recycle`).
 */
import { ShapeError } from '../../errors.js'
import { Rng } from '../../rng.js'
import { checkBoolean, checkInteger, checkOptions, describe, optional } from '../../validate.js'


/** Rows of features and labels, row-major. */
export interface RowBlock {
  /** rows × xColumns features. */
  x: Float32Array
  /**
   * rows × yColumns labels as the file holds them: for classification usually one class index
   * per row, for regression the target value(s). The trainer converts them to what the
   * compiled loss needs (e.g. one-hot) and checks them.
   */
  y: Float32Array
  /** Optional per-row loss weights (≥ 0). */
  w?: Float32Array
  rows: number
}

/** Where an epoch's iteration starts; the same values always give the same rows in the same order. */
export interface EpochContext {
  /**
   * The 0-based epoch. Shuffling draws from a stream seeded by (shuffle seed, epoch), so epoch
   * e's order does not depend on the epochs before it: a resumed run can start at any epoch.
   */
  epoch: number
  /** Stops reading (and releases files and workers) when aborted. */
  signal?: AbortSignal
  /**
   * The consumer is done with a block when it asks for the next one (it copies what it keeps),
   * so a step may write its next block into the memory of the last: fresh memory costs a page
   * fault every 4 KB. fitDataset's chunks recycle; steps that keep blocks (prefetch) or hand
   * them to caller code (map) ask their own source without it.
   */
  recycle?: boolean
}

/** What a source knows about its rows before reading them. */
export interface SourceShape {
  /** Features per row. */
  xColumns: number
  /** Label values per row. */
  yColumns: number
  /** Rows per epoch when known (files with a row count), else null (generators, filters). */
  rows: number | null
  /** Feature names when the file has them (CSV header, Parquet/Arrow schema), else null. */
  featureNames: string[] | null
  /** Class names when labels were strings (CSV) or given, else null. */
  labelNames: string[] | null
}

export interface DataSourceLike {
  /** Opens the source enough to know its shape (reads headers only). */
  shape(): Promise<SourceShape>
  /** One epoch's blocks, in order. Every call starts a fresh pass. */
  blocks(context: EpochContext): AsyncIterable<RowBlock>
  /** The most bytes this pipeline holds at once (shuffle buffer + read-ahead + batch buffers). */
  memoryEstimate(): Promise<number>
}

/** What `.map` applies to each block's features: a fitted StandardScaler or MinMaxScaler. */
export interface RowTransform {
  transformRows(x: Float32Array): Float32Array
}

function isRowTransform(v: unknown): v is RowTransform {
  return typeof v === 'object' && v !== null && typeof (v as RowTransform).transformRows === 'function'
}

/** Sources that can read any range of rows (files, arrays): shuffle and shard use it. */
export interface RowRanges {
  /** Rows per epoch. */
  readonly rows: number
  /** Rows [start, start + count): into `into` (views of exactly that many rows) when given, else a new block. */
  read(start: number, count: number, into?: RowBlock): Promise<RowBlock>
}

/** Rows per block when a source reads ranges and nothing asks for another size. */
export const DEFAULT_BLOCK_ROWS = 4096

/** Bytes of one row in memory: float32 features, labels and a weight. */
export function rowBytes(shape: SourceShape): number {
  return (shape.xColumns + shape.yColumns + 1) * 4
}

/**
 * A lazy, re-iterable pipeline of labelled rows. Build one with `data.npy`, `data.array`,
 * `data.generator`, … and chain transformations; nothing is read until an epoch is iterated
 * (by fitDataset, evaluateDataset, predictDataset or `blocks()`).
 */
export abstract class DataSource implements DataSourceLike {
  abstract shape(): Promise<SourceShape>
  abstract blocks(context: EpochContext): AsyncIterable<RowBlock>
  abstract memoryEstimate(): Promise<number>

  /** Rows per block when this source yields batches (after `.batch(n)`): n; else null. */
  get batchSize(): number | null {
    return null
  }

  /** @internal Random access to rows, when the source (and every step before) allows it. */
  ranges(): Promise<RowRanges | null> {
    return Promise.resolve(null)
  }

  /**
   * Shuffles rows through a buffer of `bufferSize` rows (tf.data's rule: each row out is drawn
   * at random from the buffer, and the next row in takes its place). Where the source reads
   * ranges, its chunks are also visited in a random order, so rows far apart in the file mix.
   * Each epoch's order comes from (seed, epoch) alone: epoch e is the same whenever it runs.
   */
  shuffle(bufferSize: number, options: { seed?: number } = {}): DataSource {
    const size = checkInteger('shuffle bufferSize', bufferSize, { min: 1 })
    const o = checkOptions('shuffle options', options, ['seed'])
    const seed = optional(o.seed, 0, (v) => checkInteger('shuffle seed', v, { min: 0, max: 0xffffffff }))
    return new ShuffleSource(this, size, seed)
  }

  /** Re-cuts the rows into batches of exactly `size` rows (the last one shorter unless dropRemainder). */
  batch(size: number, options: { dropRemainder?: boolean } = {}): DataSource {
    const n = checkInteger('batch size', size, { min: 1 })
    const o = checkOptions('batch options', options, ['dropRemainder'])
    return new BatchSource(this, n, optional(o.dropRemainder, false, (v) => checkBoolean('batch dropRemainder', v)))
  }

  /**
   * Transforms each block of rows (after `.batch(n)`, each batch): `fn` gets `{ x, y, w?, rows }`
   * and returns a block with the same rows (it may change the columns, e.g. scale x). Blocks
   * may be views of the caller's arrays (`data.array`): return new arrays, don't write into them.
   * A fitted scaler (`.map(scaler)`) scales each block's features into a new array.
   */
  map(fn: ((block: RowBlock) => RowBlock) | RowTransform): DataSource {
    if (isRowTransform(fn)) {
      const transform = fn
      return new MapSource(this, (block) => ({ ...block, x: transform.transformRows(block.x) }))
    }
    if (typeof fn !== 'function') throw new TypeError(`map expects a function (block) => block or a fitted scaler, got ${describe(fn)}`)
    return new MapSource(this, fn)
  }

  /** The first `count` rows of each epoch. */
  take(count: number): DataSource {
    return new SliceSource(this, 0, checkInteger('take count', count, { min: 0 }))
  }

  /** Each epoch without its first `count` rows. */
  skip(count: number): DataSource {
    return new SliceSource(this, checkInteger('skip count', count, { min: 0 }), Infinity)
  }

  /**
   * Part `index` of `count` disjoint parts that together hold every row once: a contiguous
   * range of rows where the source reads ranges (files, arrays: each worker reads only its part),
   * else every count-th row from `index` on.
   */
  shard(index: number, count: number): DataSource {
    const n = checkInteger('shard count', count, { min: 1 })
    const i = checkInteger('shard index', index, { min: 0, max: n - 1 })
    return new ShardSource(this, i, n)
  }

  /** Reads up to `count` blocks ahead while the consumer works on the current one. */
  prefetch(count: number): DataSource {
    return new PrefetchSource(this, checkInteger('prefetch count', count, { min: 1 }))
  }
}

/** A step of a pipeline: a source over another source. */
abstract class Step extends DataSource {
  constructor(protected readonly inner: DataSource) {
    super()
  }

  shape(): Promise<SourceShape> {
    return this.inner.shape()
  }

  memoryEstimate(): Promise<number> {
    return this.inner.memoryEstimate()
  }

  override get batchSize(): number | null {
    return this.inner.batchSize
  }
}

/** Copies `count` rows of `src` from row `from` to `dst` from row `to`. */
function copyRows(dst: RowBlock, to: number, src: RowBlock, from: number, count: number, xCols: number, yCols: number): void {
  dst.x.set(src.x.subarray(from * xCols, (from + count) * xCols), to * xCols)
  dst.y.set(src.y.subarray(from * yCols, (from + count) * yCols), to * yCols)
  if (dst.w && src.w) dst.w.set(src.w.subarray(from, from + count), to)
}

/** Copies row `from` of `src` to row `to` of `dst` (x, y and w). */
function copyRow(dst: RowBlock, to: number, src: RowBlock, from: number, xCols: number, yCols: number): void {
  dst.x.set(src.x.subarray(from * xCols, (from + 1) * xCols), to * xCols)
  // One label per row is the common case: a view and a set cost more than the value.
  if (yCols === 1) dst.y[to] = src.y[from]!
  else dst.y.set(src.y.subarray(from * yCols, (from + 1) * yCols), to * yCols)
  if (dst.w && src.w) dst.w[to] = src.w[from]!
}

function emptyBlock(rows: number, xCols: number, yCols: number, weighted: boolean): RowBlock {
  const block: RowBlock = { x: new Float32Array(rows * xCols), y: new Float32Array(rows * yCols), rows: 0 }
  if (weighted) block.w = new Float32Array(rows)
  return block
}

/**
 * Empty blocks of up to `most` rows for a step's output: each in fresh memory, or, when the
 * consumer recycles blocks (`EpochContext.recycle`), in the memory of the block before.
 * fitDataset over a shuffled .npy of 784-float rows trained 65–68k rows/s with fresh blocks
 * and 76–86k recycling them, on one thread (most of the difference was page faults).
 */
function outputBlocks(recycle: boolean | undefined, most: number, xCols: number, yCols: number): (rows: number, weighted: boolean) => RowBlock {
  let kept: RowBlock | null = null
  return (rows, weighted) => {
    if (!recycle) return emptyBlock(rows, xCols, yCols, weighted)
    if (!kept || (kept.w !== undefined) !== weighted) kept = emptyBlock(most, xCols, yCols, weighted)
    return { ...headOf(kept, rows, xCols, yCols), rows: 0 }
  }
}

/** The first `rows` rows of a block, as views. */
export function headOf(block: RowBlock, rows: number, xCols: number, yCols: number): RowBlock {
  const out: RowBlock = { x: block.x.subarray(0, rows * xCols), y: block.y.subarray(0, rows * yCols), rows }
  if (block.w) out.w = block.w.subarray(0, rows)
  return out
}

/** Rows [from, to) of a block, as views. */
function sliceOf(block: RowBlock, from: number, to: number, xCols: number, yCols: number): RowBlock {
  const out: RowBlock = { x: block.x.subarray(from * xCols, to * xCols), y: block.y.subarray(from * yCols, to * yCols), rows: to - from }
  if (block.w) out.w = block.w.subarray(from, to)
  return out
}

/**
 * Blocks of `blockRows` rows read in order from a ranged source; when the consumer recycles
 * blocks, each read after the first goes into the first block's memory. (A source whose reads
 * are views of memory it holds, as arrays are, should not pass `recycle`: it would add a copy.)
 */
export async function* readRanges(r: RowRanges, blockRows: number, { signal, recycle }: Pick<EpochContext, 'signal' | 'recycle'>): AsyncGenerator<RowBlock> {
  let kept: RowBlock | null = null
  for (let start = 0; start < r.rows; start += blockRows) {
    signal?.throwIfAborted()
    const n = Math.min(blockRows, r.rows - start)
    const into = kept ? headOf(kept, n, kept.x.length / kept.rows, kept.y.length / kept.rows) : undefined
    const block = await r.read(start, n, into)
    if (recycle) kept ??= block
    yield block
  }
}

/** The PRNG of one epoch of a seeded step: (seed, epoch) alone decide it. */
export function epochRng(seed: number, epoch: number): Rng {
  return Rng.seeded((seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0, 0)
}

class ShuffleSource extends Step {
  constructor(inner: DataSource, private readonly bufferSize: number, private readonly seed: number) {
    super(inner)
  }

  override async memoryEstimate(): Promise<number> {
    const shape = await this.shape()
    // The buffer, and the block of rows being written out.
    return (await this.inner.memoryEstimate()) + rowBytes(shape) * (this.bufferSize + Math.min(this.bufferSize, DEFAULT_BLOCK_ROWS))
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const { xColumns: xc, yColumns: yc } = await this.shape()
    const rng = epochRng(this.seed, context.epoch)
    const ranges = await this.inner.ranges()
    if (ranges) {
      yield* this.windows(ranges, rng, xc, yc, context)
      return
    }
    // Every row is copied out of the input before the next block is asked for.
    const input = this.inner.blocks({ ...context, recycle: true })
    let buffer: RowBlock | null = null
    let filled = 0
    const outRows = Math.min(this.bufferSize, DEFAULT_BLOCK_ROWS)
    const outBlock = outputBlocks(context.recycle, outRows, xc, yc)
    let out: RowBlock | null = null
    for await (const block of input) {
      buffer ??= emptyBlock(this.bufferSize, xc, yc, block.w !== undefined)
      for (let r = 0; r < block.rows; r++) {
        if (filled < this.bufferSize) {
          copyRow(buffer, filled++, block, r, xc, yc)
          continue
        }
        out ??= outBlock(outRows, buffer.w !== undefined)
        const j = rng.nextBelow(this.bufferSize)
        copyRow(out, out.rows++, buffer, j, xc, yc)
        copyRow(buffer, j, block, r, xc, yc)
        if (out.rows === outRows) {
          yield out
          out = null
        }
      }
    }
    // Drain: the rows left in the buffer, in random order.
    for (let n = filled; n > 0; n--) {
      const j = rng.nextBelow(n)
      out ??= outBlock(outRows, buffer!.w !== undefined)
      copyRow(out, out.rows++, buffer!, j, xc, yc)
      copyRow(buffer!, j, buffer!, n - 1, xc, yc)
      if (out.rows === outRows) {
        yield out
        out = null
      }
    }
    if (out && out.rows > 0) yield headOf(out, out.rows, xc, yc)
  }

  /**
   * With random access, one copy per row: the buffer is filled from chunks of the source taken in
   * a random order, then emitted as a random permutation of its rows, and filled again. Each
   * output row comes from one of bufferSize / chunk random chunks of the file.
   */
  private async *windows(ranges: RowRanges, rng: Rng, xc: number, yc: number, { signal, recycle }: EpochContext): AsyncGenerator<RowBlock> {
    const chunkRows = Math.max(1, Math.min(DEFAULT_BLOCK_ROWS, Math.ceil(this.bufferSize / 16)))
    const order = Array.from({ length: Math.ceil(ranges.rows / chunkRows) }, (_, i) => i)
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.nextBelow(i + 1)
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    const capacity = Math.min(this.bufferSize, ranges.rows)
    let window: RowBlock | null = null
    const outRows = Math.min(capacity, DEFAULT_BLOCK_ROWS)
    const outBlock = outputBlocks(recycle, outRows, xc, yc)
    let next = 0
    while (next < order.length) {
      signal?.throwIfAborted()
      // Fill the window with whole chunks while they fit (at least one).
      let filled = 0
      while (next < order.length) {
        const start = order[next]! * chunkRows
        const n = Math.min(chunkRows, ranges.rows - start)
        if (filled > 0 && filled + n > capacity) break
        if (window === null || filled + n > window.rows) {
          const grown = emptyBlock(Math.max(capacity, filled + n), xc, yc, false)
          if (window) copyRows(grown, 0, window, 0, filled, xc, yc)
          grown.rows = Math.max(capacity, filled + n)
          window = grown
        }
        const got = await ranges.read(start, n, sliceOf(window, filled, filled + n, xc, yc))
        if (got.w) {
          window.w ??= new Float32Array(window.rows).fill(1)
          window.w.set(got.w, filled)
        }
        filled += n
        next++
      }
      // Emit a random permutation of the window.
      const perm = new Uint32Array(filled)
      for (let i = 0; i < filled; i++) perm[i] = i
      for (let i = filled - 1; i > 0; i--) {
        const j = rng.nextBelow(i + 1)
        const t = perm[i]!
        perm[i] = perm[j]!
        perm[j] = t
      }
      for (let at = 0; at < filled; at += outRows) {
        const n = Math.min(outRows, filled - at)
        const out = outBlock(n, window!.w !== undefined)
        for (let r = 0; r < n; r++) copyRow(out, r, window!, perm[at + r]!, xc, yc)
        out.rows = n
        yield out
      }
    }
  }
}

class BatchSource extends Step {
  constructor(inner: DataSource, private readonly size: number, private readonly dropRemainder: boolean) {
    super(inner)
  }

  override get batchSize(): number {
    return this.size
  }

  override async memoryEstimate(): Promise<number> {
    return (await this.inner.memoryEstimate()) + rowBytes(await this.shape()) * this.size
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const { xColumns: xc, yColumns: yc } = await this.shape()
    let out: RowBlock | null = null
    for await (const block of this.inner.blocks(context)) {
      let r = 0
      // Whole batches straight from the block when nothing is pending: views, no copy.
      while (out === null && block.rows - r >= this.size) {
        yield sliceOf(block, r, r + this.size, xc, yc)
        r += this.size
      }
      for (; r < block.rows; r++) {
        out ??= emptyBlock(this.size, xc, yc, block.w !== undefined)
        copyRow(out, out.rows++, block, r, xc, yc)
        if (out.rows === this.size) {
          yield out
          out = null
          while (block.rows - (r + 1) >= this.size) {
            yield sliceOf(block, r + 1, r + 1 + this.size, xc, yc)
            r += this.size
          }
        }
      }
    }
    if (out && out.rows > 0 && !this.dropRemainder) yield headOf(out, out.rows, xc, yc)
  }
}

class MapSource extends Step {
  constructor(inner: DataSource, private readonly fn: (block: RowBlock) => RowBlock) {
    super(inner)
  }

  override ranges(): Promise<RowRanges | null> {
    return Promise.resolve(null)
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    for await (const block of this.inner.blocks({ ...context, recycle: false })) {
      const out = this.fn(block)
      if (!out || !(out.x instanceof Float32Array) || !(out.y instanceof Float32Array) || out.rows !== block.rows) {
        throw new TypeError(`map's function must return a block { x: Float32Array, y: Float32Array, rows } with the ${block.rows} rows it was given, got ${describe(out)}`)
      }
      yield out
    }
  }
}

class SliceSource extends Step {
  constructor(inner: DataSource, private readonly from: number, private readonly count: number) {
    super(inner)
  }

  override async shape(): Promise<SourceShape> {
    const shape = await this.inner.shape()
    return { ...shape, rows: shape.rows === null ? null : Math.max(0, Math.min(shape.rows - this.from, this.count)) }
  }

  override async ranges(): Promise<RowRanges | null> {
    const r = await this.inner.ranges()
    if (!r) return null
    const start = Math.min(this.from, r.rows)
    return { rows: Math.min(r.rows - start, this.count), read: (s, n, into) => r.read(start + s, n, into) }
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const { xColumns: xc, yColumns: yc } = await this.shape()
    const end = this.from + this.count
    let seen = 0
    for await (const block of this.inner.blocks(context)) {
      const a = Math.max(this.from - seen, 0)
      const b = Math.min(end - seen, block.rows)
      seen += block.rows
      if (b > a) yield a === 0 && b === block.rows ? block : sliceOf(block, a, b, xc, yc)
      if (seen >= end) return
    }
  }
}

class ShardSource extends Step {
  constructor(inner: DataSource, private readonly index: number, private readonly count: number) {
    super(inner)
  }

  override async shape(): Promise<SourceShape> {
    const shape = await this.inner.shape()
    if (shape.rows === null) return shape
    const r = await this.inner.ranges()
    const [start, end] = r ? this.range(shape.rows) : [0, 0]
    return { ...shape, rows: r ? end - start : Math.ceil(Math.max(0, shape.rows - this.index) / this.count) }
  }

  /** Shard i of n: rows [⌊i·rows/n⌋, ⌊(i+1)·rows/n⌋). */
  private range(rows: number): [number, number] {
    return [Math.floor((this.index * rows) / this.count), Math.floor(((this.index + 1) * rows) / this.count)]
  }

  override async ranges(): Promise<RowRanges | null> {
    const r = await this.inner.ranges()
    if (!r) return null
    const [start, end] = this.range(r.rows)
    return { rows: end - start, read: (s, n, into) => r.read(start + s, n, into) }
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const ranges = await this.ranges()
    if (ranges) {
      // Not recycled: the ranges may be views of arrays, which a recycled read would copy.
      yield* readRanges(ranges, DEFAULT_BLOCK_ROWS, { signal: context.signal })
      return
    }
    const { xColumns: xc, yColumns: yc } = await this.shape()
    let row = 0
    for await (const block of this.inner.blocks(context)) {
      const mine = emptyBlock(Math.ceil(block.rows / this.count) + 1, xc, yc, block.w !== undefined)
      for (let r = 0; r < block.rows; r++, row++) if (row % this.count === this.index) copyRow(mine, mine.rows++, block, r, xc, yc)
      if (mine.rows > 0) yield headOf(mine, mine.rows, xc, yc)
    }
  }
}

class PrefetchSource extends Step {
  constructor(inner: DataSource, private readonly count: number) {
    super(inner)
  }

  override async memoryEstimate(): Promise<number> {
    // Each block read ahead is at most a default block of rows, or a batch.
    return (await this.inner.memoryEstimate()) + (this.count + 1) * (this.batchSize ?? DEFAULT_BLOCK_ROWS) * rowBytes(await this.shape())
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const iterator = this.inner.blocks({ ...context, recycle: false })[Symbol.asyncIterator]()
    const ahead: Promise<IteratorResult<RowBlock>>[] = []
    try {
      for (;;) {
        while (ahead.length < this.count + 1) ahead.push(iterator.next())
        const next = await ahead.shift()!
        if (next.done) return
        yield next.value
      }
    } finally {
      // Settle what was read ahead before closing, so no read outlives the iteration.
      await Promise.allSettled(ahead)
      await iterator.return?.()
    }
  }
}

/** Checks that a block has the columns its source declared. */
export function checkBlock(what: string, block: RowBlock, xCols: number, yCols: number): void {
  if (block.x.length !== block.rows * xCols || block.y.length !== block.rows * yCols) {
    throw new ShapeError(`${what}: a block of ${block.rows} rows has ${block.x.length} feature values and ${block.y.length} labels; expected ${xCols} and ${yCols} per row`)
  }
}
