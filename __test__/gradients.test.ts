import { describe, expect, it } from 'vitest'
import { JsNetwork } from '../lib/engine/js/network.js'
import {
  Activation,
  BatchNormalization,
  Dense,
  Dropout,
  SGD,
  Sequential,
  l1,
  l1l2,
  l2,
  type ActivationSpec,
  type Layer,
  type LossName,
  type Regularizer,
} from '../lib/index.js'
import type { ActivationPlan, Plan } from '../lib/plan.js'
import { Rng } from '../lib/rng.js'

/*
 * Finite-difference gradient checks in float64 on every parameter of small networks built through
 * the public API (so the real Plan layout is what gets checked), plus an independent float64
 * forward pass written from the definitions that must reproduce the engine's loss.
 *
 * Tolerances. Central differences with h = 1e-6 on losses of order 1 have a truncation error
 * ~h²·f''' ≈ 1e-12 and a rounding error ~1e-16/h ≈ 1e-10, so per parameter we require
 * |analytic − numeric| ≤ 1e-8 + 1e-6·max(|analytic|, |numeric|): two orders of magnitude above
 * the noise, and far below any real mistake (a wrong factor or a missing term is ≥ 1e-3 here).
 */
const H = 1e-6
const ATOL = 1e-8
const RTOL = 1e-6
/** No ReLU-family pre-activation may lie this close to its kink (0), so differences stay valid. */
const KINK_MARGIN = 1e-4

type TargetKind = 'distribution' | 'multiLabel' | 'labels' | 'real'

// ---------------------------------------------------------------------------------------------
// Independent reference: the loss of a Plan from its definitions, on plain number[][] rows.
// ---------------------------------------------------------------------------------------------

interface Reference {
  loss: number
  /** Smallest |z| fed to a ReLU or leaky ReLU. */
  kink: number
  /** Smallest min(p, 1 − p) of an output that a cross-entropy takes the log of. */
  probabilityMargin: number
  dropped: number
  kept: number
}

function activate(act: ActivationPlan, z: number[]): number[] {
  switch (act.name) {
    case 'linear':
      return z
    case 'sigmoid':
      return z.map((v) => 0.5 * (1 + Math.tanh(v / 2)))
    case 'tanh':
      return z.map((v) => Math.tanh(v))
    case 'relu':
      return z.map((v) => (v > 0 ? v : 0))
    case 'leakyRelu':
      return z.map((v) => (v > 0 ? v : act.alpha! * v))
    case 'softmax': {
      const e = z.map((v) => Math.exp(v))
      const s = e.reduce((a, b) => a + b, 0)
      return e.map((v) => v / s)
    }
  }
}

function referenceLoss(plan: Plan, p: ArrayLike<number>, x: Float64Array, y: Float64Array, rows: number, rngState: Uint32Array): Reference {
  const ref: Reference = { loss: 0, kink: Infinity, probabilityMargin: Infinity, dropped: 0, kept: 0 }
  const rng = new Rng(Uint32Array.from(rngState))
  let a: number[][] = []
  for (let r = 0; r < rows; r++) a.push(Array.from(x.subarray(r * plan.inputSize, (r + 1) * plan.inputSize)))
  const activateRows = (act: ActivationPlan, z: number[][]) => {
    if (act.name === 'relu' || act.name === 'leakyRelu') for (const row of z) for (const v of row) ref.kink = Math.min(ref.kink, Math.abs(v))
    return z.map((row) => activate(act, row))
  }
  for (const layer of plan.layers) {
    switch (layer.kind) {
      case 'dense': {
        const z = a.map((row) =>
          Array.from({ length: layer.units }, (_, j) => {
            let s = layer.biasOffset >= 0 ? p[layer.biasOffset + j]! : 0
            for (let i = 0; i < layer.inputs; i++) s += row[i]! * p[layer.kernelOffset + i * layer.units + j]!
            return s
          }),
        )
        a = activateRows(layer.activation, z)
        break
      }
      case 'activation':
        a = activateRows(layer.activation, a)
        break
      case 'dropout':
        // Inverted dropout, one draw per unit, row-major, from the training stream.
        a = a.map((row) =>
          row.map((v) => {
            const drop = rng.nextFloat() < layer.rate
            if (drop) ref.dropped++
            else ref.kept++
            return drop ? 0 : v / (1 - layer.rate)
          }),
        )
        break
      case 'batchNormalization': {
        // Batch statistics: mean and biased variance over the rows.
        const out = a.map((row) => row.slice())
        for (let j = 0; j < layer.units; j++) {
          const mean = a.reduce((s, row) => s + row[j]!, 0) / rows
          const variance = a.reduce((s, row) => s + (row[j]! - mean) ** 2, 0) / rows
          for (let r = 0; r < rows; r++) {
            out[r]![j] = (p[layer.gammaOffset + j]! * (a[r]![j]! - mean)) / Math.sqrt(variance + layer.epsilon) + p[layer.betaOffset + j]!
          }
        }
        a = out
        break
      }
    }
  }
  const K = plan.outputSize
  const logOf = (q: number) => {
    ref.probabilityMargin = Math.min(ref.probabilityMargin, q, 1 - q)
    return Math.log(q)
  }
  let total = 0
  for (let r = 0; r < rows; r++) {
    const out = a[r]!
    switch (plan.loss!) {
      case 'categoricalCrossEntropy':
        for (let k = 0; k < K; k++) total -= y[r * K + k]! * logOf(out[k]!)
        break
      case 'sparseCategoricalCrossEntropy':
        total -= logOf(out[y[r]!]!)
        break
      case 'binaryCrossEntropy':
        for (let k = 0; k < K; k++) {
          const t = y[r * K + k]!
          total -= (t * logOf(out[k]!) + (1 - t) * Math.log(1 - out[k]!)) / K
        }
        break
      case 'meanSquaredError':
        for (let k = 0; k < K; k++) total += (out[k]! - y[r * K + k]!) ** 2 / K
        break
    }
  }
  ref.loss = total / rows
  for (const layer of plan.layers) {
    if (layer.kind !== 'dense' || layer.kernelRegularizer === null) continue
    for (let i = 0; i < layer.inputs * layer.units; i++) {
      const w = p[layer.kernelOffset + i]!
      ref.loss += layer.kernelRegularizer.l1 * Math.abs(w) + layer.kernelRegularizer.l2 * w * w
    }
  }
  return ref
}

// ---------------------------------------------------------------------------------------------
// Random parameters and data, seeded.
// ---------------------------------------------------------------------------------------------

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.nextFloat()

/**
 * Every parameter random, including biases, γ and β (the initialisers would leave b = 0, γ = 1).
 * Kernel weights have magnitude ≥ 0.2·scale, far from the L1 kink at 0.
 */
function randomizeParams(plan: Plan, params: Float64Array, rng: Rng): void {
  for (const layer of plan.layers) {
    if (layer.kind === 'dense') {
      const scale = 1.5 / Math.sqrt(layer.inputs)
      for (let i = 0; i < layer.inputs * layer.units; i++) {
        params[layer.kernelOffset + i] = (rng.nextFloat() < 0.5 ? -1 : 1) * scale * uniform(rng, 0.2, 1)
      }
      if (layer.biasOffset >= 0) for (let j = 0; j < layer.units; j++) params[layer.biasOffset + j] = uniform(rng, -0.5, 0.5)
    } else if (layer.kind === 'batchNormalization') {
      for (let j = 0; j < layer.units; j++) {
        params[layer.gammaOffset + j] = uniform(rng, 0.5, 1.5)
        params[layer.betaOffset + j] = uniform(rng, -0.5, 0.5)
      }
    }
  }
}

function randomData(plan: Plan, rows: number, targets: TargetKind, rng: Rng): { x: Float64Array; y: Float64Array } {
  const x = Float64Array.from({ length: rows * plan.inputSize }, () => uniform(rng, -1.5, 1.5))
  const K = plan.outputSize
  const y = new Float64Array(targets === 'labels' ? rows : rows * K)
  for (let r = 0; r < rows; r++) {
    if (targets === 'labels') {
      y[r] = rng.nextBelow(K)
      continue
    }
    for (let k = 0; k < K; k++) {
      const u = rng.nextFloat()
      // multiLabel: independent values in [0, 1], some exactly 0 or 1.
      y[r * K + k] = targets === 'real' ? uniform(rng, -1, 1) : targets === 'distribution' ? 0.1 + u : u < 0.2 ? 0 : u > 0.8 ? 1 : u
    }
    if (targets === 'distribution') {
      let s = 0
      for (let k = 0; k < K; k++) s += y[r * K + k]!
      for (let k = 0; k < K; k++) y[r * K + k] = y[r * K + k]! / s
    }
  }
  return { x, y }
}

// ---------------------------------------------------------------------------------------------
// The finite-difference check.
// ---------------------------------------------------------------------------------------------

/** `layers.<l>.<weight>[<i>]` for every index of `params`, from the Plan's offsets. */
function parameterNames(plan: Plan): string[] {
  const names = new Array<string>(plan.paramCount).fill('')
  const name = (l: number, what: string, offset: number, count: number) => {
    for (let i = 0; i < count; i++) {
      expect(names[offset + i], `parameter ${offset + i} belongs to two weights`).toBe('')
      names[offset + i] = `layers.${l}.${what}[${i}]`
    }
  }
  plan.layers.forEach((layer, l) => {
    if (layer.kind === 'dense') {
      name(l, 'kernel', layer.kernelOffset, layer.inputs * layer.units)
      if (layer.biasOffset >= 0) name(l, 'bias', layer.biasOffset, layer.units)
    } else if (layer.kind === 'batchNormalization') {
      name(l, 'gamma', layer.gammaOffset, layer.units)
      name(l, 'beta', layer.betaOffset, layer.units)
    }
  })
  expect(names.indexOf(''), 'every parameter belongs to a weight').toBe(-1)
  return names
}

/**
 * Loss of the batch already loaded into `net`, in training mode, with a fresh copy of the same
 * stream each time so that dropout draws the same mask in every evaluation.
 */
function lossOf(net: JsNetwork, rows: number, rngState: Uint32Array): number {
  return net.lossAndGradients(rows, { training: true, rng: new Rng(Uint32Array.from(rngState)) })
}

/** The analytic gradient and the central-difference gradient of every parameter. */
function finiteDifferences(net: JsNetwork, rows: number, rngState: Uint32Array) {
  const loss = lossOf(net, rows, rngState)
  const analytic = Float64Array.from(net.grads)
  const numeric = new Float64Array(analytic.length)
  for (let i = 0; i < numeric.length; i++) {
    const p = net.params[i]!
    net.params[i] = p + H
    const plus = lossOf(net, rows, rngState)
    net.params[i] = p - H
    const minus = lossOf(net, rows, rngState)
    net.params[i] = p
    numeric[i] = (plus - minus) / (2 * H)
  }
  return { loss, analytic, numeric }
}

/** Indices where the analytic and numeric gradients disagree beyond the tolerance. */
function mismatches(analytic: ArrayLike<number>, numeric: ArrayLike<number>, names: string[]): string[] {
  const bad: string[] = []
  for (let i = 0; i < analytic.length; i++) {
    const a = analytic[i]!
    const n = numeric[i]!
    if (!(Math.abs(a - n) <= ATOL + RTOL * Math.max(Math.abs(a), Math.abs(n)))) bad.push(`${names[i]}: analytic ${a}, numeric ${n}`)
  }
  return bad
}

interface Case {
  layers: () => Layer[]
  loss: LossName
  targets: TargetKind
  rows: number
  seed: number
}

/**
 * Builds the model, gives it random float64 parameters and data (redrawn while a ReLU-family
 * pre-activation is within KINK_MARGIN of 0 or a layer's gradient vanishes), then checks: the
 * engine's loss equals the independent reference; every parameter's analytic gradient equals its
 * central difference; no weighted layer's gradient is trivially zero; nothing in the network
 * changed.
 */
function checkCase(c: Case): void {
  const model = new Sequential({ seed: c.seed })
  for (const layer of c.layers()) model.add(layer)
  model.compile({ loss: c.loss, optimizer: 'sgd' })
  const plan = model.plan
  const state = model.network.readState()
  const net = new JsNetwork(plan, state, Float64Array)
  const params = net.params as Float64Array
  const names = parameterNames(plan)
  /** The largest |gradient| of each weighted layer. */
  const largestPerLayer = (grads: ArrayLike<number>) =>
    plan.layers.flatMap((layer, l) =>
      layer.kind === 'dense' || layer.kind === 'batchNormalization'
        ? [Math.max(...names.map((n, i) => (n.startsWith(`layers.${l}.`) ? Math.abs(grads[i]!) : 0)))]
        : [],
    )
  let data!: { x: Float64Array; y: Float64Array }
  let ref!: Reference
  for (let attempt = 0; ; attempt++) {
    // Redraw while a ReLU-family input is near its kink, or while some weighted layer has a
    // vanishing gradient (e.g. every ReLU output dead), which would make the check vacuous.
    expect(attempt, 'found parameters and data away from every ReLU kink, with a gradient in every layer').toBeLessThan(20)
    const rng = Rng.seeded(c.seed, 10 + attempt)
    randomizeParams(plan, params, rng)
    data = randomData(plan, c.rows, c.targets, rng)
    ref = referenceLoss(plan, params, data.x, data.y, c.rows, state.rng)
    if (!(ref.kink > KINK_MARGIN)) continue
    net.load(data.x, data.y, 0, c.rows)
    lossOf(net, c.rows, state.rng)
    if (largestPerLayer(net.grads).every((g) => g > 1e-3)) break
  }
  // Cross-entropies clip probabilities to [1e-7, 1 − 1e-7]; the check needs the clip inactive.
  expect(ref.probabilityMargin).toBeGreaterThan(1e-6)
  if (plan.layers.some((l) => l.kind === 'dropout' && l.rate > 0)) {
    expect(ref.dropped, 'dropout dropped some units').toBeGreaterThan(0)
    expect(ref.kept, 'dropout kept some units').toBeGreaterThan(0)
  }
  const paramsBefore = Float64Array.from(params)
  const statsBefore = Float64Array.from(net.stats)

  const { loss, analytic, numeric } = finiteDifferences(net, c.rows, state.rng)

  expect(Math.abs(loss - ref.loss), `engine loss ${loss} vs reference ${ref.loss}`).toBeLessThanOrEqual(1e-12 * Math.max(1, ref.loss))
  expect(mismatches(analytic, numeric, names)).toEqual([])
  // Each weighted layer has a gradient of a size the check can see.
  for (const g of largestPerLayer(numeric)) expect(g).toBeGreaterThan(1e-3)
  // lossAndGradients changes neither the parameters nor the running statistics.
  expect(Array.from(net.params)).toEqual(Array.from(paramsBefore))
  expect(Array.from(net.stats)).toEqual(Array.from(statsBefore))
}

// ---------------------------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------------------------

const HIDDEN: [string, ActivationSpec][] = [
  ['linear', 'linear'],
  ['sigmoid', 'sigmoid'],
  ['tanh', 'tanh'],
  ['relu', 'relu'],
  ['leakyRelu α=0.2', { name: 'leakyRelu', alpha: 0.2 }],
  ['leakyRelu α=0.05', { name: 'leakyRelu', alpha: 0.05 }],
  ['softmax', 'softmax'],
]

interface Head {
  name: string
  loss: LossName
  output: ActivationSpec
  targets: TargetKind
}

const HEADS: Head[] = [
  { name: 'softmax + categoricalCrossEntropy (fused)', loss: 'categoricalCrossEntropy', output: 'softmax', targets: 'distribution' },
  // The fused gradient is p·Σy − y; targets that do not sum to 1 exercise the Σy factor.
  { name: 'softmax + categoricalCrossEntropy (fused), targets not summing to 1', loss: 'categoricalCrossEntropy', output: 'softmax', targets: 'multiLabel' },
  { name: 'sigmoid + categoricalCrossEntropy (unfused)', loss: 'categoricalCrossEntropy', output: 'sigmoid', targets: 'distribution' },
  { name: 'softmax + sparseCategoricalCrossEntropy (fused)', loss: 'sparseCategoricalCrossEntropy', output: 'softmax', targets: 'labels' },
  { name: 'sigmoid + binaryCrossEntropy (fused)', loss: 'binaryCrossEntropy', output: 'sigmoid', targets: 'multiLabel' },
  { name: 'softmax + binaryCrossEntropy (unfused)', loss: 'binaryCrossEntropy', output: 'softmax', targets: 'multiLabel' },
  ...HIDDEN.map(([name, output]): Head => ({ name: `${name} + meanSquaredError`, loss: 'meanSquaredError', output, targets: 'real' })),
]

const REGULARIZATION: [string, Regularizer | undefined][] = [
  ['no regularisation', undefined],
  ['L1 + L2 on every kernel', l1l2({ l1: 0.03, l2: 0.05 })],
]

/** Small shapes that vary with the case number: 3–5 inputs, widths 2–5, 4–7 rows, 2–4 outputs. */
function shape(n: number) {
  return { inputs: 3 + (n % 3), width: 2 + (n % 4), rows: 4 + ((n >> 1) % 4), outputs: 2 + ((n >> 2) % 3) }
}

function denseStack(n: number, head: Head, hidden: ActivationSpec[], reg: Regularizer | undefined): Case {
  const s = shape(n)
  const regularizer = reg ? { kernelRegularizer: reg } : {}
  return {
    layers: () => [
      ...hidden.map((activation, i) => new Dense({ ...(i === 0 && { inputSize: s.inputs }), units: s.width + i, activation, ...regularizer })),
      new Dense({ ...(hidden.length === 0 && { inputSize: s.inputs }), units: s.outputs, activation: head.output, ...regularizer }),
    ],
    loss: head.loss,
    targets: head.targets,
    rows: s.rows,
    seed: 1000 + n,
  }
}

describe('finite differences, depth 1 (one Dense layer): every output activation × loss', () => {
  const cases = HEADS.flatMap((head, h) =>
    REGULARIZATION.map(([r, reg], ri): [string, Case] => [`${head.name}, ${r}`, denseStack(h * 2 + ri, head, [], reg)]),
  )
  it.each(cases)('%s', (_name, c) => checkCase(c))
})

describe('finite differences, depth 2: every hidden activation × every output activation × loss', () => {
  const cases = HIDDEN.flatMap(([hName, hidden], a) =>
    HEADS.flatMap((head, h) =>
      REGULARIZATION.map(([r, reg], ri): [string, Case] => [
        `${hName} → ${head.name}, ${r}`,
        denseStack(100 + (a * HEADS.length + h) * 2 + ri, head, [hidden], reg),
      ]),
    ),
  )
  it.each(cases)('%s', (_name, c) => checkCase(c))
})

describe('finite differences, depth 3: pairs of hidden activations × every output activation × loss', () => {
  const cases = HIDDEN.flatMap(([hName, hidden], a) => {
    const [h2Name, hidden2] = HIDDEN[(a + 3) % HIDDEN.length]!
    return HEADS.flatMap((head, h) =>
      REGULARIZATION.map(([r, reg], ri): [string, Case] => [
        `${hName} → ${h2Name} → ${head.name}, ${r}`,
        denseStack(400 + (a * HEADS.length + h) * 2 + ri, head, [hidden, hidden2], reg),
      ]),
    )
  })
  it.each(cases)('%s', (_name, c) => checkCase(c))
})

describe('finite differences, regularisation and bias variants', () => {
  const mk = (seed: number, first: object, second: object): Case => ({
    layers: () => [new Dense({ inputSize: 4, units: 5, activation: 'tanh', ...first }), new Dense({ units: 3, activation: 'softmax', ...second })],
    loss: 'categoricalCrossEntropy',
    targets: 'distribution',
    rows: 6,
    seed,
  })
  it('L1 alone (gradient λ·sign(w))', () => checkCase(mk(700, { kernelRegularizer: l1(0.1) }, { kernelRegularizer: l1(0.02) })))
  it('L2 alone (gradient 2λ·w)', () => checkCase(mk(701, { kernelRegularizer: l2(0.1) }, { kernelRegularizer: l2(0.02) })))
  it('regularisation on one layer only', () => checkCase(mk(702, {}, { kernelRegularizer: l1l2({ l1: 0.05, l2: 0.07 }) })))
  it('Dense layers without bias', () => checkCase(mk(703, { useBias: false, kernelRegularizer: l2(0.05) }, { useBias: false })))
  it('a single sample and a single output (sigmoid + binaryCrossEntropy)', () =>
    checkCase({
      layers: () => [new Dense({ inputSize: 3, units: 4, activation: 'relu' }), new Dense({ units: 1, activation: 'sigmoid' })],
      loss: 'binaryCrossEntropy',
      targets: 'multiLabel',
      rows: 1,
      seed: 704,
    }))
})

describe('finite differences through BatchNormalization (training mode: batch statistics)', () => {
  const heads = HEADS.filter((h) => h.loss !== 'meanSquaredError' || h.output === 'linear')
  const cases = HIDDEN.map(([hName, act], a): [string, Case] => {
      const head = heads[a % heads.length]!
      const s = shape(800 + a)
      const c: Case = {
        layers: () => [
          new Dense({ inputSize: s.inputs, units: s.width + 1, useBias: false }),
          new BatchNormalization(),
          new Activation({ activation: act }),
          new Dense({ units: s.outputs, activation: head.output, kernelRegularizer: l2(0.02) }),
        ],
        loss: head.loss,
        targets: head.targets,
        rows: s.rows,
        seed: 800 + a,
      }
    return [`Dense → BatchNormalization → ${hName} → ${head.name}`, c]
  })
  it.each(cases)('%s', (_name, c) => checkCase(c))

  it('BatchNormalization as the first layer (no input gradient needed)', () =>
    checkCase({
      layers: () => [new BatchNormalization({ inputSize: 4 }), new Dense({ units: 5, activation: 'tanh' }), new Dense({ units: 3, activation: 'softmax' })],
      loss: 'sparseCategoricalCrossEntropy',
      targets: 'labels',
      rows: 6,
      seed: 820,
    }))
  it('BatchNormalization as the last layer (meanSquaredError on its output)', () =>
    checkCase({
      layers: () => [new Dense({ inputSize: 3, units: 4, activation: 'sigmoid' }), new BatchNormalization({ epsilon: 1e-5 })],
      loss: 'meanSquaredError',
      targets: 'real',
      rows: 5,
      seed: 821,
    }))
  it('two BatchNormalization layers, the second before a ReLU', () =>
    checkCase({
      layers: () => [
        new BatchNormalization({ inputSize: 3 }),
        new Dense({ units: 4 }),
        new BatchNormalization({ momentum: 0.5 }),
        new Activation({ activation: 'relu' }),
        new Dense({ units: 2, activation: 'sigmoid' }),
      ],
      loss: 'binaryCrossEntropy',
      targets: 'multiLabel',
      rows: 7,
      seed: 822,
    }))
  it('softmax in an Activation layer after BatchNormalization, fused with categoricalCrossEntropy', () =>
    checkCase({
      layers: () => [new Dense({ inputSize: 4, units: 3 }), new BatchNormalization(), new Activation({ activation: 'softmax' })],
      loss: 'categoricalCrossEntropy',
      targets: 'distribution',
      rows: 6,
      seed: 823,
    }))
})

describe('finite differences through Activation layers as the output', () => {
  const mk = (seed: number, activation: ActivationSpec, loss: LossName, targets: TargetKind): Case => ({
    layers: () => [new Dense({ inputSize: 4, units: 5, activation: 'tanh' }), new Dense({ units: 3 }), new Activation({ activation })],
    loss,
    targets,
    rows: 5,
    seed,
  })
  it('sigmoid + binaryCrossEntropy (fused)', () => checkCase(mk(850, 'sigmoid', 'binaryCrossEntropy', 'multiLabel')))
  it('sigmoid + categoricalCrossEntropy (unfused)', () => checkCase(mk(851, 'sigmoid', 'categoricalCrossEntropy', 'distribution')))
  it('softmax + sparseCategoricalCrossEntropy (fused)', () => checkCase(mk(852, 'softmax', 'sparseCategoricalCrossEntropy', 'labels')))
  it('leakyRelu + meanSquaredError', () => checkCase(mk(853, { name: 'leakyRelu', alpha: 0.3 }, 'meanSquaredError', 'real')))
})

describe('finite differences through Dropout with a fixed mask (the same stream for every evaluation)', () => {
  it('Dense → Dropout(0.5) → softmax + categoricalCrossEntropy', () =>
    checkCase({
      layers: () => [new Dense({ inputSize: 4, units: 5, activation: 'relu' }), new Dropout({ rate: 0.5 }), new Dense({ units: 3, activation: 'softmax' })],
      loss: 'categoricalCrossEntropy',
      targets: 'distribution',
      rows: 6,
      seed: 900,
    }))
  it('Dropout as the first layer', () =>
    checkCase({
      layers: () => [new Dropout({ inputSize: 5, rate: 0.3 }), new Dense({ units: 4, activation: 'sigmoid' }), new Dense({ units: 2, activation: 'sigmoid' })],
      loss: 'binaryCrossEntropy',
      targets: 'multiLabel',
      rows: 7,
      seed: 901,
    }))
  it('Dropout as the last layer (meanSquaredError on its output)', () =>
    checkCase({
      layers: () => [new Dense({ inputSize: 3, units: 4, activation: 'tanh' }), new Dense({ units: 3 }), new Dropout({ rate: 0.4 })],
      loss: 'meanSquaredError',
      targets: 'real',
      rows: 5,
      seed: 902,
    }))
  it('two Dropout layers around BatchNormalization, with regularisation', () =>
    checkCase({
      layers: () => [
        new Dense({ inputSize: 4, units: 5, kernelRegularizer: l1l2({ l1: 0.01, l2: 0.02 }) }),
        new Dropout({ rate: 0.25 }),
        new BatchNormalization(),
        new Activation({ activation: { name: 'leakyRelu', alpha: 0.1 } }),
        new Dropout({ rate: 0.5 }),
        new Dense({ units: 3, activation: 'softmax', kernelRegularizer: l2(0.03) }),
      ],
      loss: 'sparseCategoricalCrossEntropy',
      targets: 'labels',
      rows: 7,
      seed: 903,
    }))
  it('Dropout with rate 0 (a pass-through)', () =>
    checkCase({
      layers: () => [new Dense({ inputSize: 3, units: 4, activation: 'tanh' }), new Dropout({ rate: 0 }), new Dense({ units: 2, activation: 'softmax' })],
      loss: 'categoricalCrossEntropy',
      targets: 'distribution',
      rows: 4,
      seed: 904,
    }))
})

describe('the finite-difference check itself', () => {
  it('catches a 1e-4 relative error in a single gradient component', () => {
    const model = new Sequential({ seed: 5 }).add(new Dense({ inputSize: 3, units: 4, activation: 'tanh' })).add(new Dense({ units: 2, activation: 'softmax' }))
    model.compile({ loss: 'categoricalCrossEntropy' })
    const state = model.network.readState()
    const net = new JsNetwork(model.plan, state, Float64Array)
    const { x, y } = randomData(model.plan, 5, 'distribution', Rng.seeded(5, 10))
    net.load(x, y, 0, 5)
    const { analytic, numeric } = finiteDifferences(net, 5, state.rng)
    const names = parameterNames(model.plan)
    expect(mismatches(analytic, numeric, names)).toEqual([])
    const i = analytic.findIndex((g) => Math.abs(g) > 1e-2)
    analytic[i] = analytic[i]! * (1 + 1e-4)
    expect(mismatches(analytic, numeric, names)).toHaveLength(1)
  })
})

// ---------------------------------------------------------------------------------------------
// The public API in float32.
// ---------------------------------------------------------------------------------------------

/** Rows of float32-representable numbers, so both precisions see exactly the same data. */
function float32Rows(rows: number, cols: number, rng: Rng, lo: number, hi: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround(uniform(rng, lo, hi))))
}

/** Concatenates computeGradients' matrices in the order the Plan lays the parameters out. */
function flatGradientsInPlanOrder(plan: Plan, gradients: { data: Float32Array }[]): Float32Array {
  const flat = new Float32Array(plan.paramCount)
  let k = 0
  for (const layer of plan.layers) {
    const put = (offset: number) => flat.set(gradients[k++]!.data, offset)
    if (layer.kind === 'dense') {
      put(layer.kernelOffset)
      if (layer.biasOffset >= 0) put(layer.biasOffset)
    } else if (layer.kind === 'batchNormalization') {
      put(layer.gammaOffset)
      put(layer.betaOffset)
    }
  }
  expect(k).toBe(gradients.length)
  return flat
}

describe('computeGradients (float32, public API)', () => {
  const rng = Rng.seeded(77, 10)
  const x = float32Rows(7, 4, rng, -1.5, 1.5)
  const yProb = float32Rows(7, 3, rng, 0, 1)
  const models: [string, () => Sequential, LossName][] = [
    [
      'tanh → relu → softmax with L1 + L2',
      () =>
        new Sequential({ seed: 11 })
          .add(new Dense({ inputSize: 4, units: 5, activation: 'tanh', kernelRegularizer: l1l2({ l1: 0.01, l2: 0.02 }) }))
          .add(new Dense({ units: 4, activation: 'relu', biasInitializer: { name: 'randomUniform', minval: 0.1, maxval: 0.3 } }))
          .add(new Dense({ units: 3, activation: 'softmax' })),
      'categoricalCrossEntropy',
    ],
    [
      'Dense → BatchNormalization → relu → Dropout → sigmoid',
      () =>
        new Sequential({ seed: 12 })
          .add(new Dense({ inputSize: 4, units: 6 }))
          .add(new BatchNormalization())
          .add(new Activation({ activation: 'relu' }))
          .add(new Dropout({ rate: 0.4 }))
          .add(new Dense({ units: 3, activation: 'sigmoid' })),
      'binaryCrossEntropy',
    ],
  ]

  it.each(models)('%s: agrees with the float64 analytic gradient to ~1e-4', (_name, build, loss) => {
    const model = build().compile({ loss, optimizer: 'adam' })
    const { loss: loss32, gradients } = model.computeGradients(x, yProb)
    const g32 = flatGradientsInPlanOrder(model.plan, gradients)
    const state = model.network.readState()
    const net = new JsNetwork(model.plan, state, Float64Array)
    net.load(Float64Array.from(x.flat()), Float64Array.from(yProb.flat()), 0, x.length)
    const loss64 = lossOf(net, x.length, state.rng)
    expect(Math.abs(loss32 - loss64)).toBeLessThanOrEqual(1e-5 * loss64)
    const largest = Math.max(...Array.from(net.grads, Math.abs))
    expect(largest).toBeGreaterThan(1e-2)
    for (let i = 0; i < g32.length; i++) {
      const g64 = net.grads[i]!
      expect(Math.abs(g32[i]! - g64), `parameter ${i}: float32 ${g32[i]} vs float64 ${g64}`).toBeLessThanOrEqual(1e-4 * Math.abs(g64) + 1e-6 * largest)
    }
  })

  it('changes nothing: state, predictions and subsequent training are identical to an untouched twin', async () => {
    const [, build, loss] = models[1]!
    const touched = build().compile({ loss, optimizer: 'adam' })
    const twin = build().compile({ loss, optimizer: 'adam' })
    await touched.fit(x, yProb, { epochs: 1, batchSize: 3 }) // non-trivial running statistics, slots, step
    await twin.fit(x, yProb, { epochs: 1, batchSize: 3 })
    const before = touched.network.readState()
    const predictions = touched.predict(x).data
    const first = touched.computeGradients(x, yProb)
    const second = touched.computeGradients(x, yProb)
    // Dropout drew from a copy of the stream: the same mask both times.
    expect(second.loss).toBe(first.loss)
    second.gradients.forEach((g, i) => expect(g.data).toEqual(first.gradients[i]!.data))
    expect(touched.network.readState()).toEqual(before)
    expect(touched.predict(x).data).toEqual(predictions)
    expect(touched.trainOnBatch(x, yProb)).toEqual(twin.trainOnBatch(x, yProb))
    const [h1, h2] = [await touched.fit(x, yProb, { epochs: 2, batchSize: 3 }), await twin.fit(x, yProb, { epochs: 2, batchSize: 3 })]
    expect(h1.loss).toEqual(h2.loss)
    expect(touched.network.readState()).toEqual(twin.network.readState())
  })

  it('is the gradient that the next training step uses: same loss, and SGD moves by exactly −lr·gradient', () => {
    const [, build, loss] = models[1]!
    const model = build().compile({ loss, optimizer: new SGD({ learningRate: 0.125 }) })
    const { loss: gradLoss, gradients } = model.computeGradients(x, yProb)
    const g = flatGradientsInPlanOrder(model.plan, gradients)
    const before = model.network.readState().params
    expect(model.trainOnBatch(x, yProb).loss).toBe(gradLoss)
    const after = model.network.readState().params
    for (let i = 0; i < g.length; i++) expect(after[i]).toBe(Math.fround(before[i]! - 0.125 * g[i]!))
  })
})

describe('regularizer defaults, as Keras 3', () => {
  it('l1() and l2() default to 0.01; l1l2 leaves out what is not given (0), as L1L2 does', () => {
    expect(l1()).toEqual({ l1: 0.01, l2: 0 })
    expect(l2()).toEqual({ l1: 0, l2: 0.01 })
    expect(l1l2()).toEqual({ l1: 0, l2: 0 })
    expect(l1l2({ l1: 0.02 })).toEqual({ l1: 0.02, l2: 0 })
  })
})
