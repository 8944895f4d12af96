/**
 * Features and labels in .npy files — one pair, or shards: lists of files read as one sequence
 * of rows (x-000.npy with y-000.npy, …). Reads are row ranges at a time through the OS page
 * cache, off the main thread (libuv's pool); float32 files need no decoding at all.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ArrowSource } from './arrow-source.js'
import type { ColumnarOptions } from './columnar.js'
import { ParquetSource } from './parquet-source.js'
import { ShardFiles } from './shard-files.js'
import { DataFileError } from '../../errors.js'
import { describe } from '../../validate.js'
import { DataSource, DEFAULT_BLOCK_ROWS, readRanges, type EpochContext, type RowBlock, type RowRanges, type SourceShape } from './data-source.js'
import { NpyFile, type NpyHeader } from './npy.js'

interface Shard {
  x: { path: string; header: NpyHeader }
  y: { path: string; header: NpyHeader }
  /** The shard's first row in the whole sequence. */
  start: number
}

function paths(what: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || list.some((p) => typeof p !== 'string' || p === '')) {
    throw new TypeError(`data.npy ${what} must be a path or a non-empty array of paths, got ${describe(value)}`)
  }
  return list as string[]
}

async function header(path: string): Promise<NpyHeader> {
  const file = await NpyFile.open(path)
  await file.close()
  return file.header
}

export class NpySource extends DataSource implements RowRanges {
  private readonly xPaths: string[]
  private readonly yPaths: string[]
  private shards: Shard[] | null = null
  private total = 0

  constructor(x: string | string[], y: string | string[]) {
    super()
    this.xPaths = paths('x', x)
    this.yPaths = paths('y', y)
    if (this.xPaths.length !== this.yPaths.length) {
      throw new TypeError(`data.npy needs one label file per feature file, got ${this.xPaths.length} feature and ${this.yPaths.length} label files`)
    }
  }

  get rows(): number {
    return this.total
  }

  async shape(): Promise<SourceShape> {
    const shards = await this.open()
    return { xColumns: shards[0]!.x.header.cols, yColumns: shards[0]!.y.header.cols, rows: this.total, featureNames: null, labelNames: null }
  }

  /** One block of rows read at a time, with nothing kept between reads. */
  async memoryEstimate(): Promise<number> {
    const s = await this.shape()
    return DEFAULT_BLOCK_ROWS * (s.xColumns + s.yColumns) * 4
  }

  override async ranges(): Promise<RowRanges> {
    await this.open()
    return this
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    yield* readRanges(await this.ranges(), DEFAULT_BLOCK_ROWS, context)
  }

  async read(start: number, count: number, into?: RowBlock): Promise<RowBlock> {
    const shards = await this.open()
    const { xColumns: xc, yColumns: yc } = await this.shape()
    const block: RowBlock = into ?? { x: new Float32Array(count * xc), y: new Float32Array(count * yc), rows: count }
    let done = 0
    for (const shard of shards) {
      const rows = shard.x.header.rows
      if (start + done >= shard.start + rows || done === count) continue
      const from = start + done - shard.start
      const n = Math.min(rows - from, count - done)
      await readInto(shard.x.path, from, n, block.x.subarray(done * xc, (done + n) * xc))
      await readInto(shard.y.path, from, n, block.y.subarray(done * yc, (done + n) * yc))
      done += n
    }
    return block
  }

  /** Reads every header once and checks that the shards agree. */
  private async open(): Promise<Shard[]> {
    if (this.shards) return this.shards
    const shards: Shard[] = []
    let start = 0
    for (let i = 0; i < this.xPaths.length; i++) {
      const x = { path: this.xPaths[i]!, header: await header(this.xPaths[i]!) }
      const y = { path: this.yPaths[i]!, header: await header(this.yPaths[i]!) }
      if (x.header.rows !== y.header.rows) {
        throw new DataFileError(`${y.path} holds ${y.header.rows} labels but ${x.path} holds ${x.header.rows} rows of features; they must match`, y.path)
      }
      const first = shards[0]
      if (first && (x.header.cols !== first.x.header.cols || y.header.cols !== first.y.header.cols)) {
        throw new DataFileError(
          `${x.path} has ${x.header.cols} features and ${y.header.cols} label columns per row, but ${first.x.path} has ${first.x.header.cols} and ${first.y.header.cols}; shards must agree`,
          x.path,
        )
      }
      shards.push({ x, y, start })
      start += x.header.rows
    }
    this.total = start
    this.shards = shards
    return shards
  }
}

async function readInto(path: string, start: number, rows: number, out: Float32Array): Promise<void> {
  const file = await NpyFile.open(path)
  try {
    await file.readRows(start, rows, out)
  } finally {
    await file.close()
  }
}

/**
 * The shards of a directory: x-*.npy with y-*.npy of the same suffix, in name order (x-000.npy,
 * x-001.npy, …), or else its *.parquet or *.arrow files in name order. Each worker can then
 * `shard()` the whole.
 */
export async function npyDirectory(directory: string, options: ColumnarOptions = {}): Promise<DataSource> {
  let names: string[]
  try {
    names = (await readdir(directory)).sort()
  } catch (error) {
    throw new DataFileError(`${directory}: cannot list the directory: ${(error as Error).message}`, directory)
  }
  for (const [ext, open] of [['.parquet', (p: string, o: ColumnarOptions) => new ParquetSource(p, o)], ['.arrow', (p: string, o: ColumnarOptions) => new ArrowSource(p, o)]] as const) {
    const files = names.filter((n) => n.endsWith(ext))
    if (files.length > 0 && !names.some((n) => /^x-.*\.npy$/.test(n))) return new ShardFiles(files.map((n) => join(directory, n)), open, options)
  }
  const xs = names.filter((n) => /^x-.*\.npy$/.test(n))
  if (xs.length === 0) throw new DataFileError(`${directory} holds no x-*.npy, *.parquet or *.arrow files (expected x-000.npy with y-000.npy, …, or part-000.parquet, …)`, directory)
  const missing = xs.filter((n) => !names.includes(`y-${n.slice(2)}`))
  if (missing.length > 0) throw new DataFileError(`${directory}: ${missing.map((n) => `${n} has no y-${n.slice(2)}`).join('; ')}`, directory)
  return new NpySource(xs.map((n) => join(directory, n)), xs.map((n) => join(directory, `y-${n.slice(2)}`)))
}
