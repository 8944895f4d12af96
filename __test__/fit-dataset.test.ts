/**
 * fitDataset, evaluateDataset and predictDataset: the fit loop over a DataSource computes what
 * fit computes on the same rows in the same order, and a source that fails mid-epoch stops
 * training with its error while the model keeps its last good weights.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Adam, Dense, Sequential, data, earlyStopping, moons, spirals, type LossName } from '../lib/index.js'
import { writeNpy } from './helpers/npy.js'

const dir = mkdtempSync(join(tmpdir(), 'backprop-fit-dataset-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const d = spirals({ samples: 600, seed: 3 })
const bits = (m: Sequential) => Array.from(new Uint32Array(m.network.readState().params.buffer))

function model(loss: LossName = 'sparseCategoricalCrossEntropy', units = 3): Sequential {
  return new Sequential({ seed: 8 })
    .add(new Dense({ inputSize: 2, units: 24, activation: 'tanh' }))
    .add(new Dense({ units, activation: units === 1 ? 'sigmoid' : 'softmax' }))
    .compile({ loss, optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] })
}

describe('fitDataset', () => {
  it('over data.array in order equals fit without shuffling: losses, metrics and weights bit for bit', async () => {
    const a = model()
    const fitted = await a.fit(d.x, d.y, { epochs: 4, batchSize: 25, shuffle: false, validationData: [d.x, d.y] })
    const b = model()
    const streamed = await b.fitDataset(data.array(d.x, d.y), { epochs: 4, batchSize: 25, validationData: [d.x, d.y] })
    expect(streamed.loss).toEqual(fitted.loss)
    expect(streamed.metrics).toEqual(fitted.metrics)
    expect(streamed.valLoss).toEqual(fitted.valLoss)
    expect(bits(b)).toEqual(bits(a))
  })

  it('class indices become one-hot targets for categoricalCrossEntropy', async () => {
    const oneHot = d.y.map((c) => [0, 1, 2].map((k) => +(k === c)))
    const a = model('categoricalCrossEntropy')
    await a.fit(d.x, oneHot, { epochs: 2, batchSize: 32, shuffle: false })
    const b = model('categoricalCrossEntropy')
    await b.fitDataset(data.array(d.x, d.y), { epochs: 2, batchSize: 32 })
    expect(bits(b)).toEqual(bits(a))
  })

  it('an .npy pair trains exactly as the same rows in memory, shuffled and batched by the source', async () => {
    writeNpy(join(dir, 'x.npy'), d.x.flat(), [600, 2])
    writeNpy(join(dir, 'y.npy'), d.y, [600], '<i8')
    const a = model()
    const ha = await a.fitDataset(data.array(d.x, d.y).shuffle(128, { seed: 5 }).batch(20), { epochs: 3 })
    const b = model()
    const hb = await b.fitDataset(data.npy(join(dir, 'x.npy'), join(dir, 'y.npy')).shuffle(128, { seed: 5 }).batch(20), { epochs: 3 })
    expect(hb.loss).toEqual(ha.loss)
    expect(bits(b)).toEqual(bits(a))
    expect(ha.loss.at(-1)!).toBeLessThan(ha.loss[0]!)
  })

  it('batchesPerEpoch, callbacks and early stopping work as in fit', async () => {
    const m = model()
    let batches = 0
    const h = await m.fitDataset(data.array(d.x, d.y).shuffle(600, { seed: 1 }), {
      epochs: 50, batchSize: 10, batchesPerEpoch: 7, validationData: [d.x, d.y],
      callbacks: [earlyStopping({ patience: 1, minDelta: 10 }), { onBatchEnd: () => void batches++ }],
    })
    expect(h.epochs).toBe(2)
    expect(batches).toBe(14)
    expect(h.stopReason).toBe('earlyStopping')
  })

  it('a source that fails mid-epoch stops training with its error; the model keeps its last good weights', async () => {
    const good = moons({ samples: 100, seed: 1 })
    // Epoch 2 of this source holds a NaN deep inside; epoch 1 is clean.
    const rows = (bad: boolean) =>
      data.generator(function* () {
        for (let i = 0; i < 3000; i++) yield { x: bad && i === 2500 ? [NaN, 0] : good.x[i % 100]!, y: good.y[i % 100]! }
      })
    const m = model()
    let calls = 0
    const source = data.generator(function* () {
      const bad = calls++ === 2 // the first call reads the shape
      for (let i = 0; i < 3000; i++) yield { x: bad && i === 2500 ? [NaN, 0] : good.x[i % 100]!, y: good.y[i % 100]! }
    })
    await expect(m.fitDataset(source, { epochs: 3, batchSize: 50 })).rejects.toThrow('feature 0 of row 2500 of epoch 2 is NaN; features must be finite')
    expect(m.epochsTrained).toBe(1)
    const reference = model()
    await reference.fitDataset(rows(false), { epochs: 1, batchSize: 50 })
    expect(bits(m)).toEqual(bits(reference))
    expect(m.trainingHistory.epochs).toBe(1)
  })

  it('refuses a label the model cannot take, naming the row', async () => {
    const m = model()
    await expect(m.fitDataset(data.array([[0, 0], [1, 1]], [0, 7]), { epochs: 1 })).rejects.toThrow('the label of row 1 of epoch 1 is 7; class indices must be integers in [0, 2] (the model has 3 outputs)')
    await expect(m.fitDataset(data.array([[0, 0, 0]], [0]), { epochs: 1 })).rejects.toThrow('fitDataset data has 3 feature columns, but the model takes 2')
    await expect(m.fitDataset([[0, 0]] as never)).rejects.toThrow('fitDataset data must be a DataSource (data.npy(...), data.array(x, y), …), got an array of length 1')
  })
})

describe('evaluateDataset and predictDataset', () => {
  it('equal evaluate and predict over the same rows', async () => {
    const m = model()
    await m.fit(d.x, d.y, { epochs: 2 })
    const e = await m.evaluateDataset(data.array(d.x, d.y).batch(64))
    const ref = m.evaluate(d.x, d.y)
    expect(e.loss).toBeCloseTo(ref.loss, 6)
    expect(e.accuracy).toBeCloseTo(ref.accuracy!, 10)
    const out: number[] = []
    for await (const block of m.predictDataset(data.array(d.x, d.y).batch(100))) out.push(...block.data)
    expect(out).toEqual(Array.from(m.predict(d.x).data))
  })
})

describe('gatherRows', () => {
  it('gives the rows of the order, with their weights, and trains as a copy of them would; refills what it is given back', () => {
    const rows = d.x.length
    const x = Float32Array.from(d.x.flat())
    const y = Float32Array.from(d.y)
    const w = Float32Array.from({ length: rows }, (_, i) => 0.5 + (i % 3))
    const source = { x, y, w, rows }
    const copyOf = (order: Uint32Array) => ({
      x: Float32Array.from(Array.from(order).flatMap((r) => [x[2 * r]!, x[2 * r + 1]!])),
      y: Float32Array.from(order, (r) => y[r]!),
      w: Float32Array.from(order, (r) => w[r]!),
      rows: order.length,
    })
    const options = { batchSize: 16, shuffle: false, learningRate: 0.02 }
    const gathered = model()
    const copied = model()
    let reuse = null
    for (const order of [Uint32Array.from({ length: 100 }, (_, i) => (i * 37) % rows), Uint32Array.of(599, 0, 5, 5, 17), Uint32Array.from({ length: 80 }, (_, i) => rows - 1 - 7 * i)]) {
      const chunk = gathered.network.gatherRows(source, order, reuse)
      expect(chunk.rows).toBe(order.length)
      if (reuse && order.length <= 100) expect(chunk).toBe(reuse)
      reuse = chunk
      const a = gathered.network.trainEpoch(chunk, options)
      const b = copied.network.trainEpoch(copyOf(order), options)
      expect(a).toEqual(b)
      expect(bits(gathered)).toEqual(bits(copied))
    }
    expect(() => gathered.network.gatherRows(source, Uint32Array.of(1, rows), reuse)).toThrow(new RegExp(`order\\[1\\] is ${rows}, but `))
  })
})

describe('in-memory fit of data larger than the copy limit', () => {
  it.runIf(process.env.BACKPROP_BACKEND === 'native')('trains the same bits as one whole-epoch engine call, without the engine copying the data', async () => {
    const { COPY_LIMIT_BYTES } = await import('../lib/training/fit.js')
    const cols = 1000
    const rows = Math.ceil(COPY_LIMIT_BYTES / (cols * 4)) + 500
    const x = new Float32Array(rows * cols)
    let s = 1
    for (let i = 0; i < x.length; i++) x[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5
    const y = Float32Array.from({ length: rows }, (_, i) => (x[i * cols]! > 0 ? 1 : 0))
    const make = () =>
      new Sequential({ seed: 4 }).add(new Dense({ inputSize: cols, units: 8, activation: 'relu' })).add(new Dense({ units: 2, activation: 'softmax' }))
        .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }) })
    const chunked = make()
    const { Matrix } = await import('../lib/index.js')
    const h = await chunked.fit(new Matrix(rows, cols, x), y, { epochs: 2, batchSize: 64 })
    const whole = make()
    const losses: number[] = []
    for (let e = 0; e < 2; e++) {
      const r = await whole.network.trainEpochAsync({ x, y, rows }, { batchSize: 64, shuffle: true, learningRate: 0.01 })
      losses.push(r.loss)
    }
    expect(bits(chunked)).toEqual(bits(whole))
    expect(h.loss[1]).toBeCloseTo(losses[1]!, 12)
  }, 120_000)
})
