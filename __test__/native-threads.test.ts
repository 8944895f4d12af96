/**
 * A model's `threads` option caps the native engine's threads for that model alone (search
 * trials run side by side on one thread each). The work is split so that results never depend
 * on the thread count: a GEMM that splits a sum across threads splits it into the k blocks one
 * thread sums and adds them in the same order, the optimizer's ranges are disjoint, and the
 * chain of BatchNormalization, Activation and Dropout splits rows and dropout draws but keeps
 * each unit's sums over the rows whole.
 */
import { describe, expect, it } from 'vitest'
import { Activation, Adam, BatchNormalization, Dense, Dropout, Matrix, Sequential, backendInfo, spirals } from '../lib/index.js'

const available = backendInfo().nativeAvailable

function model(threads?: number): Sequential {
  const m = new Sequential({ seed: 5, backend: 'native', ...(threads !== undefined && { threads }) })
    .add(new Dense({ inputSize: 2, units: 512, activation: 'relu' }))
    .add(new Dropout({ rate: 0.1 }))
    .add(new Dense({ units: 512 }))
    .add(new BatchNormalization())
    .add(new Activation({ activation: 'relu' }))
    .add(new Dropout({ rate: 0.2 }))
    .add(new Dense({ units: 3, activation: 'softmax' }))
  m.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam() })
  return m
}

describe.skipIf(!available)('the threads option', () => {
  it('gives bit-identical training on one thread and on all of them', async () => {
    // Big enough that the GEMMs (512×512 per batch of 256; the 512 inputs are two k blocks, one
    // per thread: gemm::Split::Depth), the chains' passes (256×512) and the optimizer pass
    // (~265k parameters) are split across threads when allowed.
    const data = spirals({ samples: 2048, classes: 3, seed: 1 })
    const one = model(1)
    const all = model()
    expect(one.threads).toBe(1)
    const [h1, h2] = [await one.fit(data.x, data.y, { epochs: 2, batchSize: 256 }), await all.fit(data.x, data.y, { epochs: 2, batchSize: 256 })]
    expect(h1.loss).toEqual(h2.loss)
    // Byte-for-byte (Buffer.equals: a deep toEqual on megabytes is slow).
    expect(Buffer.from(one.toBytes()).equals(Buffer.from(all.toBytes()))).toBe(true)
  })

  it('gives bit-identical training when layers wider than a k block keep their weights on one thread each', async () => {
    // 784 and 1100 inputs are two and three k blocks: the forward products split by k blocks,
    // the weight gradients by rows and the input gradient by columns (gemm::Split).
    const rows = 512
    const x = new Matrix(rows, 784, new Float32Array(rows * 784).map((_, i) => Math.sin(i * 0.37)))
    const y = new Matrix(rows, 1, new Float32Array(rows).map((_, i) => i % 10))
    const wide = (threads?: number) => {
      const m = new Sequential({ seed: 9, backend: 'native', ...(threads !== undefined && { threads }) })
        .add(new Dense({ inputSize: 784, units: 1100, activation: 'relu' }))
        .add(new Dense({ units: 600, activation: 'tanh' }))
        .add(new Dense({ units: 10, activation: 'softmax' }))
      m.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.001 }) })
      return m
    }
    const one = wide(1)
    const all = wide()
    const [h1, h2] = [await one.fit(x, y, { epochs: 2, batchSize: 128 }), await all.fit(x, y, { epochs: 2, batchSize: 128 })]
    expect(h1.loss).toEqual(h2.loss)
    expect(Buffer.from(one.toBytes()).equals(Buffer.from(all.toBytes()))).toBe(true)
  })

  it('is checked', () => {
    expect(() => new Sequential({ threads: 0 })).toThrow('Sequential threads must be an integer ≥ 1, got 0')
    expect(() => new Sequential({ threads: 1.5 })).toThrow(TypeError)
  })
})
