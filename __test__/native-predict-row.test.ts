/**
 * The small-batch inference path (issue #12 §1): batches of up to 16 rows run a kernel that
 * reads the weights in place (crates/kernels/src/skinny.rs on the native engine, the unpacked
 * product in lib/engine/js/gemm.ts on the JS engine), and `predictRow` writes into a caller's
 * buffer. Checked against the batch path (the packed GEMM, used from 17 rows on) and across the
 * engines on identical seeds, for every activation and with BatchNormalization and Dropout.
 */
import { describe, expect, it } from 'vitest'
import { Activation, BatchNormalization, Dense, Dropout, Matrix, Sequential, type Layer } from '../lib/index.js'
import { Rng } from '../lib/rng.js'

function build(backend: 'js' | 'native', layers: () => Layer[], seed = 7): Sequential {
  return new Sequential({ seed, backend, layers: layers() }).build()
}

const networks: Record<string, () => Layer[]> = {
  'mnist-shaped relu/softmax': () => [new Dense({ units: 256, activation: 'relu', inputSize: 784 }), new Dense({ units: 128, activation: 'relu' }), new Dense({ units: 10, activation: 'softmax' })],
  'tanh/sigmoid, odd widths': () => [new Dense({ units: 37, activation: 'tanh', inputSize: 13 }), new Dense({ units: 3, activation: 'sigmoid' })],
  'leaky relu, linear, no bias': () => [new Dense({ units: 65, activation: 'leakyRelu', inputSize: 9, useBias: false }), new Dense({ units: 1 })],
  'batch norm, dropout, activation layer': () => [
    new Dense({ units: 40, inputSize: 20 }),
    new BatchNormalization(),
    new Activation({ activation: 'relu' }),
    new Dropout({ rate: 0.3 }),
    new Dense({ units: 17, activation: 'softmax' }),
  ],
}

function rows(n: number, cols: number, seed: number): Matrix {
  const rng = Rng.seeded(seed, 0)
  return new Matrix(n, cols, Float32Array.from({ length: n * cols }, () => 2 * rng.nextFloat() - 1))
}

function expectClose(a: Float32Array, b: Float32Array, tolerance = 1e-5): void {
  expect(a.length).toBe(b.length)
  let worst = 0
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!))
  expect(worst).toBeLessThanOrEqual(tolerance)
}

describe('small-batch prediction', () => {
  for (const [name, layers] of Object.entries(networks)) {
    it(`${name}: 1–20 rows equal the batch path and the other engine`, () => {
      const native = build('native', layers)
      const js = build('js', layers)
      const inputs = native.plan.inputSize
      const x = rows(40, inputs, 3)
      // Batch size 40 takes the packed GEMM on the native engine; sizes up to 16 the skinny kernel.
      const reference = native.predict(x, { batchSize: 40 }).data
      expectClose(js.predict(x, { batchSize: 40 }).data, reference)
      for (const batchSize of [1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 20]) {
        expectClose(native.predict(x, { batchSize }).data, reference)
        expectClose(js.predict(x, { batchSize }).data, reference)
      }
      for (let r = 0; r < 5; r++) {
        const row = x.data.slice(r * inputs, (r + 1) * inputs)
        const expected = reference.subarray(r * native.plan.outputSize, (r + 1) * native.plan.outputSize)
        expectClose(native.predictRow(row), expected)
        expectClose(js.predictRow(row), expected)
        expectClose(native.predict(row).data, expected)
      }
    })
  }

  it('the JS engine gives bit-identical results with and without packing', () => {
    const js = build('js', networks['tanh/sigmoid, odd widths']!)
    const x = rows(9, 13, 5)
    const batch = js.predict(x, { batchSize: 9 }).data
    const single = js.predict(x, { batchSize: 1 }).data
    expect(Array.from(single)).toEqual(Array.from(batch))
  })

  for (const backend of ['native', 'js'] as const) {
    it(`${backend}: predictRow writes into the caller's buffer and reuses it`, () => {
      const model = build(backend, networks['tanh/sigmoid, odd widths']!)
      const out = new Float32Array(3).fill(NaN)
      const a = rows(1, 13, 1).data
      const b = rows(1, 13, 2).data
      expect(model.predictRow(a, out)).toBe(out)
      const first = Array.from(out)
      expect(first.every(Number.isFinite)).toBe(true)
      model.predictRow(b, out)
      expect(Array.from(out)).not.toEqual(first)
      expect(Array.from(out)).toEqual(Array.from(model.predict(new Matrix(1, 13, b)).data))
      // The input is not changed.
      expect(Array.from(b)).toEqual(Array.from(rows(1, 13, 2).data))
    })

    it(`${backend}: predictRow refuses what is not one finite row, naming the argument`, () => {
      const model = build(backend, networks['tanh/sigmoid, odd widths']!)
      const row = rows(1, 13, 1).data
      expect(() => model.predictRow(new Float32Array(12))).toThrow(/predictRow x has 12 values; the model's input size is 13/)
      expect(() => model.predictRow([1, 2, 3] as unknown as Float32Array)).toThrow(/predictRow x must be a Float32Array of 13 values/)
      const bad = row.slice()
      bad[4] = NaN
      expect(() => model.predictRow(bad)).toThrow(/predictRow x\[4\] is NaN/)
      bad[4] = Infinity
      expect(() => model.predictRow(bad)).toThrow(/predictRow x\[4\] is Infinity/)
      expect(() => model.predictRow(row, new Float32Array(4))).toThrow(/predictRow out has 4 values; the model's output size is 3/)
      expect(() => model.predictRow(row, new Float64Array(3) as unknown as Float32Array)).toThrow(/predictRow out must be a Float32Array/)
      const shared = new Float32Array(16)
      expect(() => model.predictRow(shared.subarray(0, 13), shared.subarray(13))).toThrow(/must not share memory/)
      expect(() => model.predict(new Float32Array(5))).toThrow(/input size is 13/)
    })
  }

  it('the raw native predictInto checks lengths and overlap itself', () => {
    const model = build('native', networks['tanh/sigmoid, odd widths']!)
    const raw = (model.network as unknown as { native: { predictInto(x: Float32Array, rows: number, out: Float32Array): void } }).native
    const x = rows(2, 13, 1).data
    expect(() => raw.predictInto(x, 2, new Float32Array(5))).toThrow(/out has 5 values, expected rows × outputs = 2 × 3 = 6/)
    expect(() => raw.predictInto(x, 3, new Float32Array(9))).toThrow(/x has 26 values/)
    const shared = new Float32Array(40)
    expect(() => raw.predictInto(shared.subarray(0, 26), 2, shared.subarray(20, 26))).toThrow(/share memory/)
    const out = new Float32Array(6)
    raw.predictInto(x, 2, out)
    expectClose(out, model.predict(new Matrix(2, 13, x)).data)
  })
})
