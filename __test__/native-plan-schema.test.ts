/**
 * Both sides of the Plan wire schema agree: every kind of Plan part, encoded by TypeScript
 * (lib/engine/native/plan-code.ts, from lib/plan-schema.ts), is decoded by Rust
 * (crates/kernels/src/plan.rs) into its own types and written back to exactly the same code. The
 * plans are generated from the lists of lib/plan.ts and the code tables of lib/plan-schema.ts,
 * whose types force a sample for every name, so a new kind cannot be left out. That each code
 * means the same computation on both sides is what native-parity.test.ts shows, training every
 * activation, loss, optimizer and layer on both engines.
 *
 * And Rust refuses a code it does not understand — another version, an unknown code — saying
 * which value is wrong.
 */
import { describe, expect, it } from 'vitest'
import { encodePlan } from '../lib/engine/native/plan-code.js'
import { loadBinding } from '../lib/engine/native/binding.js'
import { ACTIVATIONS, LOSSES, METRICS, type ActivationPlan, type ClipPlan, type LayerPlan, type LossName, type MetricName, type OptimizerPlan, type Plan } from '../lib/plan.js'
import { HEADER_LEN, LAYER_CODES, LAYER_LEN, OPTIMIZER_CODES, OPTIMIZER_LEN, PLAN_CODE_VERSION } from '../lib/plan-schema.js'

const binding = loadBinding()

type LayerKind = LayerPlan['kind']
type OptimizerKind = OptimizerPlan['kind']

const CLIPS: ClipPlan[] = [
  { norm: null, globalNorm: null, value: null },
  { norm: 1.5, globalNorm: null, value: null },
  { norm: null, globalNorm: 1.5, value: null },
  { norm: null, globalNorm: null, value: 0.25 },
  { norm: 2, globalNorm: null, value: 0.5 },
  { norm: null, globalNorm: 2, value: 0.5 },
]

/** leakyRelu with its slope given (one not exact in float32), and omitted as a file may. */
const ACTIVATION_SAMPLES: ActivationPlan[] = ACTIVATIONS.flatMap((name): ActivationPlan[] =>
  name === 'leakyRelu' ? [{ name }, { name, alpha: 0.1 }, { name, alpha: 0.3 }] : [{ name }],
)

/** Every variant of each optimizer kind that changes what it computes. */
function optimizerSamples(kind: OptimizerKind): OptimizerPlan[] {
  switch (kind) {
    case 'sgd':
      return [
        { kind, learningRate: 0.1, momentum: 0, nesterov: false, clip: CLIPS[0]! },
        { kind, learningRate: 0.05, momentum: 0.9, nesterov: false, clip: CLIPS[0]! },
        { kind, learningRate: 0.05, momentum: 0.9, nesterov: true, clip: CLIPS[0]! },
      ]
    case 'adagrad':
      return [{ kind, learningRate: 0.01, initialAccumulatorValue: 0.1, epsilon: 1e-7, clip: CLIPS[0]! }]
    case 'rmsprop':
      return [false, true].flatMap((centered) =>
        [0, 0.5].map((momentum) => ({ kind, learningRate: 1e-3, rho: 0.9, momentum, epsilon: 1e-7, centered, clip: CLIPS[0]! })),
      )
    case 'adam':
      // weightDecay > 0 is AdamW.
      return [0, 0.01].map((weightDecay) => ({ kind, learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay, clip: CLIPS[0]! }))
  }
}

/** A plan whose layers get consecutive offsets in params and stats, as compile assigns them. */
function planOf(
  inputSize: number,
  layers: ((offsets: { params: number; stats: number }, inputs: number) => LayerPlan)[],
  loss: LossName | null,
  optimizer: OptimizerPlan | null,
  metrics: MetricName[],
): Plan {
  const offsets = { params: 0, stats: 0 }
  const built: LayerPlan[] = []
  let inputs = inputSize
  for (const make of layers) {
    const layer = make(offsets, inputs)
    built.push(layer)
    inputs = layer.units
  }
  return { version: 1, inputSize, outputSize: inputs, layers: built, paramCount: offsets.params, statCount: offsets.stats, loss, optimizer, metrics }
}

type LayerMaker = Parameters<typeof planOf>[1][number]

function dense(units: number, activation: ActivationPlan, options: { bias?: boolean; l1?: number; l2?: number } = {}): LayerMaker {
  return (o, inputs) => {
    const kernelOffset = o.params
    o.params += inputs * units
    const biasOffset = options.bias === false ? -1 : o.params
    if (options.bias !== false) o.params += units
    const regularized = options.l1 !== undefined || options.l2 !== undefined
    return {
      kind: 'dense',
      inputs,
      units,
      activation,
      kernelOffset,
      biasOffset,
      kernelRegularizer: regularized ? { l1: options.l1 ?? 0, l2: options.l2 ?? 0 } : null,
    }
  }
}

/** Every variant of each layer kind, after a dense layer of 3 units. */
function layerSamples(kind: LayerKind): LayerMaker[] {
  switch (kind) {
    case 'dense':
      return [
        ...ACTIVATION_SAMPLES.map((a) => dense(3, a)),
        dense(3, { name: 'relu' }, { bias: false }),
        // l1 and l2 as l1(), l2() and l1l2() give them; 0.01 is not exact in float32.
        dense(3, { name: 'tanh' }, { l1: 0.01 }),
        dense(3, { name: 'tanh' }, { l2: 0.003 }),
        dense(3, { name: 'tanh' }, { l1: 0.01, l2: 0.02 }),
      ]
    case 'dropout':
      return [0, 0.25, 0.5].map((rate) => (_, inputs) => ({ kind, units: inputs, rate }))
    case 'batchNormalization':
      return [{ momentum: 0.99, epsilon: 1e-3 }, { momentum: 0.9, epsilon: 1e-5 }].map((options) => (o, units) => {
        const layer = { kind, units, ...options, gammaOffset: o.params, betaOffset: o.params + units, meanOffset: o.stats, varianceOffset: o.stats + units }
        o.params += 2 * units
        o.stats += 2 * units
        return layer
      })
    case 'activation':
      return ACTIVATION_SAMPLES.map((activation) => (_, units) => ({ kind, units, activation }))
  }
}

function roundTrip(plan: Plan): void {
  const code = encodePlan(plan)
  // toEqual treats NaN (clipping off) as equal to NaN and tells +0 from −0.
  expect(Array.from(binding.planRoundTrip(code)), JSON.stringify(plan)).toEqual(Array.from(code))
}

describe('the Plan wire schema', () => {
  const sgd = optimizerSamples('sgd')[0]!

  it('every layer kind, with every activation, regularizer and bias option, round-trips', () => {
    for (const kind of Object.keys(LAYER_CODES) as LayerKind[]) {
      for (const layer of layerSamples(kind)) {
        roundTrip(planOf(4, [dense(3, { name: 'relu' }), layer, dense(2, { name: 'softmax' })], 'categoricalCrossEntropy', sgd, ['accuracy']))
      }
    }
  })

  it('every optimizer kind with every clip option round-trips, and so does none', () => {
    for (const kind of Object.keys(OPTIMIZER_CODES) as OptimizerKind[]) {
      for (const optimizer of optimizerSamples(kind)) {
        for (const clip of CLIPS) {
          roundTrip(planOf(2, [dense(1, { name: 'linear' })], 'meanSquaredError', { ...optimizer, clip }, []))
        }
      }
    }
    roundTrip(planOf(2, [dense(1, { name: 'linear' })], null, null, []))
  })

  it('every loss and every metric round-trips, metrics alone and together', () => {
    for (const loss of [...LOSSES, null]) {
      for (const metrics of [[], ...METRICS.map((m) => [m]), [...METRICS]]) {
        roundTrip(planOf(3, [dense(4, { name: 'sigmoid' }), dense(2, { name: 'softmax' })], loss, sgd, metrics))
      }
    }
  })

  it('a model that Sequential compiles round-trips', async () => {
    const { BatchNormalization, Dense, Dropout, Adam, Sequential, l1l2 } = await import('../lib/index.js')
    const model = new Sequential()
      .add(new Dense({ inputSize: 5, units: 8, activation: { name: 'leakyRelu', alpha: 0.15 }, kernelRegularizer: l1l2({ l1: 1e-4, l2: 1e-3 }) }))
      .add(new BatchNormalization())
      .add(new Dropout({ rate: 0.2 }))
      .add(new Dense({ units: 3, activation: 'softmax' }))
    model.compile({ optimizer: new Adam({ learningRate: 0.01, clipNorm: 1 }), loss: 'sparseCategoricalCrossEntropy', metrics: ['accuracy'] })
    roundTrip(model.plan)
  })

  describe('Rust refuses a code it does not understand, naming the value', () => {
    const plan = planOf(2, [dense(2, { name: 'relu' }), dense(1, { name: 'sigmoid' })], 'binaryCrossEntropy', sgd, ['accuracy'])
    const code = encodePlan(plan)
    const metricAt = HEADER_LEN
    const optimizerAt = HEADER_LEN + plan.metrics.length
    const layerAt = optimizerAt + OPTIMIZER_LEN
    const cases: [string, number, number, RegExp][] = [
      ['another version', 0, PLAN_CODE_VERSION + 1, new RegExp(`version must be ${PLAN_CODE_VERSION}, got ${PLAN_CODE_VERSION + 1} \\(lib/ and the addon come from different builds\\)`)],
      ['version 0', 0, 0, new RegExp(`version must be ${PLAN_CODE_VERSION}, got 0`)],
      ['an unknown loss', 5, 4, /loss code 4 is unknown \(lib\/plan-schema.ts lists the codes\)/],
      ['a fractional loss', 5, 0.5, /loss code 0.5 is unknown/],
      ['an unknown metric', metricAt, 3, /metric code 3 is unknown/],
      ['an unknown optimizer', optimizerAt, 4, /optimizer kind code 4 is unknown/],
      ['an unknown layer kind', layerAt, 4, /layer 0: layer kind code 4 is unknown/],
      ['an unknown activation', layerAt + 3, 6, /layer 0: activation code 6 is unknown/],
      ['a negative activation', layerAt + LAYER_LEN + 3, -1, /layer 1: activation code -1 is unknown/],
    ]
    it.each(cases)('%s', (_, at, value, message) => {
      const bad = code.slice()
      bad[at] = value
      expect(() => binding.planRoundTrip(bad)).toThrow(RangeError)
      expect(() => binding.planRoundTrip(bad)).toThrow(message)
    })

    it('a code cut short or too long', () => {
      expect(() => binding.planRoundTrip(code.subarray(0, code.length - 1))).toThrow(/plan code ends before/)
      expect(() => binding.planRoundTrip(Float64Array.from([...code, 0]))).toThrow(`plan code has ${code.length + 1} values, expected ${code.length}`)
    })

    it('anything but a Float64Array', () => {
      expect(() => binding.planRoundTrip(Array.from(code) as never)).toThrow(/planCode/)
    })
  })
})
