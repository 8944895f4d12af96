/**
 * The native engine computes what the JS engine computes. With one seed, both start from
 * bit-identical weights and visit batches in the same order (the shared PRNG), so their loss
 * curves agree to float tolerance over 20 epochs — for every optimizer (with both clip forms),
 * every activation (hidden softmax included), every loss (fused and unfused pairings) and every
 * layer type — and their predictions, evaluations, gradients and single updates agree on the
 * same weights. Models move between engines through their saved bytes.
 *
 * Tolerances: 1e-4 relative on 20-epoch loss curves (the engines sum in different orders —
 * SIMD GEMM with FMA against a blocked JS loop — so trajectories drift apart by float32 noise),
 * plus 1e-7 absolute: a probability near 1 is resolved to 6e-8 in float32, so a loss that has
 * converged to ~1e-5 is only known to that; 1e-5 on outputs; 1e-5 of the largest component on
 * gradients.
 *
 * Setups avoid what no float tolerance can cover: a gradient that is zero in theory (a bias
 * feeding BatchNormalization, a dead ReLU unit) is float noise in practice, and RMSProp or Adam
 * scale noise up to full-size steps — different in each engine.
 */
import { describe, expect, it } from 'vitest'
import {
  Activation,
  AdaGrad,
  Adam,
  AdamW,
  BatchNormalization,
  Dense,
  Dropout,
  RMSProp,
  SGD,
  Sequential,
  backendInfo,
  blobs,
  l1,
  l1l2,
  l2,
  moons,
  sineRegression,
  spirals,
  type CompileOptions,
  type Layer,
  type Matrix,
  type Optimizer,
} from '../lib/index.js'

const info = backendInfo()

type Backend = 'js' | 'native'

interface Data {
  x: number[][]
  y: number[] | number[][]
}

interface Case {
  name: string
  layers: () => Layer[]
  compile: () => CompileOptions
  data: Data
  batchSize?: number
}

const moonsData = moons({ samples: 96, noise: 0.2, seed: 11 })
const blobsData = blobs({ samples: 90, centers: 3, features: 4, seed: 5 })
const spiralData = spirals({ samples: 90, classes: 3, seed: 2 })
const sine = sineRegression({ samples: 80, seed: 3 })

const oneHot = (labels: number[], classes: number): number[][] => labels.map((c) => Array.from({ length: classes }, (_, j) => (j === c ? 1 : 0)))

/** Binary classification: x (2 features) → labels 0/1. */
const binary: Data = moonsData
/** Three classes, 4 features: class indices and one-hot rows. */
const sparse3: Data = blobsData
const oneHot3: Data = { x: blobsData.x, y: oneHot(blobsData.y, 3) }
const regression: Data = { x: sine.x, y: sine.y }

function build(c: Case, backend: Backend, seed = 7): Sequential {
  const model = new Sequential({ seed, backend, layers: c.layers() })
  model.compile(c.compile())
  return model
}

/** |a − b| ≤ rel · max(|a|, |b|) + abs, elementwise, with the first mismatch in the message. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 0, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!
    const b = expected[i]!
    const ok = Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + abs
    if (!ok) expect.fail(`${what}[${i}]: native ${a} vs js ${b} (relative difference ${Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b))})`)
  }
}

const flat = (ms: Matrix[]): number[] => ms.flatMap((m) => Array.from(m.data))

async function curves(c: Case, epochs = 20) {
  const runs = await Promise.all(
    (['js', 'native'] as const).map(async (backend) => {
      const model = build(c, backend)
      expect(model.engine).toBe(backend)
      const history = await model.fit(c.data.x, c.data.y, { epochs, batchSize: c.batchSize ?? 16 })
      return { model, history }
    }),
  )
  return { js: runs[0]!, native: runs[1]! }
}

async function expectSameCurves(c: Case): Promise<void> {
  const { js, native } = await curves(c)
  expect(native.history.epochs).toBe(20)
  expectClose(native.history.loss, js.history.loss, 1e-4, 1e-7, `${c.name} loss`)
  for (const [key, values] of Object.entries(js.history.metrics)) {
    // Accuracy counts thresholded outputs: a sample right at 0.5 may flip, so allow one sample.
    const abs = key === 'accuracy' ? 1.01 / c.data.x.length : 1e-9
    expectClose(native.history.metrics[key]!, values, 1e-4, abs, `${c.name} ${key}`)
  }
  const p = (m: Sequential) => Array.from(m.predict(c.data.x).data)
  expectClose(p(native.model), p(js.model), 1e-5, 1e-6, `${c.name} predictions after training`)
}

describe('the native engine', () => {
  it('is built and loads (run npm run build)', () => {
    expect(info.fallbackReason ?? 'native engine available').toBe('native engine available')
    expect(info.nativeAvailable).toBe(true)
    expect(['avx512', 'avx2', 'scalar']).toContain(info.isa)
    // The products run on the tier in use, or on AVX2 where an AVX-512 CPU runs that faster.
    expect(info.isa === 'avx512' ? ['avx512', 'avx2'] : [info.isa]).toContain(info.gemmIsa)
    expect(info.threads).toBeGreaterThanOrEqual(1)
  })
})

describe.skipIf(!info.nativeAvailable)('native and JS engines agree', () => {
  const classifier: Case = {
    name: 'moons',
    layers: () => [new Dense({ inputSize: 2, units: 8, activation: 'tanh' }), new Dense({ units: 1, activation: 'sigmoid' })],
    compile: () => ({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] }),
    data: binary,
  }

  describe('from the same seed', () => {
    it('start from bit-identical weights and optimizer state', () => {
      const js = build(classifier, 'js')
      const native = build(classifier, 'native')
      expect(native.engine).toBe('native')
      const a = native.network.readState()
      const b = js.network.readState()
      expect(a.params).toEqual(b.params)
      expect(a.slots).toEqual(b.slots)
      expect(a.stats).toEqual(b.stats)
      expect(a.rng).toEqual(b.rng)
      expect(a.step).toBe(b.step)
    })

    it('visit the samples in the same shuffled order, and draw the same PRNG stream', async () => {
      // With batch size 1 and a vanishing learning rate, each batch's loss is its sample's
      // loss: the sequences agree only if both engines visit the samples in the same order.
      const c: Case = { ...classifier, compile: () => ({ loss: 'binaryCrossEntropy', optimizer: new SGD({ learningRate: 1e-9 }) }) }
      const orders = await Promise.all(
        (['js', 'native'] as const).map(async (backend) => {
          const model = build(c, backend)
          const losses: number[] = []
          await model.fit(c.data.x, c.data.y, { epochs: 3, batchSize: 1, callbacks: [{ onBatchEnd: (_b, logs) => void losses.push(logs.loss) }] })
          return { losses, rng: model.network.readState().rng }
        }),
      )
      expect(orders[1]!.losses).toHaveLength(3 * binary.x.length)
      expectClose(orders[1]!.losses, orders[0]!.losses, 1e-5, 0, 'per-sample losses in visiting order')
      expect(orders[1]!.rng).toEqual(orders[0]!.rng)
      // And the order is really shuffled (not the identity), differently each epoch.
      const n = binary.x.length
      expect(orders[0]!.losses.slice(0, n)).not.toEqual(orders[0]!.losses.slice(n, 2 * n))
    })
  })

  describe('loss curves over 20 epochs, for every optimizer', () => {
    const optimizers: [string, () => Optimizer][] = [
      ['SGD', () => new SGD({ learningRate: 0.2 })],
      ['SGD with momentum', () => new SGD({ learningRate: 0.05, momentum: 0.9 })],
      ['SGD with Nesterov momentum', () => new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true })],
      ['AdaGrad', () => new AdaGrad({ learningRate: 0.1 })],
      ['RMSProp', () => new RMSProp({ learningRate: 0.005 })],
      ['RMSProp centred with momentum', () => new RMSProp({ learningRate: 0.002, rho: 0.95, momentum: 0.5, centered: true })],
      ['Adam', () => new Adam({ learningRate: 0.01 })],
      ['AdamW', () => new AdamW({ learningRate: 0.01, weightDecay: 0.05 })],
      ['Adam with clipNorm', () => new Adam({ learningRate: 0.02, clipNorm: 0.1 })],
      ['SGD with clipValue', () => new SGD({ learningRate: 0.2, momentum: 0.5, clipValue: 0.02 })],
      ['RMSProp with clipNorm and clipValue', () => new RMSProp({ learningRate: 0.01, clipNorm: 0.5, clipValue: 0.05 })],
    ]
    it.each(optimizers)('%s', async (name, optimizer) => {
      await expectSameCurves({
        name,
        layers: () => [new Dense({ inputSize: 2, units: 12, activation: 'tanh' }), new Dense({ units: 1, activation: 'sigmoid' })],
        compile: () => ({ loss: 'binaryCrossEntropy', optimizer: optimizer(), metrics: ['accuracy'] }),
        data: binary,
      })
    })
  })

  describe('loss curves over 20 epochs, for every activation', () => {
    const hidden: [string, () => Layer][] = [
      ['linear', () => new Dense({ inputSize: 4, units: 10, activation: 'linear' })],
      ['sigmoid', () => new Dense({ inputSize: 4, units: 10, activation: 'sigmoid' })],
      ['tanh', () => new Dense({ inputSize: 4, units: 10, activation: 'tanh' })],
      ['relu', () => new Dense({ inputSize: 4, units: 10, activation: 'relu' })],
      ['leakyRelu (default α)', () => new Dense({ inputSize: 4, units: 10, activation: 'leakyRelu' })],
      ['leakyRelu (α = 0.05)', () => new Dense({ inputSize: 4, units: 10, activation: { name: 'leakyRelu', alpha: 0.05 } })],
      ['softmax (hidden)', () => new Dense({ inputSize: 4, units: 10, activation: 'softmax' })],
    ]
    it.each(hidden)('hidden %s', async (name, layer) => {
      await expectSameCurves({
        name,
        layers: () => [layer(), new Dense({ units: 3, activation: 'softmax' })],
        compile: () => ({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] }),
        data: sparse3,
      })
    })
  })

  describe('loss curves over 20 epochs, for every loss and output', () => {
    const hidden = () => new Dense({ inputSize: 4, units: 10, activation: 'relu' })
    const cases: Case[] = [
      {
        name: 'sigmoid + binary cross-entropy (fused)',
        layers: () => [new Dense({ inputSize: 2, units: 10, activation: 'relu' }), new Dense({ units: 1, activation: 'sigmoid' })],
        compile: () => ({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy', 'meanSquaredError'] }),
        data: binary,
      },
      {
        name: 'softmax + categorical cross-entropy (fused)',
        layers: () => [hidden(), new Dense({ units: 3, activation: 'softmax' })],
        compile: () => ({ loss: 'categoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy', 'meanAbsoluteError'] }),
        data: oneHot3,
      },
      {
        name: 'softmax + sparse categorical cross-entropy (fused)',
        layers: () => [hidden(), new Dense({ units: 3, activation: 'softmax' })],
        compile: () => ({ loss: 'sparseCategoricalCrossEntropy', optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }), metrics: ['accuracy'] }),
        data: sparse3,
      },
      {
        name: 'Activation(softmax) layer + sparse categorical cross-entropy (fused through the layer)',
        layers: () => [hidden(), new Dense({ units: 3 }), new Activation({ activation: 'softmax' })],
        compile: () => ({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] }),
        data: sparse3,
      },
      {
        name: 'softmax + binary cross-entropy (unfused)',
        layers: () => [hidden(), new Dense({ units: 3, activation: 'softmax' })],
        compile: () => ({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] }),
        data: oneHot3,
      },
      {
        name: 'sigmoid + categorical cross-entropy (unfused)',
        layers: () => [hidden(), new Dense({ units: 3, activation: 'sigmoid' })],
        compile: () => ({ loss: 'categoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] }),
        data: oneHot3,
      },
      {
        name: 'sigmoid + mean squared error',
        layers: () => [hidden(), new Dense({ units: 3, activation: 'sigmoid' })],
        compile: () => ({ loss: 'meanSquaredError', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['meanAbsoluteError'] }),
        data: oneHot3,
      },
      {
        name: 'linear + mean squared error (regression)',
        layers: () => [new Dense({ inputSize: 1, units: 16, activation: 'tanh' }), new Dense({ units: 1 })],
        compile: () => ({ loss: 'meanSquaredError', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['meanAbsoluteError', 'meanSquaredError'] }),
        data: regression,
      },
      {
        name: 'tanh + mean squared error, two outputs',
        layers: () => [hidden(), new Dense({ units: 2, activation: 'tanh' })],
        compile: () => ({ loss: 'meanSquaredError', optimizer: new SGD({ learningRate: 0.05, momentum: 0.8 }) }),
        data: { x: blobsData.x, y: blobsData.y.map((c) => [c === 0 ? 1 : -1, c === 2 ? 0.5 : -0.5]) },
      },
    ]
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await expectSameCurves(c)
    })
  })

  describe('loss curves over 20 epochs, for every layer type', () => {
    const head = () => new Dense({ units: 3, activation: 'softmax' })
    const compile = (): CompileOptions => ({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] })
    const cases: Case[] = [
      { name: 'Dense without bias', layers: () => [new Dense({ inputSize: 2, units: 16, activation: 'relu', useBias: false }), new Dense({ units: 3, activation: 'softmax', useBias: false })], compile, data: spiralData },
      { name: 'Dense with l1', layers: () => [new Dense({ inputSize: 2, units: 16, activation: 'relu', kernelRegularizer: l1(0.01) }), head()], compile, data: spiralData },
      { name: 'Dense with l2', layers: () => [new Dense({ inputSize: 2, units: 16, activation: 'relu', kernelRegularizer: l2(0.02) }), head()], compile, data: spiralData },
      { name: 'Dense with l1l2', layers: () => [new Dense({ inputSize: 2, units: 16, activation: 'tanh', kernelRegularizer: l1l2({ l1: 0.005, l2: 0.01 }) }), new Dense({ units: 3, activation: 'softmax', kernelRegularizer: l2(0.01) })], compile, data: spiralData },
      { name: 'Dropout', layers: () => [new Dense({ inputSize: 2, units: 24, activation: 'relu' }), new Dropout({ rate: 0.3 }), head()], compile, data: spiralData },
      { name: 'Dropout on the inputs', layers: () => [new Dropout({ inputSize: 2, rate: 0.2 }), new Dense({ units: 16, activation: 'tanh' }), head()], compile, data: spiralData },
      // A bias right before BatchNormalization has a gradient of exactly zero in theory, so in
      // practice float noise, which Adam scales up to full steps: that bias (and the running mean
      // that follows it) would random-walk differently in each engine. Hence no bias there, as usual.
      { name: 'BatchNormalization', layers: () => [new Dense({ inputSize: 2, units: 16, useBias: false }), new BatchNormalization({ momentum: 0.9 }), new Activation({ activation: 'relu' }), head()], compile, data: spiralData },
      { name: 'BatchNormalization on the inputs', layers: () => [new BatchNormalization({ inputSize: 2 }), new Dense({ units: 16, activation: 'relu' }), head()], compile, data: spiralData },
      { name: 'Activation layers', layers: () => [new Dense({ inputSize: 2, units: 16 }), new Activation({ activation: 'tanh' }), new Dense({ units: 8 }), new Activation({ activation: { name: 'leakyRelu', alpha: 0.1 } }), head()], compile, data: spiralData },
      {
        name: 'everything at once, three hidden layers',
        layers: () => [
          new Dense({ inputSize: 2, units: 32, kernelRegularizer: l2(0.001), useBias: false }),
          new BatchNormalization(),
          new Activation({ activation: 'relu' }),
          new Dropout({ rate: 0.25 }),
          new Dense({ units: 16, activation: 'relu', useBias: false }),
          new Dropout({ rate: 0.1 }),
          new Dense({ units: 8, activation: 'sigmoid', kernelRegularizer: l1(0.001) }),
          head(),
        ],
        compile,
        data: spiralData,
        batchSize: 10,
      },
    ]
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await expectSameCurves(c)
    })
  })

  describe('on the same weights', () => {
    const deep: Case = {
      name: 'deep',
      layers: () => [
        new Dense({ inputSize: 4, units: 12, activation: 'relu', kernelRegularizer: l1l2({ l1: 0.001, l2: 0.01 }), useBias: false }),
        new BatchNormalization(),
        new Dropout({ rate: 0.2 }),
        new Dense({ units: 6, activation: 'tanh' }),
        new Dense({ units: 3, activation: 'softmax' }),
      ],
      compile: () => ({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] }),
      data: sparse3,
    }
    const pair = () => ({ js: build(deep, 'js'), native: build(deep, 'native') })

    it('predict agrees to 1e-5, for any batch size', () => {
      const { js, native } = pair()
      const expected = Array.from(js.predict(deep.data.x).data)
      for (const batchSize of [1, 7, 256]) {
        expectClose(Array.from(native.predict(deep.data.x, { batchSize }).data), expected, 1e-5, 1e-7, `predict batchSize ${batchSize}`)
      }
    })

    it('evaluate agrees (loss with regularisation, metrics), for any batch size', () => {
      const { js, native } = pair()
      const expected = js.evaluate(deep.data.x, deep.data.y)
      for (const batchSize of [1, 16, 1000]) {
        const got = native.evaluate(deep.data.x, deep.data.y, { batchSize })
        expectClose([got.loss, got.accuracy!], [expected.loss, expected.accuracy!], 1e-5, 0, `evaluate batchSize ${batchSize}`)
      }
    })

    it('computeGradients agrees and changes nothing', () => {
      const { js, native } = pair()
      const before = native.network.readState()
      const a = native.computeGradients(deep.data.x, deep.data.y)
      const b = js.computeGradients(deep.data.x, deep.data.y)
      expectClose([a.loss], [b.loss], 1e-5, 0, 'loss')
      const ga = flat(a.gradients)
      const gb = flat(b.gradients)
      const scale = Math.max(...gb.map(Math.abs))
      expectClose(ga, gb, 0, 1e-5 * scale, 'gradients')
      expect(native.network.readState()).toEqual(before)
    })

    it('trainOnBatch agrees: the loss before and the weights after, over several steps', () => {
      const { js, native } = pair()
      for (let step = 0; step < 5; step++) {
        const rows = deep.data.x.slice(step * 12, step * 12 + 12)
        const labels = (deep.data.y as number[]).slice(step * 12, step * 12 + 12)
        const a = native.trainOnBatch(rows, labels)
        const b = js.trainOnBatch(rows, labels)
        expectClose([a.loss, a.accuracy!], [b.loss, b.accuracy!], 1e-5, 0, `step ${step}`)
      }
      const a = native.network.readState()
      const b = js.network.readState()
      expectClose(a.params, b.params, 1e-4, 1e-6, 'params')
      expectClose(a.stats, b.stats, 1e-5, 1e-7, 'BatchNormalization statistics')
      expectClose(a.slots, b.slots, 1e-3, 1e-8, 'Adam slots')
      expect(a.step).toBe(b.step)
      expect(a.rng).toEqual(b.rng) // the same dropout draws
    })

    it('an update that overflows is undone in both, with the same message', () => {
      const c: Case = {
        name: 'overflow',
        layers: () => [new Dense({ inputSize: 2, units: 4, activation: 'tanh' }), new Dense({ units: 1 })],
        compile: () => ({ loss: 'meanSquaredError', optimizer: new SGD({ learningRate: 1e38 }) }),
        data: binary,
      }
      const messages = (['js', 'native'] as const).map((backend) => {
        const model = build(c, backend)
        const before = model.network.readState()
        let message = ''
        try {
          model.trainOnBatch(c.data.x.slice(0, 8), (c.data.y as number[]).slice(0, 8).map((v) => v * 1e3))
        } catch (error) {
          message = (error as Error).message
        }
        expect(model.network.readState()).toEqual(before)
        return message
      })
      expect(messages[0]).toMatch(/overflow to non-finite values/)
      expect(messages[1]).toBe(messages[0])
    })
  })

  describe('saved models move between engines', () => {
    const c: Case = {
      name: 'save/load',
      layers: () => [new Dense({ inputSize: 2, units: 16, activation: 'relu' }), new BatchNormalization(), new Dropout({ rate: 0.2 }), new Dense({ units: 3, activation: 'softmax' })],
      compile: () => ({ loss: 'sparseCategoricalCrossEntropy', optimizer: new RMSProp({ learningRate: 0.01, momentum: 0.3 }), metrics: ['accuracy'] }),
      data: spiralData,
    }
    it.each([
      ['native', 'js'],
      ['js', 'native'],
    ] as const)('saved by %s, loaded by %s: same weights and state, and training goes on alike', async (from, to) => {
      const source = build(c, from)
      await source.fit(c.data.x, c.data.y, { epochs: 3, batchSize: 16 })
      const bytes = source.toBytes()
      const loaded = Sequential.fromBytes(bytes, { backend: to })
      expect(loaded.engine).toBe(to)
      expect(loaded.network.readState()).toEqual(source.network.readState())
      expectClose(Array.from(loaded.predict(c.data.x).data), Array.from(source.predict(c.data.x).data), 1e-5, 1e-7, 'predictions')
      const twin = Sequential.fromBytes(bytes, { backend: from })
      const a = await loaded.fit(c.data.x, c.data.y, { epochs: 5, batchSize: 16 })
      const b = await twin.fit(c.data.x, c.data.y, { epochs: 5, batchSize: 16 })
      expectClose(a.loss, b.loss, 1e-4, 0, 'resumed loss curve')
    })
  })
})
