/**
 * createPredictor (issue #12 §2): concurrent one-row predictions share engine calls, each caller
 * gets its own row (equal to model.predict of it), the queue is bounded, close drains. Runs on
 * both engines (BACKPROP_BACKEND); engine calls are counted through `stats.batches`.
 */
import { describe, expect, it } from 'vitest'
import { Dense, Matrix, ModelStateError, QueueFullError, Sequential, ShapeError, createPredictor } from '../lib/index.js'
import { Rng } from '../lib/rng.js'

function model(): Sequential {
  return new Sequential({
    seed: 11,
    layers: [new Dense({ units: 24, activation: 'relu', inputSize: 8 }), new Dense({ units: 3, activation: 'softmax' })],
  })
}

function rows(n: number, seed = 1): Float32Array[] {
  const rng = Rng.seeded(seed, 0)
  return Array.from({ length: n }, () => Float32Array.from({ length: 8 }, () => 4 * rng.nextFloat() - 2))
}

function expectRow(got: Float32Array, expected: Float32Array): void {
  expect(got.length).toBe(expected.length)
  for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThanOrEqual(1e-6)
}

describe('createPredictor', () => {
  it('groups calls made within the delay into one engine call; each caller gets its own row', async () => {
    const m = model()
    const predictor = createPredictor(m, { maxBatch: 64, maxDelayMs: 20 })
    const inputs = rows(10)
    const answers = await Promise.all(inputs.map((r) => predictor.predict(r)))
    expect(predictor.stats).toEqual({ batches: 1, rows: 10, largestBatch: 10, rejected: 0, queued: 0 })
    const expected = m.predict(new Matrix(10, 8, Float32Array.from(inputs.flatMap((r) => Array.from(r))))).data
    answers.forEach((a, i) => expectRow(a, expected.subarray(i * 3, i * 3 + 3)))
    // Answers are separate arrays, not views of one shared buffer.
    expect(new Set(answers.map((a) => a.buffer)).size).toBe(10)
    await predictor.close()
  })

  it('with no delay (the default), rows arriving in one turn of the event loop still share an engine call', async () => {
    const m = model()
    const predictor = createPredictor(m)
    const inputs = rows(10, 4)
    const answers = await Promise.all(inputs.map((r) => predictor.predict(r)))
    expect(predictor.stats).toMatchObject({ batches: 1, rows: 10, largestBatch: 10 })
    // A row sent after the first batch's answer is its own batch.
    const late = await predictor.predict(inputs[0]!)
    expect(predictor.stats).toMatchObject({ batches: 2, rows: 11 })
    expectRow(late, m.predictRow(inputs[0]!))
    answers.forEach((a, i) => expectRow(a, m.predictRow(inputs[i]!)))
    await predictor.close()
  })

  it('cuts batches at maxBatch, and maxBatch 1 makes one engine call per row', async () => {
    const m = model()
    const inputs = rows(150, 2)
    const batched = createPredictor(m, { maxBatch: 64, maxDelayMs: 5 })
    const a = await Promise.all(inputs.map((r) => batched.predict(r)))
    expect(batched.stats).toMatchObject({ batches: 3, rows: 150, largestBatch: 64 })
    const single = createPredictor(m, { maxBatch: 1, maxDelayMs: 0 })
    const b = await Promise.all(inputs.map((r) => single.predict(Array.from(r))))
    expect(single.stats).toMatchObject({ batches: 150, rows: 150, largestBatch: 1 })
    inputs.forEach((r, i) => {
      const expected = m.predictRow(r)
      expectRow(a[i]!, expected)
      expectRow(b[i]!, expected)
    })
    await Promise.all([batched.close(), single.close()])
  })

  it('rejects at once when the queue is full, and close runs what was queued without waiting for the delay', async () => {
    const m = model()
    const predictor = createPredictor(m, { maxBatch: 64, maxDelayMs: 10_000, maxQueue: 5 })
    const inputs = rows(7, 3)
    const accepted = inputs.slice(0, 5).map((r) => predictor.predict(r))
    expect(predictor.stats.queued).toBe(5)
    await expect(predictor.predict(inputs[5]!)).rejects.toThrow(QueueFullError)
    await expect(predictor.predict(inputs[6]!)).rejects.toThrow(/queue is full \(5 rows waiting, its maxQueue\)/)
    expect(predictor.stats).toMatchObject({ rejected: 2, queued: 5, batches: 0 })
    const started = performance.now()
    await predictor.close()
    expect(performance.now() - started).toBeLessThan(5_000)
    const answers = await Promise.all(accepted)
    answers.forEach((a, i) => expectRow(a, m.predictRow(inputs[i]!)))
    expect(predictor.stats).toMatchObject({ batches: 1, rows: 5, queued: 0 })
    await expect(predictor.predict(inputs[0]!)).rejects.toThrow(ModelStateError)
  })

  it('refuses bad rows with the argument named, without queueing them', async () => {
    const predictor = createPredictor(model(), { maxDelayMs: 0 })
    await expect(predictor.predict(new Float32Array(7))).rejects.toThrow(ShapeError)
    await expect(predictor.predict(new Float32Array(7))).rejects.toThrow(/predict row has 7 values; the model's input size is 8/)
    await expect(predictor.predict([1, 2, 3, NaN, 5, 6, 7, 8])).rejects.toThrow(/predict row\[3\] is NaN; it must be a finite number/)
    await expect(predictor.predict([1, 2, 3, 4, '5', 6, 7, 8] as unknown as number[])).rejects.toThrow(/predict row\[4\] is the string '5'/)
    await expect(predictor.predict({ length: 8 } as unknown as number[])).rejects.toThrow(/must be a Float32Array or an array of 8 numbers/)
    expect(predictor.stats).toMatchObject({ batches: 0, queued: 0 })
    await predictor.close()
  })

  it('checks its options', () => {
    expect(() => createPredictor(model(), { maxBatch: 0 })).toThrow(/maxBatch/)
    expect(() => createPredictor(model(), { maxDelayMs: -1 })).toThrow(/maxDelayMs/)
    expect(() => createPredictor(model(), { maxQueue: 1.5 })).toThrow(/maxQueue/)
    expect(() => createPredictor(model(), { batch: 3 } as never)).toThrow(/unknown option 'batch'/)
    expect(() => createPredictor({} as never)).toThrow(/needs a Sequential model/)
  })

  it('works on its own copy: the model stays usable and later changes to it do not leak in', async () => {
    const m = model()
    const predictor = createPredictor(m, { maxDelayMs: 1 })
    const [row] = rows(1, 4)
    const before = m.predictRow(row!)
    const pending = predictor.predict(row!)
    // The model itself is free while the predictor's batch is in flight.
    expect(() => m.predictRow(row!)).not.toThrow()
    m.setWeights(m.getWeights().map((w) => new Matrix(w.rows, w.cols, w.data.map((v) => v * 0.5))))
    expectRow(await pending, before)
    expectRow(await predictor.predict(row!), before)
    await predictor.close()
  })
})
