import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { clipGradients, optimizerStep } from '../lib/engine/js/optimizers.js'
import {
  AdaGrad,
  Adam,
  AdamW,
  BatchNormalization,
  Dense,
  RMSProp,
  SGD,
  Sequential,
  TrainingDivergedError,
  type Optimizer,
} from '../lib/index.js'
import { optimizerSlotCount } from '../lib/plan.js'

// Reference values from __test__/golden/optimizers.py: float64 numpy, written from the update
// rules (Adam in the bias-corrected m̂/v̂ form, not the library's α_t form).
interface GoldenStep {
  sumSquares: number
  clippedGradient: number[]
  params: number[]
  slots: Record<string, number[]>
}
interface GoldenCase {
  name: string
  class: 'SGD' | 'AdaGrad' | 'RMSProp' | 'Adam' | 'AdamW'
  options: Record<string, number | boolean>
  initialSlots: Record<string, number[]>
  steps: GoldenStep[]
}
const golden = JSON.parse(readFileSync(new URL('./golden/optimizers.json', import.meta.url), 'utf8')) as {
  params: number[]
  /** The parameters' variables (per-variable clipping's unit), as [start, end) ranges. */
  variables: [number, number][]
  gradients: number[][]
  cases: GoldenCase[]
}

const CLASSES = { SGD, AdaGrad, RMSProp, Adam, AdamW } as unknown as Record<string, new (o: object) => Optimizer>

/** Where each named slot lives in the flat slot buffer (slot s at [s·n, (s+1)·n)), in order. */
const SLOT_ORDER: Record<GoldenCase['class'], string[]> = {
  SGD: ['velocity'],
  AdaGrad: ['accumulator'],
  RMSProp: ['meanSquare', 'momentum', 'meanGradient'],
  Adam: ['m', 'v'],
  AdamW: ['m', 'v'],
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!
    expect(Math.abs(actual[i]! - e), `${what}[${i}]: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(e)))
  }
}

describe('optimizerStep and clipGradients against the float64 reference (two steps)', () => {
  it.each(golden.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const plan = new CLASSES[c.class]!(c.options).toPlan()
    const n = golden.params.length
    const names = SLOT_ORDER[c.class].filter((s) => s in c.initialSlots)
    expect(optimizerSlotCount(plan)).toBe(names.length)
    const params = Float64Array.from(golden.params)
    const slots = new Float64Array(names.length * n)
    names.forEach((s, k) => slots.set(c.initialSlots[s]!, k * n))
    c.steps.forEach((step, t) => {
      const grads = Float64Array.from(golden.gradients[t]!)
      // Returns the squared norm before clipping (what the trainer checks for divergence).
      expect(clipGradients(plan.clip, grads, n, golden.variables)).toBeCloseTo(step.sumSquares, 12)
      expectClose(grads, step.clippedGradient, 1e-13, `step ${t + 1} clipped gradient`)
      optimizerStep(plan, params, grads, slots, n, t + 1, plan.learningRate)
      expectClose(params, step.params, 1e-12, `step ${t + 1} params`)
      names.forEach((s, k) => expectClose(slots.subarray(k * n, (k + 1) * n), step.slots[s]!, 1e-12, `step ${t + 1} slot ${s}`))
    })
  })

  it('the golden cases really exercise clipping: each form changes the gradient, and the order matters', () => {
    const g = golden.gradients[0]!
    const byClip = (clip: string) => golden.cases.find((c) => c.name === `sgd/${clip}`)!.steps[0]!.clippedGradient
    expect(byClip('globalNormBelow')).toEqual(g)
    expect(byClip('globalNormAbove')).not.toEqual(g)
    expect(byClip('value')).not.toEqual(g)
    // Value-then-norm would give clamp(g) (its norm 0.93 is below 1); norm-then-value differs.
    const valueFirst = g.map((v) => Math.max(-0.5, Math.min(0.5, v)))
    expect(Math.hypot(...valueFirst)).toBeLessThan(1)
    expect(byClip('globalNormThenValue')).not.toEqual(valueFirst)
    // Per variable: the first variable is rescaled to norm 1, the second (norm 0.40) is not.
    const perVariable = byClip('norm')
    expect(Math.hypot(...perVariable.slice(0, 3))).toBeCloseTo(1, 12)
    expect(perVariable.slice(3)).toEqual(g.slice(3))
    expect(perVariable).not.toEqual(byClip('globalNormAbove'))
  })

  it('clipGradients reports a non-finite gradient without rescaling it', () => {
    const grads = Float64Array.from([1, Infinity, 2])
    expect(clipGradients({ norm: null, globalNorm: 1, value: null }, grads, 3, [[0, 3]])).toBe(Infinity)
    expect(Array.from(grads)).toEqual([1, Infinity, 2])
    expect(clipGradients({ norm: 1, globalNorm: null, value: 0.5 }, Float64Array.from([NaN, 0]), 2, [[0, 2]])).toBeNaN()
  })

  it('optimizerStep uses the learning rate it is given (schedules), not the one in the plan', () => {
    const plan = new SGD({ learningRate: 0.1 }).toPlan()
    const params = Float64Array.from([1, 2])
    optimizerStep(plan, params, Float64Array.from([0.5, -1]), new Float64Array(0), 2, 1, 0.01)
    expectClose(params, [1 - 0.005, 2 + 0.01], 1e-15, 'params')
  })

  it('the model starts AdaGrad accumulators at initialAccumulatorValue and other slots at zero', () => {
    const model = (opt: Optimizer) =>
      new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 3 })).compile({ loss: 'meanSquaredError', optimizer: opt })
    expect(Array.from(model(new AdaGrad({ initialAccumulatorValue: 0.25 })).network.readState().slots)).toEqual(new Array(9).fill(0.25))
    expect(Array.from(model(new RMSProp({ momentum: 0.5, centered: true })).network.readState().slots)).toEqual(new Array(27).fill(0))
  })
})

// Through the public API: one Dense layer (3 → 2, linear) with mean squared error on one sample,
// whose gradient is known in closed form: a = x·W + b, r = a − y, L = (1/K)Σr², so
// dL/dW[i][k] = (2/K)·x[i]·r[k] and dL/db[k] = (2/K)·r[k].
describe('trainOnBatch on a model whose gradient is known by hand', () => {
  const x = [1, -2, 0.5]
  const y = [0.3, -0.7]
  const W0 = [[0.2, -0.1], [0.4, 0.3], [-0.5, 0.6]]
  const b0 = [0.1, -0.2]

  /** Flat [W row-major, b] and its exact gradient, in float64. */
  function lossAndGradient(w: number[]): { loss: number; grad: number[] } {
    const a = [0, 1].map((k) => w[6 + k]! + x.reduce((s, xi, i) => s + xi * w[i * 2 + k]!, 0))
    const r = a.map((ak, k) => ak - y[k]!)
    const loss = (r[0]! ** 2 + r[1]! ** 2) / 2
    const grad = [...x.flatMap((xi) => r.map((rk) => xi * rk)), ...r] // (2/K) = 1
    return { loss, grad }
  }

  function clip(g: number[], norm?: number, value?: number): number[] {
    const length = Math.hypot(...g)
    let out = norm !== undefined && length > norm ? g.map((v) => (v * norm) / length) : g
    if (value !== undefined) out = out.map((v) => Math.min(value, Math.max(-value, v)))
    return out
  }

  /** Runs `steps` trainOnBatch calls and the hand-written update in parallel; compares each. */
  function compare(
    optimizer: Optimizer,
    steps: number,
    update: (w: number[], g: number[], t: number) => number[],
  ): void {
    const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 3, units: 2 }))
    model.compile({ loss: 'meanSquaredError', optimizer })
    model.setWeights([W0, b0])
    // Start the hand computation from the float32 weights the model holds.
    let w = [...W0.flat(), ...b0].map(Math.fround)
    for (let t = 1; t <= steps; t++) {
      const { loss, grad } = lossAndGradient(w)
      expect(model.trainOnBatch([x], [y]).loss).toBeCloseTo(loss, 6)
      w = update(w, grad, t)
      const [W, b] = model.getWeights()
      expectClose([...W!.data, ...b!.data], w, 2e-6, `weights after step ${t}`)
    }
  }

  it('SGD: w ← w − lr·g', () => {
    compare(new SGD({ learningRate: 0.1 }), 1, (w, g) => w.map((v, i) => v - 0.1 * g[i]!))
  })

  it('SGD with Nesterov momentum, two steps', () => {
    let u = new Array(8).fill(0)
    compare(new SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }), 2, (w, g) => {
      u = u.map((v, i) => 0.9 * v - 0.1 * g[i]!)
      return w.map((v, i) => v + 0.9 * u[i]! - 0.1 * g[i]!)
    })
  })

  it('SGD with Nesterov and momentum 0 is plain SGD, as Keras accepts it: two steps', () => {
    compare(new SGD({ learningRate: 0.1, momentum: 0, nesterov: true }), 2, (w, g) => w.map((v, i) => v - 0.1 * g[i]!))
  })

  it('Adam, two steps (bias correction at t = 1 and 2)', () => {
    let m = new Array(8).fill(0)
    let v = new Array(8).fill(0)
    compare(new Adam({ learningRate: 0.05 }), 2, (w, g, t) => {
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]!)
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i]! ** 2)
      const c2 = Math.sqrt(1 - 0.999 ** t)
      return w.map((wi, i) => wi - (0.05 * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-7 / c2))
    })
  })

  it('AdamW with globalClipNorm (W and b together) and clipValue, two steps', () => {
    let m = new Array(8).fill(0)
    let v = new Array(8).fill(0)
    const opt = new AdamW({ learningRate: 0.05, weightDecay: 0.2, globalClipNorm: 1, clipValue: 0.3 })
    compare(opt, 2, (w, raw, t) => {
      expect(Math.hypot(...raw)).toBeGreaterThan(1) // the norm clip is active
      const g = clip(raw, 1, 0.3)
      expect(g.some((gi) => Math.abs(gi) === 0.3)).toBe(true) // and so is the value clip
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]!)
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i]! ** 2)
      const c2 = Math.sqrt(1 - 0.999 ** t)
      return w.map((wi, i) => wi * (1 - 0.05 * 0.2) - (0.05 * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-7 / c2))
    })
  })
})

describe('per-variable clipping (Keras clipnorm)', () => {
  it('SGD with clipNorm rescales W and b each to its own norm, three steps', () => {
    const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 3, units: 2 }))
    model.compile({ loss: 'meanSquaredError', optimizer: new SGD({ learningRate: 0.1, clipNorm: 0.8 }) })
    model.setWeights([[[0.2, -0.1], [0.4, 0.3], [-0.5, 0.6]], [0.1, -0.2]])
    let w = [0.2, -0.1, 0.4, 0.3, -0.5, 0.6, 0.1, -0.2].map(Math.fround)
    const x = [1, -2, 0.5]
    const y = [0.3, -0.7]
    const byNorm = (g: number[]) => {
      const n = Math.hypot(...g)
      return n > 0.8 ? g.map((v) => (v * 0.8) / n) : g
    }
    let rescaled = 0
    for (let t = 0; t < 3; t++) {
      const a = [0, 1].map((k) => w[6 + k]! + x.reduce((s, xi, i) => s + xi * w[i * 2 + k]!, 0))
      const r = a.map((ak, k) => ak - y[k]!)
      const g = [...byNorm(x.flatMap((xi) => r.map((rk) => xi * rk))), ...byNorm(r)]
      rescaled += Number(Math.hypot(...x.flatMap((xi) => r.map((rk) => xi * rk))) > 0.8) + Number(Math.hypot(...r) > 0.8)
      w = w.map((wi, i) => wi - 0.1 * g[i]!)
      model.trainOnBatch([x], [y])
      const [W, b] = model.getWeights()
      const got = [...W!.data, ...b!.data]
      got.forEach((v, i) => expect(Math.abs(v - w[i]!)).toBeLessThanOrEqual(2e-6))
    }
    expect(rescaled).toBeGreaterThan(0) // the clip was active
  })

  it('takes clipNorm or globalClipNorm, not both, as Keras', () => {
    expect(() => new Adam({ clipNorm: 1, globalClipNorm: 1 })).toThrow('Adam takes clipNorm (per variable) or globalClipNorm (all gradients together), not both, as Keras; got 1 and 1')
  })
})

describe('moments that decay to nothing', () => {
  it('become exactly 0 below 1e-30 instead of subnormal floats (slow on x86), in both engines', () => {
    // W[2][·] sees input 1 once, then only 0: its gradient is 0 and Adam's m decays by β1 = 0.9
    // per step. From |m₁| ≈ 0.01–0.1 it passes 1e-30 after ~630 steps, long before 1.2e-38.
    const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 3, units: 2 }))
    model.compile({ loss: 'meanSquaredError', optimizer: new Adam({ learningRate: 0.001 }) })
    model.trainOnBatch([[1, -2, 1]], [[0.3, -0.7]])
    const m = () => Array.from(model.network.readState().slots.subarray(4, 6))
    const first = m()
    expect(Math.min(...first.map(Math.abs))).toBeGreaterThan(1e-3)
    // The step after which each moment would fall below the floor: 0.9^k·|m₁| < 1e-30.
    const lastNonZero = first.map((v) => Math.floor(Math.log(1e-30 / Math.abs(v)) / Math.log(0.9)))
    for (let step = 1; step <= Math.max(...lastNonZero) + 3; step++) {
      model.trainOnBatch([[1, -2, 0]], [[0.3, -0.7]])
      m().forEach((v, k) => {
        // Away from the boundary (float32 rounding of 0.9·m may move it by a step): nonzero and normal, or exactly 0.
        if (step < lastNonZero[k]! - 1) expect(Math.abs(v)).toBeGreaterThanOrEqual(1e-30)
        if (step > lastNonZero[k]! + 1) expect(v).toBe(0)
      })
    }
  })
})

describe('divergence', () => {
  // 64 samples of a smooth regression target; inputs of order 1.
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < 64; i++) {
    const a = Math.sin(i)
    const b = Math.cos(3 * i)
    x.push([a, b])
    y.push(3 * a - 2 * b + 1)
  }
  const allFinite = (model: Sequential) => model.getWeights().every((w) => w.data.every(Number.isFinite))

  it.each([
    ['SGD, lr 1e10 (an update overflows float32 before the loss does)', () => new SGD({ learningRate: 1e10 }), false],
    ['SGD, lr 1e30', () => new SGD({ learningRate: 1e30 }), false],
    ['Adam, lr 1e30', () => new Adam({ learningRate: 1e30 }), false],
    ['SGD with momentum, lr 1e10, through BatchNormalization', () => new SGD({ learningRate: 1e10, momentum: 0.9 }), true],
  ] as const)('fit with %s throws TrainingDivergedError and keeps finite weights', async (_name, optimizer, batchNorm) => {
    const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 2, units: 4, activation: 'relu' }))
    if (batchNorm) model.add(new BatchNormalization())
    model.add(new Dense({ units: 1 })).compile({ loss: 'meanSquaredError', optimizer: optimizer() })
    const error = await model.fit(x, y, { epochs: 50, batchSize: 8 }).then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(TrainingDivergedError)
    expect(allFinite(model)).toBe(true)
    // (Predictions may still overflow: the last finite weights are what made the loss infinite.)
  })

  it('trainOnBatch rejects an update that would overflow float32 and leaves the model unchanged', () => {
    const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 2, units: 1 }))
    model.compile({ loss: 'meanSquaredError', optimizer: new SGD({ learningRate: 1e30, momentum: 0.5 }) })
    model.setWeights([[[1e9], [1e9]], [0]])
    const before = model.network.readState()
    // Loss ≈ 4e18 and gradient ≈ 4e9 are finite, but 1e30 · 4e9 overflows float32.
    expect(() => model.trainOnBatch([[1, 1]], [0])).toThrow(TrainingDivergedError)
    const after = model.network.readState()
    expect(after.params).toEqual(before.params)
    expect(after.slots).toEqual(before.slots)
    expect(after.step).toBe(before.step)
  })
})
