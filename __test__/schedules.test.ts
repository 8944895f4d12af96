/**
 * Learning-rate schedules: each schedule's values against hand-computed numbers, the callbacks
 * that apply them (learningRateScheduler, reduceLROnPlateau) against independent replays and a
 * reference implementation of Keras's plateau rule, what history records, and that a
 * schedule-driven rate survives save and load so a resumed run equals an uninterrupted one.
 */
import { describe, expect, it } from 'vitest'
import {
  Adam,
  CosineDecay,
  Dense,
  ExponentialDecay,
  ModelFileError,
  ReduceLROnPlateau,
  SGD,
  Sequential,
  StepDecay,
  cosineDecay,
  exponentialDecay,
  learningRateScheduler,
  moons,
  reduceLROnPlateau,
  scheduleFromSpec,
  stepDecay,
  type CallbackModel,
  type LearningRateSchedule,
} from '../lib/index.js'
import { decodeSafetensors, encodeSafetensors } from '../lib/io/safetensors.js'
import { data as dataSources } from '../lib/index.js'

const data = moons({ samples: 60, noise: 0.2, seed: 5 })

function classifier(optimizer: SGD | Adam = new Adam({ learningRate: 0.02 }), seed = 3): Sequential {
  return new Sequential({ seed })
    .add(new Dense({ inputSize: 2, units: 8, activation: 'tanh' }))
    .add(new Dense({ units: 1, activation: 'sigmoid' }))
    .compile({ loss: 'binaryCrossEntropy', optimizer, metrics: ['accuracy'] })
}

const weightsOf = (m: Sequential) => m.getWeights().map((w) => Array.from(w.data))
const values = (s: LearningRateSchedule, n: number) => Array.from({ length: n }, (_, e) => s.at(e))

function expectAllClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length)
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `epoch ${i}: ${a} vs ${expected[i]}`).toBeLessThan(1e-15))
}

function caught(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

// ─── schedule values ────────────────────────────────────────────────────────────────────────

describe('schedule values against hand-computed numbers', () => {
  it('stepDecay halves every stepSize epochs', () => {
    expectAllClose(values(stepDecay({ initialLearningRate: 0.1, stepSize: 3, factor: 0.5 }), 8), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])
    // Default factor 0.5.
    expect(stepDecay({ initialLearningRate: 0.08, stepSize: 1 }).at(3)).toBe(0.01)
  })

  it('exponentialDecay decays smoothly, or in whole steps with staircase', () => {
    const smooth = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5 })
    // 0.1 · 0.5^(e/2): e = 1 and 3 give 0.1/√2 and 0.05/√2.
    expectAllClose(values(smooth, 5), [0.1, 0.07071067811865475, 0.05, 0.035355339059327376, 0.025])
    const stairs = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5, staircase: true })
    expectAllClose(values(stairs, 5), [0.1, 0.1, 0.05, 0.05, 0.025])
  })

  it('cosineDecay follows half a cosine to alpha · the start, then stays there', () => {
    // 0.1 · ½(1 + cos(π e / 4)) for e ≤ 4: cos(π/4) = 0.7071067811865476.
    const plain = cosineDecay({ initialLearningRate: 0.1, decaySteps: 4 })
    expectAllClose(values(plain, 6), [0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0, 0])
    // With alpha 0.1: 0.1 · (0.9 · ½(1 + cos(π e / 4)) + 0.1).
    const floored = cosineDecay({ initialLearningRate: 0.1, decaySteps: 4, alpha: 0.1 })
    expectAllClose(values(floored, 6), [0.1, 0.08681980515339464, 0.055, 0.023180194846605363, 0.01, 0.01])
  })

  it('cosineDecay warms up linearly from initialLearningRate to warmupTarget first', () => {
    const warm = cosineDecay({ initialLearningRate: 0, warmupSteps: 2, warmupTarget: 0.2, decaySteps: 2 })
    // Warm-up 0 → 0.2 over epochs 0, 1; then 0.2 · ½(1 + cos(π d / 2)) for d = 0, 1, 2.
    expectAllClose(values(warm, 6), [0, 0.1, 0.2, 0.1, 0, 0])
    const fromNonZero = cosineDecay({ initialLearningRate: 0.01, warmupSteps: 3, warmupTarget: 0.04, decaySteps: 10 })
    expectAllClose(values(fromNonZero, 4), [0.01, 0.02, 0.03, 0.04])
  })

  it('schedules round-trip through their plain-data description', () => {
    const schedules = [
      stepDecay({ initialLearningRate: 0.1, stepSize: 3, factor: 0.3 }),
      exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1.5, decayRate: 0.9, staircase: true }),
      cosineDecay({ initialLearningRate: 0.1, decaySteps: 7, alpha: 0.05 }),
      cosineDecay({ initialLearningRate: 0.001, decaySteps: 7, warmupSteps: 2, warmupTarget: 0.1 }),
    ]
    for (const s of schedules) {
      const spec = JSON.parse(JSON.stringify(s))
      const rebuilt = scheduleFromSpec(spec)
      expect(rebuilt.constructor).toBe(s.constructor)
      expect(values(rebuilt, 12)).toEqual(values(s, 12))
    }
    expect(scheduleFromSpec({ kind: 'stepDecay', initialLearningRate: 1, stepSize: 1, factor: 0.5 })).toBeInstanceOf(StepDecay)
  })
})

describe('invalid schedule options get errors that name the option', () => {
  it.each([
    ['stepDecay stepSize 0', () => stepDecay({ initialLearningRate: 0.1, stepSize: 0 }), RangeError, 'stepDecay stepSize must be an integer ≥ 1, got 0'],
    ['stepDecay factor 1.5', () => stepDecay({ initialLearningRate: 0.1, stepSize: 2, factor: 1.5 }), RangeError, 'stepDecay factor must be a number in (0, 1], got 1.5'],
    ['stepDecay without a rate', () => stepDecay({ stepSize: 2 } as never), TypeError, 'stepDecay initialLearningRate must be a finite number, got undefined'],
    ['exponentialDecay typo', () => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decay_rate: 0.5 } as never), TypeError, "exponentialDecay options has an unknown option 'decay_rate'"],
    ['exponentialDecay negative rate', () => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: -1 }), RangeError, 'exponentialDecay decayRate must be a number > 0, got -1'],
    ['cosineDecay zero start without warm-up', () => cosineDecay({ initialLearningRate: 0, decaySteps: 3 }), RangeError, 'cosineDecay initialLearningRate must be a number > 0, got 0'],
    ['cosineDecay warm-up without target', () => cosineDecay({ initialLearningRate: 0.1, decaySteps: 3, warmupSteps: 2 }), TypeError, 'cosineDecay warm-up needs both warmupSteps (≥ 1) and warmupTarget (the rate to climb to); got warmupSteps 2 and warmupTarget undefined'],
    ['cosineDecay alpha 2', () => cosineDecay({ initialLearningRate: 0.1, decaySteps: 3, alpha: 2 }), RangeError, 'cosineDecay alpha must be a number in [0, 1], got 2'],
    ['a negative epoch', () => cosineDecay({ initialLearningRate: 0.1, decaySteps: 3 }).at(-1), RangeError, 'CosineDecay epoch must be an integer ≥ 0, got -1'],
    ['an unknown spec kind', () => scheduleFromSpec({ kind: 'linear' } as never), TypeError, "a schedule spec's kind must be one of 'stepDecay', 'exponentialDecay', 'cosineDecay'; got the string 'linear'"],
    ['learningRateScheduler of a number', () => learningRateScheduler(0.1 as never), TypeError, 'learningRateScheduler expects a schedule (cosineDecay({...}), stepDecay({...}), …) or a function (epoch, learningRate) => number, got 0.1'],
    ['reduceLROnPlateau factor 1', () => reduceLROnPlateau({ factor: 1 }), RangeError, 'reduceLROnPlateau factor must be a number in (0, 1), got 1'],
    ['reduceLROnPlateau min_lr', () => reduceLROnPlateau({ min_lr: 0.1 } as never), TypeError, "reduceLROnPlateau options has an unknown option 'min_lr'"],
  ])('%s', (_, fn, kind, message) => {
    const error = caught(fn)
    expect(error).toBeInstanceOf(kind)
    expect(error.message).toContain(message)
  })

  it('setting model.learningRate checks the value', () => {
    const model = classifier()
    expect(caught(() => (model.learningRate = -1)).message).toBe('learningRate must be a number ≥ 0, got -1')
    expect(caught(() => (model.learningRate = NaN)).message).toBe('learningRate must be a finite number, got NaN')
    expect(model.learningRate).toBe(0.02)
  })
})

// ─── the learning rate in force ──────────────────────────────────────────────────────────────

describe('model.learningRate is the rate the engine uses', () => {
  it('starts at the optimizer rate; compile resets it', () => {
    const model = classifier(new SGD({ learningRate: 0.3 }))
    expect(model.learningRate).toBe(0.3)
    model.learningRate = 0.01
    expect(model.learningRate).toBe(0.01)
    model.compile({ loss: 'binaryCrossEntropy', optimizer: new SGD({ learningRate: 0.2 }) })
    expect(model.learningRate).toBe(0.2)
  })

  it('a model whose rate was set to r trains exactly like one compiled with rate r', async () => {
    const set = classifier(new SGD({ learningRate: 0.5, momentum: 0.9 }))
    set.learningRate = 0.05
    const compiled = classifier(new SGD({ learningRate: 0.05, momentum: 0.9 }))
    const h = await set.fit(data.x, data.y, { epochs: 2, batchSize: 16 })
    await compiled.fit(data.x, data.y, { epochs: 2, batchSize: 16 })
    expect(weightsOf(set)).toEqual(weightsOf(compiled))
    expect(h.learningRate).toEqual([0.05, 0.05])
    // And the rate matters: a model left at 0.5 ends elsewhere.
    const other = classifier(new SGD({ learningRate: 0.5, momentum: 0.9 }))
    await other.fit(data.x, data.y, { epochs: 2, batchSize: 16 })
    expect(weightsOf(other)).not.toEqual(weightsOf(set))
  })
})

describe('learningRateScheduler', () => {
  it('records schedule.at(epoch) in history and trains like setting the rate by hand each epoch', async () => {
    const schedule = cosineDecay({ initialLearningRate: 0.001, warmupSteps: 2, warmupTarget: 0.05, decaySteps: 4, alpha: 0.1 })
    const scheduled = classifier()
    const history = await scheduled.fit(data.x, data.y, { epochs: 7, batchSize: 16, callbacks: [learningRateScheduler(schedule)] })
    expect(history.learningRate).toEqual(values(schedule, 7))

    const byHand = classifier()
    for (let e = 0; e < 7; e++) {
      byHand.learningRate = schedule.at(e)
      await byHand.fit(data.x, data.y, { epochs: 1, batchSize: 16 })
    }
    expect(weightsOf(scheduled)).toEqual(weightsOf(byHand))
    expect(scheduled.learningRate).toBe(schedule.at(6))
  })

  it.each([
    ['stepDecay', () => new StepDecay({ initialLearningRate: 0.05, stepSize: 2, factor: 0.5 })],
    ['exponentialDecay', () => new ExponentialDecay({ initialLearningRate: 0.05, decaySteps: 3, decayRate: 0.2 })],
    ['cosineDecay', () => new CosineDecay({ initialLearningRate: 0.05, decaySteps: 5 })],
  ])('%s drives every optimizer kind (SGD with momentum here) epoch by epoch', async (_, make) => {
    const schedule = make()
    const model = classifier(new SGD({ learningRate: 1, momentum: 0.5 }))
    const history = await model.fit(data.x, data.y, { epochs: 5, batchSize: 20, callbacks: [learningRateScheduler(schedule)] })
    expect(history.learningRate).toEqual(values(schedule, 5))
  })

  it("per: 'batch' reads the schedule at the optimizer's step for every batch, like setting the rate before each trainOnBatch", async () => {
    // decaySteps in batches: 60 rows in batches of 16 are 4 batches an epoch.
    const schedule = cosineDecay({ initialLearningRate: 0.05, warmupSteps: 3, warmupTarget: 0.2, decaySteps: 9, alpha: 0.1 })
    const scheduled = classifier(new SGD({ learningRate: 1, momentum: 0.5 }))
    const history = await scheduled.fit(data.x, data.y, { epochs: 3, batchSize: 16, shuffle: false, callbacks: [learningRateScheduler(schedule, { per: 'batch' })] })
    const byHand = classifier(new SGD({ learningRate: 1, momentum: 0.5 }))
    let step = 0
    for (let e = 0; e < 3; e++) {
      for (let start = 0; start < 60; start += 16, step++) {
        byHand.learningRate = schedule.at(step)
        byHand.trainOnBatch(data.x.slice(start, start + 16), data.y.slice(start, start + 16))
      }
    }
    expect(weightsOf(scheduled)).toEqual(weightsOf(byHand))
    // The history records each epoch's first rate.
    expect(history.learningRate).toEqual([schedule.at(0), schedule.at(4), schedule.at(8)])
    // A stream in chunks steps the same way.
    const streamed = classifier(new SGD({ learningRate: 1, momentum: 0.5 }))
    await streamed.fitDataset(dataSources.array(data.x, data.y), { epochs: 3, batchSize: 16, callbacks: [learningRateScheduler(schedule, { per: 'batch' })] })
    expect(weightsOf(streamed)).toEqual(weightsOf(byHand))
    expect(() => learningRateScheduler(schedule, { per: 'step' as never })).toThrow("learningRateScheduler per must be one of 'epoch', 'batch'")
  })

  it('a function schedule gets the lifetime epoch and the rate in force, across fit calls', async () => {
    const calls: [number, number][] = []
    const model = classifier(new SGD({ learningRate: 0.1 }))
    const halve = learningRateScheduler((epoch, lr) => {
      calls.push([epoch, lr])
      return epoch === 0 ? lr : lr / 2
    })
    const h1 = await model.fit(data.x, data.y, { epochs: 3, batchSize: 32, callbacks: [halve] })
    const h2 = await model.fit(data.x, data.y, { epochs: 2, batchSize: 32, callbacks: [halve] })
    expect(calls).toEqual([[0, 0.1], [1, 0.1], [2, 0.05], [3, 0.025], [4, 0.0125]])
    expect([...h1.learningRate, ...h2.learningRate]).toEqual([0.1, 0.05, 0.025, 0.0125, 0.00625])
  })

  it('a schedule that returns a bad rate rejects fit with an error naming the epoch', async () => {
    const model = classifier()
    const bad = learningRateScheduler((epoch) => (epoch === 1 ? NaN : 0.01))
    await expect(model.fit(data.x, data.y, { epochs: 3, callbacks: [bad] })).rejects.toThrow(
      'learningRateScheduler: the schedule returned NaN for epoch 1; it must return a finite number ≥ 0',
    )
  })
})

// ─── reduce on plateau ───────────────────────────────────────────────────────────────────────

/** Drives the callback alone over a scripted sequence of monitored values. */
function drive(callback: ReduceLROnPlateau, monitored: number[], learningRate = 0.1, monitor = 'loss'): number[] {
  const model: CallbackModel = {
    stopTraining: false,
    learningRate,
    epochsTrained: 0,
    snapshotWeights: () => ({ params: new Float32Array(0), stats: new Float32Array(0) }),
    restoreWeights: () => {},
  }
  callback.setModel(model)
  callback.onTrainBegin({ logKeys: ['loss', monitor], epochs: monitored.length })
  const rates: number[] = []
  monitored.forEach((value, epoch) => {
    rates.push(model.learningRate)
    callback.onEpochEnd(epoch, { loss: value, [monitor]: value })
  })
  rates.push(model.learningRate)
  return rates
}

/**
 * Keras's ReduceLROnPlateau rule written out independently: returns the epochs at whose end the
 * rate is reduced.
 */
function kerasPlateau(values: number[], o: { patience: number; minDelta: number; cooldown: number; mode: 'min' | 'max' }): number[] {
  let best = o.mode === 'min' ? Infinity : -Infinity
  let wait = 0
  let cooldown = 0
  const reduced: number[] = []
  values.forEach((v, epoch) => {
    if (cooldown > 0) {
      cooldown -= 1
      wait = 0
    }
    const better = o.mode === 'min' ? v < best - o.minDelta : v > best + o.minDelta
    if (better) {
      best = v
      wait = 0
    } else if (cooldown === 0) {
      wait += 1
      if (wait >= o.patience) {
        reduced.push(epoch)
        cooldown = o.cooldown
        wait = 0
      }
    }
  })
  return reduced
}

describe('reduceLROnPlateau', () => {
  it('reduces exactly after `patience` epochs without improvement (hand-traced)', () => {
    const cb = reduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 2, minDelta: 0 })
    // best 1.0, 0.9; 0.95 and 0.91 miss → reduce at 3; best 0.8; 0.85, 0.86 miss → 6; 0.87, 0.88 → 8.
    const rates = drive(cb, [1.0, 0.9, 0.95, 0.91, 0.8, 0.85, 0.86, 0.87, 0.88])
    expect(cb.reducedAt).toEqual([3, 6, 8])
    expectAllClose(rates, [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125])
  })

  it('an improvement smaller than minDelta does not count', () => {
    const cb = reduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 2, minDelta: 0.05 })
    drive(cb, [1.0, 0.97, 0.96, 0.9])
    expect(cb.reducedAt).toEqual([2])
  })

  it('cooldown pauses the counting after a reduction', () => {
    const flat = [1, 1, 1, 1, 1, 1]
    const plain = reduceLROnPlateau({ monitor: 'loss', patience: 1 })
    drive(plain, flat)
    expect(plain.reducedAt).toEqual([1, 2, 3, 4, 5])
    const cooled = reduceLROnPlateau({ monitor: 'loss', patience: 1, cooldown: 2 })
    drive(cooled, flat)
    expect(cooled.reducedAt).toEqual([1, 3, 5])
  })

  it('never goes below minLR and stops reducing there', () => {
    const cb = reduceLROnPlateau({ monitor: 'loss', factor: 0.1, patience: 1, minLR: 0.005 })
    const rates = drive(cb, [1, 1, 1, 1, 1])
    expect(cb.reducedAt).toEqual([1, 2])
    expectAllClose(rates, [0.1, 0.1, 0.1 * 0.1, 0.005, 0.005, 0.005])
  })

  it("mode 'auto' maximises accuracy", () => {
    const cb = reduceLROnPlateau({ monitor: 'valAccuracy', factor: 0.5, patience: 1, minDelta: 0 })
    expect(cb.mode).toBe('max')
    drive(cb, [0.5, 0.6, 0.55, 0.7, 0.7], 0.1, 'valAccuracy')
    expect(cb.reducedAt).toEqual([2, 4])
  })

  it('in fit, reduces when the Keras rule says so, and history records each rate in force', async () => {
    // SGD with a small rate on a fixed problem: the loss creeps down, so with minDelta 2e-2 it
    // plateaus now and then.
    const model = classifier(new SGD({ learningRate: 0.2 }))
    const cb = reduceLROnPlateau({ monitor: 'loss', factor: 0.5, patience: 2, minDelta: 2e-2, cooldown: 1 })
    const history = await model.fit(data.x, data.y, { epochs: 30, batchSize: 60, shuffle: false, callbacks: [cb] })
    const expected = kerasPlateau(history.loss, { patience: 2, minDelta: 2e-2, cooldown: 1, mode: 'min' })
    expect(expected.length).toBeGreaterThan(2) // several reductions, so cooldown is exercised too
    expect(cb.reducedAt).toEqual(expected)
    let rate = 0.2
    history.learningRate.forEach((lr, epoch) => {
      expect(lr, `epoch ${epoch}`).toBeCloseTo(rate, 15)
      if (expected.includes(epoch)) rate *= 0.5
    })
    expect(model.learningRate).toBeCloseTo(rate, 15)
  })

  it('refuses a monitor the fit does not log', async () => {
    const model = classifier()
    await expect(model.fit(data.x, data.y, { epochs: 2, callbacks: [reduceLROnPlateau()] })).rejects.toThrow(
      "reduceLROnPlateau monitors 'valLoss', which this fit does not log (it logs 'loss', 'accuracy'); pass validationSplit or validationData to fit, or monitor a training key",
    )
  })
})

// ─── save and load ───────────────────────────────────────────────────────────────────────────

describe('the learning rate is training state: save and load keep it', () => {
  it('save mid-schedule → load → continue equals the uninterrupted run, bit for bit', async () => {
    const schedule = () => learningRateScheduler(cosineDecay({ initialLearningRate: 0.002, warmupSteps: 2, warmupTarget: 0.05, decaySteps: 6 }))
    const options = { batchSize: 16, validationSplit: 0.25 }

    const whole = classifier()
    const all = await whole.fit(data.x, data.y, { ...options, epochs: 9, callbacks: [schedule()] })

    const first = classifier()
    const h1 = await first.fit(data.x, data.y, { ...options, epochs: 4, callbacks: [schedule()] })
    const resumed = Sequential.fromBytes(first.toBytes())
    expect(resumed.learningRate).toBe(first.learningRate)
    const h2 = await resumed.fit(data.x, data.y, { ...options, epochs: 5, callbacks: [schedule()] })

    expect([...h1.learningRate, ...h2.learningRate]).toEqual(all.learningRate)
    expect([...h1.loss, ...h2.loss]).toEqual(all.loss)
    expect([...h1.valLoss, ...h2.valLoss]).toEqual(all.valLoss)
    expect(weightsOf(resumed)).toEqual(weightsOf(whole))
    expect(Buffer.from(resumed.toBytes()).equals(Buffer.from(whole.toBytes()))).toBe(true)
  })

  it('a rate reduced on a plateau is still in force after load (and without the saved rate it would not be)', async () => {
    const model = classifier(new Adam({ learningRate: 0.04 }))
    const cb = reduceLROnPlateau({ monitor: 'loss', patience: 0, minDelta: 10 })
    await model.fit(data.x, data.y, { epochs: 2, callbacks: [cb] })
    expect(cb.reducedAt).toEqual([1])
    expect(model.learningRate).toBeCloseTo(0.004, 15)
    const bytes = model.toBytes()
    const loaded = Sequential.fromBytes(bytes)
    expect(loaded.learningRate).toBe(model.learningRate)
    const h = await loaded.fit(data.x, data.y, { epochs: 1 })
    expect(h.learningRate).toEqual([model.learningRate])

    // A file written before schedules existed (no learningRate) resumes at the optimizer's rate.
    const old = Sequential.fromBytes(editTraining(bytes, (t) => delete t.learningRate))
    expect(old.learningRate).toBe(0.04)
  })

  it('a damaged saved rate is a ModelFileError', () => {
    const bytes = classifier().toBytes()
    for (const bad of [-1, 'fast', [0.1]]) {
      const error = caught(() => Sequential.fromBytes(editTraining(bytes, (t) => (t.learningRate = bad))))
      expect(error).toBeInstanceOf(ModelFileError)
      expect(error.message).toContain('its training state has learning rate')
      expect(error.message).toContain('expected a finite number ≥ 0 for a compiled model')
    }
  })
})

/** The model file with its training metadata edited. */
function editTraining(bytes: Uint8Array, edit: (training: Record<string, unknown>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes)
  const training = JSON.parse(metadata.training!)
  edit(training)
  return encodeSafetensors(tensors, { ...metadata, training: JSON.stringify(training) })
}
