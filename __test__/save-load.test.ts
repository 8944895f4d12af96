/**
 * Saving and loading models: exact round trips (predictions, optimizer state, resumed
 * training), the safetensors layout as other tools read it, atomic writes, and a clear
 * ModelFileError for every kind of damaged or foreign file.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Activation,
  AdaGrad,
  Adam,
  AdamW,
  BatchNormalization,
  Dense,
  Dropout,
  l2,
  ModelFileError,
  RMSProp,
  SGD,
  Sequential,
  blobs,
  type Matrix,
  type Optimizer,
} from '../lib/index.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const data = blobs({ samples: 96, centers: 3, features: 4, seed: 3 })
const probe = data.x.slice(0, 24)

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(os.tmpdir() + '/backprop-')
})
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

let fileCounter = 0
/** A fresh path in the temp dir. */
function tempPath(name = 'model'): string {
  return path.join(dir, `${name}-${fileCounter++}.safetensors`)
}

/** Every layer kind and option that changes what a model file must record. */
function buildModel(optimizer: Optimizer, seed = 11): Sequential {
  return new Sequential({ seed })
    .add(new Dense({ inputSize: 4, units: 8, activation: 'relu', kernelRegularizer: l2(0.01) }))
    .add(new BatchNormalization({ momentum: 0.8 }))
    .add(new Activation({ activation: { name: 'leakyRelu', alpha: 0.07 } }))
    .add(new Dropout({ rate: 0.25 }))
    .add(new Dense({ units: 6, activation: 'tanh', useBias: false }))
    .add(new Dense({ units: 3, activation: 'softmax' }))
    .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer, metrics: ['accuracy'] })
}

/** The exact bits of float32 values, so -0/+0 and NaN payloads count as differences. */
function bits(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.slice().buffer))
}
const matrixBits = (m: Matrix) => bits(m.data)
const weightBits = (model: Sequential) => model.getWeights().map(matrixBits)

const OPTIMIZERS: [string, () => Optimizer][] = [
  ['SGD with Nesterov momentum', () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
  ['AdaGrad', () => new AdaGrad({ learningRate: 0.05 })],
  ['RMSProp centred with momentum', () => new RMSProp({ learningRate: 0.005, centered: true, momentum: 0.5 })],
  ['Adam', () => new Adam({ learningRate: 0.01 })],
  ['AdamW with clipNorm and clipValue', () => new AdamW({ learningRate: 0.01, weightDecay: 0.01, clipNorm: 1, clipValue: 0.05 })],
]

describe('save → load round trip', () => {
  it.each(OPTIMIZERS)('%s: identical predictions, weights, optimizer state and further training', async (_, make) => {
    const model = buildModel(make())
    await model.fit(data.x, data.y, { epochs: 3, batchSize: 16 })
    const [, , movingMean, movingVariance] = model.getWeights().slice(2)
    // The running statistics have moved away from their initial 0 and 1.
    expect(Array.from(movingMean!.data).some((v) => Math.abs(v) > 1e-3)).toBe(true)
    expect(Array.from(movingVariance!.data).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true)

    const file = tempPath()
    await model.save(file)
    const loaded = await Sequential.load(file)

    expect(matrixBits(loaded.predict(probe))).toEqual(matrixBits(model.predict(probe)))
    expect(weightBits(loaded)).toEqual(weightBits(model))
    expect(loaded.plan).toEqual(model.plan)
    expect(loaded.seed).toBe(model.seed)
    expect(loaded.epochsTrained).toBe(3)
    expect(loaded.optimizer!.constructor).toBe(model.optimizer!.constructor)
    expect(loaded.layers.map((l) => l.className)).toEqual(model.layers.map((l) => l.className))
    // Optimizer slots, step and PRNG state are part of the bytes: a loaded model saves the same file.
    expect(Buffer.from(loaded.toBytes()).equals(fs.readFileSync(file))).toBe(true)

    // Both keep training identically (optimizer state, step and dropout stream all restored).
    const a = await model.fit(data.x, data.y, { epochs: 1, batchSize: 16 })
    const b = await loaded.fit(data.x, data.y, { epochs: 1, batchSize: 16 })
    expect(b.loss).toEqual(a.loss)
    expect(weightBits(loaded)).toEqual(weightBits(model))
  })

  it('keeps the layer options: leakyRelu alpha, no bias, l2 regulariser, dropout rate, BN momentum', async () => {
    const model = buildModel(new Adam())
    const loaded = Sequential.fromBytes(model.toBytes())
    const [dense0, bn, act, drop, dense1] = loaded.layers as [Dense, BatchNormalization, Activation, Dropout, Dense]
    expect(dense0.kernelRegularizer).toEqual({ l1: 0, l2: 0.01 })
    expect(bn.momentum).toBe(0.8)
    expect(act.activation).toEqual({ name: 'leakyRelu', alpha: 0.07 })
    expect(drop.rate).toBe(0.25)
    expect(dense1.useBias).toBe(false)
    expect(loaded.getWeights().length).toBe(model.getWeights().length)
  })

  it('round-trips an uncompiled model (no optimizer state)', async () => {
    const model = new Sequential({ seed: 5 }).add(new Dense({ inputSize: 4, units: 3 }))
    const file = tempPath()
    await model.save(file)
    const loaded = await Sequential.load(file)
    expect(loaded.compiled).toBe(false)
    expect(matrixBits(loaded.predict(probe))).toEqual(matrixBits(model.predict(probe)))
  })
})

describe('resuming training', () => {
  const fitOptions = { batchSize: 10, shuffle: true, validationSplit: 0.2 }
  const make = () => buildModel(new Adam({ learningRate: 0.01 }), 2024)
  const N = 3
  const M = 2

  async function uninterrupted() {
    const model = make()
    const history = await model.fit(data.x, data.y, { ...fitOptions, epochs: N + M })
    return { model, history }
  }

  it('save after N epochs, load, fit M more = fit N + M epochs, bit for bit', async () => {
    const { model: whole, history: wholeHistory } = await uninterrupted()

    const first = make()
    const h1 = await first.fit(data.x, data.y, { ...fitOptions, epochs: N })
    const file = tempPath('resume')
    await first.save(file)
    const resumed = await Sequential.load(file)
    expect(resumed.epochsTrained).toBe(N)
    const h2 = await resumed.fit(data.x, data.y, { ...fitOptions, epochs: M })

    expect([...h1.loss, ...h2.loss]).toEqual(wholeHistory.loss)
    expect([...h1.valLoss, ...h2.valLoss]).toEqual(wholeHistory.valLoss)
    expect([...h1.metrics.accuracy!, ...h2.metrics.accuracy!]).toEqual(wholeHistory.metrics.accuracy)
    expect(weightBits(resumed)).toEqual(weightBits(whole))
    expect(resumed.epochsTrained).toBe(N + M)
    expect(Buffer.from(resumed.toBytes()).equals(Buffer.from(whole.toBytes()))).toBe(true)
  })

  it('the same through toBytes() and Sequential.fromBytes()', async () => {
    const { model: whole, history: wholeHistory } = await uninterrupted()
    const first = make()
    const h1 = await first.fit(data.x, data.y, { ...fitOptions, epochs: N })
    const bytes = first.toBytes()
    expect(bytes).toBeInstanceOf(Uint8Array)
    const resumed = Sequential.fromBytes(bytes)
    const h2 = await resumed.fit(data.x, data.y, { ...fitOptions, epochs: M })
    expect([...h1.loss, ...h2.loss]).toEqual(wholeHistory.loss)
    expect(weightBits(resumed)).toEqual(weightBits(whole))
  })

  it('is not trivially true: a model rebuilt from the weights alone diverges from the uninterrupted run', async () => {
    // Guards the test above: without the optimizer state and PRNG, resuming would differ.
    const { model: whole } = await uninterrupted()
    const first = make()
    await first.fit(data.x, data.y, { ...fitOptions, epochs: N })
    const fresh = make()
    fresh.setWeights(first.getWeights())
    await fresh.fit(data.x, data.y, { ...fitOptions, epochs: M })
    expect(weightBits(fresh)).not.toEqual(weightBits(whole))
  })
})

/** Our own reading of the container, independent of lib/io/safetensors.ts. */
function parseSafetensors(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, any>
  const dataStart = 8 + headerLength
  const tensor = (name: string) => {
    const { dtype, shape, data_offsets: [begin, end] } = header[name]
    expect(dtype).toBe('F32')
    const values: number[] = []
    for (let at = dataStart + begin; at < dataStart + end; at += 4) values.push(view.getFloat32(at, true))
    return { shape: shape as number[], values }
  }
  return { headerLength, header, dataStart, tensor }
}

describe('the file is plain safetensors', () => {
  let model: Sequential
  let file: string
  beforeAll(async () => {
    model = buildModel(new Adam())
    await model.fit(data.x, data.y, { epochs: 1, batchSize: 32 })
    file = tempPath('layout')
    await model.save(file)
  })

  it('has an 8-byte length, a JSON header and contiguous data holding the kernels', () => {
    const bytes = fs.readFileSync(file)
    const { headerLength, header, dataStart, tensor } = parseSafetensors(bytes)
    expect(dataStart % 8).toBe(0) // data aligned, as the reference writer pads
    const kernel = tensor('layers.0.kernel')
    const expected = model.getWeights()[0]!
    expect(kernel.shape).toEqual([4, 8])
    expect(kernel.values).toEqual(Array.from(expected.data))
    expect(tensor('layers.0.bias').shape).toEqual([8])
    expect(header['layers.4.bias']).toBeUndefined() // useBias: false
    expect(tensor('layers.1.movingMean').values).toEqual(Array.from(model.getWeights()[4]!.data))
    // The tensors tile the data section exactly.
    const spans = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([, e]) => e.data_offsets as [number, number])
      .sort((a, b) => a[0] - b[0])
    expect(spans[0]![0]).toBe(0)
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1])
    expect(spans.at(-1)![1]).toBe(bytes.length - 8 - headerLength)
  })

  it('records the plan and training state in __metadata__ (string values, as the format requires)', () => {
    const { header } = parseSafetensors(fs.readFileSync(file))
    const meta = header.__metadata__ as Record<string, unknown>
    for (const value of Object.values(meta)) expect(typeof value).toBe('string')
    expect(meta.format).toBe('backprop')
    expect(meta.formatVersion).toBe('1')
    expect(JSON.parse(meta.plan as string)).toEqual(model.plan)
    expect(JSON.parse(meta.training as string)).toMatchObject({ seed: 11, epochsTrained: 1 })
  })

  const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0
  it.skipIf(!hasNumpy)('reads the same in Python with numpy', () => {
    const script = path.join(here, 'golden', 'save-load-read.py')
    const out = JSON.parse(execFileSync('python3', [script, file, 'layers.5.kernel'], { encoding: 'utf8' }))
    const expected = model.getWeights()[7]! // 0: kernel, bias; 1: γ, β, μ, σ²; 4: kernel; 5: kernel, bias
    expect(expected.shape).toEqual([6, 3])
    expect(out.shape).toEqual([6, 3])
    expect(out.values).toEqual(Array.from(expected.data))
    expect(JSON.parse(out.metadata.plan)).toEqual(model.plan)
  })
})

describe('atomic save', () => {
  it('replaces an existing file and leaves no temporary file behind', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'atomic-'))
    const file = path.join(sub, 'model.safetensors')
    fs.writeFileSync(file, 'an older, unrelated file')
    const model = buildModel(new SGD())
    await model.save(file)
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors'])
    expect(Buffer.from(model.toBytes()).equals(fs.readFileSync(file))).toBe(true)
    // And again over a previous model.
    await model.fit(data.x, data.y, { epochs: 1 })
    await model.save(file)
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors'])
    expect(weightBits(await Sequential.load(file))).toEqual(weightBits(model))
  })

  it('rejects when the directory does not exist, and creates nothing', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'nodir-'))
    const missing = path.join(sub, 'no', 'such', 'dir')
    const file = path.join(missing, 'model.safetensors')
    const error = await buildModel(new SGD()).save(file).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(`cannot save the model to ${file}: ENOENT`)
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT')
    expect(fs.existsSync(path.join(sub, 'no'))).toBe(false)
    expect(fs.readdirSync(sub)).toEqual([])
  })

  it('rejects when the path is a directory, leaving it and no temporary file', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'isdir-'))
    const target = path.join(sub, 'model.safetensors')
    fs.mkdirSync(target)
    const error = await buildModel(new SGD()).save(target).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(`cannot save the model to ${target}: `)
    expect(fs.readdirSync(sub)).toEqual(['model.safetensors'])
    expect(fs.statSync(target).isDirectory()).toBe(true)
  })

  it('refuses what is not a regular file (a device, a pipe) at once instead of reading without end', async () => {
    const fifo = path.join(dir, 'model.fifo')
    spawnSync('mkfifo', [fifo])
    for (const p of ['/dev/zero', fifo]) {
      const started = performance.now()
      const error = await Sequential.load(p).then(() => null, (e: unknown) => e)
      expect(error).toBeInstanceOf(ModelFileError)
      expect((error as Error).message).toBe(`${p} is not a regular file (a model is a .safetensors file)`)
      expect(performance.now() - started).toBeLessThan(2000)
    }
  })

  it('names its temporaries recognisably and removes those a killed save left behind', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'stale-'))
    const target = path.join(sub, 'model.safetensors')
    // A save by a process that was killed (no such pid runs), and one by a live process.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim()
    const stale = path.join(sub, `.model.safetensors.${dead}.0a0b0c0d.backprop-tmp`)
    const live = path.join(sub, `.model.safetensors.${process.ppid}.01020304.backprop-tmp`)
    const other = path.join(sub, `.other.safetensors.${dead}.0a0b0c0d.backprop-tmp`)
    for (const f of [stale, live, other]) fs.writeFileSync(f, 'partial')
    await buildModel(new SGD()).save(target)
    expect(fs.readdirSync(sub).sort()).toEqual([path.basename(other), path.basename(live), 'model.safetensors'].sort())
  })

  it('rejects a path that is not a non-empty string', async () => {
    const model = buildModel(new SGD())
    await expect(model.save('')).rejects.toThrow(/save path must be a file path, got the string ''/)
    await expect(model.save(42 as unknown as string)).rejects.toThrow(TypeError)
    await expect(Sequential.load(undefined as unknown as string)).rejects.toThrow(/load path must be a file path, got undefined/)
  })
})

// ---------------------------------------------------------------------------------------------
// Damaged and foreign files

/** Rewrites a file's header (and optionally its data), keeping the container well-formed. */
function rewrite(
  bytes: Uint8Array,
  edit: (header: Record<string, any>, data: DataView) => void,
): Uint8Array {
  const { header, dataStart } = parseSafetensors(bytes)
  const payload = bytes.slice(dataStart)
  edit(header, new DataView(payload.buffer))
  return container(header, payload)
}

function container(header: unknown, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  return Buffer.concat([u64(json.length), json, payload])
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  return b
}

/** Edits the Plan or training state recorded in the metadata. */
function editMeta(key: 'plan' | 'training', edit: (value: any) => void) {
  return (header: Record<string, any>) => {
    const value = JSON.parse(header.__metadata__[key])
    edit(value)
    header.__metadata__[key] = JSON.stringify(value)
  }
}

/** Byte offset, within the data section, of element `index` of tensor `name`. */
function at(header: Record<string, any>, name: string, index = 0): number {
  return header[name].data_offsets[0] + 4 * index
}

describe('loading a damaged or foreign file throws ModelFileError naming the file and the fault', () => {
  let good: Uint8Array
  let headerEnd: number
  beforeAll(async () => {
    const model = buildModel(new Adam())
    await model.fit(data.x, data.y, { epochs: 1 })
    good = model.toBytes()
    headerEnd = parseSafetensors(good).dataStart
  })

  /** Loads the bytes from a file and expects a ModelFileError whose message matches `why`. */
  async function expectLoadError(bytes: Uint8Array | null, why: RegExp): Promise<void> {
    const file = tempPath('bad')
    if (bytes !== null) fs.writeFileSync(file, bytes)
    const error = await Sequential.load(file).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ModelFileError)
    const e = error as ModelFileError
    expect(e.path).toBe(file)
    expect(e.message).toContain(file)
    expect(e.message).toMatch(why)
    if (bytes !== null) {
      // The same bytes through fromBytes: the same fault, named as '<bytes>'.
      expect(() => Sequential.fromBytes(bytes)).toThrow(ModelFileError)
      expect(() => Sequential.fromBytes(bytes)).toThrow(why)
    }
  }

  it('sanity: the unmodified bytes load', async () => {
    const file = tempPath()
    fs.writeFileSync(file, good)
    await expect(Sequential.load(file)).resolves.toBeInstanceOf(Sequential)
    // rewrite() without an edit keeps a loadable file, so each case below fails for its edit only.
    expect(Sequential.fromBytes(rewrite(good, () => {}))).toBeInstanceOf(Sequential)
  })

  it('missing file', async () => {
    await expectLoadError(null, /no model file at/)
  })

  it('a directory instead of a file', async () => {
    const file = fs.mkdtempSync(path.join(dir, 'adir-'))
    const error = await Sequential.load(file).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(ModelFileError)
    expect((error as Error).message).toContain(file)
  })

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['empty file', () => new Uint8Array(0), /0 bytes long, shorter than the 8-byte header length/],
    ['truncated inside the 8-byte length', () => good.slice(0, 5), /5 bytes long, shorter than the 8-byte header length/],
    ['truncated just after the length', () => good.slice(0, 8), /header claims \d+ bytes but only 0 follow/],
    ['truncated inside the header', () => good.slice(0, 40), /header claims \d+ bytes but only 32 follow \(truncated\?\)/],
    ['truncated at the end of the header', () => good.slice(0, headerEnd), /tensor '.+' ends at byte \d+ of the data, but the data holds only 0 bytes/],
    ['truncated inside the data', () => good.slice(0, headerEnd + 100), /ends at byte \d+ of the data, but the data holds only 100 bytes \(truncated\?\)/],
    ['truncated by one byte', () => good.slice(0, good.length - 1), /truncated/],
    ['header length larger than the file', () => Buffer.concat([u64(good.length), good.slice(8)]), /header claims \d+ bytes but only \d+ follow/],
    ['header length near 2^64', () => Buffer.concat([u64(2n ** 64n - 1n), good.slice(8)]), /header claims 18446744073709551615 bytes/],
    ['corrupted JSON header', () => {
      const bad = good.slice()
      bad[8] = 0x5b // '[' where '{' was
      bad[9] = 0x7d // '}'
      return bad
    }, /header is not valid JSON/],
    ['a header that is JSON but not an object', () => container([1, 2, 3]), /header is not a JSON object/],
    ['a header entry that is not an object', () => rewrite(good, (h) => (h['layers.0.kernel'] = null)), /tensor 'layers\.0\.kernel'/],
    // Its bytes are still in the file, where the format allows no bytes without a tensor.
    ['a tensor missing', () => rewrite(good, (h) => delete h['layers.0.kernel']), /bytes \[0, 128\) of the data belong to no tensor/],
    ['a tensor and its bytes missing', () => {
      const { header, dataStart } = parseSafetensors(good)
      const [begin, end] = header['optimizer.slots'].data_offsets
      delete header['optimizer.slots']
      expect(end).toBe(good.length - dataStart)
      return container(header, good.slice(dataStart, dataStart + begin))
    }, /optimizer state 'optimizer\.slots' is missing/],
    ['a tensor with the wrong shape (same byte count)', () => rewrite(good, (h) => (h['layers.0.kernel'].shape = [8, 4])),
      /the tensor 'layers\.0\.kernel' has shape \[8, 4\], expected \[4, 8\]/],
    ['a shape that does not match its byte span', () => rewrite(good, (h) => (h['layers.0.kernel'].shape = [4, 9])),
      /tensor 'layers\.0\.kernel' spans bytes \[\d+, \d+\) but its shape \[4, 9\] needs 144/],
    ['data offsets past the end of the data', () => rewrite(good, (h) => (h['layers.5.bias'].data_offsets = [1e9, 1e9 + 12])),
      /tensor 'layers\.5\.bias' ends at byte 1000000012/],
    ['a header that is not valid UTF-8', () => {
      const bad = good.slice()
      bad[18] = 0xff // inside '"__metadata__"': a byte no UTF-8 text holds
      return bad
    }, /header is not valid UTF-8/],
    ['tensors whose bytes overlap', () => rewrite(good, (h) => (h['layers.0.bias'].data_offsets = [0, 32])), /tensor 'layers\.0\.kernel' \(bytes \[0, 128\)\) overlaps the tensor before it, which ends at byte 32/],
    ['data bytes that belong to no tensor', () => {
      const { header, dataStart } = parseSafetensors(good)
      return container(header, Buffer.concat([good.slice(dataStart), new Uint8Array(16)]))
    }, /the data holds \d+ bytes but its tensors cover \d+/],
    ['a small file whose plan declares a huge layer', () => rewrite(good, editMeta('plan', (p) => (p.layers[0].units = 1e6))), /its layers declare \d+ weights \([\d,]+ bytes\), more than the file's \d+ bytes can hold/],
    ['a wrong dtype', () => rewrite(good, (h) => (h['layers.0.kernel'].dtype = 'F64')), /tensor 'layers\.0\.kernel' has dtype F64; only F32 is supported/],
    ['a file from another tool (no metadata)', () => container({ weight: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /does not say format 'backprop' \(a safetensors file from another tool\?\)/],
    ['a file from another tool (its own metadata)', () => rewrite(good, (h) => (h.__metadata__ = { format: 'pt' })), /does not say format 'backprop'/],
    ['__metadata__ that is not an object', () => rewrite(good, (h) => (h.__metadata__ = null)), /__metadata__ is not an object/],
    ['a wrong format version', () => rewrite(good, (h) => (h.__metadata__.formatVersion = '99')), /format version 99, and this backprop reads version 1/],
    ['a missing format version', () => rewrite(good, (h) => delete h.__metadata__.formatVersion), /format version undefined/],
    ['plan metadata that is not JSON', () => rewrite(good, (h) => (h.__metadata__.plan = '{"layers": [')), /plan or training metadata is not valid JSON/],
    ['plan metadata missing', () => rewrite(good, (h) => delete h.__metadata__.plan), /plan or training metadata is not valid JSON/],
    ['a plan with an unknown layer kind', () => rewrite(good, editMeta('plan', (p) => (p.layers[1].kind = 'conv2d'))), /plan describes an invalid model/],
    ['a plan with an invalid hyper-parameter', () => rewrite(good, editMeta('plan', (p) => (p.layers[3].rate = 1.5))), /plan describes an invalid model \(Dropout rate must be a number in \[0, 1\), got 1\.5\)/],
    ['a plan whose offsets are inconsistent', () => rewrite(good, editMeta('plan', (p) => (p.layers[0].kernelOffset = 8))), /plan is inconsistent/],
    ['a plan whose parameter count is inconsistent', () => rewrite(good, editMeta('plan', (p) => (p.paramCount += 1))), /plan is inconsistent/],
    ['a plan with other widths than the tensors', () =>
      rewrite(good, editMeta('plan', (p) => {
        // A self-consistent plan for a first layer of 5 inputs: the 4 × 8 kernel no longer fits.
        p.inputSize = 5
        p.layers[0].inputs = 5
      })), /plan is inconsistent|tensor 'layers\.0\.kernel' has shape \[4, 8\], expected \[5, 8\]/],
    ['NaN in a kernel', () => rewrite(good, (h, d) => d.setFloat32(at(h, 'layers.0.kernel', 3), NaN, true)), /its params hold NaN or infinite values/],
    ['Infinity in a running variance', () => rewrite(good, (h, d) => d.setFloat32(at(h, 'layers.1.movingVariance', 2), Infinity, true)), /its stats hold NaN or infinite values/],
    ['NaN in the optimizer state', () => rewrite(good, (h, d) => d.setFloat32(at(h, 'optimizer.slots', 7), NaN, true)), /its optimizer state hold NaN or infinite values/],
    ['a PRNG state of the wrong length', () => rewrite(good, editMeta('training', (t) => (t.rng = [1, 2, 3]))), /training state \(step, epochs, PRNG\) is invalid/],
    ['a fractional step count', () => rewrite(good, editMeta('training', (t) => (t.step = 2.5))), /training state \(step, epochs, PRNG\) is invalid/],
    ['a negative step count', () => rewrite(good, editMeta('training', (t) => (t.step = -3))), /training state \(step, epochs, PRNG\) is invalid/],
    ['a negative epoch count', () => rewrite(good, editMeta('training', (t) => (t.epochsTrained = -1))), /training state \(step, epochs, PRNG\) is invalid/],
    ['an invalid seed', () => rewrite(good, editMeta('training', (t) => (t.seed = -1))), /plan describes an invalid model|training state/],
  ]

  it.each(cases)('%s', async (_, bytes, why) => {
    await expectLoadError(bytes(), why)
  })

  it('every single-byte truncation fails cleanly (never a crash, never a model)', () => {
    // Every cut point through the header and the first tensors, then a stride through the data.
    const cuts: number[] = []
    for (let n = 0; n < Math.min(good.length, headerEnd + 64); n++) cuts.push(n)
    for (let n = headerEnd + 64; n < good.length; n += 37) cuts.push(n)
    for (const n of cuts) {
      let error: unknown = null
      try {
        Sequential.fromBytes(good.slice(0, n))
      } catch (e) {
        error = e
      }
      expect(error, `cut at ${n} bytes`).toBeInstanceOf(ModelFileError)
      expect((error as Error).message).toContain('<bytes>')
    }
  })
})

describe('files written before clipping followed Keras’s names', () => {
  it('read their clip.norm as the global norm it computed, and save it under the new name', async () => {
    const model = buildModel(new SGD({ learningRate: 0.1, globalClipNorm: 0.7, clipValue: 2 }))
    await model.fit(data.x, data.y, { epochs: 1 })
    // What such a file recorded: { norm, value } with norm meaning the global norm.
    const old = rewrite(model.toBytes(), editMeta('plan', (plan) => (plan.optimizer.clip = { norm: 0.7, value: 2 })))
    const loaded = Sequential.fromBytes(old)
    const optimizer = loaded.optimizer as SGD
    expect(optimizer.globalClipNorm).toBe(0.7)
    expect(optimizer.clipNorm).toBeNull()
    expect(loaded.plan.optimizer!.clip).toEqual({ norm: null, globalNorm: 0.7, value: 2 })
    // And it trains as the model it was saved from.
    const a = await model.fit(data.x, data.y, { epochs: 2, shuffle: false })
    const b = await loaded.fit(data.x, data.y, { epochs: 2, shuffle: false })
    expect(b.loss).toEqual(a.loss)
  })
})

describe('the model reader against random and mutated bytes (fast-check)', () => {
  it('every input gives a model or a ModelFileError, never another error, a crash or a hang', async () => {
    const fc = await import('fast-check')
    const model = buildModel(new Adam())
    await model.fit(data.x, data.y, { epochs: 1 })
    const valid = model.toBytes()
    const headerEnd = parseSafetensors(valid).dataStart
    const load = (bytes: Uint8Array): unknown => {
      try {
        return Sequential.fromBytes(bytes)
      } catch (error) {
        return error
      }
    }
    let loaded = 0
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        // Mutations aimed at the header (sizes, offsets, JSON) and anywhere in the file.
        fc.array(fc.tuple(fc.nat({ max: headerEnd + 8 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 2 }),
        // The whole file in about half the runs: fc.nat alone reaches its maximum in only some
        // seeds, and a run that never did saw no real model (a flaky failure below, ~1 in 10).
        fc.oneof(fc.constant(valid.length), fc.nat({ max: valid.length })),
        (random, headerFlips, dataFlips, cut) => {
          const mutated = Uint8Array.from(valid)
          for (const [at, value] of [...headerFlips, ...dataFlips]) mutated[at] = value
          for (const bytes of [random, mutated, valid.subarray(0, cut)]) {
            const result = load(bytes)
            if (result instanceof Error) expect(result).toBeInstanceOf(ModelFileError)
            else {
              expect(result).toBeInstanceOf(Sequential)
              loaded++
            }
          }
        },
      ),
      { numRuns: 300 },
    )
    // The whole file (cut at its length) always loads: the property saw real models too.
    expect(loaded).toBeGreaterThan(0)
  })
})
