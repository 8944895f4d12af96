/**
 * Asynchronous native training runs off the main thread: timers keep firing while an epoch
 * trains, an AbortSignal stops training within one batch, and the model is left consistent and
 * usable. While the epoch runs, other uses of the network are refused with a clear error.
 */
import { describe, expect, it } from 'vitest'
import { Adam, Dense, Sequential, backendInfo, spirals } from '../lib/index.js'

const available = backendInfo().nativeAvailable

/** A model and data big enough that an epoch takes a while (hundreds of milliseconds). */
function setup(samples: number) {
  const data = spirals({ samples, classes: 3, seed: 4 })
  const model = new Sequential({ seed: 2, backend: 'native' })
    .add(new Dense({ inputSize: 2, units: 256, activation: 'relu' }))
    .add(new Dense({ units: 256, activation: 'relu' }))
    .add(new Dense({ units: 3, activation: 'softmax' }))
  model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.001 }), metrics: ['accuracy'] })
  return { model, data }
}

function expectUsable(model: Sequential, x: number[][], y: number[]): void {
  const state = model.network.readState()
  expect(state.params.every(Number.isFinite)).toBe(true)
  expect(state.slots.every(Number.isFinite)).toBe(true)
  const p = model.predict(x.slice(0, 20))
  expect(p.rows).toBe(20)
  expect(Array.from(p.data).every((v) => v >= 0 && v <= 1)).toBe(true)
  expect(Number.isFinite(model.evaluate(x, y).loss)).toBe(true)
  expect(Number.isFinite(model.trainOnBatch(x.slice(0, 8), y.slice(0, 8)).loss)).toBe(true)
  const twin = Sequential.fromBytes(model.toBytes(), { backend: 'native' })
  expect(twin.network.readState()).toEqual(model.network.readState())
}

describe.skipIf(!available)('asynchronous native training', () => {
  it('keeps the event loop running: a 5 ms interval keeps firing during an epoch', async () => {
    // Size the epoch to this machine: one that takes at least ~300 ms, whatever its speed.
    const probe = setup(10_000)
    const probeStart = performance.now()
    await probe.model.fit(probe.data.x, probe.data.y, { epochs: 1, batchSize: 64 })
    const perSample = (performance.now() - probeStart) / 10_000
    const { model, data } = setup(Math.min(400_000, Math.ceil(300 / perSample / 10_000) * 10_000))
    const ticks: number[] = []
    const timer = setInterval(() => ticks.push(performance.now()), 5)
    const started = performance.now()
    await model.fit(data.x, data.y, { epochs: 1, batchSize: 64 })
    const elapsed = performance.now() - started
    clearInterval(timer)
    expect(elapsed).toBeGreaterThan(100) // long enough to mean something
    // Most 5 ms slots saw a tick (a loaded CI machine delays some), and no gap is long.
    expect(ticks.length).toBeGreaterThan(elapsed / 5 / 4)
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!)
    expect(Math.max(...gaps)).toBeLessThan(Math.max(100, elapsed / 4))
  })

  it('refuses other uses of the network while the epoch runs, with a clear error', async () => {
    const { model, data } = setup(10_000)
    const fit = model.fit(data.x, data.y, { epochs: 1, batchSize: 32 })
    await new Promise((r) => setTimeout(r, 5))
    let error: unknown = null
    try {
      model.predict(data.x.slice(0, 4))
    } catch (e) {
      error = e
    }
    await fit
    if (error !== null) {
      // (The epoch may already have finished on a fast machine; then predict just worked.)
      expect((error as { code?: string }).code).toBe('ERR_BACKPROP_BUSY')
      expect((error as Error).message).toMatch(/^busy: training is running/)
    }
    expectUsable(model, data.x, data.y)
  })

  it('stops within one batch when the signal aborts (no callbacks: the pool thread checks between batches)', async () => {
    const { model, data } = setup(20_000)
    // One batch of 4000 samples: time it, then abort 3 batches into a long fit.
    const batchSize = 4000
    const t0 = performance.now()
    model.trainOnBatch(data.x.slice(0, batchSize), data.y.slice(0, batchSize))
    const batchMs = performance.now() - t0
    const stepBefore = model.network.readState().step
    const controller = new AbortController()
    let abortedAt = 0
    setTimeout(() => {
      abortedAt = performance.now()
      controller.abort()
    }, 3 * batchMs)
    const history = await model.fit(data.x, data.y, { epochs: 100, batchSize, signal: controller.signal })
    const stoppedAfter = performance.now() - abortedAt
    expect(history.stopReason).toBe('aborted')
    expect(history.epochs).toBeLessThan(100)
    // The batch running at the abort finishes, and nothing after it starts.
    expect(stoppedAfter).toBeLessThan(2 * batchMs + 100)
    const steps = model.network.readState().step - stepBefore
    expect(steps).toBeGreaterThan(0)
    expect(steps).toBeLessThan(5 * 10)
    expectUsable(model, data.x, data.y)
  })

  it('stops right after the batch whose callback aborts (callbacks run between batches)', async () => {
    const { model, data } = setup(3000)
    const controller = new AbortController()
    let batches = 0
    let afterAbort = 0
    const history = await model.fit(data.x, data.y, {
      epochs: 10,
      batchSize: 50,
      signal: controller.signal,
      callbacks: [
        {
          onBatchEnd: () => {
            batches++
            if (controller.signal.aborted) afterAbort++
            if (batches === 17) controller.abort()
          },
        },
      ],
    })
    expect(history.stopReason).toBe('aborted')
    expect(batches).toBe(17)
    expect(afterAbort).toBe(0)
    expect(model.network.readState().step).toBe(17)
    expectUsable(model, data.x, data.y)
  })

  it('lets batch callbacks read the model between batches, as the JS engine does', async () => {
    const { model, data } = setup(600)
    const steps: number[] = []
    await model.fit(data.x, data.y, {
      epochs: 2,
      batchSize: 100,
      callbacks: [{ onBatchEnd: () => void steps.push(model.network.readState().step) }],
    })
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  })
})
