/**
 * Abuses every export of the native addon — wrong types, wrong lengths, NaN, empty, detached
 * and shared buffers, aliased outputs, huge sizes, garbage plans, buffers detached or mutated
 * while asynchronous work runs, a worker terminated mid-epoch — and checks each call gives a
 * JavaScript Error or a correct result. Run in a child process by native-no-crash.test.ts
 * (`node --expose-gc --import tsx`), so a crash is seen as a crash; prints "ok" last.
 */
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import * as addon from '../native/index.js'
import type { Network as RawNetwork, NativeTrainingData } from '../native/index.js'
import { encodePlan } from '../lib/engine/native/plan-code.js'
import { Adam, BatchNormalization, Dense, Dropout, Sequential } from '../lib/index.js'

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
let calls = 0

/** Runs `f`: it must return (checked by `check`) or throw an Error (not crash, not a non-Error). */
function attempt(what: string, f: () => unknown, check?: (result: unknown) => void): void {
  calls++
  let result: unknown
  try {
    result = f()
  } catch (error) {
    assert.ok(error instanceof Error, `${what}: threw a non-Error ${String(error)}`)
    assert.ok(error.message.length > 0, `${what}: an error without a message`)
    assert.ok(!/internal error/.test(error.message), `${what}: a Rust panic: ${error.message}`)
    return
  }
  check?.(result)
}

function expectError(what: string, f: () => unknown, kind: ErrorConstructor, pattern?: RegExp): void {
  calls++
  try {
    f()
  } catch (error) {
    assert.ok(error instanceof kind, `${what}: expected ${kind.name}, got ${String(error)}`)
    if (pattern) assert.match((error as Error).message, pattern, what)
    return
  }
  assert.fail(`${what}: expected a ${kind.name}`)
}

const f32 = (...v: number[]) => Float32Array.from(v)
const detached = (n = 4): Float32Array => {
  const a = new Float32Array(n)
  structuredClone(a, { transfer: [a.buffer] })
  return a
}
/** Values of every wrong kind, made fresh for each use. */
const badValues = (): [string, unknown][] => [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['a string', 'relu'],
  ['1.5', 1.5],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-1', -1],
  ['2^31', 2 ** 31],
  ['2^53', 2 ** 53],
  ['an object', { length: 4 }],
  ['an array', [1, 2, 3, 4]],
  ['a symbol', Symbol('x')],
  ['a bigint', 10n],
  ['a function', () => 1],
  ['a Float64Array', new Float64Array(6)],
  ['a Uint8Array', new Uint8Array(24)],
  ['a Buffer', Buffer.alloc(24)],
  ['an empty Float32Array', new Float32Array(0)],
  ['a detached Float32Array', detached(6)],
  ['a Float32Array over a SharedArrayBuffer', new Float32Array(new SharedArrayBuffer(24))],
  ['a DataView', new DataView(new ArrayBuffer(24))],
  ['a Uint32Array', new Uint32Array(4)],
]

/** Calls `f` with each argument replaced by each bad value in turn. */
function fuzzArguments(name: string, valid: () => unknown[], f: (...args: unknown[]) => unknown): void {
  const n = valid().length
  for (let i = 0; i < n; i++) {
    for (const [label, value] of badValues()) {
      const args = valid()
      args[i] = value
      attempt(`${name} with argument ${i} = ${label}`, () => f(...args))
    }
  }
  // Too few and too many arguments.
  attempt(`${name}()`, () => f())
  attempt(`${name} with extra arguments`, () => f(...valid(), 1, 2, 3, 4, 5))
}

// ─── the export list ────────────────────────────────────────────────────────────────────────

assert.deepEqual(Object.keys(addon.info()).sort().filter((k) => !k.endsWith('Problem')), ['gemmIsa', 'isa', 'threads', 'version'])

// ─── kernels ────────────────────────────────────────────────────────────────────────────────

function refMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, ta = false, tb = false): number[] {
  const out: number[] = []
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!)
      out.push(s)
    }
  }
  return out
}
const near = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  assert.equal(got.length, want.length, what)
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`)
}

fuzzArguments('matmul', () => [f32(1, 2, 3, 4, 5, 6), f32(1, 0, 0, 1, 1, 1), 2, 3, 2, undefined], addon.matmul as never)
fuzzArguments('matmul options', () => [{ transA: false, transB: false, out: new Float32Array(4), accumulate: false }], (o) => addon.matmul(f32(1, 2, 3, 4, 5, 6), f32(1, 0, 0, 1, 1, 1), 2, 3, 2, o as never))
for (const key of ['transA', 'transB', 'out', 'accumulate']) {
  for (const [label, value] of badValues()) attempt(`matmul options.${key} = ${label}`, () => addon.matmul(f32(1, 2, 3, 4), f32(1, 2, 3, 4), 2, 2, 2, { [key]: value }))
}
// Correct results, every transposition, accumulate.
{
  const a = f32(1, 2, 3, 4, 5, 6)
  const b = f32(7, 8, 9, 10, 11, 12)
  near(addon.matmul(a, b, 2, 3, 2), refMatmul(a, b, 2, 3, 2), 'matmul')
  near(addon.matmul(a, b, 3, 2, 3, { transA: true }), refMatmul(a, b, 3, 2, 3, true), 'matmul transA')
  near(addon.matmul(a, b, 2, 3, 2, { transB: true }), refMatmul(a, b, 2, 3, 2, false, true).slice(0, 4), 'matmul transB (2×3 · (2×3)ᵀ)')
  const out = f32(1, 1, 1, 1)
  addon.matmul(a, b, 2, 3, 2, { out, accumulate: true })
  near(out, refMatmul(a, b, 2, 3, 2).map((v) => v + 1), 'matmul accumulate')
  near(addon.matmul(new Float32Array(0), new Float32Array(0), 2, 0, 3), [0, 0, 0, 0, 0, 0], 'matmul k = 0')
  assert.equal(addon.matmul(new Float32Array(0), new Float32Array(0), 0, 0, 0).length, 0)
}
// Aliasing: the output is an input, or overlaps one in the same buffer.
{
  const m = f32(1, 2, 3, 4)
  const want = refMatmul(m, m, 2, 2, 2)
  const same = f32(1, 2, 3, 4)
  assert.equal(addon.matmul(same, same, 2, 2, 2, { out: same }), same)
  near(same, want, 'matmul out = a = b')
  const acc = f32(1, 2, 3, 4)
  addon.matmul(acc, acc, 2, 2, 2, { out: acc, accumulate: true })
  near(acc, want.map((v, i) => v + m[i]!), 'matmul out = a = b, accumulate')
  const buffer = f32(1, 2, 3, 4, 5, 6, 7, 8)
  const a = buffer.subarray(0, 4)
  const expected = refMatmul(a, f32(1, 0, 0, 1), 2, 2, 2)
  addon.matmul(a, f32(1, 0, 0, 1), 2, 2, 2, { out: buffer.subarray(2, 6) })
  near(buffer.subarray(2, 6), expected, 'matmul out overlapping a')
}
// Huge sizes: refused before any allocation.
expectError('matmul 2³¹−1 × 0 × 2³¹−1', () => addon.matmul(new Float32Array(0), new Float32Array(0), 2 ** 31 - 1, 0, 2 ** 31 - 1), RangeError)
expectError('matmul huge k', () => addon.matmul(f32(1), f32(1), 2 ** 31 - 1, 2 ** 31 - 1, 1), RangeError, /a has 1 values/)
expectError('matmul with a Float64Array', () => addon.matmul(new Float64Array(4) as never, f32(1, 2, 3, 4), 2, 2, 2), TypeError, /a must be a Float32Array, got a Float64Array/)
expectError('matmul with a detached array', () => addon.matmul(detached(4), f32(1, 2, 3, 4), 2, 2, 2), TypeError, /a is a Float32Array whose ArrayBuffer is detached/)
expectError('matmul with NaN m', () => addon.matmul(f32(1), f32(1), NaN, 1, 1), RangeError, /m must be an integer/)
// A getter that detaches an input while options are read: inputs are read after options.
{
  const a = f32(1, 2, 3, 4)
  const options = {
    get transA() {
      structuredClone(a, { transfer: [a.buffer] })
      return false
    },
  }
  expectError('matmul whose options getter detaches a', () => addon.matmul(a, f32(1, 2, 3, 4), 2, 2, 2, options), TypeError, /detached/)
}

fuzzArguments('denseForward', () => [f32(1, 2, 3, 4, 5, 6), f32(1, 2, 3, 4, 5, 6), f32(0.5, -0.5), 2, 3, 2, 'relu', undefined, undefined], addon.denseForward as never)
fuzzArguments('denseBackward', () => [f32(1, 2, 3, 4, 5, 6), f32(1, 2, 3, 4, 5, 6), f32(0.1, 0.2, 0.3, 0.4), f32(1, 1, 1, 1), 2, 3, 2, 'tanh', undefined], addon.denseBackward as never)
fuzzArguments('activationForward', () => ['softmax', f32(1, 2, 3, 4, 5, 6), 3, undefined], addon.activationForward as never)
fuzzArguments('activationBackward', () => ['leakyRelu', f32(1, -2, 3, -4, 5, 6), f32(1, 1, 1, 1, 1, 1), 3, 0.1], addon.activationBackward as never)
expectError('an unknown activation', () => addon.activationForward('gelu' as never, f32(1), 1), RangeError, /name must be one of 'linear'/)
expectError('a negative alpha', () => addon.activationForward('leakyRelu', f32(1), 1, -1), RangeError, /alpha/)
expectError('rows of the wrong width', () => addon.activationForward('softmax', f32(1, 2, 3), 2), RangeError, /whole number of rows/)
{
  // Dense forward against a reference, and with out aliasing x.
  const x = f32(1, -2, 3, -4, 5, -6)
  const w = f32(0.5, -1, 0.25, 2, -0.75, 1)
  const b = f32(0.1, -0.2)
  const z = refMatmul(x, w, 2, 3, 2).map((v, i) => v + b[i % 2]!)
  near(addon.denseForward(x, w, b, 2, 3, 2, 'linear'), z, 'denseForward linear')
  near(addon.denseForward(x, w, b, 2, 3, 2, 'relu'), z.map((v) => Math.max(v, 0)), 'denseForward relu')
  near(addon.denseForward(x, w, null, 2, 3, 2, 'leakyRelu', 0.1), refMatmul(x, w, 2, 3, 2).map((v) => (v < 0 ? 0.1 * v : v)), 'denseForward leakyRelu, no bias')
  const shared = f32(1, -2, 3, -4, 5, -6)
  addon.denseForward(shared, w, b, 2, 3, 2, 'linear', undefined, shared.subarray(0, 4))
  near(shared.subarray(0, 4), z, 'denseForward out overlapping x')
  const { dX, dW, db } = addon.denseBackward(x, w, null, f32(1, 2, 3, 4), 2, 3, 2, 'linear')
  near(dW, refMatmul(x, f32(1, 2, 3, 4), 3, 2, 2, true), 'denseBackward dW')
  near(db, [4, 6], 'denseBackward db')
  near(dX, refMatmul(f32(1, 2, 3, 4), w, 2, 2, 3, false, true), 'denseBackward dX')
  expectError('denseBackward without a for tanh', () => addon.denseBackward(x, w, null, f32(1, 2, 3, 4), 2, 3, 2, 'tanh'), TypeError, /a \(the layer's output\)/)
  // Activation backward with a and grad the same array.
  const a = f32(0.5, -0.5, 2, 0)
  const want = Array.from(a, (v) => v * (v > 0 ? 1 : 0.2))
  addon.activationBackward('leakyRelu', a, a, 2)
  near(a, want, 'activationBackward a = grad')
}

// ─── the Network class ──────────────────────────────────────────────────────────────────────

function compiled(): Sequential {
  const model = new Sequential({ seed: 3, backend: 'js' })
    .add(new Dense({ inputSize: 3, units: 8, activation: 'relu' }))
    .add(new BatchNormalization())
    .add(new Dropout({ rate: 0.25 }))
    .add(new Dense({ units: 4, activation: 'softmax' }))
  model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] })
  return model
}
const model = compiled()
const plan = model.plan
const code = encodePlan(plan)
// The schema's round trip: every abuse of its one argument, and every value of a real code set
// to NaN, ±Infinity or a huge number is an error or a valid plan, never a crash.
fuzzArguments('planRoundTrip', () => [code.slice()], addon.planRoundTrip as never)
for (let i = 0; i < code.length; i++) {
  for (const v of [NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31)]) {
    const bad = code.slice()
    bad[i] = v
    attempt(`planRoundTrip with value ${i} = ${v}`, () => addon.planRoundTrip(bad))
  }
}
const state = model.network.readState()
const newNetwork = (): RawNetwork => new addon.Network(code, state.params, state.stats, state.slots, state.step, state.rng)
const rows = 40
const X = Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 1.3))
const Y = Float32Array.from({ length: rows }, (_, i) => i % 4)

fuzzArguments('new Network', () => [code, state.params, state.stats, state.slots, 0, state.rng], (...args) => new (addon.Network as unknown as new (...a: unknown[]) => unknown)(...args))
expectError('Network without new', () => (addon.Network as unknown as () => void)(), TypeError, /without 'new'/)
expectError('a method on a foreign object', () => addon.Network.prototype.readState.call({}), TypeError)
expectError('a Network with the wrong params length', () => new addon.Network(code, new Float32Array(3), state.stats, state.slots, 0, state.rng), RangeError, /params has 3 values/)

// Garbage plan codes: every position of a valid code replaced by odd values, and random codes.
{
  const odd = [NaN, -1, -2, 0, 0.5, 1e9, 2 ** 31, -Infinity, Infinity, 3, 7, 1e-300]
  for (let i = 0; i < code.length; i++) {
    for (const v of odd) {
      const bad = Float64Array.from(code)
      bad[i] = v
      attempt(`plan code [${i}] = ${v}`, () => {
        const net = new addon.Network(bad, state.params, state.stats, state.slots, 0, state.rng)
        // It decoded (the value was acceptable there): the network must then work or refuse.
        attempt('train the odd plan', () => net.trainBatch(X.subarray(0, 30), Y.subarray(0, 10), 10, 0.01))
        attempt('predict with the odd plan', () => net.predict(X.subarray(0, 30), 10, 4))
      })
    }
  }
  let seed = 1
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
  for (let trial = 0; trial < 300; trial++) {
    const garbage = Float64Array.from({ length: Math.floor(random() * 60) }, () => (random() < 0.5 ? Math.floor(random() * 8) - 1 : (random() - 0.5) * 1e6))
    garbage[0] = 1
    attempt(`random plan code ${trial}`, () => new addon.Network(garbage, new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, new Uint32Array(4)))
  }
  // A plan whose layers need enormous working memory for a batch.
  const wide = Float64Array.from([1, 2 ** 30, 2 ** 30, 0, 0, -1, 0, 1, -1, 0, 0, 0, 0, 0, NaN, NaN, 3, 2 ** 30, 2 ** 30, 0, 0, 0, 0, 0, 0, 0, 0])
  attempt('a plan 2³⁰ wide', () => {
    const net = new addon.Network(wide, new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, new Uint32Array(4))
    expectError('predict through a 2³⁰-wide plan', () => net.predict(new Float32Array(2 ** 30 * 4), 4, 4), RangeError)
  })
}

{
  const net = newNetwork()
  const ds = net.createTrainingData(X, Y, rows)
  fuzzArguments('readState', () => [], (...a) => net.readState(...(a as [])))
  fuzzArguments('writeState', () => [{ params: state.params, step: 3 }], (s) => net.writeState(s as never))
  for (const key of ['params', 'stats', 'slots', 'step', 'rng']) {
    for (const [label, value] of badValues()) attempt(`writeState ${key} = ${label}`, () => net.writeState({ [key]: value }))
  }
  // A rejected writeState changes nothing (all parts are checked first).
  const before = net.readState()
  expectError('writeState with one bad part', () => net.writeState({ params: new Float32Array(state.params.length).fill(9), rng: new Uint32Array(3) }), RangeError)
  assert.deepEqual(net.readState(), before)
  fuzzArguments('createTrainingData', () => [X, Y, rows], (...a) => net.createTrainingData(...(a as [Float32Array, Float32Array, number])))
  // With sample weights: the optional fourth argument gets every bad value too.
  fuzzArguments('createTrainingData with weights', () => [X, Y, rows, new Float32Array(rows).fill(1)], (...a) => net.createTrainingData(...(a as [Float32Array, Float32Array, number, Float32Array])))
  expectError('a negative sample weight', () => net.createTrainingData(X, Y, rows, new Float32Array(rows).fill(-1)), RangeError, /sample weight -1/)
  expectError('class index out of range', () => net.createTrainingData(f32(1, 2, 3), f32(4), 1), RangeError, /class index 4/)
  expectError('class index NaN', () => net.createTrainingData(f32(1, 2, 3), f32(NaN), 1), RangeError, /class index NaN/)
  fuzzArguments('refreshTrainingData', () => [ds, X, Y], (...a) => net.refreshTrainingData(...(a as [NativeTrainingData, Float32Array, Float32Array])))
  const order = Uint32Array.of(5, 0, 39, 5)
  fuzzArguments('gatherTrainingData', () => [net.createTrainingData(X, Y, rows), X, Y, null, order], (...a) => net.gatherTrainingData(...(a as [NativeTrainingData, Float32Array, Float32Array, null, Uint32Array])))
  {
    // Each rejected gather names what is wrong; one whose rows fail the check leaves the data empty.
    const into = net.createTrainingData(X, Y, rows)
    expectError('gather a row past the end', () => net.gatherTrainingData(into, X, Y, null, Uint32Array.of(1, 40)), RangeError, /order\[1\] is 40, but x has 40 rows/)
    expectError('gather from x of part of a row', () => net.gatherTrainingData(into, X.subarray(1), Y, null, order), RangeError, /x has 119 values, not whole rows of 3 inputs/)
    expectError('gather with y of another length', () => net.gatherTrainingData(into, X, Y.subarray(1), null, order), RangeError, /y has 39 values, expected 1 per row of x = 40/)
    expectError('gather with weights of another length', () => net.gatherTrainingData(into, X, Y, new Float32Array(3), order), RangeError, /sampleWeight has 3 values/)
    expectError('gather a negative weight', () => net.gatherTrainingData(into, X, Y, new Float32Array(rows).fill(-2), order), RangeError, /sample weight -2/)
    assert.equal(net.evaluate(into, 8).loss, 0, 'a failed gather leaves no rows')
    // The gathered rows are exactly those rows, in that order: the same results as a copy of them.
    const picked = Array.from(order)
    const copy = net.createTrainingData(Float32Array.from(picked.flatMap((r) => Array.from(X.subarray(r * 3, r * 3 + 3)))), Float32Array.from(picked.map((r) => Y[r]!)), picked.length)
    net.gatherTrainingData(into, X, Y, null, order)
    assert.deepEqual(net.evaluate(into, 8), net.evaluate(copy, 8))
  }
  fuzzArguments('trainBatch', () => [X.subarray(0, 30), Y.subarray(0, 10), 10, 0.01], (...a) => net.trainBatch(...(a as [Float32Array, Float32Array, number, number])))
  fuzzArguments('trainBatch with weights', () => [X.subarray(0, 30), Y.subarray(0, 10), 10, 0.01, new Float32Array(10).fill(2)], (...a) => net.trainBatch(...(a as [Float32Array, Float32Array, number, number, Float32Array])))
  expectError('trainBatch with a bad label', () => net.trainBatch(f32(1, 2, 3), f32(-1), 1, 0.1), RangeError, /class index -1/)
  fuzzArguments('trainEpoch', () => [ds, 8, true, 0.01, undefined], (...a) => net.trainEpoch(...(a as [NativeTrainingData, number, boolean, number])))
  fuzzArguments('evaluate', () => [ds, 8], (...a) => net.evaluate(...(a as [NativeTrainingData, number])))
  fuzzArguments('predict', () => [X, rows, 8], (...a) => net.predict(...(a as [Float32Array, number, number])))
  fuzzArguments('computeGradients', () => [X, Y, rows], (...a) => net.computeGradients(...(a as [Float32Array, Float32Array, number])))
  fuzzArguments('setThreads', () => [1], (...a) => net.setThreads(...(a as [number])))
  fuzzArguments('computeGradients with weights', () => [X, Y, rows, new Float32Array(rows).fill(0.5)], (...a) => net.computeGradients(...(a as [Float32Array, Float32Array, number, Float32Array])))
  fuzzArguments('cancel', () => [], () => net.cancel())
  expectError('a dataset of another network', () => newNetwork().evaluate(ds, 8), TypeError, /another network/)
  expectError('a network as a dataset', () => net.evaluate(net as never, 8), TypeError, /must be a TrainingData/)
  expectError('a plain object as a dataset', () => net.evaluate({ rows: 3 } as never, 8), TypeError, /must be a TrainingData/)
  // Every valid call still gives sensible results after all that.
  const result = net.trainEpoch(ds, 8, true, 0.01)
  assert.equal(result.samples, rows, JSON.stringify(result) + JSON.stringify(net.readState()))
  assert.ok(Number.isFinite(result.loss))
  assert.equal(net.predict(X, rows, 7).length, rows * 4)
  // Empty inputs.
  assert.equal(net.predict(new Float32Array(0), 0, 8).length, 0)
  const empty = net.createTrainingData(new Float32Array(0), new Float32Array(0), 0)
  assert.equal(net.trainEpoch(empty, 4, true, 0.01).batches, 0)
}

// Callbacks: a throwing callback stops the epoch and its exception comes out; the network stays usable.
{
  const net = newNetwork()
  const ds = net.createTrainingData(X, Y, rows)
  expectError('a throwing onBatch', () => net.trainEpoch(ds, 8, false, 0.01, () => {
    throw new TypeError('from the callback')
  }), TypeError, /from the callback/)
  assert.equal(net.trainEpoch(ds, 8, false, 0.01, (b) => b === 1).batches, 2)
  // The callback may use the network between batches (as in the JS engine) …
  let seen = 0
  net.trainEpoch(ds, 8, false, 0.01, () => void (seen += net.readState().params.length))
  assert.equal(seen, 5 * state.params.length)
  // … even train it, or dispose of it (the epoch then ends).
  net.trainEpoch(ds, 8, false, 0.01, () => void net.trainBatch(X.subarray(0, 3), Y.subarray(0, 1), 1, 0.01))
  attempt('dispose from the callback', () => net.trainEpoch(ds, 8, false, 0.01, () => net.dispose()))
  expectError('use after dispose', () => net.readState(), Error, /disposed/)
  net.dispose()
  net.cancel()
}

async function asyncAbuse(): Promise<void> {
  // The data is copied when the dataset is made: detaching, transferring or changing the
  // arrays while the epoch runs changes nothing; the result equals a synchronous twin's.
  const twin = newNetwork()
  const expected = twin.trainEpoch(twin.createTrainingData(X, Y, rows), 4, true, 0.01)
  const net = newNetwork()
  const x = Float32Array.from(X)
  const y = Float32Array.from(Y)
  let ds: NativeTrainingData | null = net.createTrainingData(x, y, rows)
  const promise = net.trainEpochAsync(ds, 4, true, 0.01)
  structuredClone(x, { transfer: [x.buffer] })
  y.fill(1e30)
  ds = null
  gc()
  // Busy while it runs.
  for (const [name, f] of [
    ['readState', () => net.readState()],
    ['writeState', () => net.writeState({ step: 1 })],
    ['trainBatch', () => net.trainBatch(X.subarray(0, 3), Y.subarray(0, 1), 1, 0.1)],
    ['predict', () => net.predict(X, rows, 8)],
    ['computeGradients', () => net.computeGradients(X, Y, rows)],
    ['another trainEpochAsync', () => net.trainEpochAsync(net.createTrainingData(X, Y, rows), 4, true, 0.01)],
    ['predictAsync', () => net.predictAsync(X, rows, 8)],
  ] as const) {
    calls++
    try {
      f()
      assert.fail(`${name} during trainEpochAsync should be busy`)
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'ERR_BACKPROP_BUSY', `${name}: ${String(error)}`)
    }
  }
  const result = await promise
  assert.deepEqual(result, expected)
  assert.deepEqual(net.readState(), twin.readState())
  {
    // The data an epoch is training on cannot be gathered into; other data can, while it runs.
    const used = net.createTrainingData(X, Y, rows)
    const running = net.trainEpochAsync(used, 4, true, 0.01)
    const other = net.createTrainingData(X, Y, rows)
    net.gatherTrainingData(other, X, Y, null, Uint32Array.of(0, 1))
    calls++
    try {
      net.gatherTrainingData(used, X, Y, null, Uint32Array.of(0, 1))
      assert.fail('gathering into data an epoch is training on should be busy')
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'ERR_BACKPROP_BUSY', String(error))
    }
    await running
  }

  // predictAsync reads a copy of x.
  const px = Float32Array.from(X)
  const wanted = net.predict(X, rows, 8)
  const pending = net.predictAsync(px, rows, 8)
  structuredClone(px, { transfer: [px.buffer] })
  assert.deepEqual(await pending, wanted)

  // Dropping every reference to the network during the epoch: the work keeps what it needs.
  {
    let orphan: RawNetwork | null = newNetwork()
    const p = orphan.trainEpochAsync(orphan.createTrainingData(X, Y, rows), 2, true, 0.01)
    orphan = null
    gc()
    assert.equal((await p).samples, rows)
  }

  // A throwing callback rejects the promise with its error; lockstep and notification modes.
  for (const lockstep of [false, true]) {
    const n = newNetwork()
    await assert.rejects(
      n.trainEpochAsync(n.createTrainingData(X, Y, rows), 4, true, 0.01, () => {
        throw new RangeError('from onBatch')
      }, lockstep),
      /from onBatch/,
    )
    assert.equal(n.readState().params.length, state.params.length)
  }
  // Lockstep callbacks run between batches: cancel() from one stops right after that batch,
  // and the network can be read from it.
  {
    const n = newNetwork()
    let reads = 0
    const r = await n.trainEpochAsync(n.createTrainingData(X, Y, rows), 4, false, 0.01, (batch) => {
      reads += n.readState().step
      if (batch === 2) n.cancel()
    }, true)
    assert.equal(r.batches, 3)
    assert.equal(r.stopped, true)
    assert.equal(reads, 1 + 2 + 3)
    // dispose from a lockstep callback: the epoch ends, later use throws.
    await n.trainEpochAsync(n.createTrainingData(X, Y, rows), 4, false, 0.01, () => n.dispose(), true).catch(() => {})
    expectError('use after dispose during an epoch', () => n.predict(X, rows, 4), Error, /disposed/)
  }
  // cancel() while the epoch runs, and dispose() while it runs.
  {
    const big = 200_000
    const bx = new Float32Array(big * 3).map((_, i) => Math.cos(i))
    const by = new Float32Array(big).map((_, i) => i % 4)
    const n = newNetwork()
    const p = n.trainEpochAsync(n.createTrainingData(bx, by, big), 1, true, 0.01)
    setImmediate(() => n.cancel())
    const r = await p
    assert.ok(r.stopped && r.batches < big, `cancel stopped after ${r.batches} batches`)
    const d = newNetwork()
    const q = d.trainEpochAsync(d.createTrainingData(bx, by, big), 1, true, 0.01)
    d.dispose()
    await q.then(
      (res) => assert.ok(res.stopped),
      (e) => assert.match(String(e), /disposed/),
    )
    expectError('use after dispose', () => d.readState(), Error, /disposed/)
  }
  // Many concurrent networks training at once on the pool.
  const many = Array.from({ length: 8 }, () => newNetwork())
  const results = await Promise.all(many.map((n) => n.trainEpochAsync(n.createTrainingData(X, Y, rows), 4, true, 0.01, () => {}, false)))
  for (const r of results) assert.deepEqual(r, results[0])
}

/** A worker trains with lockstep callbacks and is terminated mid-epoch. */
async function terminatedWorker(): Promise<void> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    import(workerData.loader).then(async (addon) => {
      const { code, params, stats, slots, rng } = workerData
      const net = new addon.Network(code, params, stats, slots, 0, rng)
      const n = 20000
      const x = new Float32Array(n * 3).map((_, i) => Math.sin(i))
      const y = new Float32Array(n).map((_, i) => i % 4)
      let told = false
      const forever = async () => {
        for (;;) await net.trainEpochAsync(net.createTrainingData(x, y, n), 1, true, 0.01, () => { if (!told) { told = true; parentPort.postMessage('training') } }, true)
      }
      forever()
      const other = new addon.Network(code, params, stats, slots, 0, rng)
      for (;;) await other.trainEpochAsync(other.createTrainingData(x, y, n), 2, true, 0.01, () => {}, false)
    })
  `
  const worker = new Worker(source, {
    eval: true,
    workerData: { loader: new URL('../native/index.js', import.meta.url).href, code, params: state.params, stats: state.stats, slots: state.slots, rng: state.rng },
  })
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve())
    worker.once('error', reject)
  })
  await new Promise((r) => setTimeout(r, 30))
  await worker.terminate()
}

await asyncAbuse()
await terminatedWorker()
await terminatedWorker()
gc()
console.log(`${calls} calls`)
console.log('ok')
