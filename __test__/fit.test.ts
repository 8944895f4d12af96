/**
 * fit semantics: what history records, how validation is taken, the callback protocol, early
 * stopping (against a reference implementation of Keras's rule), the convergence criterion,
 * cancellation, event-loop friendliness, verbosity, and the small model utilities around fit.
 *
 * Expected values are computed independently wherever possible: by replaying epochs with
 * trainOnBatch on a twin model restored from identical bytes, by model.evaluate, or by a
 * reference implementation of the documented rule applied to a recorded trajectory.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  Adam,
  BatchNormalization,
  Dense,
  Dropout,
  EarlyStopping,
  SGD,
  Sequential,
  earlyStopping,
  moons,
  sineRegression,
  spirals,
  type Callback,
  type EpochLogs,
  type History,
  type LogKey,
} from '../lib/index.js'

// ─── helpers ────────────────────────────────────────────────────────────────────────────────

/** A small binary classifier (sigmoid output) with Adam, so optimizer state matters in replays. */
function classifier(seed = 1, learningRate = 0.05): Sequential {
  const model = new Sequential({ seed })
    .add(new Dense({ inputSize: 2, units: 8, activation: 'tanh' }))
    .add(new Dense({ units: 1, activation: 'sigmoid' }))
  model.compile({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate }), metrics: ['accuracy'] })
  return model
}

/** A model restored from the bytes of `model`: same weights, optimizer state, step and PRNG. */
function twinOf(model: Sequential): Sequential {
  return Sequential.fromBytes(model.toBytes())
}

function weightsOf(model: Sequential): number[][] {
  return model.getWeights().map((w) => Array.from(w.data))
}

/** Rows of each batch when `rows` samples are cut into batches of `batchSize`. */
function batchSizes(rows: number, batchSize: number): number[] {
  const sizes: number[] = []
  for (let start = 0; start < rows; start += batchSize) sizes.push(Math.min(batchSize, rows - start))
  return sizes
}

function expectClose(actual: number, expected: number, relative = 1e-12): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(expected)))
}

/** 45 samples: with batchSize 10 the last batch has 5, so a plain mean of batch losses is wrong. */
const data45 = moons({ samples: 45, noise: 0.2, seed: 7 })
/** A noisy problem with a small validation set: its validation curve goes up and down. */
const noisyTrain = moons({ samples: 100, noise: 0.3, seed: 1 })
const noisyVal = moons({ samples: 40, noise: 0.3, seed: 2 })
/** The same points with every label flipped: the better the model gets, the worse it scores. */
const flippedVal = { x: noisyTrain.x.slice(0, 40), y: noisyTrain.y.slice(0, 40).map((c) => 1 - c) }

/** Keras's EarlyStopping rule, written out independently, applied to a recorded trajectory. */
function kerasEarlyStopping(values: number[], o: { patience: number; minDelta: number; mode: 'min' | 'max' }) {
  let best = o.mode === 'min' ? Infinity : -Infinity
  let bestEpoch = -1
  let wait = 0
  for (let epoch = 0; epoch < values.length; epoch++) {
    const v = values[epoch]!
    wait++
    // Keras negates min_delta in min mode, then asks monitor_op(current − min_delta, best).
    const improved = o.mode === 'min' ? v + o.minDelta < best : v - o.minDelta > best
    if (improved) {
      best = v
      bestEpoch = epoch
      wait = 0
      continue
    }
    if (wait >= o.patience && epoch > 0) return { stoppedEpoch: epoch, bestEpoch, best }
  }
  return { stoppedEpoch: null, bestEpoch, best }
}

/** The documented convergence rule (scikit-learn's tol / n_iter_no_change, stopping at `patience`). */
function convergenceStop(losses: number[], tolerance: number, patience: number): number | null {
  let best = Infinity
  let count = 0
  for (let epoch = 0; epoch < losses.length; epoch++) {
    count = losses[epoch]! > best - tolerance ? count + 1 : 0
    best = Math.min(best, losses[epoch]!)
    if (count >= patience) return epoch
  }
  return null
}

afterEach(() => {
  vi.restoreAllMocks()
})

// ─── history.loss ───────────────────────────────────────────────────────────────────────────

describe('history.loss', () => {
  it('is the sample-weighted mean of each batch loss measured before its update (replayed with trainOnBatch)', async () => {
    const model = classifier()
    const twin = twinOf(model)
    expect(weightsOf(twin)).toEqual(weightsOf(model))
    const history = await model.fit(data45.x, data45.y, { epochs: 2, batchSize: 10, shuffle: false })

    const sizes = batchSizes(45, 10)
    expect(sizes).toEqual([10, 10, 10, 10, 5])
    for (let epoch = 0; epoch < 2; epoch++) {
      const losses: number[] = []
      const accuracies: number[] = []
      let start = 0
      for (const n of sizes) {
        const x = data45.x.slice(start, start + n)
        const y = data45.y.slice(start, start + n)
        // "Before its update": with no dropout or batch normalisation, training mode equals
        // inference mode, so evaluate on the same state must give the batch's loss.
        const beforeUpdate = twin.evaluate(x, y)
        const result = twin.trainOnBatch(x, y)
        expectClose(result.loss, beforeUpdate.loss, 1e-6)
        expect(result.accuracy).toBe(beforeUpdate.accuracy)
        losses.push(result.loss)
        accuracies.push(result.accuracy!)
        start += n
      }
      const weighted = losses.reduce((s, l, b) => s + l * sizes[b]!, 0) / 45
      const plain = losses.reduce((s, l) => s + l, 0) / losses.length
      expectClose(history.loss[epoch]!, weighted)
      // The short last batch makes the two means differ: the test tells them apart.
      expect(Math.abs(plain - weighted)).toBeGreaterThan(1e-4)
      expectClose(history.metrics.accuracy![epoch]!, accuracies.reduce((s, a, b) => s + a * sizes[b]!, 0) / 45)
    }
    // The replay performed exactly the same updates.
    expect(weightsOf(twin)).toEqual(weightsOf(model))
  })

  it('with one full batch, the first epoch loss is the loss of the initial weights', async () => {
    const model = classifier()
    const initial = model.evaluate(data45.x, data45.y).loss
    const history = await model.fit(data45.x, data45.y, { epochs: 2, batchSize: 64 })
    expectClose(history.loss[0]!, initial, 1e-6)
    expect(history.loss[1]!).toBeLessThan(history.loss[0]!)
  })

  it('with shuffling, equals the sample-weighted mean of the per-batch losses passed to onBatchEnd', async () => {
    const model = classifier()
    const perEpoch: { batch: number; loss: number; accuracy: number }[][] = []
    const history = await model.fit(data45.x, data45.y, {
      epochs: 3,
      batchSize: 10,
      shuffle: true,
      callbacks: [
        { onEpochBegin: () => void perEpoch.push([]) },
        { onBatchEnd: (batch, logs) => void perEpoch.at(-1)!.push({ batch, loss: logs.loss, accuracy: logs.metrics[0]! }) },
      ],
    })
    const sizes = batchSizes(45, 10)
    expect(perEpoch).toHaveLength(3)
    perEpoch.forEach((batches, epoch) => {
      expect(batches.map((b) => b.batch)).toEqual([0, 1, 2, 3, 4])
      expectClose(history.loss[epoch]!, batches.reduce((s, b) => s + b.loss * sizes[b.batch]!, 0) / 45)
      expectClose(history.metrics.accuracy![epoch]!, batches.reduce((s, b) => s + b.accuracy * sizes[b.batch]!, 0) / 45)
    })
    // Shuffling really happened: the same model without it takes another path.
    const unshuffled = await classifier().fit(data45.x, data45.y, { epochs: 3, batchSize: 10, shuffle: false })
    expect(unshuffled.loss).not.toEqual(history.loss)
  })

  it('shuffles from the seeded stream: each epoch visits every sample once', async () => {
    // batchSize 1 and a negligible SGD step: each batch's loss is then the (distinct, unchanging)
    // loss of one sample, which identifies the sample and so reveals the visiting order.
    const model = new Sequential({ seed: 3 })
      .add(new Dense({ inputSize: 2, units: 4, activation: 'tanh' }))
      .add(new Dense({ units: 1, activation: 'sigmoid' }))
    model.compile({ loss: 'binaryCrossEntropy', optimizer: new SGD({ learningRate: 1e-9 }) })
    const individual = data45.x.map((row, i) => model.evaluate([row], [data45.y[i]!]).loss)
    expect(new Set(individual.map((l) => l.toFixed(6))).size).toBe(45)
    const orders: number[][] = []
    await model.fit(data45.x, data45.y, {
      epochs: 2,
      batchSize: 1,
      shuffle: true,
      callbacks: [
        { onEpochBegin: () => void orders.push([]) },
        {
          onBatchEnd: (_batch, logs) => {
            const match = individual.findIndex((l) => Math.abs(l - logs.loss) < 1e-6)
            orders.at(-1)!.push(match)
          },
        },
      ],
    })
    for (const order of orders) expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 45 }, (_, i) => i))
    expect(orders[0]).not.toEqual(Array.from({ length: 45 }, (_, i) => i)) // shuffled
    expect(orders[1]).not.toEqual(orders[0]) // reshuffled each epoch
  })
})

// ─── validation ─────────────────────────────────────────────────────────────────────────────

describe('validation', () => {
  it('validationSplit holds out the last fraction of the samples, before shuffling', async () => {
    const model = classifier()
    const xv = data45.x.slice(33)
    const yv = data45.y.slice(33)
    const seen: { valLoss: number; valAccuracy: number; evaluated: ReturnType<Sequential['evaluate']> }[] = []
    const trainedRows: number[] = []
    const history = await model.fit(data45.x, data45.y, {
      epochs: 3,
      batchSize: 8,
      shuffle: true,
      validationSplit: 0.25, // floor(45 × 0.75) = 33 training rows, the last 12 for validation (as Keras)
      callbacks: [
        {
          onEpochBegin: () => void trainedRows.push(0),
          onBatchEnd: (batch) => void (trainedRows[trainedRows.length - 1]! += batchSizes(33, 8)[batch]!),
          onEpochEnd: (_epoch, logs) =>
            void seen.push({ valLoss: logs.valLoss!, valAccuracy: logs.valAccuracy!, evaluated: model.evaluate(xv, yv) }),
        },
      ],
    })
    expect(trainedRows).toEqual([33, 33, 33])
    expect(history.valLoss).toHaveLength(3)
    seen.forEach(({ valLoss, valAccuracy, evaluated }, epoch) => {
      expectClose(valLoss, evaluated.loss, 1e-9)
      expect(valAccuracy).toBe(evaluated.accuracy)
      expect(history.valLoss[epoch]).toBe(valLoss)
      expect(history.metrics.valAccuracy![epoch]).toBe(valAccuracy)
    })
    // Not the first rows, not all rows.
    expect(Math.abs(history.valLoss[2]! - model.evaluate(data45.x.slice(0, 12), data45.y.slice(0, 12)).loss)).toBeGreaterThan(1e-4)
    expect(Math.abs(history.valLoss[2]! - model.evaluate(data45.x, data45.y).loss)).toBeGreaterThan(1e-4)

    // Training saw exactly the first 33 rows, shuffled among themselves: the same seed fitted on
    // them alone follows the same path (it would not if the split came after shuffling).
    const alone = classifier()
    const aloneHistory = await alone.fit(data45.x.slice(0, 33), data45.y.slice(0, 33), { epochs: 3, batchSize: 8, shuffle: true })
    expect(aloneHistory.loss).toEqual(history.loss)
    expect(weightsOf(alone)).toEqual(weightsOf(model))
  })

  it('validationData is evaluated after each epoch and takes precedence over validationSplit', async () => {
    const model = classifier()
    const evaluated: ReturnType<Sequential['evaluate']>[] = []
    const history = await model.fit(noisyTrain.x, noisyTrain.y, {
      epochs: 3,
      batchSize: 16,
      validationData: [noisyVal.x, noisyVal.y],
      validationSplit: 0.5,
      callbacks: [{ onEpochEnd: () => void evaluated.push(model.evaluate(noisyVal.x, noisyVal.y)) }],
    })
    evaluated.forEach((e, epoch) => {
      expectClose(history.valLoss[epoch]!, e.loss, 1e-9)
      expect(history.metrics.valAccuracy![epoch]).toBe(e.accuracy)
    })
    // All 100 rows trained (the split was ignored): same path as a fit without any validation.
    const plain = classifier()
    const plainHistory = await plain.fit(noisyTrain.x, noisyTrain.y, { epochs: 3, batchSize: 16 })
    expect(plainHistory.loss).toEqual(history.loss)
    expect(weightsOf(plain)).toEqual(weightsOf(model))
    expect(plainHistory.valLoss).toEqual([])
    expect(Object.keys(plainHistory.metrics)).toEqual(['accuracy'])
  })

  it('records every compiled metric and its val twin, one value per epoch', async () => {
    const train = sineRegression({ samples: 60, seed: 1 })
    const val = sineRegression({ samples: 20, seed: 2 })
    const model = new Sequential({ seed: 1 })
      .add(new Dense({ inputSize: 1, units: 8, activation: 'tanh' }))
      .add(new Dense({ units: 1 }))
    model.compile({ loss: 'meanSquaredError', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['meanAbsoluteError', 'meanSquaredError'] })
    const history = await model.fit(train.x, train.y, { epochs: 4, batchSize: 16, validationData: [val.x, val.y] })
    expect(Object.keys(history.metrics).sort()).toEqual(['meanAbsoluteError', 'meanSquaredError', 'valMeanAbsoluteError', 'valMeanSquaredError'])
    for (const values of Object.values(history.metrics)) expect(values).toHaveLength(4)
    // The MSE metric of an MSE model is its loss (no regularisation here).
    history.loss.forEach((l, e) => expectClose(history.metrics.meanSquaredError![e]!, l, 1e-9))
    history.valLoss.forEach((l, e) => expectClose(history.metrics.valMeanSquaredError![e]!, l, 1e-9))
    const last = model.evaluate(val.x, val.y)
    expectClose(history.metrics.valMeanAbsoluteError![3]!, last.meanAbsoluteError!, 1e-9)
    // MAE ≤ √MSE (Jensen), a cheap consistency check on the two metrics.
    expect(last.meanAbsoluteError!).toBeLessThanOrEqual(Math.sqrt(last.meanSquaredError!) + 1e-12)
  })
})

// ─── callbacks ──────────────────────────────────────────────────────────────────────────────

describe('callbacks', () => {
  it('are called in order: trainBegin, then per epoch epochBegin, batchEnd per batch, epochEnd; then trainEnd', async () => {
    const model = classifier()
    const events: string[] = []
    let info: unknown
    let logsSeen: EpochLogs[] = []
    let endHistory: History | null = null
    let modelSeen: unknown = null
    const callback: Callback = {
      setModel: (m) => void (modelSeen = m),
      onTrainBegin: (i) => void (events.push('trainBegin'), (info = i)),
      onEpochBegin: (epoch) => void events.push(`epochBegin ${epoch}`),
      onBatchEnd: (batch) => void events.push(`batch ${batch}`),
      // Async callbacks are awaited before fit goes on.
      onEpochEnd: async (epoch, logs) => {
        await new Promise((resolve) => setTimeout(resolve, 5))
        events.push(`epochEnd ${epoch}`)
        logsSeen.push({ ...logs })
      },
      onTrainEnd: (h) => void (events.push('trainEnd'), (endHistory = h)),
    }
    const history = await model.fit(data45.x, data45.y, {
      epochs: 2,
      batchSize: 10,
      validationData: [noisyVal.x, noisyVal.y],
      callbacks: [callback],
    })
    const epoch = (e: number) => [`epochBegin ${e}`, 'batch 0', 'batch 1', 'batch 2', 'batch 3', 'batch 4', `epochEnd ${e}`]
    expect(events).toEqual(['trainBegin', ...epoch(0), ...epoch(1), 'trainEnd'])
    expect(modelSeen).toBe(model)
    expect(info).toEqual({ logKeys: ['loss', 'accuracy', 'valLoss', 'valAccuracy'], epochs: 2 })
    expect(logsSeen).toEqual([0, 1].map((e) => ({
      loss: history.loss[e],
      accuracy: history.metrics.accuracy![e],
      valLoss: history.valLoss[e],
      valAccuracy: history.metrics.valAccuracy![e],
    })))
    expect(endHistory).toBe(history)
    expect(history.stopReason).toBe('completed')
    // Without validation the log keys are the training ones only.
    let keys: string[] = []
    await classifier().fit(data45.x, data45.y, { callbacks: [{ onTrainBegin: (i) => void (keys = i.logKeys) }] })
    expect(keys).toEqual(['loss', 'accuracy'])
  })

  it('model.stopTraining set in onEpochEnd stops after that epoch (stopReason callback)', async () => {
    const model = classifier()
    const history = await model.fit(data45.x, data45.y, {
      epochs: 10,
      batchSize: 10,
      callbacks: [{ onEpochEnd: (epoch) => void (epoch === 2 && (model.stopTraining = true)) }],
    })
    expect(history.epochs).toBe(3)
    expect(history.loss).toHaveLength(3)
    expect(history.stopReason).toBe('callback')
    expect(model.epochsTrained).toBe(3)
    // The flag does not leak into the next fit.
    const again = await model.fit(data45.x, data45.y, { epochs: 2, batchSize: 10 })
    expect(again.epochs).toBe(2)
    expect(again.stopReason).toBe('completed')
  })

  it('model.stopTraining set in onBatchEnd stops after that batch; the partial epoch is not recorded', async () => {
    const model = classifier()
    const twin = twinOf(model)
    const calls = { batches: 0, epochEnds: 0, trainEnds: 0 }
    const history = await model.fit(data45.x, data45.y, {
      epochs: 5,
      batchSize: 10,
      shuffle: false,
      callbacks: [
        {
          onBatchEnd: (batch) => {
            calls.batches++
            if (calls.batches === 5 + 3) model.stopTraining = true // epoch 1, batch 2
            expect(batch).toBe((calls.batches - 1) % 5)
          },
          onEpochEnd: () => void calls.epochEnds++,
          onTrainEnd: () => void calls.trainEnds++,
        },
      ],
    })
    expect(calls).toEqual({ batches: 8, epochEnds: 1, trainEnds: 1 })
    expect(history.epochs).toBe(1)
    expect(history.loss).toHaveLength(1)
    expect(history.metrics.accuracy).toHaveLength(1)
    expect(history.learningRate).toHaveLength(1)
    expect(history.stopReason).toBe('callback')
    expect(model.epochsTrained).toBe(1)
    // Exactly 8 updates happened: replay them.
    for (let b = 0; b < 8; b++) {
      const start = (b % 5) * 10
      twin.trainOnBatch(data45.x.slice(start, start + 10), data45.y.slice(start, start + 10))
    }
    expect(weightsOf(model)).toEqual(weightsOf(twin))
  })

  it('stopping on the last batch of an epoch keeps that (complete) epoch', async () => {
    const model = classifier()
    const history = await model.fit(data45.x, data45.y, {
      epochs: 5,
      batchSize: 10,
      callbacks: [{ onBatchEnd: (batch) => void (batch === 4 && (model.stopTraining = true)) }],
    })
    expect(history.epochs).toBe(1)
    expect(history.stopReason).toBe('callback')
    expect(model.epochsTrained).toBe(1)
  })
})

// ─── early stopping ─────────────────────────────────────────────────────────────────────────

describe('earlyStopping', () => {
  /** The noisy run's full trajectory, recorded once without early stopping. */
  async function reference(epochs: number) {
    const model = classifier(3)
    const history = await model.fit(noisyTrain.x, noisyTrain.y, { epochs, batchSize: 8, validationData: [noisyVal.x, noisyVal.y] })
    return { loss: history.loss, valLoss: history.valLoss, valAccuracy: history.metrics.valAccuracy!, accuracy: history.metrics.accuracy! }
  }

  it('stops after `patience` epochs in a row without improvement (patience 0 = the first)', async () => {
    // Validation labels are the flipped training labels: valLoss rises after every epoch, so
    // epoch 0 stays the best and the stop comes exactly `max(patience, 1)` epochs later.
    for (const patience of [0, 1, 2, 4]) {
      const model = classifier(1, 0.01)
      const es = earlyStopping({ monitor: 'valLoss', patience })
      const history = await model.fit(noisyTrain.x, noisyTrain.y, {
        epochs: 20,
        batchSize: 100,
        validationData: [flippedVal.x, flippedVal.y],
        callbacks: [es],
      })
      for (let e = 1; e < history.valLoss.length; e++) expect(history.valLoss[e]!).toBeGreaterThan(history.valLoss[e - 1]!)
      const stop = Math.max(patience, 1)
      expect(history.epochs, `patience ${patience}`).toBe(stop + 1)
      expect(es.stoppedEpoch).toBe(stop)
      expect(es.bestEpoch).toBe(0)
      expect(es.best).toBe(history.valLoss[0])
      expect(history.stopReason).toBe('earlyStopping')
    }
  })

  it.each<{ monitor: LogKey; patience: number; minDelta: number }>([
    { monitor: 'valLoss', patience: 0, minDelta: 0 },
    { monitor: 'valLoss', patience: 3, minDelta: 0 },
    { monitor: 'valLoss', patience: 3, minDelta: 0.005 },
    { monitor: 'loss', patience: 1, minDelta: 0 },
    { monitor: 'loss', patience: 3, minDelta: 0 },
    { monitor: 'loss', patience: 2, minDelta: 0.01 },
    { monitor: 'valAccuracy', patience: 2, minDelta: 0 },
    { monitor: 'valAccuracy', patience: 8, minDelta: 0 },
  ])('matches Keras on a noisy run: monitor $monitor, patience $patience, minDelta $minDelta', async ({ monitor, patience, minDelta }) => {
    const epochs = 40
    const ref = await reference(epochs)
    const values = ref[monitor as keyof typeof ref]
    const mode = monitor === 'valAccuracy' ? 'max' : 'min'
    const expected = kerasEarlyStopping(values, { patience, minDelta, mode })

    const es = new EarlyStopping({ monitor, patience, minDelta })
    expect(es.mode).toBe(mode) // 'auto' resolves to max for accuracy
    const model = classifier(3)
    const history = await model.fit(noisyTrain.x, noisyTrain.y, { epochs, batchSize: 8, validationData: [noisyVal.x, noisyVal.y], callbacks: [es] })

    expect(es.stoppedEpoch).toBe(expected.stoppedEpoch)
    expect(es.bestEpoch).toBe(expected.bestEpoch)
    expect(es.best).toBe(expected.best)
    expect(history.epochs).toBe(expected.stoppedEpoch === null ? epochs : expected.stoppedEpoch + 1)
    expect(history.stopReason).toBe(expected.stoppedEpoch === null ? 'completed' : 'earlyStopping')
    // The early-stopped run is the reference run, cut short.
    expect(history.loss).toEqual(ref.loss.slice(0, history.epochs))
  })

  it('the noisy reference run exercises resets, plateaus and the minDelta threshold', async () => {
    // Guards the table above against becoming vacuous: the rule must give different answers.
    const ref = await reference(40)
    const stops = [
      kerasEarlyStopping(ref.valLoss, { patience: 0, minDelta: 0, mode: 'min' }).stoppedEpoch,
      kerasEarlyStopping(ref.valLoss, { patience: 3, minDelta: 0, mode: 'min' }).stoppedEpoch,
      kerasEarlyStopping(ref.valLoss, { patience: 3, minDelta: 0.005, mode: 'min' }).stoppedEpoch,
      kerasEarlyStopping(ref.loss, { patience: 1, minDelta: 0, mode: 'min' }).stoppedEpoch,
      kerasEarlyStopping(ref.loss, { patience: 3, minDelta: 0, mode: 'min' }).stoppedEpoch,
      kerasEarlyStopping(ref.valAccuracy, { patience: 2, minDelta: 0, mode: 'max' }).stoppedEpoch,
      kerasEarlyStopping(ref.valAccuracy, { patience: 8, minDelta: 0, mode: 'max' }).stoppedEpoch,
    ]
    expect(new Set(stops).size).toBeGreaterThanOrEqual(5)
    // At least one run stops later than patience + 1 (a reset happened), and 'min' on accuracy
    // would give a different answer than 'max'.
    expect(stops.some((s, i) => s !== null && s > [0, 3, 3, 1, 3, 2, 8][i]! + 1)).toBe(true)
    expect(kerasEarlyStopping(ref.valAccuracy, { patience: 2, minDelta: 0, mode: 'min' }).stoppedEpoch).not.toBe(stops[5])
  })

  it('mode auto treats accuracy as higher-is-better: falling valAccuracy stops training', async () => {
    const es = earlyStopping({ monitor: 'valAccuracy', patience: 2 })
    expect(es.mode).toBe('max')
    expect(earlyStopping({ monitor: 'valLoss' }).mode).toBe('min')
    expect(earlyStopping({ monitor: 'valAccuracy', mode: 'min' }).mode).toBe('min')
    const model = classifier(1, 0.02)
    const history = await model.fit(noisyTrain.x, noisyTrain.y, {
      epochs: 30,
      batchSize: 100,
      validationData: [flippedVal.x, flippedVal.y],
      callbacks: [es],
    })
    const expected = kerasEarlyStopping(history.metrics.valAccuracy!, { patience: 2, minDelta: 0, mode: 'max' })
    expect(history.stopReason).toBe('earlyStopping')
    expect(es.stoppedEpoch).toBe(expected.stoppedEpoch)
    expect(history.epochs).toBeLessThan(30)
  })

  it('minDelta: tiny improvements of the training loss do not count', async () => {
    // A very small step: the loss falls every epoch, but by far less than 0.01.
    async function run(minDelta: number) {
      const model = classifier(1, 1e-5)
      const es = earlyStopping({ monitor: 'loss', patience: 2, minDelta })
      const history = await model.fit(noisyTrain.x, noisyTrain.y, { epochs: 8, batchSize: 100, callbacks: [es] })
      return { history, es }
    }
    const strict = await run(0)
    for (let e = 1; e < 8; e++) {
      expect(strict.history.loss[e]!).toBeLessThan(strict.history.loss[e - 1]!)
      expect(strict.history.loss[e - 1]! - strict.history.loss[e]!).toBeLessThan(0.01)
    }
    expect(strict.history.stopReason).toBe('completed')
    expect(strict.es.bestEpoch).toBe(7)
    const tolerant = await run(0.01)
    expect(tolerant.history.stopReason).toBe('earlyStopping')
    expect(tolerant.history.epochs).toBe(3)
    expect(tolerant.es.bestEpoch).toBe(0)
  })

  it('restoreBestWeights puts back the weights of the best epoch', async () => {
    const epochs = 40
    const ref = await reference(epochs)
    const expected = kerasEarlyStopping(ref.valLoss, { patience: 5, minDelta: 0, mode: 'min' })
    expect(expected.stoppedEpoch).not.toBeNull()
    expect(expected.bestEpoch).toBeGreaterThan(0) // a best epoch other than the first or last
    expect(expected.bestEpoch).toBeLessThan(expected.stoppedEpoch!)

    const model = classifier(3)
    const snapshots: ReturnType<Sequential['getWeights']>[] = []
    const predictions: number[][] = []
    const history = await model.fit(noisyTrain.x, noisyTrain.y, {
      epochs,
      batchSize: 8,
      validationData: [noisyVal.x, noisyVal.y],
      callbacks: [
        {
          onEpochEnd: () => {
            snapshots.push(model.getWeights())
            predictions.push(Array.from(model.predict(noisyVal.x).data))
          },
        },
        earlyStopping({ monitor: 'valLoss', patience: 5, restoreBestWeights: true }),
      ],
    })
    expect(history.stopReason).toBe('earlyStopping')
    expect(history.epochs).toBe(expected.stoppedEpoch! + 1)
    const best = expected.bestEpoch
    expect(Array.from(model.predict(noisyVal.x).data)).toEqual(predictions[best])
    expect(predictions[best]).not.toEqual(predictions.at(-1))
    expect(weightsOf(model)).toEqual(snapshots[best]!.map((w) => Array.from(w.data)))
    expectClose(model.evaluate(noisyVal.x, noisyVal.y).loss, history.valLoss[best]!, 1e-9)
  })

  it('restoreBestWeights also restores batch-normalisation statistics', async () => {
    const model = new Sequential({ seed: 2 })
      .add(new Dense({ inputSize: 2, units: 8 }))
      .add(new BatchNormalization())
      .add(new Dense({ units: 1, activation: 'sigmoid' }))
    model.compile({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }) })
    const snapshots: number[][][] = []
    const es = earlyStopping({ monitor: 'valLoss', patience: 2, restoreBestWeights: true })
    await model.fit(noisyTrain.x, noisyTrain.y, {
      epochs: 20,
      batchSize: 100,
      validationData: [flippedVal.x, flippedVal.y],
      callbacks: [{ onEpochEnd: () => void snapshots.push(weightsOf(model)) }, es],
    })
    expect(es.stoppedEpoch).toBe(2)
    expect(weightsOf(model)).toEqual(snapshots[0]) // moving mean and variance included
    expect(snapshots[0]).not.toEqual(snapshots[2])
  })

  it('without restoreBestWeights the last weights stay', async () => {
    const model = classifier(1, 0.01)
    const snapshots: number[][][] = []
    await model.fit(noisyTrain.x, noisyTrain.y, {
      epochs: 20,
      batchSize: 100,
      validationData: [flippedVal.x, flippedVal.y],
      callbacks: [{ onEpochEnd: () => void snapshots.push(weightsOf(model)) }, earlyStopping({ patience: 2 })],
    })
    expect(snapshots).toHaveLength(3)
    expect(weightsOf(model)).toEqual(snapshots[2])
  })

  it('rejects a monitor the fit does not log', async () => {
    await expect(classifier().fit(data45.x, data45.y, { callbacks: [earlyStopping({ monitor: 'valLoss' })] })).rejects.toThrow(/valLoss/)
  })
})

// ─── convergence criterion ──────────────────────────────────────────────────────────────────

describe('convergence criterion (tolerance + patience)', () => {
  it('stops with stopReason converged when the loss stops improving by more than tolerance', async () => {
    // A step so small that each epoch improves the loss by less than the tolerance.
    const model = classifier(1, 1e-6)
    const history = await model.fit(noisyTrain.x, noisyTrain.y, { epochs: 50, batchSize: 100, tolerance: 1e-3, patience: 3 })
    for (let e = 1; e < history.epochs; e++) expect(history.loss[e - 1]! - history.loss[e]!).toBeLessThan(1e-3)
    expect(history.stopReason).toBe('converged')
    expect(history.epochs).toBe(4) // epoch 0 sets the best, epochs 1–3 fail to beat it by 1e-3
    expect(model.epochsTrained).toBe(4)
  })

  it('uses patience 10 by default', async () => {
    const history = await classifier(1, 1e-6).fit(noisyTrain.x, noisyTrain.y, { epochs: 50, batchSize: 100, tolerance: 1e-3 })
    expect(history.stopReason).toBe('converged')
    expect(history.epochs).toBe(11)
  })

  it('does not stop while every epoch improves by more than tolerance', async () => {
    const model = classifier(1, 0.01)
    const history = await model.fit(noisyTrain.x, noisyTrain.y, { epochs: 20, batchSize: 100, tolerance: 1e-4, patience: 1 })
    for (let e = 1; e < 20; e++) expect(history.loss[e - 1]! - history.loss[e]!).toBeGreaterThan(1e-4)
    expect(history.stopReason).toBe('completed')
    expect(history.epochs).toBe(20)
  })

  it('matches the documented rule on a noisy run, where improvements reset the count', async () => {
    const full = await classifier(3).fit(noisyTrain.x, noisyTrain.y, { epochs: 40, batchSize: 8 })
    const cases = [
      { tolerance: 0, patience: 1 },
      { tolerance: 0, patience: 3 },
      { tolerance: 0.005, patience: 3 },
      { tolerance: 0.02, patience: 2 },
    ]
    const stops: (number | null)[] = []
    for (const { tolerance, patience } of cases) {
      const expected = convergenceStop(full.loss, tolerance, patience)
      stops.push(expected)
      const history = await classifier(3).fit(noisyTrain.x, noisyTrain.y, { epochs: 40, batchSize: 8, tolerance, patience })
      expect(history.epochs, `tolerance ${tolerance}, patience ${patience}`).toBe(expected === null ? 40 : expected + 1)
      expect(history.stopReason).toBe(expected === null ? 'completed' : 'converged')
      expect(history.loss).toEqual(full.loss.slice(0, history.epochs))
    }
    expect(new Set(stops).size).toBeGreaterThanOrEqual(3)
  })

  it('patience without tolerance is rejected', async () => {
    await expect(classifier().fit(data45.x, data45.y, { patience: 3 })).rejects.toThrow(TypeError)
  })
})

// ─── cancellation ───────────────────────────────────────────────────────────────────────────

describe('AbortSignal', () => {
  it('aborting from onBatchEnd stops after that batch (stopReason aborted); the model stays usable', async () => {
    const model = classifier()
    const twin = twinOf(model)
    const controller = new AbortController()
    let batches = 0
    const history = await model.fit(data45.x, data45.y, {
      epochs: 5,
      batchSize: 10,
      shuffle: false,
      signal: controller.signal,
      callbacks: [{ onBatchEnd: () => void (++batches === 7 && controller.abort()) }],
    })
    expect(batches).toBe(7)
    expect(history.stopReason).toBe('aborted')
    expect(history.epochs).toBe(1)
    expect(model.epochsTrained).toBe(1)
    for (let b = 0; b < 7; b++) {
      const start = (b % 5) * 10
      twin.trainOnBatch(data45.x.slice(start, start + 10), data45.y.slice(start, start + 10))
    }
    expect(weightsOf(model)).toEqual(weightsOf(twin))
    expectUsable(model, noisyVal.x)
    // And it can be trained further.
    const more = await model.fit(data45.x, data45.y, { epochs: 2, batchSize: 10 })
    expect(more.stopReason).toBe('completed')
    expect(model.epochsTrained).toBe(3)
  })

  it('aborting from onEpochEnd keeps that epoch and stops', async () => {
    const model = classifier()
    const controller = new AbortController()
    const history = await model.fit(data45.x, data45.y, {
      epochs: 5,
      signal: controller.signal,
      callbacks: [{ onEpochEnd: (epoch) => void (epoch === 1 && controller.abort()) }],
    })
    expect(history.epochs).toBe(2)
    expect(history.stopReason).toBe('aborted')
  })

  it('aborting from a timer stops within one batch', async () => {
    const train = spirals({ samples: 2000, seed: 1 })
    const model = new Sequential({ seed: 1 })
      .add(new Dense({ inputSize: 2, units: 64, activation: 'relu' }))
      .add(new Dense({ units: 2, activation: 'softmax' }))
    model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam() })
    const controller = new AbortController()
    let batches = 0
    let afterAbort = 0
    const timer = setTimeout(() => controller.abort(), 40)
    const started = performance.now()
    const history = await model.fit(train.x, train.y, {
      epochs: 1000,
      batchSize: 16,
      signal: controller.signal,
      callbacks: [{ onBatchEnd: () => void (batches++, controller.signal.aborted && afterAbort++) }],
    })
    clearTimeout(timer)
    expect(controller.signal.aborted).toBe(true)
    expect(history.stopReason).toBe('aborted')
    expect(history.epochs).toBeLessThan(1000)
    expect(afterAbort).toBeLessThanOrEqual(1)
    expect(batches).toBeGreaterThan(0)
    expect(performance.now() - started).toBeLessThan(5000)
    expectUsable(model, train.x.slice(0, 10))
  })

  it('aborting from a timer works without any callbacks', async () => {
    const train = spirals({ samples: 2000, seed: 1 })
    const model = new Sequential({ seed: 1 })
      .add(new Dense({ inputSize: 2, units: 64, activation: 'relu' }))
      .add(new Dense({ units: 2, activation: 'softmax' }))
    model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam() })
    const history = await model.fit(train.x, train.y, { epochs: 1000, batchSize: 16, signal: AbortSignal.timeout(40) })
    expect(history.stopReason).toBe('aborted')
    expect(history.epochs).toBeLessThan(1000)
    expectUsable(model, train.x.slice(0, 10))
  })

  it('an already-aborted signal trains nothing', async () => {
    const model = classifier()
    const before = weightsOf(model)
    const bytesBefore = model.toBytes()
    let batches = 0
    const history = await model.fit(data45.x, data45.y, {
      epochs: 5,
      signal: AbortSignal.abort(),
      callbacks: [{ onBatchEnd: () => void batches++ }],
    })
    expect(history.epochs).toBe(0)
    expect(history.loss).toEqual([])
    expect(history.stopReason).toBe('aborted')
    expect(batches).toBe(0)
    expect(model.epochsTrained).toBe(0)
    expect(weightsOf(model)).toEqual(before)
    expect(model.toBytes()).toEqual(bytesBefore) // optimizer state, step and PRNG untouched too
  })
})

/** Finite weights, and predictions that are probability rows (sigmoid or softmax outputs). */
function expectUsable(model: Sequential, x: number[][]): void {
  for (const w of model.getWeights()) for (const v of w.data) expect(Number.isFinite(v)).toBe(true)
  const out = model.predict(x)
  expect(out.rows).toBe(x.length)
  for (let r = 0; r < out.rows; r++) {
    const row = Array.from(out.data.subarray(r * out.cols, (r + 1) * out.cols))
    for (const v of row) expect(v >= 0 && v <= 1).toBe(true)
    if (out.cols > 1) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
  }
  expect(model.predictClasses(x)).toHaveLength(x.length)
}

// ─── event loop ─────────────────────────────────────────────────────────────────────────────

describe('event loop', () => {
  /**
   * Counts the ticks of a 5 ms interval during a fit that runs for ~300 ms whatever the
   * machine's speed (a callback stops it then; the callback itself never yields).
   */
  async function ticksDuringFit(model: Sequential, x: number[][], y: number[], batchSize: number) {
    let ticks = 0
    let running = true
    const interval = setInterval(() => void (running && ticks++), 5)
    const started = performance.now()
    const history = await model.fit(x, y, {
      epochs: 1_000_000,
      batchSize,
      callbacks: [{ onEpochEnd: () => void (performance.now() - started >= 300 && (model.stopTraining = true)) }],
    })
    const elapsed = performance.now() - started
    running = false
    clearInterval(interval)
    return { ticks, elapsed, epochs: history.epochs }
  }

  it('keeps running timers during a fit of a few long epochs', async () => {
    const train = spirals({ samples: 1000, seed: 1 })
    const model = new Sequential({ seed: 1 })
      .add(new Dense({ inputSize: 2, units: 64, activation: 'relu' }))
      .add(new Dense({ units: 64, activation: 'relu' }))
      .add(new Dense({ units: 2, activation: 'softmax' }))
    model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam() })
    const { ticks, elapsed } = await ticksDuringFit(model, train.x, train.y, 32)
    expect(elapsed).toBeGreaterThanOrEqual(300)
    // fit yields about every 8 ms; a tick per 25 ms on average leaves room for a loaded machine.
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 25))
  })

  it('keeps running timers during a fit of many short epochs', async () => {
    // Each epoch here takes far less than fit's yield interval: the interval must be measured
    // across epochs, or such a fit never lets a timer run.
    const { ticks, elapsed, epochs } = await ticksDuringFit(classifier(), data45.x, data45.y, 10)
    expect(elapsed / epochs).toBeLessThan(2) // really short epochs
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 25))
  })
})

// ─── verbose ────────────────────────────────────────────────────────────────────────────────

describe('verbose', () => {
  it('verbose 1 (or true) prints one line per epoch', async () => {
    for (const verbose of [1, true] as const) {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {})
      const history = await classifier().fit(data45.x, data45.y, { epochs: 3, batchSize: 10, verbose, validationData: [noisyVal.x, noisyVal.y] })
      const lines = log.mock.calls.map((c) => String(c[0]))
      log.mockRestore()
      expect(lines).toHaveLength(3)
      lines.forEach((line, e) => {
        expect(line).toMatch(new RegExp(`^Epoch ${e + 1}/3\\b`))
        expect(line).toContain(`loss ${history.loss[e]!.toFixed(4)}`)
        expect(line).toContain(`valAccuracy ${history.metrics.valAccuracy![e]!.toFixed(4)}`)
      })
    }
  })

  it('verbose 0, false or absent prints nothing', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    for (const verbose of [0, false, undefined] as const) {
      await classifier().fit(data45.x, data45.y, { epochs: 2, batchSize: 10, ...(verbose !== undefined && { verbose }) })
    }
    expect(log).not.toHaveBeenCalled()
  })
})

// ─── history and epochs ─────────────────────────────────────────────────────────────────────

describe('History and epochsTrained', () => {
  it('epochsTrained accumulates across fit calls; each History covers its own call', async () => {
    const model = classifier(1, 0.03)
    expect(model.epochsTrained).toBe(0)
    const first = await model.fit(data45.x, data45.y, { epochs: 3, batchSize: 10 })
    expect(model.epochsTrained).toBe(3)
    const second = await model.fit(data45.x, data45.y, { epochs: 2, batchSize: 10 })
    expect(model.epochsTrained).toBe(5)
    expect(first.epochs).toBe(3)
    expect(second.epochs).toBe(2)
    expect(second.loss).toHaveLength(2)
    expect(second.learningRate).toEqual([0.03, 0.03])
    expect(first.learningRate).toEqual([0.03, 0.03, 0.03])
    // Training continued from where it was: the second call starts below the first's start.
    expect(second.loss[0]!).toBeLessThan(first.loss[0]!)
    // Saved with the model.
    expect(Sequential.fromBytes(model.toBytes()).epochsTrained).toBe(5)
  })

  it('History has epochs, loss, valLoss, metrics, learningRate and stopReason, and serialises them', async () => {
    const model = classifier(1, 0.02)
    const history = await model.fit(data45.x, data45.y, { epochs: 4, batchSize: 16, validationSplit: 0.2 })
    expect(history.epochs).toBe(4)
    expect(history.loss).toHaveLength(4)
    expect(history.valLoss).toHaveLength(4)
    expect(history.metrics.accuracy).toHaveLength(4)
    expect(history.metrics.valAccuracy).toHaveLength(4)
    expect(history.learningRate).toEqual([0.02, 0.02, 0.02, 0.02])
    expect(history.stopReason).toBe('completed')
    for (const v of [...history.loss, ...history.valLoss]) expect(Number.isFinite(v) && v > 0).toBe(true)
    const json = JSON.parse(JSON.stringify(history))
    expect(json).toEqual({
      loss: history.loss,
      valLoss: history.valLoss,
      metrics: history.metrics,
      learningRate: history.learningRate,
      epochs: 4,
      stopReason: 'completed',
    })
  })
})

// ─── predictClasses, evaluate, summary ─────────────────────────────────────────────────────

describe('predictClasses, evaluate and summary', () => {
  it('predictClasses takes the argmax of a softmax output', () => {
    const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 3, activation: 'softmax' }))
    // z = [x₁, x₂, −x₁ − x₂]
    model.setWeights([[[1, 0, -1], [0, 1, -1]], [0, 0, 0]])
    const x = [[5, 0], [0, 5], [-5, -5], [1, 3], [3, 1]]
    expect(model.predictClasses(x)).toEqual([0, 1, 2, 1, 0])
    const p = model.predict([[1, 3]]).data
    const z = [1, 3, -4]
    const sum = z.reduce((s, v) => s + Math.exp(v), 0)
    z.forEach((v, j) => expect(p[j]).toBeCloseTo(Math.exp(v) / sum, 6))
  })

  it('predictClasses thresholds a single sigmoid output at 0.5 (exactly 0.5 is class 0)', () => {
    const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 1, activation: 'sigmoid' }))
    model.setWeights([[[1], [0]], [0]])
    expect(model.predictClasses([[2, 0], [-2, 0], [0.01, 9], [-0.01, 9], [0, 5]])).toEqual([1, 0, 1, 0, 0])
    expect(model.predict([[2, 0]]).data[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6)
  })

  it('evaluate returns the loss and each compiled metric by name (checked by hand)', () => {
    const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 1, activation: 'sigmoid' }))
    model.compile({ loss: 'binaryCrossEntropy', optimizer: new SGD(), metrics: ['accuracy', 'meanAbsoluteError', 'meanSquaredError'] })
    model.setWeights([[[1], [-1]], [0.5]])
    const x = [[1, 0], [0, 1], [2, 2], [-1, 1]]
    const y = [1, 1, 0, 0]
    const p = x.map(([a, b]) => 1 / (1 + Math.exp(-(a! - b! + 0.5))))
    const bce = p.reduce((s, q, i) => s - (y[i]! * Math.log(q) + (1 - y[i]!) * Math.log(1 - q)), 0) / 4
    const acc = p.filter((q, i) => (q > 0.5 ? 1 : 0) === y[i]).length / 4
    const mae = p.reduce((s, q, i) => s + Math.abs(q - y[i]!), 0) / 4
    const mse = p.reduce((s, q, i) => s + (q - y[i]!) ** 2, 0) / 4
    const result = model.evaluate(x, y)
    expect(Object.keys(result).sort()).toEqual(['accuracy', 'loss', 'meanAbsoluteError', 'meanSquaredError'])
    expect(result.loss).toBeCloseTo(bce, 6)
    expect(result.accuracy).toBe(acc)
    expect(acc).toBe(0.5) // the hand-made case is not trivially all right or all wrong
    expect(result.meanAbsoluteError).toBeCloseTo(mae, 6)
    expect(result.meanSquaredError).toBeCloseTo(mse, 6)
    // The result does not depend on evaluate's batch size.
    expect(model.evaluate(x, y, { batchSize: 3 }).loss).toBeCloseTo(bce, 6)
  })

  it('summary lists each layer with its output width and parameter count, and the totals', () => {
    const model = new Sequential({ seed: 1 })
      .add(new Dense({ inputSize: 4, units: 16, activation: 'relu' })) // 4·16 + 16 = 80
      .add(new BatchNormalization()) // γ, β: 32 trainable; moving mean, variance: 32 not
      .add(new Dropout({ rate: 0.5 })) // 0
      .add(new Dense({ units: 3, activation: 'softmax', useBias: false })) // 16·3 = 48
    model.compile({ loss: 'categoricalCrossEntropy', optimizer: new Adam() })
    const text = model.summary()
    const lines = text.split('\n')
    const row = (i: number) => lines.find((l) => l.startsWith(`${i} `))!
    expect(row(0)).toMatch(/^0 Dense, relu\s+\[batch, 16\]\s+80$/)
    expect(row(1)).toMatch(/^1 BatchNormalization\s+\[batch, 16\]\s+64$/)
    expect(row(2)).toMatch(/^2 Dropout, rate 0\.5\s+\[batch, 16\]\s+0$/)
    expect(row(3)).toMatch(/^3 Dense, softmax\s+\[batch, 3\]\s+48$/)
    expect(text).toContain('Total params: 192 (trainable 160, non-trainable 32)')
    expect(model.plan.paramCount).toBe(160)
    expect(model.getWeights({ trainableOnly: true }).reduce((n, w) => n + w.data.length, 0)).toBe(160)
    expect(text).toMatch(/loss: categoricalCrossEntropy; optimizer: adam/)
  })
})
