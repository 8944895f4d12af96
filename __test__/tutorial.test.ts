import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Dense, SGD, Sequential } from '../lib/index.js'

// Reference values from __test__/golden/tutorial.py (float64 numpy, written from the definitions).
const golden = JSON.parse(readFileSync(new URL('./golden/tutorial.json', import.meta.url), 'utf8')) as {
  output: number[][]
  loss: number
  gradients: (number[] | number[][])[]
  lossCurve: number[]
  finalWeights: (number[] | number[][])[]
  finalOutput: number[][]
}

const X = [[0, 0], [0, 1], [1, 0], [1, 1]]
const Y = [[0, 1], [1, 0], [1, 0], [0, 1]]
const W1 = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
const b1 = [0.7, 0.8, 0.9]
const W2 = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
const b2 = [0.7, 0.8]

function tutorialModel(): Sequential {
  const model = new Sequential({ seed: 1 })
    .add(new Dense({ inputSize: 2, units: 3, activation: 'sigmoid' }))
    .add(new Dense({ units: 2, activation: 'softmax' }))
  model.compile({ loss: 'categoricalCrossEntropy', optimizer: new SGD({ learningRate: 0.4 }) })
  model.setWeights([W1, b1, W2, b2])
  return model
}

const flat = (v: number[] | number[][]): number[] => (Array.isArray(v[0]) ? (v as number[][]).flat() : (v as number[]))

function expectClose(actual: ArrayLike<number>, expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(
      tolerance * Math.max(1, Math.abs(expected[i]!)),
    )
  }
}

describe("the tutorial's 2-3-2 network", () => {
  it('computes the forward pass of the float64 reference (not the tutorial’s printed 0.525/0.475)', () => {
    const out = tutorialModel().predict(X)
    expectClose(out.data, golden.output.flat(), 1e-6)
    // The tutorial claims the first row is [0.525, 0.475]; the definitions give [0.4239, 0.5761].
    expect(out.get(0, 0)).toBeCloseTo(0.42387, 4)
  })

  it('computes the mean cross-entropy and all four gradients', () => {
    const model = tutorialModel()
    expect(model.evaluate(X, Y).loss).toBeCloseTo(golden.loss, 6)
    const { loss, gradients } = model.computeGradients(X, Y)
    expect(loss).toBeCloseTo(golden.loss, 6)
    gradients.forEach((g, i) => expectClose(g.data, flat(golden.gradients[i]!), 1e-6))
  })

  it('follows the reference trajectory over 100 epochs of full-batch gradient descent', async () => {
    const model = tutorialModel()
    const history = await model.fit(X, Y, { epochs: 100, batchSize: 4, shuffle: false })
    expectClose(history.loss, golden.lossCurve, 1e-5)
    model.getWeights().forEach((w, i) => expectClose(w.data, flat(golden.finalWeights[i]!), 1e-5))
    expectClose(model.predict(X).data, golden.finalOutput.flat(), 1e-5)
  })
})
