/**
 * IDX files: every element type round-trips (values that straddle stream chunks included), raw
 * and gzip-compressed; an MNIST-style directory loads as train and test sets; memory stays near
 * the result's size; and every kind of damaged input gets a DataFileError naming the file and
 * the byte offset.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DataFileError, FASHION_MNIST_DIRECTORY, loadFashionMnist, loadIdxDirectory, readIdx, type IdxTensor } from '../lib/index.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-idx-')
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))

const TYPES = {
  uint8: { code: 0x08, bytes: 1, write: (v: DataView, o: number, x: number) => v.setUint8(o, x) },
  int8: { code: 0x09, bytes: 1, write: (v: DataView, o: number, x: number) => v.setInt8(o, x) },
  int16: { code: 0x0b, bytes: 2, write: (v: DataView, o: number, x: number) => v.setInt16(o, x, false) },
  int32: { code: 0x0c, bytes: 4, write: (v: DataView, o: number, x: number) => v.setInt32(o, x, false) },
  float32: { code: 0x0d, bytes: 4, write: (v: DataView, o: number, x: number) => v.setFloat32(o, x, false) },
  float64: { code: 0x0e, bytes: 8, write: (v: DataView, o: number, x: number) => v.setFloat64(o, x, false) },
} as const

/** IDX bytes written independently of the reader: magic, big-endian dims, big-endian values. */
function idxBytes(type: keyof typeof TYPES, shape: number[], values: number[]): Buffer {
  const t = TYPES[type]
  const out = Buffer.alloc(4 + 4 * shape.length + values.length * t.bytes)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  out[2] = t.code
  out[3] = shape.length
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  values.forEach((x, i) => t.write(view, 4 + 4 * shape.length + i * t.bytes, x))
  return out
}

/** Values of each type; enough of them that the data crosses 64 KiB stream chunks at odd places. */
function sampleValues(type: keyof typeof TYPES, count: number): number[] {
  return Array.from({ length: count }, (_, i) => {
    switch (type) {
      case 'uint8':
        return (i * 37) % 256
      case 'int8':
        return ((i * 37) % 256) - 128
      case 'int16':
        return ((i * 7919) % 65536) - 32768
      case 'int32':
        return ((i * 104729) % 2000001) - 1000000
      case 'float32':
        return Math.fround(Math.sin(i) * 1000)
      case 'float64':
        return Math.fround(Math.cos(i) * 1e-3) // exactly representable in the float32 result
    }
  })
}

describe('readIdx', () => {
  for (const type of Object.keys(TYPES) as (keyof typeof TYPES)[]) {
    for (const gzip of [false, true]) {
      it(`reads ${type} values ${gzip ? 'gzip-compressed' : 'raw'}, across stream chunks`, async () => {
        const shape = [301, 7, 11] // 23 177 values: 23–185 KB of data
        const values = sampleValues(type, 301 * 7 * 11)
        const raw = idxBytes(type, shape, values)
        const file = temp(`${type}${gzip ? '.gz' : ''}`)
        fs.writeFileSync(file, gzip ? zlib.gzipSync(raw) : raw)
        const t = await readIdx(file)
        expect(t.shape).toEqual(shape)
        expect(t.type).toBe(type)
        expect(t.data).toBeInstanceOf(Float32Array)
        expect(Array.from(t.data)).toEqual(values)
        // One allocation of exactly the declared size.
        expect(t.data.buffer.byteLength).toBe(values.length * 4)
      })
    }
  }

  it('tells gzip from raw by the first bytes, not the file name', async () => {
    const file = temp('named-gz-but-raw.gz')
    fs.writeFileSync(file, idxBytes('uint8', [3], [1, 2, 3]))
    expect(Array.from((await readIdx(file)).data)).toEqual([1, 2, 3])
  })

  it('keeps memory near the size of the result while streaming a large file', () => {
    // 96 MB of uint8 become a 384 MB (366 MiB) Float32Array. Reading the whole file first needs
    // 92 MiB more than that at its peak (measured: +456 MiB); streaming needs chunks and
    // garbage of a few tens of MiB (measured: +400 MiB).
    const file = temp('large.idx')
    const rows = 96_000
    const header = idxBytes('uint8', [rows, 1000], [])
    const fd = fs.openSync(file, 'w')
    fs.writeSync(fd, header)
    const block = Buffer.alloc(1000 * 1000, 7)
    for (let i = 0; i < rows / 1000; i++) fs.writeSync(fd, block)
    fs.closeSync(fd)
    const script = `
      import { readIdx } from ${JSON.stringify(path.join(root, 'lib/data/idx.ts'))}
      const before = process.resourceUsage().maxRSS
      const t = await readIdx(${JSON.stringify(file)})
      const peak = process.resourceUsage().maxRSS
      console.log(JSON.stringify({ before, peak, length: t.data.length, sample: t.data[12345] }))
    `
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })
    expect(run.stderr).toBe('')
    const { before, peak, length, sample } = JSON.parse(run.stdout)
    expect(length).toBe(rows * 1000)
    expect(sample).toBe(7)
    const resultMB = (rows * 1000 * 4) / 2 ** 20
    const grownMB = (peak - before) / 1024
    expect(grownMB).toBeGreaterThan(resultMB * 0.95)
    expect(grownMB).toBeLessThan(resultMB + 60)
  })
})

describe('readIdx: damaged or foreign files', () => {
  async function failure(bytes: Buffer | null, name: string): Promise<DataFileError> {
    const file = temp(name)
    if (bytes) fs.writeFileSync(file, bytes)
    const error = await readIdx(file).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DataFileError)
    const e = error as DataFileError
    expect(e.message).toContain(file)
    expect(e.path).toBe(file)
    return e
  }

  it('a missing file', async () => {
    const e = await failure(null, 'nowhere.idx')
    expect(e.message).toMatch(/no such file/)
  })

  it('a wrong magic number: names byte 0 and what an IDX file starts with', async () => {
    const bytes = idxBytes('uint8', [2], [1, 2])
    bytes[0] = 0x50 // 'P', e.g. a PNG or text file
    const e = await failure(bytes, 'magic.idx')
    expect(e.location.byteOffset).toBe(0)
    expect(e.message).toContain('wrong magic number 0x50 0x00 0x08 0x01')
    expect(e.message).toContain('0x00 0x00, a type code')
  })

  it('an unknown type code', async () => {
    const bytes = idxBytes('uint8', [2], [1, 2])
    bytes[2] = 0x0a
    expect((await failure(bytes, 'type.idx')).message).toMatch(/wrong magic number 0x00 0x00 0x0a 0x01/)
  })

  it('an empty file', async () => {
    const e = await failure(Buffer.alloc(0), 'empty.idx')
    expect(e.message).toMatch(/at byte 0: .*ends inside the IDX header \(0 bytes\)/)
  })

  it('a file cut inside the header', async () => {
    const e = await failure(idxBytes('uint8', [2, 3], [1, 2, 3, 4, 5, 6]).subarray(0, 9), 'short-header.idx')
    expect(e.message).toMatch(/ends inside the IDX header \(9 bytes\)/)
  })

  it('a truncated raw file: the byte where it ends and the size its header declares', async () => {
    const full = idxBytes('uint8', [10, 4], sampleValues('uint8', 40))
    const e = await failure(full.subarray(0, full.length - 5), 'truncated.idx')
    expect(e.location.byteOffset).toBe(full.length - 5)
    expect(e.message).toContain(`at byte ${full.length - 5}`)
    expect(e.message).toContain('10 × 4 uint8 values, which need 52 bytes (truncated?)')
  })

  it('a truncated gzip file: damaged stream, with the decompressed bytes read', async () => {
    const gz = zlib.gzipSync(idxBytes('uint8', [1000, 100], sampleValues('uint8', 100_000)))
    const e = await failure(gz.subarray(0, Math.floor(gz.length / 2)), 'truncated.gz')
    expect(e.message).toMatch(/of the decompressed data: the gzip stream is damaged or cut short/)
    expect(e.message).toContain('the header declares 1000 × 100 uint8 values, 100012 bytes in all')
  })

  it('a gzip file whose data ends early (a valid stream of too few bytes)', async () => {
    const raw = idxBytes('int16', [50], sampleValues('int16', 50))
    const e = await failure(zlib.gzipSync(raw.subarray(0, raw.length - 3)), 'short.gz')
    expect(e.message).toContain(`at byte ${raw.length - 3} of the decompressed data`)
    expect(e.message).toContain('after 48 of the 50 declared values')
  })

  it('more bytes than the header declares, raw and compressed', async () => {
    const raw = Buffer.concat([idxBytes('uint8', [4], [1, 2, 3, 4]), Buffer.from([9, 9])])
    expect((await failure(raw, 'long.idx')).message).toMatch(/at byte 12: the file has 2 bytes after the 4 declared values/)
    expect((await failure(zlib.gzipSync(raw), 'long.gz')).message).toMatch(/at byte 12 of the decompressed data: .*after the 4 declared values/)
  })

  it('a header declaring far more than a small gzip file can hold is refused before allocating', async () => {
    const lie = idxBytes('float64', [60000, 28, 28], [])
    const e = await failure(zlib.gzipSync(lie), 'lie.gz')
    expect(e.message).toMatch(/declares 60000 × 28 × 28 float64 values \(376320016 bytes\), more than a \d+-byte gzip file can hold/)
  })
})

describe('readIdx on what is not a readable IDX file', () => {
  it('a device, a path through a file, and random or mutated bytes give a DataFileError, never another error', async () => {
    for (const [p, message] of [['/dev/zero', '/dev/zero is not a regular file; expected an IDX file'], [path.join(root, 'package.json', 'x.idx'), 'cannot read the file']] as const) {
      const e = await readIdx(p).catch((x: unknown) => x)
      expect(e).toBeInstanceOf(DataFileError)
      expect((e as Error).message).toContain(message)
    }
    const fc = await import('fast-check')
    const valid = idxBytes('int16', [3, 2], [1, -2, 3, 400, 5, 6])
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), async (random, flips) => {
        for (const bytes of [Buffer.from(random), Buffer.from(valid.map((b, i) => flips.find(([at]) => at % valid.length === i)?.[1] ?? b))]) {
          const file = temp(`fuzz-${Math.random().toString(36).slice(2)}.idx`)
          fs.writeFileSync(file, bytes)
          const result: unknown = await readIdx(file).then((t) => t, (e: unknown) => e)
          if (result instanceof Error) expect(result).toBeInstanceOf(DataFileError)
          else expect((result as IdxTensor).data.length).toBe((result as IdxTensor).shape.reduce((a, b) => a * b, 1))
        }
      }),
      { numRuns: 150 },
    )
  })
})

describe('loadIdxDirectory', () => {
  function writeSet(dir: string, prefix: 'train' | 't10k', images: number[][], labels: number[], gzip = true): void {
    const rows = images.length
    const img = idxBytes('uint8', [rows, 2, 3], images.flat())
    const lab = idxBytes('uint8', [labels.length], labels)
    const ext = gzip ? '.gz' : ''
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte${ext}`), gzip ? zlib.gzipSync(img) : img)
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`), gzip ? zlib.gzipSync(lab) : lab)
  }
  const trainImages = [[0, 1, 2, 3, 4, 5], [10, 11, 12, 13, 14, 15], [250, 251, 252, 253, 254, 255]]
  const testImages = [[6, 5, 4, 3, 2, 1]]

  it('loads train and test sets: one row per image, labels as class indices', async () => {
    const dir = temp('mnist-like')
    fs.mkdirSync(dir)
    writeSet(dir, 'train', trainImages, [2, 0, 1])
    writeSet(dir, 't10k', testImages, [1], false) // raw files work too
    const { train, test } = await loadIdxDirectory(dir)
    expect(train.x.toArray()).toEqual(trainImages)
    expect(Array.from(train.y)).toEqual([2, 0, 1])
    expect(test.x.toArray()).toEqual(testImages)
    expect(train.labelNames).toEqual(['0', '1', '2'])
    expect(train.featureNames).toEqual(['pixel_0_0', 'pixel_0_1', 'pixel_0_2', 'pixel_1_0', 'pixel_1_1', 'pixel_1_2'])
  })

  it('a directory without the files names each missing one', async () => {
    const dir = temp('half')
    fs.mkdirSync(dir)
    writeSet(dir, 'train', trainImages, [2, 0, 1])
    const e = await loadIdxDirectory(dir).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(DataFileError)
    expect((e as Error).message).toContain(`${dir}: missing t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]`)
  })

  it('a missing directory', async () => {
    const e = await loadIdxDirectory(temp('absent')).catch((x: unknown) => x)
    expect((e as Error).message).toMatch(/absent: no such directory/)
  })

  it('a label beyond the number of samples (2e9 would ask for 2e9 classes) is a DataFileError with its byte', async () => {
    const dir = temp('huge-label')
    fs.mkdirSync(dir)
    writeSet(dir, 'train', trainImages, [2, 0, 1])
    writeSet(dir, 't10k', testImages, [1])
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(idxBytes('int32', [3], [2, 2e9, 1])))
    const started = performance.now()
    const e = await loadIdxDirectory(dir).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(DataFileError)
    expect((e as Error).message).toMatch(/train-labels-idx1-ubyte\.gz: at byte 12: label 2000000000 of sample 1; expected a class index \(an integer from 0 to 2: no more classes than samples\)/)
    expect((e as DataFileError).location.byteOffset).toBe(12)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('labels that do not match the images in number', async () => {
    const dir = temp('mismatch')
    fs.mkdirSync(dir)
    writeSet(dir, 'train', trainImages, [2, 0])
    writeSet(dir, 't10k', testImages, [1])
    const e = await loadIdxDirectory(dir).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(DataFileError)
    expect((e as Error).message).toMatch(/train-labels-idx1-ubyte\.gz: holds 2 labels, but .*train-images-idx3-ubyte\.gz holds 3 images; expected one label per image/)
  })
})

describe('Fashion-MNIST', () => {
  it('when missing, says exactly how to install it', async () => {
    const e = await loadFashionMnist({ directory: temp('no-fashion') }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(DataFileError)
    expect((e as Error).message).toContain('Fashion-MNIST is not installed')
    expect((e as Error).message).toContain("sudo apt install dataset-fashion-mnist")
  })

  const installed = fs.existsSync(FASHION_MNIST_DIRECTORY)
  // CI installs Debian's dataset-fashion-mnist (see .ci/run); elsewhere the test needs it too.
  it.skipIf(!installed && !process.env.CI)('loads the installed dataset: 60 000 + 10 000 images of 784 pixels, 10 balanced classes', async () => {
    const { train, test } = await loadFashionMnist()
    expect([train.x.rows, train.x.cols, test.x.rows, test.x.cols]).toEqual([60000, 784, 10000, 784])
    expect(train.labelNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'])
    const counts = (y: Int32Array) => Array.from({ length: 10 }, (_, k) => y.filter((v) => v === k).length)
    expect(counts(train.y)).toEqual(new Array(10).fill(6000))
    expect(counts(test.y)).toEqual(new Array(10).fill(1000))
    let min = Infinity
    let max = -Infinity
    for (const v of train.x.data) {
      if (v < min) min = v
      if (v > max) max = v
    }
    expect([min, max]).toEqual([0, 255])
    // The first training image is an ankle boot (label 9), as in the published files.
    expect(train.y[0]).toBe(9)
  })
})
