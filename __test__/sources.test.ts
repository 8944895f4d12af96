/**
 * Streaming data sources: each source gives the same rows as the data in memory; shuffle is a
 * seeded permutation within its buffer's reach; shard partitions exactly; bad .npy files are
 * refused with the file and the byte.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DataFileError, data, type DataSource } from '../lib/index.js'
import { parseNpyHeader } from '../lib/data/sources/npy.js'
import { npyBytes, writeNpy, type NpyType } from './helpers/npy.js'

const dir = mkdtempSync(join(tmpdir(), 'backprop-sources-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every row of one epoch as [x…, y…] lists. */
async function rowsOf(source: DataSource, epoch = 0): Promise<number[][]> {
  const { xColumns: xc, yColumns: yc } = await source.shape()
  const rows: number[][] = []
  for await (const b of source.blocks({ epoch })) {
    for (let r = 0; r < b.rows; r++) rows.push([...b.x.subarray(r * xc, (r + 1) * xc), ...b.y.subarray(r * yc, (r + 1) * yc)])
  }
  return rows
}

/** One epoch's rows, copied as they come, with the blocks and how many distinct buffers held them. */
async function readBlocks(source: DataSource, recycle: boolean, epoch = 0): Promise<{ rows: number[][]; blocks: number; buffers: number }> {
  const { xColumns: xc, yColumns: yc } = await source.shape()
  const rows: number[][] = []
  const buffers = new Set<ArrayBufferLike>()
  let blocks = 0
  for await (const b of source.blocks({ epoch, recycle })) {
    buffers.add(b.x.buffer)
    blocks++
    for (let r = 0; r < b.rows; r++) rows.push([...b.x.subarray(r * xc, (r + 1) * xc), ...b.y.subarray(r * yc, (r + 1) * yc)])
  }
  return { rows, blocks, buffers: buffers.size }
}

/** n rows of 3 features (row i holds i, i + 0.5, −i) and label i mod 4. */
function table(n: number): { x: number[][]; y: number[] } {
  const x = Array.from({ length: n }, (_, i) => [i, i + 0.5, -i])
  return { x, y: x.map((_, i) => i % 4) }
}

describe('the .npy reader', () => {
  it.skipIf(spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0)('writes the bytes numpy.save writes (the tests\' files are real .npy files)', () => {
    const py = spawnSync('python3', ['-c', "import numpy as np, io, sys; f = io.BytesIO(); np.save(f, np.arange(12, dtype='<f8').reshape(3, 4) / 8); sys.stdout.write(f.getvalue().hex())"], { encoding: 'utf8' })
    expect(Buffer.from(npyBytes(Array.from({ length: 12 }, (_, i) => i / 8), [3, 4], '<f8')).toString('hex')).toBe(py.stdout)
  })

  it.each<[NpyType, number[]]>([
    ['<f4', [0.5, -1.25, 3, 1e-3]],
    ['<f8', [0.5, -1.25, 3, 1e-3]],
    ['<i4', [7, -3, 2147483647, 0]],
    ['<i8', [7, -3, 2 ** 40, 0]],
    ['|u1', [0, 255, 17, 3]],
  ])('reads %s values as float32', async (descr, values) => {
    writeNpy(join(dir, `v-${descr.slice(1)}.npy`), values, [2, 2], descr)
    writeNpy(join(dir, `l-${descr.slice(1)}.npy`), [1, 0], [2], '<i8')
    const rows = await rowsOf(data.npy(join(dir, `v-${descr.slice(1)}.npy`), join(dir, `l-${descr.slice(1)}.npy`)))
    expect(rows).toEqual([[...values.slice(0, 2).map(Math.fround), 1], [...values.slice(2).map(Math.fround), 0]])
  })

  it.each([
    ['Fortran order', npyBytes([1, 2, 3, 4], [2, 2], '<f4', { fortran: true }), /Fortran \(column-major\) order/, 10],
    ['big-endian floats', npyBytes([1, 2, 3, 4], [2, 2], '>f4'), /big-endian \('>f4'\)/, 10],
    // (These headers pad to 128 bytes, as numpy writes them.)
    ['a header that claims more rows than the file holds', npyBytes([1, 2, 3, 4], [2, 2], '<f4', { headerShape: [3, 2] }), /declares shape \(3, 2\) of '<f4', 24 bytes of data, but the file holds 16 after the header \(truncated\)/, 128],
    ['a truncated file', npyBytes([1, 2, 3, 4, 5, 6], [3, 2]).subarray(0, 128 + 13), /24 bytes of data, but the file holds 13 after the header \(truncated\)/, 128],
    ['trailing bytes', new Uint8Array([...npyBytes([1, 2], [2]), 0, 0]), /\(trailing bytes\)/, 128],
    ['not an .npy file', new TextEncoder().encode('a,b\n1,2\n'), /does not start with the \.npy magic string/, 0],
    ['a huge header length', (() => { const b = npyBytes([1], [1]); b[6] = 2; new DataView(b.buffer).setUint32(8, 0xfffffff0, true); return b })(), /declares a header of 4294967280 bytes/, 8],
  ])('refuses %s with a DataFileError naming the file and the byte', async (_, bytes, message, byteOffset) => {
    const path = join(dir, 'bad.npy')
    writeFileSync(path, bytes)
    writeNpy(join(dir, 'bad-y.npy'), [0, 1, 2], [3])
    const error = await data.npy(path, join(dir, 'bad-y.npy')).shape().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect((error as DataFileError).message).toMatch(message)
    expect((error as DataFileError).message).toContain(path)
    expect((error as DataFileError).location.byteOffset).toBe(byteOffset)
  })

  it('parses any header without throwing anything but a DataFileError (random bytes after the magic)', () => {
    let seed = 7
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0)
    for (let t = 0; t < 2000; t++) {
      const bytes = npyBytes([1, 2, 3, 4], [2, 2])
      const flips = 1 + (next() % 4)
      for (let k = 0; k < flips; k++) bytes[6 + (next() % 70)] = next() & 0xff
      try {
        const h = parseNpyHeader(bytes, bytes.length, 'fuzz.npy')
        expect(h.dataOffset + h.rows * h.cols).toBeLessThanOrEqual(bytes.length)
      } catch (error) {
        expect(error).toBeInstanceOf(DataFileError)
      }
    }
  })

  it('reads shards as one sequence and a directory of shards in name order', async () => {
    const t = table(10)
    const shard = (name: string, from: number, to: number) => {
      writeNpy(join(dir, 'shards', `x-${name}.npy`), t.x.slice(from, to).flat(), [to - from, 3])
      writeNpy(join(dir, 'shards', `y-${name}.npy`), t.y.slice(from, to), [to - from], '<i8')
    }
    spawnSync('mkdir', ['-p', join(dir, 'shards')])
    shard('001', 4, 10)
    shard('000', 0, 4)
    const whole = await rowsOf(data.array(t.x, t.y))
    expect(await rowsOf(await data.directory(join(dir, 'shards')))).toEqual(whole)
    const s = data.npy([join(dir, 'shards', 'x-000.npy'), join(dir, 'shards', 'x-001.npy')], [join(dir, 'shards', 'y-000.npy'), join(dir, 'shards', 'y-001.npy')])
    expect((await s.shape()).rows).toBe(10)
    // A range across the two files.
    expect(await rowsOf(s.skip(2).take(5))).toEqual(whole.slice(2, 7))
  })
})

describe('transformations', () => {
  const t = table(1000)
  const sorted = (rows: number[][]) => [...rows].sort((a, b) => a[0]! - b[0]!)

  it('shuffle: a permutation, the same for a seed and epoch, another for the next epoch or seed', async () => {
    const s = data.array(t.x, t.y).shuffle(100, { seed: 3 })
    const e0 = await rowsOf(s, 0)
    expect(sorted(e0)).toEqual(await rowsOf(data.array(t.x, t.y)))
    expect(await rowsOf(s, 0)).toEqual(e0)
    expect(await rowsOf(s, 1)).not.toEqual(e0)
    expect(await rowsOf(data.array(t.x, t.y).shuffle(100, { seed: 4 }), 0)).not.toEqual(e0)
  })

  it('shuffle over a stream without random access keeps each row within the buffer\'s reach', async () => {
    const stream = data.generator(function* () {
      for (let i = 0; i < 1000; i++) yield { x: t.x[i]!, y: t.y[i]! }
    })
    const out = await rowsOf(stream.shuffle(50, { seed: 1 }))
    expect(sorted(out)).toEqual(await rowsOf(data.array(t.x, t.y)))
    // Row i can leave the buffer no earlier than when it entered: output position ≥ i − 50.
    out.forEach((row, position) => expect(position).toBeGreaterThanOrEqual(row[0]! - 50))
  })

  it('a consumer that recycles blocks gets the same rows, written into one block; prefetch and map keep their blocks fresh', async () => {
    const read = (source: DataSource, recycle: boolean) => readBlocks(source, recycle, 1)
    const stream = data.generator(function* () {
      for (let i = 0; i < 1000; i++) yield { x: t.x[i]!, y: t.y[i]! }
    })
    // Shuffles with random access (windows) and without (a stream), on their own and batched.
    for (const source of [data.array(t.x, t.y).shuffle(300, { seed: 5 }), stream.shuffle(50, { seed: 5 })]) {
      const fresh = await read(source, false)
      const recycled = await read(source, true)
      expect(recycled.rows).toEqual(fresh.rows)
      expect(fresh.buffers).toBe(fresh.blocks)
      expect(recycled.blocks).toBeGreaterThan(2)
      expect(recycled.buffers).toBe(1)
      expect((await read(source.batch(16), true)).rows).toEqual(fresh.rows)
      for (const keeper of [source.prefetch(2), source.map((b) => b)]) {
        const kept = await read(keeper, true)
        expect(kept.rows).toEqual(fresh.rows)
        expect(kept.buffers).toBe(kept.blocks)
      }
    }
  })

  it('a .npy file read for a consumer that recycles fills one block again and again, with the same rows', async () => {
    const n = 10_000
    writeNpy(join(dir, 'recycle-x.npy'), Array.from({ length: n * 3 }, (_, i) => i * 0.25), [n, 3])
    writeNpy(join(dir, 'recycle-y.npy'), Array.from({ length: n }, (_, i) => i % 7), [n])
    const source = data.npy(join(dir, 'recycle-x.npy'), join(dir, 'recycle-y.npy'))
    const fresh = await readBlocks(source, false)
    const recycled = await readBlocks(source, true)
    expect(fresh.rows.length).toBe(n)
    expect(fresh.rows[9999]).toEqual([29997 * 0.25, 29998 * 0.25, 29999 * 0.25, 9999 % 7])
    expect(recycled.rows).toEqual(fresh.rows)
    expect([fresh.blocks, fresh.buffers, recycled.blocks, recycled.buffers]).toEqual([3, 3, 3, 1])
  })

  it('batch re-cuts into exact batches; dropRemainder drops the short last one', async () => {
    const sizes = async (s: DataSource) => {
      const n: number[] = []
      for await (const b of s.blocks({ epoch: 0 })) n.push(b.rows)
      return n
    }
    expect(await sizes(data.array(t.x, t.y).batch(300))).toEqual([300, 300, 300, 100])
    expect(await sizes(data.array(t.x, t.y).batch(300, { dropRemainder: true }))).toEqual([300, 300, 300])
    expect(await rowsOf(data.array(t.x, t.y).shuffle(64, { seed: 2 }).batch(7))).toEqual(await rowsOf(data.array(t.x, t.y).shuffle(64, { seed: 2 })))
  })

  it.each([1, 3, 7])('shard(i, %i) partitions the rows exactly, with or without random access', async (n) => {
    const all = await rowsOf(data.array(t.x, t.y))
    const stream = data.generator(function* () {
      for (let i = 0; i < 1000; i++) yield { x: t.x[i]!, y: t.y[i]! }
    })
    for (const source of [data.array(t.x, t.y), stream]) {
      const parts = await Promise.all(Array.from({ length: n }, (_, i) => rowsOf(source.shard(i, n))))
      expect(sorted(parts.flat())).toEqual(all)
      expect(parts.reduce((s, p) => s + p.length, 0)).toBe(1000)
    }
  })

  it('map, take, skip and prefetch', async () => {
    const all = await rowsOf(data.array(t.x, t.y))
    const doubled = data.array(t.x, t.y).map((b) => ({ ...b, x: b.x.map((v) => v * 2) }))
    expect((await rowsOf(doubled))[5]).toEqual([10, 11, -10, 1])
    expect(await rowsOf(data.array(t.x, t.y).skip(990))).toEqual(all.slice(990))
    expect(await rowsOf(data.array(t.x, t.y).batch(64).take(10))).toEqual(all.slice(0, 10))
    expect(await rowsOf(data.array(t.x, t.y).shuffle(32, { seed: 1 }).batch(16).prefetch(3))).toEqual(await rowsOf(data.array(t.x, t.y).shuffle(32, { seed: 1 }).batch(16)))
  })

  it('memoryEstimate adds up the buffers', async () => {
    const s = data.array(t.x, t.y)
    expect(await s.memoryEstimate()).toBe(0)
    // 3 features + 1 label + 1 weight, float32: 20 bytes a row; 100-row buffer + 100-row output block.
    expect(await s.shuffle(100).memoryEstimate()).toBe(200 * 20)
    expect(await s.shuffle(100).batch(10).memoryEstimate()).toBe(210 * 20)
  })

  it('checks its arguments', () => {
    const s = data.array(t.x, t.y)
    expect(() => s.shuffle(0)).toThrow('shuffle bufferSize must be an integer ≥ 1, got 0')
    expect(() => s.shard(3, 3)).toThrow('shard index must be an integer in [0, 2], got 3')
    expect(() => s.map(5 as never)).toThrow('map expects a function (block) => block or a fitted scaler, got 5')
    expect(() => data.npy([], 'y.npy')).toThrow('data.npy x must be a path or a non-empty array of paths')
  })
})

describe('the .npy header parser against random and mutated bytes (fast-check)', () => {
  it('gives a header that fits the file or a DataFileError naming the file, never another error', async () => {
    const fc = await import('fast-check')
    const valid = npyBytes([1, 2, 3, 4, 5, 6], [3, 2], '<f4')
    let parsed = 0
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.tuple(fc.nat({ max: 127 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.nat({ max: 10_000 }),
        (random, flips, sizeDelta) => {
          const mutated = Uint8Array.from(valid)
          for (const [at, value] of flips) mutated[at % mutated.length] = value
          for (const [bytes, size] of [[random, random.length + sizeDelta], [mutated, mutated.length], [mutated, sizeDelta]] as const) {
            try {
              const header = parseNpyHeader(bytes, size, 'fuzz.npy')
              parsed++
              // What it accepts, it accepts consistently: the data it describes lies inside the file.
              expect(header.dataOffset + header.rows * header.cols * Number(header.dtype.slice(1))).toBeLessThanOrEqual(size)
            } catch (error) {
              expect(error).toBeInstanceOf(DataFileError)
              expect((error as Error).message).toContain('fuzz.npy')
            }
          }
        },
      ),
      { numRuns: 500 },
    )
    expect(parsed).toBeGreaterThan(0)
  })
})
