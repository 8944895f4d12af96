/**
 * Export to ONNX and TF.js, checked by the target runtimes themselves: the exported model runs in
 * onnxruntime-node and loads in @tensorflow/tfjs (tf.loadLayersModel), and its outputs equal
 * model.predict within 1e-5 — for every activation, BatchNormalization with trained running
 * statistics, Dropout, standalone Activation layers, a 6-layer network, with and without the
 * saved preprocessing, on batches of several rows; random architectures too (fast-check).
 * The engine follows BACKPROP_BACKEND (the js and native projects).
 */
import fs from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import fc from 'fast-check'
import * as ort from 'onnxruntime-node'
import { beforeAll, describe, expect, it } from 'vitest'
import { ProtoWriter } from '../lib/export/protobuf.js'
import {
  Activation,
  BatchNormalization,
  Dense,
  Dropout,
  exportOnnx,
  exportTfjs,
  Matrix,
  MinMaxScaler,
  ModelStateError,
  ONNX_OPSET,
  Sequential,
  StandardScaler,
  type ActivationSpec,
  type Layer,
} from '../lib/index.js'
import { cli, requireFreshBuild } from './helpers/cli.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-export-')
const TOLERANCE = 1e-5

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** Raw features, deliberately off-centre and wide, so a scaler matters. */
function rawFeatures(rows: number, cols: number, seed = 1): Matrix {
  const data = new Float32Array(rows * cols)
  for (let i = 0; i < data.length; i++) data[i] = 5 + 3 * Math.sin(seed * 12.9898 + i * 78.233) + (i % cols)
  return new Matrix(rows, cols, data)
}

/** A model of these layers, trained a few epochs (so BatchNormalization's running statistics move). */
async function trained(layers: Layer[], x: Matrix, epochs = 3): Promise<Sequential> {
  const model = new Sequential({ seed: 11, layers })
  model.compile({ loss: 'meanSquaredError', optimizer: 'adam' })
  const outputs = model.plan.outputSize
  const y = new Matrix(x.rows, outputs, new Float32Array(x.rows * outputs).map((_, i) => 0.5 + 0.4 * Math.cos(i)))
  await model.fit(x, y, { epochs, batchSize: 8, shuffle: true })
  return model
}

async function runOnnx(bytes: Uint8Array, x: Matrix): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes)
  try {
    const result = await session.run({ input: new ort.Tensor('float32', x.data, [x.rows, x.cols]) })
    return result.output!.data as Float32Array
  } finally {
    await session.release()
  }
}

/** Loads model.json text and weights.bin bytes as TF.js loads files: parsing the JSON and its manifest. */
async function loadTfjs(modelJsonText: string, weights: Uint8Array): Promise<tf.LayersModel> {
  const json = JSON.parse(modelJsonText) as tf.io.ModelJSON
  return tf.loadLayersModel({
    load: () =>
      tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        expect(manifest.flatMap((group) => group.paths)).toEqual(['./weights.bin'])
        // A copy: a Buffer from readFileSync may be a view into a larger pool.
        return [manifest.flatMap((group) => group.weights), Uint8Array.from(weights).buffer]
      }),
  })
}

async function runTfjs(model: tf.LayersModel, x: Matrix): Promise<Float32Array> {
  const input = tf.tensor2d(x.data, [x.rows, x.cols])
  const output = model.predict(input) as tf.Tensor
  const data = (await output.data()) as Float32Array
  tf.dispose([input, output])
  model.dispose()
  return data
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length)
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
  expect(worst, `${what}: largest difference`).toBeLessThanOrEqual(TOLERANCE)
}

/** Exports to both formats and compares both runtimes' outputs with model.predict. */
async function expectBothMatch(model: Sequential, x: Matrix, what: string): Promise<void> {
  const expected = model.predict(x).data
  expectClose(await runOnnx(exportOnnx(model), x), expected, `${what} (onnx)`)
  const { modelJson, weights } = exportTfjs(model)
  expectClose(await runTfjs(await loadTfjs(JSON.stringify(modelJson), weights), x), expected, `${what} (tfjs)`)
}

const ACTIVATIONS: ActivationSpec[] = ['linear', 'relu', { name: 'leakyRelu', alpha: 0.3 }, 'sigmoid', 'tanh', 'softmax']
const label = (a: ActivationSpec) => (typeof a === 'string' ? a : `${a.name}(${a.alpha})`)

describe('exported models compute what model.predict computes', () => {
  const x = rawFeatures(24, 4)
  const scaled = new StandardScaler().fitTransform(x)

  for (const activation of ACTIVATIONS) {
    it(`Dense with ${label(activation)} (hidden and output)`, async () => {
      const model = await trained([new Dense({ inputSize: 4, units: 6, activation }), new Dense({ units: 3, activation })], scaled)
      await expectBothMatch(model, scaled, label(activation))
    })
  }

  it('BatchNormalization with trained running statistics, Dropout, and standalone Activation layers', async () => {
    const model = await trained([
      new Dense({ inputSize: 4, units: 8, activation: 'linear' }),
      new BatchNormalization({ momentum: 0.5, epsilon: 0.01 }),
      new Activation({ activation: 'relu' }),
      new Dropout({ rate: 0.4 }),
      new Dense({ units: 5, activation: 'linear', useBias: false }),
      new Activation({ activation: { name: 'leakyRelu', alpha: 0.05 } }),
      new Dense({ units: 3, activation: 'softmax' }),
    ], x, 5)
    // The running statistics moved away from their initial 0 and 1.
    const [, , , , mean, variance] = model.getWeights()
    expect(Math.max(...mean!.data.map(Math.abs))).toBeGreaterThan(0.05)
    expect(Math.max(...variance!.data.map((v) => Math.abs(v - 1)))).toBeGreaterThan(0.05)
    await expectBothMatch(model, x, 'BatchNormalization network')
  })

  it('a 6-layer network', async () => {
    const widths = [16, 12, 10, 8, 6]
    const acts: ActivationSpec[] = ['relu', 'tanh', { name: 'leakyRelu', alpha: 0.1 }, 'sigmoid', 'relu']
    const layers: Layer[] = widths.map((units, i) => new Dense({ ...(i === 0 && { inputSize: 4 }), units, activation: acts[i]! }))
    layers.push(new Dense({ units: 4, activation: 'softmax' }))
    const model = await trained(layers, scaled)
    expect(model.plan.layers.filter((l) => l.kind === 'dense')).toHaveLength(6)
    await expectBothMatch(model, scaled, '6-layer network')
  })

  it('a network of only pass-through layers still has an output (an Identity node)', async () => {
    const model = new Sequential({ seed: 1, layers: [new Dropout({ inputSize: 4, rate: 0.5 }), new Activation({ activation: 'linear' })] })
    await expectBothMatch(model, x, 'pass-through network')
    expectClose(await runOnnx(exportOnnx(model), x), x.data, 'identity')
  })

  for (const kind of ['standard', 'minMax'] as const) {
    it(`includePreprocessing puts the ${kind} scaler in front: raw features in, model.predict(scaled) out`, async () => {
      const scaler = kind === 'standard' ? new StandardScaler().fit(x) : new MinMaxScaler({ featureRange: [-1, 1] }).fit(x)
      const model = await trained([new Dense({ inputSize: 4, units: 6, activation: 'tanh' }), new BatchNormalization(), new Dense({ units: 2, activation: 'softmax' })], scaler.transform(x))
      model.preprocessing = { scaler, featureNames: ['a', 'b', 'c', 'd'], labelNames: ['no', 'yes'] }
      const expected = model.predict(scaler.transform(x)).data
      expectClose(await runOnnx(exportOnnx(model, { includePreprocessing: true }), x), expected, `${kind} (onnx)`)
      const { modelJson, weights } = exportTfjs(model, { includePreprocessing: true })
      expect(modelJson.modelTopology.config.layers[0]!.config).toMatchObject({ name: 'preprocessing', trainable: false })
      expectClose(await runTfjs(await loadTfjs(JSON.stringify(modelJson), weights), x), expected, `${kind} (tfjs)`)
      // Without it, the exported models take scaled features, as model.predict does.
      expectClose(await runOnnx(exportOnnx(model), scaler.transform(x)), expected, `${kind} not included (onnx)`)
      // And with it the outputs really differ from feeding raw features to the bare network.
      const bare = await runOnnx(exportOnnx(model), x)
      expect(Math.max(...bare.map((v, i) => Math.abs(v - expected[i]!)))).toBeGreaterThan(1e-3)
    })
  }
})

describe('ONNX file contents', () => {
  it('records the opset, IR version, graph input/output, feature and class names (read back by an independent decoder)', async () => {
    const x = rawFeatures(10, 3)
    const scaler = new StandardScaler().fit(x)
    const model = new Sequential({ seed: 3, layers: [new Dense({ inputSize: 3, units: 2, activation: 'softmax' })] })
    model.preprocessing = { scaler, featureNames: ['sepal', 'petal', 'stem'], labelNames: ['rose', 'tulip'], targetName: 'flower' }
    const bytes = exportOnnx(model)
    const fields = decodeMessage(bytes)
    expect(fields.get(1)).toEqual([7]) // ir_version
    const opset = decodeMessage(fields.get(8)![0] as Uint8Array)
    expect(opset.get(2)).toEqual([ONNX_OPSET])
    expect(ONNX_OPSET).toBeGreaterThanOrEqual(13)
    const metadata = Object.fromEntries((fields.get(14) as Uint8Array[]).map((entry) => {
      const e = decodeMessage(entry)
      return [text(e.get(1)![0]), text(e.get(2)![0])]
    }))
    expect(JSON.parse(metadata.feature_names!)).toEqual(['sepal', 'petal', 'stem'])
    expect(JSON.parse(metadata.class_names!)).toEqual(['rose', 'tulip'])
    expect(metadata.target_name).toBe('flower')
    expect(JSON.parse(metadata.scaler!)).toEqual(scaler.toJSON())
    expect(metadata.scaler_in_graph).toBe('false')
    const session = await ort.InferenceSession.create(bytes)
    expect(session.inputNames).toEqual(['input'])
    expect(session.outputNames).toEqual(['output'])
    await session.release()
  })

  it('the input has a dynamic batch dimension: 1 row and 37 rows both run', async () => {
    const model = new Sequential({ seed: 4, layers: [new Dense({ inputSize: 2, units: 3, activation: 'relu' })] })
    for (const rows of [1, 37]) {
      const x = rawFeatures(rows, 2, rows)
      expectClose(await runOnnx(exportOnnx(model), x), model.predict(x).data, `${rows} rows`)
    }
  })
})

describe('TF.js artifacts', () => {
  it('carry feature and class names as userDefinedMetadata, and a leakyRelu Dense as Dense + LeakyReLU', async () => {
    const model = new Sequential({ seed: 5, layers: [new Dense({ inputSize: 2, units: 3, activation: { name: 'leakyRelu', alpha: 0.25 } }), new Dense({ units: 2, activation: 'softmax' })] })
    model.preprocessing = { featureNames: ['x', 'y'], labelNames: ['left', 'right'] }
    const { modelJson, weights } = exportTfjs(model)
    expect(modelJson.modelTopology.config.layers.map((l) => l.class_name)).toEqual(['Dense', 'LeakyReLU', 'Dense'])
    expect(weights.byteLength).toBe((2 * 3 + 3 + 3 * 2 + 2) * 4)
    const loaded = await loadTfjs(JSON.stringify(modelJson), weights)
    expect(loaded.getUserDefinedMetadata()).toEqual({ featureNames: ['x', 'y'], classNames: ['left', 'right'] })
    expect(loaded.layers[1]!.getConfig().alpha).toBe(0.25)
    loaded.dispose()
  })
})

describe('writing files', () => {
  it('model.exportOnnx and model.exportTfjs write files that the runtimes load', async () => {
    const x = rawFeatures(12, 3)
    const model = await trained([new Dense({ inputSize: 3, units: 5, activation: 'relu' }), new BatchNormalization(), new Dense({ units: 2, activation: 'sigmoid' })], x)
    const expected = model.predict(x).data
    const onnxPath = temp('model.onnx')
    await model.exportOnnx(onnxPath)
    expectClose(await runOnnx(fs.readFileSync(onnxPath), x), expected, 'file (onnx)')
    const dir = temp('tfjs-model')
    await model.exportTfjs(dir)
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin'])
    const loaded = await loadTfjs(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'), fs.readFileSync(path.join(dir, 'weights.bin')))
    expectClose(await runTfjs(loaded, x), expected, 'file (tfjs)')
  })

  it('refuses bad arguments and a missing scaler clearly, writing nothing', async () => {
    const model = new Sequential({ seed: 6, layers: [new Dense({ inputSize: 2, units: 1 })] })
    expect(() => exportOnnx(model, { includePreprocessing: true })).toThrow(ModelStateError)
    expect(() => exportOnnx(model, { includePreprocessing: true })).toThrow(/includePreprocessing: the model has no saved scaler/)
    expect(() => exportTfjs(model, { includePreprocessing: true })).toThrow(/exportTfjs includePreprocessing: the model has no saved scaler/)
    expect(() => exportOnnx(model, { includePreprocessing: 'yes' } as never)).toThrow(/exportOnnx includePreprocessing must be true or false, got the string 'yes'/)
    expect(() => exportTfjs(model, { folded: true } as never)).toThrow(/exportTfjs options has an unknown option 'folded'; valid options are: includePreprocessing/)
    await expect(model.exportOnnx('')).rejects.toThrow(/exportOnnx path must be a file path/)
    await expect(model.exportTfjs(42 as never)).rejects.toThrow(/exportTfjs dir must be a directory path, got 42/)
    await expect(model.exportOnnx(temp('no-such-dir/sub/model.onnx'))).rejects.toThrow(/cannot write the ONNX model to .*no-such-dir\/sub\/model\.onnx/)
    // Past protobuf's 2 GiB, checked from the Plan before any weight is read.
    const huge = { build: () => huge, plan: { ...model.plan, paramCount: 600_000_000 }, network: null, preprocessing: null } as unknown as Sequential
    expect(() => exportOnnx(huge)).toThrow(/exportOnnx: the model's 600000000 weights take 2400000000 bytes, but an ONNX file is one protobuf message, limited to 2 GiB/)
    const refused = temp('refused.onnx')
    await expect(model.exportOnnx(refused, { includePreprocessing: true })).rejects.toThrow(ModelStateError)
    expect(fs.existsSync(refused)).toBe(false)
  })
})

describe('random architectures (property)', () => {
  const activation = fc.oneof(
    fc.constantFrom<ActivationSpec>('linear', 'relu', 'sigmoid', 'tanh', 'softmax'),
    fc.double({ min: 0, max: 1, noNaN: true }).map((alpha): ActivationSpec => ({ name: 'leakyRelu', alpha })),
  )
  const layer = fc.oneof(
    fc.record({ kind: fc.constant('dense' as const), units: fc.integer({ min: 1, max: 7 }), activation, useBias: fc.boolean() }),
    fc.record({ kind: fc.constant('batchNormalization' as const), epsilon: fc.double({ min: 1e-5, max: 0.1, noNaN: true }) }),
    fc.record({ kind: fc.constant('dropout' as const), rate: fc.double({ min: 0, max: 0.9, noNaN: true }) }),
    fc.record({ kind: fc.constant('activation' as const), activation }),
  )
  const architecture = fc.record({ inputs: fc.integer({ min: 1, max: 6 }), layers: fc.array(layer, { minLength: 1, maxLength: 6 }), seed: fc.integer({ min: 0, max: 1000 }) })

  it('every exported model loads in onnxruntime and TF.js and matches model.predict', async () => {
    await fc.assert(
      fc.asyncProperty(architecture, async ({ inputs, layers, seed }) => {
        const built: Layer[] = layers.map((l, i) => {
          const first = i === 0 ? { inputSize: inputs } : {}
          switch (l.kind) {
            case 'dense':
              return new Dense({ ...first, units: l.units, activation: l.activation, useBias: l.useBias })
            case 'batchNormalization':
              return new BatchNormalization({ ...first, epsilon: l.epsilon })
            case 'dropout':
              return new Dropout({ ...first, rate: l.rate })
            case 'activation':
              return new Activation({ ...first, activation: l.activation })
          }
        })
        const x = rawFeatures(6, inputs, seed)
        const model = new Sequential({ seed, layers: built })
        // Random running statistics and BN parameters, so BatchNormalization is not the identity.
        const specs = model.weightSpecs()
        model.setWeights(model.getWeights().map((w, i) => new Matrix(w.rows, w.cols, w.data.map((_, j) => {
          const v = Math.sin(seed + i * 7 + j)
          return specs[i]!.name.endsWith('movingVariance') ? 0.5 + Math.abs(v) : v
        }))))
        await expectBothMatch(model, x, JSON.stringify(layers))
      }),
      { numRuns: 25 },
    )
  })
})

describe('backprop export (CLI)', () => {
  beforeAll(() => requireFreshBuild())

  it('exports a trained model to ONNX and TF.js, with and without its scaler, and refuses mistakes', async () => {
    const modelPath = temp('iris.safetensors')
    expect(cli(['train', '--data', 'iris', '--epochs', '5', '--layers', '8', '--out', modelPath]).status).toBe(0)
    const model = await Sequential.load(modelPath)
    const raw = rawFeatures(9, 4)
    const scaled = model.preprocessing!.scaler!.transform(raw)
    const expected = model.predict(scaled).data

    const onnxPath = temp('iris.onnx')
    const run = cli(['export', modelPath, '--format', 'onnx', '--out', onnxPath])
    expect(run.status, run.stderr).toBe(0)
    expectClose(await runOnnx(fs.readFileSync(onnxPath), scaled), expected, 'cli onnx')
    expect(cli(['export', modelPath, '--format', 'onnx', '--out', onnxPath, '--include-preprocessing']).status).toBe(0)
    expectClose(await runOnnx(fs.readFileSync(onnxPath), raw), expected, 'cli onnx with scaler')

    const dir = temp('iris-tfjs')
    const tfjs = cli(['export', modelPath, '--format', 'tfjs', '--out', dir, '--include-preprocessing', '--json'])
    expect(tfjs.status, tfjs.stderr).toBe(0)
    expect(JSON.parse(tfjs.stdout)).toEqual({ model: modelPath, format: 'tfjs', files: [path.join(dir, 'model.json'), path.join(dir, 'weights.bin')], includePreprocessing: true })
    const loaded = await loadTfjs(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'), fs.readFileSync(path.join(dir, 'weights.bin')))
    expect(loaded.getUserDefinedMetadata()).toMatchObject({ classNames: model.preprocessing!.labelNames })
    expectClose(await runTfjs(loaded, raw), expected, 'cli tfjs with scaler')

    const help = cli(['export', '--help'])
    expect(help.stdout).toMatch(/Usage: backprop export[\s\S]*--format <format>[\s\S]*--include-preprocessing/)
    const missingFormat = cli(['export', modelPath, '--out', onnxPath])
    expect([missingFormat.status, missingFormat.stderr]).toEqual([2, expect.stringMatching(/--format <format>' not specified/)])
    const badFormat = cli(['export', modelPath, '--format', 'pdf', '--out', onnxPath])
    expect([badFormat.status, badFormat.stderr]).toEqual([2, expect.stringMatching(/argument 'pdf' is invalid\. Allowed choices are onnx, tfjs/)])
    const missing = cli(['export', temp('nope.safetensors'), '--format', 'onnx', '--out', onnxPath])
    expect([missing.status, missing.stderr]).toEqual([3, expect.stringMatching(/no model file at .*nope\.safetensors/)])

    const unscaledPath = temp('unscaled.safetensors')
    expect(cli(['train', '--data', 'iris', '--epochs', '2', '--layers', '4', '--scale', 'none', '--out', unscaledPath]).status).toBe(0)
    const noScaler = cli(['export', unscaledPath, '--format', 'tfjs', '--out', temp('x'), '--include-preprocessing'])
    expect([noScaler.status, noScaler.stderr]).toEqual([2, expect.stringMatching(/--include-preprocessing: .*unscaled\.safetensors has no saved scaler/)])
  })
})

// An independent reader of the protobuf wire format (varints and length-delimited fields only,
// which is all the checked fields use): field number → values in order.
function decodeMessage(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>()
  let at = 0
  const varint = () => {
    let result = 0n
    let shift = 0n
    for (;;) {
      const byte = bytes[at++]!
      result |= BigInt(byte & 0x7f) << shift
      shift += 7n
      if (byte < 0x80) return result
    }
  }
  while (at < bytes.length) {
    const key = Number(varint())
    const [field, wire] = [key >> 3, key & 7]
    let value: number | Uint8Array
    if (wire === 0) value = Number(BigInt.asIntN(64, varint()))
    else if (wire === 2) {
      const length = Number(varint())
      value = bytes.subarray(at, at + length)
      at += length
    } else if (wire === 5) {
      value = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getFloat32(0, true)
      at += 4
    } else throw new Error(`unexpected wire type ${wire}`)
    fields.set(field, [...(fields.get(field) ?? []), value])
  }
  return fields
}

function text(value: number | Uint8Array | undefined): string {
  return new TextDecoder().decode(value as Uint8Array)
}

describe('protobuf encoder', () => {
  it('writes the encodings of the protobuf documentation', () => {
    // https://protobuf.dev/programming-guides/encoding/: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 74 65 73 74 69 6e 67.
    expect([...new ProtoWriter().int(1, 150).finish()]).toEqual([0x08, 0x96, 0x01])
    expect([...new ProtoWriter().string(2, 'testing').finish()]).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67])
    // int64 −1: ten bytes of two's complement.
    expect([...new ProtoWriter().int(1, -1).finish()]).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
    // float 1.0 (0x3f800000) as fixed32, wire type 5.
    expect([...new ProtoWriter().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f])
    // Packed floats: one length-delimited field of 4-byte little-endian values.
    expect([...new ProtoWriter().packedFloats(4, [1, -2]).finish()]).toEqual([0x22, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0])
    // A nested message is length-delimited: field 3 { field 1 = 150 } is 1a 03 08 96 01.
    expect([...new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish()]).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01])
  })

  it('refuses field numbers and integers the format cannot hold', () => {
    expect(() => new ProtoWriter().int(0, 1)).toThrow(/field numbers are 1 … 2\^29 − 1, got 0/)
    expect(() => new ProtoWriter().int(1, 2 ** 60)).toThrow(/safe integers/)
    expect(() => new ProtoWriter().int(1, 1.5)).toThrow(/safe integers, got 1.5/)
  })
})
