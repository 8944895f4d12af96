/**
 * The native engine trains from its own copy of the caller's arrays (asynchronous epochs must
 * not read memory JavaScript may change), made once and compared with the arrays before every
 * later epoch. A change anywhere (the very last value, a label) must reach the copy: the
 * weights then equal those of a network given fresh arrays with the change, and differ from
 * those of one trained without it.
 */
import { describe, expect, it } from 'vitest'
import { Adam, Dense, Sequential, backendInfo } from '../lib/index.js'
import type { TrainingData } from '../lib/engine/engine.js'

const ROWS = 3000
/** 150,000 input values: the comparison's blocks are 65,536, so a change in the last one is seen after two equal blocks. */
const INPUTS = 50

function network() {
  const m = new Sequential({ seed: 3, backend: 'native' })
    .add(new Dense({ inputSize: INPUTS, units: 16, activation: 'relu' }))
    .add(new Dense({ units: 4, activation: 'softmax' }))
  m.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }) })
  return m.build().network
}

function data(): TrainingData {
  const x = new Float32Array(ROWS * INPUTS).map((_, i) => Math.sin(i * 0.37))
  const y = new Float32Array(ROWS).map((_, i) => i % 4)
  return { x, y, rows: ROWS }
}

const changes: [string, (d: TrainingData) => void][] = [
  ['the last input value', (d) => { d.x[d.x.length - 1] = 5 }],
  ['the first and the last input values', (d) => { d.x[0] = -3; d.x[d.x.length - 1] = 5 }],
  ['a label', (d) => { d.y[1234] = (d.y[1234]! + 1) % 4 }],
]

describe.skipIf(!backendInfo().nativeAvailable)("the native engine's copy of training data", () => {
  it.each(changes)('follows %s changed between epochs', async (_what, change) => {
    const options = { batchSize: 64, shuffle: true, learningRate: 0.01 }
    const start = data()
    const reused = network()
    await reused.trainEpochAsync(start, options)
    change(start)
    await reused.trainEpochAsync(start, options)

    const fresh = network()
    await fresh.trainEpochAsync(data(), options)
    const second = { x: Float32Array.from(start.x), y: Float32Array.from(start.y), rows: ROWS }
    await fresh.trainEpochAsync(second, options)

    const bits = (n: ReturnType<typeof network>) => Buffer.from(n.readState().params.buffer)
    expect(bits(reused).equals(bits(fresh))).toBe(true)
    // And the change mattered: without it the weights differ.
    const unchanged = network()
    const a = data()
    await unchanged.trainEpochAsync(a, options)
    await unchanged.trainEpochAsync(a, options)
    expect(bits(unchanged).equals(bits(fresh))).toBe(false)
  })
})
