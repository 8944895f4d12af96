import { describe, expect, it } from 'vitest'
import { Dense, SGD, Sequential, ShapeError, backendInfo, blobs, moons, type LossName } from '../lib/index.js'

// Sample weights as Keras defines them: a batch's loss is Σ wᵢ·lossᵢ / rows, so its gradient is
// Σ wᵢ·∇lossᵢ / rows. The references below are built from per-sample losses and gradients that
// the (unweighted) model computes one sample at a time.

const rows = 7
const x = Array.from({ length: rows }, (_, i) => [Math.sin(i + 1), Math.cos(2 * i), (i % 3) - 1])
const weights = [0.5, 2, 0, 1, 3.5, 1, 0.25]

interface Case {
  loss: LossName
  units: number
  activation: 'softmax' | 'sigmoid' | 'linear'
  y: number[] | number[][]
}

const cases: Case[] = [
  { loss: 'sparseCategoricalCrossEntropy', units: 3, activation: 'softmax', y: [0, 1, 2, 1, 0, 2, 1] },
  { loss: 'categoricalCrossEntropy', units: 3, activation: 'softmax', y: [0, 1, 2, 1, 0, 2, 1].map((c) => [0, 1, 2].map((k) => +(k === c))) },
  { loss: 'binaryCrossEntropy', units: 1, activation: 'sigmoid', y: [0, 1, 1, 0, 1, 0, 1] },
  { loss: 'binaryCrossEntropy', units: 2, activation: 'sigmoid', y: [0, 1, 1, 0, 1, 0, 1].map((c) => [c, 1 - c]) },
  { loss: 'categoricalCrossEntropy', units: 3, activation: 'sigmoid', y: [0, 1, 2, 1, 0, 2, 1].map((c) => [0, 1, 2].map((k) => +(k === c))) },
  { loss: 'meanSquaredError', units: 2, activation: 'linear', y: x.map((r) => [r[0]! - r[1]!, r[2]! * 2]) },
]

function model(c: Case, learningRate = 0.1): Sequential {
  const m = new Sequential({ seed: 11 })
    .add(new Dense({ inputSize: 3, units: 5, activation: 'tanh' }))
    .add(new Dense({ units: c.units, activation: c.activation }))
  m.compile({ loss: c.loss, optimizer: new SGD({ learningRate }) })
  return m
}

const row = (y: Case['y'], i: number) => [y[i]] as never

describe('sample weights', () => {
  for (const c of cases) {
    const name = `${c.loss} with a ${c.activation} output of ${c.units}`
    it(`${name}: the loss is Σ wᵢ·lossᵢ / rows`, () => {
      const m = model(c)
      const perSample = x.map((xi, i) => m.evaluate([xi], row(c.y, i)).loss)
      const expected = perSample.reduce((s, l, i) => s + weights[i]! * l, 0) / rows
      expect(m.evaluate(x, c.y as never, { sampleWeight: weights }).loss).toBeCloseTo(expected, 5)
      // Equal weights of 1 are the unweighted loss.
      expect(m.evaluate(x, c.y as never, { sampleWeight: new Array(rows).fill(1) }).loss).toBeCloseTo(m.evaluate(x, c.y as never).loss, 6)
    })

    it(`${name}: one SGD step moves by −lr·Σ wᵢ·∇lossᵢ / rows`, () => {
      const lr = 0.1
      const m = model(c, lr)
      const before = m.getWeights()
      const grads = x.map((xi, i) => m.computeGradients([xi], row(c.y, i)).gradients)
      const result = m.trainOnBatch(x, c.y as never, { sampleWeight: weights })
      const after = m.getWeights()
      before.forEach((w, k) => {
        for (let j = 0; j < w.data.length; j++) {
          const g = grads.reduce((s, gi, i) => s + weights[i]! * gi[k]!.data[j]!, 0) / rows
          expect(after[k]!.data[j]).toBeCloseTo(w.data[j]! - lr * g, 5)
        }
      })
      // The reported loss is the weighted loss before the update.
      expect(result.loss).toBeCloseTo(model(c).evaluate(x, c.y as never, { sampleWeight: weights }).loss, 5)
    })
  }

  for (const c of cases) {
    it(`${c.loss} with a ${c.activation} output of ${c.units}: computeGradients with sampleWeight is Σ wᵢ·∇lossᵢ / rows`, () => {
      const m = model(c)
      const grads = x.map((xi, i) => m.computeGradients([xi], row(c.y, i)).gradients)
      const weighted = m.computeGradients(x, c.y as never, { sampleWeight: weights })
      weighted.gradients.forEach((g, k) => {
        for (let j = 0; j < g.data.length; j++) {
          expect(g.data[j]).toBeCloseTo(grads.reduce((s, gi, i) => s + weights[i]! * gi[k]!.data[j]!, 0) / rows, 5)
        }
      })
      expect(weighted.loss).toBeCloseTo(m.evaluate(x, c.y as never, { sampleWeight: weights }).loss, 5)
    })
  }

  it('classWeight is the sampleWeight of each sample’s class, in every target form', () => {
    for (const c of cases.slice(0, 3)) {
      const classOf = (i: number) =>
        c.loss === 'categoricalCrossEntropy' ? (c.y[i] as number[]).indexOf(1) : (c.y[i] as number)
      const byClass = c.units === 1 ? [0.5, 3] : [0.5, 3, 1.5]
      const expected = model(c).evaluate(x, c.y as never, { sampleWeight: x.map((_, i) => byClass[classOf(i)]!) }).loss
      expect(model(c).evaluate(x, c.y as never, { classWeight: byClass }).loss).toBeCloseTo(expected, 6)
      // The record form, with a missing class weighing 1.
      const record = { 0: 0.5, 1: 3 }
      const expectedRecord = model(c).evaluate(x, c.y as never, { sampleWeight: x.map((_, i) => [0.5, 3, 1][classOf(i)]!) }).loss
      expect(model(c).evaluate(x, c.y as never, { classWeight: record }).loss).toBeCloseTo(expectedRecord, 6)
      // Both together multiply.
      const both = model(c).evaluate(x, c.y as never, { classWeight: byClass, sampleWeight: weights }).loss
      const product = model(c).evaluate(x, c.y as never, { sampleWeight: x.map((_, i) => byClass[classOf(i)]! * weights[i]!) }).loss
      expect(both).toBeCloseTo(product, 6)
    }
  })

  it('fit trains on weighted batches (shuffled) and validates unweighted', async () => {
    const c = cases[0]!
    const data = blobs({ samples: 60, centers: 3, features: 3, seed: 2 })
    const w = data.y.map((label) => (label === 2 ? 4 : 1))
    const weighted = model(c)
    const history = await weighted.fit(data.x, data.y, { epochs: 3, batchSize: 8, sampleWeight: w, validationSplit: 0.25 })
    const unweighted = model(c)
    const plain = await unweighted.fit(data.x, data.y, { epochs: 3, batchSize: 8, validationSplit: 0.25 })
    expect(history.loss).not.toEqual(plain.loss)
    // Validation is the last quarter, unweighted, after the last epoch.
    expect(history.valLoss.at(-1)).toBeCloseTo(weighted.evaluate(data.x.slice(45), data.y.slice(45)).loss, 6)
  })

  it('class weights raise the recall of a rare class', async () => {
    // Moons with class 1 cut to one sample in ten: unweighted training neglects it.
    const data = moons({ samples: 1000, noise: 0.3, seed: 5 })
    const keep = data.y.map((label, i) => label === 0 || i % 20 === 1)
    const xs = data.x.filter((_, i) => keep[i])
    const ys = data.y.filter((_, i) => keep[i])
    const recall = async (classWeight?: Record<number, number>) => {
      const m = new Sequential({ seed: 3 })
        .add(new Dense({ inputSize: 2, units: 8, activation: 'tanh' }))
        .add(new Dense({ units: 1, activation: 'sigmoid' }))
      m.compile({ loss: 'binaryCrossEntropy', optimizer: new SGD({ learningRate: 0.1 }) })
      await m.fit(xs, ys, { epochs: 30, batchSize: 32, ...(classWeight && { classWeight }) })
      const predicted = m.predictClasses(xs)
      const positives = ys.filter((label) => label === 1).length
      return predicted.filter((p, i) => p === 1 && ys[i] === 1).length / positives
    }
    const plain = await recall()
    const balanced = await recall({ 0: 1, 1: 10 })
    expect(balanced).toBeGreaterThan(plain + 0.2)
  })

  it('rejects bad weights with clear errors and changes nothing', () => {
    const c = cases[0]!
    const m = model(c)
    const before = m.toBytes()
    const y = c.y as number[]
    expect(() => m.trainOnBatch(x, y, { sampleWeight: [1, 2] })).toThrow(ShapeError)
    expect(() => m.trainOnBatch(x, y, { sampleWeight: [1, 2] })).toThrow('trainOnBatch sampleWeight has 2 weights but x has 7 samples')
    expect(() => m.trainOnBatch(x, y, { sampleWeight: [1, 1, 1, -1, 1, 1, 1] })).toThrow('trainOnBatch sampleWeight[3] must be a finite number ≥ 0, got -1')
    expect(() => m.trainOnBatch(x, y, { sampleWeight: [1, 1, NaN, 1, 1, 1, 1] })).toThrow('sampleWeight[2] must be a finite number ≥ 0, got NaN')
    expect(() => m.trainOnBatch(x, y, { sampleWeight: 'heavy' as never })).toThrow(TypeError)
    expect(() => m.trainOnBatch(x, y, { classWeight: { 5: 2 } })).toThrow('trainOnBatch classWeight names class 5, but the classes are 0 … 2')
    expect(() => m.trainOnBatch(x, y, { classWeight: [1, -2] })).toThrow('classWeight[1] must be a finite number ≥ 0, got -2')
    expect(() => m.trainOnBatch(x, y, { classWeight: 3 as never })).toThrow(TypeError)
    expect(() => m.trainOnBatch(x, y, { weights: [1] } as never)).toThrow("trainOnBatch options has an unknown option 'weights'")
    const multiLabel = model(cases[3]!)
    expect(() => multiLabel.evaluate(x, cases[3]!.y as never, { classWeight: [1, 2] })).toThrow('2 binary outputs are independent labels; use sampleWeight')
    const regression = model({ ...cases[5]!, units: 1, y: x.map((r) => [r[0]!]) })
    expect(() => regression.evaluate(x, x.map((r) => [r[0]!]), { classWeight: [1, 2] })).toThrow(/y\[0\] is .*, not 0 or 1/)
    expect(m.toBytes()).toEqual(before)
  })

  it.skipIf(!backendInfo().nativeAvailable)('the native engine weighs samples exactly as the JS engine', async () => {
    const data = blobs({ samples: 90, centers: 3, seed: 4 })
    const w = data.y.map((label, i) => (label === 1 ? 3 : 0.5) + (i % 4) * 0.25)
    const run = async (backend: 'js' | 'native') => {
      const m = new Sequential({ seed: 9, backend })
        .add(new Dense({ inputSize: 2, units: 8, activation: 'tanh' }))
        .add(new Dense({ units: 3, activation: 'softmax' }))
      m.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: 'adam', metrics: ['accuracy'] })
      const history = await m.fit(data.x, data.y, { epochs: 10, batchSize: 16, sampleWeight: w, classWeight: [1, 1, 2] })
      const evaluated = m.evaluate(data.x, data.y, { sampleWeight: w })
      const step = m.trainOnBatch(data.x.slice(0, 10), data.y.slice(0, 10), { sampleWeight: w.slice(0, 10) })
      return { history: history.loss, evaluated: evaluated.loss, step: step.loss }
    }
    const [js, native] = [await run('js'), await run('native')]
    js.history.forEach((l, e) => expect(Math.abs(native.history[e]! - l) / l).toBeLessThan(1e-4))
    expect(Math.abs(native.evaluated - js.evaluated) / js.evaluated).toBeLessThan(1e-4)
    expect(Math.abs(native.step - js.step) / js.step).toBeLessThan(1e-4)
  })
})
