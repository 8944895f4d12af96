/**
 * Every error path of the public API: the error's class, and a message that names the
 * argument, says what was expected and shows what was given. Each check on a compiled,
 * partly-trained model also proves the error lost nothing: the model's bytes (weights,
 * statistics, optimizer state, step, PRNG) and its predictions are exactly as before.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  Activation,
  AdaGrad,
  Adam,
  AdamW,
  BatchNormalization,
  Dense,
  Dropout,
  Matrix,
  BackendUnavailableError,
  ModelFileError,
  ModelStateError,
  NotCompiledError,
  RMSProp,
  SGD,
  Sequential,
  ShapeError,
  backendInfo,
  earlyStopping,
  l1l2,
  l2,
  type LossName,
  type MetricName,
} from '../lib/index.js'

type ErrorClass = new (...args: any[]) => Error

/** The error `run` throws or rejects with (null if none). */
async function caught(run: () => unknown): Promise<Error | null> {
  try {
    await run()
  } catch (error) {
    return error as Error
  }
  return null
}

function caughtSync(run: () => unknown): Error | null {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  return null
}

/** The stable `code` of each of the library's error classes (written out, so a rename shows). */
const CODES: Record<string, string> = {
  ShapeError: 'ERR_BACKPROP_SHAPE',
  NotCompiledError: 'ERR_BACKPROP_NOT_COMPILED',
  TrainingDivergedError: 'ERR_BACKPROP_DIVERGED',
  ModelFileError: 'ERR_BACKPROP_MODEL_FILE',
  DataFileError: 'ERR_BACKPROP_DATA_FILE',
  ModelStateError: 'ERR_BACKPROP_MODEL_STATE',
  BackendUnavailableError: 'ERR_BACKPROP_BACKEND_UNAVAILABLE',
}

/**
 * The error is exactly `cls` (not merely a subclass or superclass: a ShapeError is not accepted
 * where a TypeError is due), carries its class's stable code, and its message matches every
 * pattern: typically the argument's name, what was expected and what was given.
 */
function check(error: Error | null, cls: ErrorClass, patterns: (string | RegExp)[]): void {
  expect(error, 'expected an error').not.toBeNull()
  expect(error).toBeInstanceOf(cls)
  expect(error!.name).toBe(cls.name)
  expect((error as { code?: unknown }).code).toBe(CODES[cls.name])
  for (const p of patterns) expect(error!.message).toMatch(p)
}

const expectThrows = (run: () => unknown, cls: ErrorClass, ...patterns: (string | RegExp)[]) =>
  check(caughtSync(run), cls, patterns)

// ---------------------------------------------------------------------------------------------
// Fixtures: one small compiled, partly-trained model per kind of target.

const X = [
  [0.1, 0.2, 0.3],
  [0.4, -0.5, 0.6],
  [-0.7, 0.8, 0.9],
  [1.0, 1.1, -1.2],
  [0.3, 0.1, 0.2],
  [-0.2, 0.5, 0.4],
]
const LABELS = [0, 1, 2, 0, 1, 2]
const ONE_HOT = LABELS.map((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)))
const BINARY = [0, 1, 1, 0, 1, 0]
const REAL = X.map((r) => [r[0]! + r[1]!, r[2]! * 2])

type Kind = 'sparse' | 'categorical' | 'binary' | 'regression'
const KINDS: Record<Kind, { outputs: number; activation: 'softmax' | 'sigmoid' | 'linear'; loss: LossName; metric: MetricName; y: unknown }> = {
  sparse: { outputs: 3, activation: 'softmax', loss: 'sparseCategoricalCrossEntropy', metric: 'accuracy', y: LABELS },
  categorical: { outputs: 3, activation: 'softmax', loss: 'categoricalCrossEntropy', metric: 'accuracy', y: ONE_HOT },
  binary: { outputs: 1, activation: 'sigmoid', loss: 'binaryCrossEntropy', metric: 'accuracy', y: BINARY },
  regression: { outputs: 2, activation: 'linear', loss: 'meanSquaredError', metric: 'meanAbsoluteError', y: REAL },
}

/** Dense → BN → Dropout → Dense, compiled with Adam and trained two steps, so every part of the state is live. */
function trainedModel(kind: Kind): Sequential {
  const k = KINDS[kind]
  const model = new Sequential({ seed: 42 })
    .add(new Dense({ inputSize: 3, units: 4, activation: 'relu' }))
    .add(new BatchNormalization())
    .add(new Dropout({ rate: 0.3 }))
    .add(new Dense({ units: k.outputs, activation: k.activation }))
    .compile({ loss: k.loss, optimizer: new Adam({ learningRate: 0.01 }), metrics: [k.metric] })
  model.trainOnBatch(X, k.y as number[])
  model.trainOnBatch(X, k.y as number[])
  return model
}

const models = {} as Record<Kind, Sequential>
beforeAll(() => {
  for (const kind of Object.keys(KINDS) as Kind[]) models[kind] = trainedModel(kind)
})

/** Everything a model holds that an error must not change: its file bytes and its predictions. */
function snapshot(model: Sequential) {
  return { bytes: Buffer.from(model.toBytes()), predictions: Array.from(new Uint32Array(model.predict(X).data.buffer)) }
}

async function expectUnchanged(model: Sequential, run: () => unknown | Promise<unknown>): Promise<Error | null> {
  const before = snapshot(model)
  const error = await caught(run)
  const after = snapshot(model)
  expect(after.bytes.equals(before.bytes), 'weights, statistics, optimizer state, step or PRNG changed').toBe(true)
  expect(after.predictions).toEqual(before.predictions)
  return error
}

/** A copy of rows with one cell replaced. */
function withCell<T>(rows: T[][], r: number, c: number, value: unknown): T[][] {
  return rows.map((row, i) => (i === r ? row.map((v, j) => (j === c ? (value as T) : v)) : [...row]))
}
function withItem<T>(list: T[], i: number, value: unknown): T[] {
  return list.map((v, j) => (j === i ? (value as T) : v))
}

// ---------------------------------------------------------------------------------------------

describe('bad data: every data-taking method rejects it and the model loses nothing', () => {
  const METHODS: Record<string, (m: Sequential, x: unknown, y: unknown) => unknown> = {
    fit: (m, x, y) => m.fit(x as number[][], y as number[], { epochs: 1, batchSize: 2 }),
    evaluate: (m, x, y) => m.evaluate(x as number[][], y as number[]),
    trainOnBatch: (m, x, y) => m.trainOnBatch(x as number[][], y as number[]),
    computeGradients: (m, x, y) => m.computeGradients(x as number[][], y as number[]),
  }

  const CASES: [string, Kind, unknown, unknown, ErrorClass, ...(string | RegExp)[]][] = [
    ['x with the wrong column count', 'sparse', X.map((r) => [...r, 0]), LABELS, ShapeError,
      "x must have 3 columns (the model's input size), got 6 × 4"],
    ['x not an array', 'sparse', 'x.csv', LABELS, TypeError,
      "x must be a Matrix or an array of rows (number[][]), got the string 'x.csv'"],
    ['x flat', 'sparse', [1, 2, 3], [0], TypeError, /x must be a Matrix or an array of rows .*got a flat array/],
    ['x with no samples', 'sparse', new Matrix(0, 3), [], ShapeError, /x has no samples; \w+ needs at least one/],
    ['ragged x', 'regression', withItem(X, 2, [1, 2]), REAL, ShapeError,
      'x must be rectangular: row 0 has 3 values but row 2 has 2'],
    ['a string cell in x', 'regression', withCell(X, 1, 2, '0.6'), REAL, TypeError, "x[1][2] must be a number, got the string '0.6'"],
    ['a null cell in x', 'regression', withCell(X, 4, 0, null), REAL, TypeError, 'x[4][0] must be a number, got null'],
    ['a row of x that is not an array', 'regression', withItem(X, 3, 7), REAL, TypeError, 'x[3] must be an array of numbers, got 7'],
    ['NaN in x', 'regression', withCell(X, 2, 1, NaN), REAL, RangeError, 'x[2][1] is NaN; data must be finite numbers'],
    ['Infinity in x', 'sparse', withCell(X, 5, 0, Infinity), LABELS, RangeError, 'x[5][0] is Infinity; data must be finite numbers'],
    ['-Infinity in x', 'binary', withCell(X, 0, 2, -Infinity), BINARY, RangeError, 'x[0][2] is -Infinity'],
    ['y rows ≠ x rows (one-hot)', 'categorical', X, ONE_HOT.slice(0, 5), ShapeError, 'y has 5 samples but x has 6; they must match'],
    ['y rows ≠ x rows (labels)', 'sparse', X, LABELS.slice(0, 4), ShapeError, 'y has 4 labels but x has 6 samples; they must match'],
    ['y rows ≠ x rows (flat binary)', 'binary', X, [...BINARY, 1], ShapeError, 'y has 7 samples but x has 6'],
    ['y columns ≠ outputs', 'categorical', X, ONE_HOT.map((r) => r.slice(0, 2)), ShapeError,
      "y must have 3 columns (the model's output size), got 6 × 2"],
    ['y columns ≠ outputs (regression)', 'regression', X, REAL.map((r) => [...r, 0]), ShapeError, "y must have 2 columns (the model's output size), got 6 × 3"],
    ['ragged y', 'regression', X, withItem(REAL, 4, [1]), ShapeError, 'y must be rectangular: row 0 has 2 values but row 4 has 1'],
    ['a string cell in y', 'regression', X, withCell(REAL, 3, 1, '2'), TypeError, "y[3][1] must be a number, got the string '2'"],
    ['NaN in y', 'categorical', X, withCell(ONE_HOT, 3, 0, NaN), RangeError, 'y[3][0] is NaN; data must be finite numbers'],
    ['Infinity in y', 'regression', X, withCell(REAL, 1, 1, Infinity), RangeError, 'y[1][1] is Infinity; data must be finite numbers'],
    ['NaN among class labels', 'sparse', X, withItem(LABELS, 4, NaN), RangeError, 'y[4] is NaN; class indices must be integers in [0, 2] (the model has 3 outputs)'],
    ['a label out of range', 'sparse', X, withItem(LABELS, 0, 3), RangeError, 'y[0] is 3; class indices must be integers in [0, 2] (the model has 3 outputs)'],
    ['a negative label', 'sparse', X, withItem(LABELS, 2, -1), RangeError, 'y[2] is -1; class indices must be integers in [0, 2]'],
    ['a non-integer label', 'sparse', X, withItem(LABELS, 5, 1.5), RangeError, 'y[5] is 1.5; class indices must be integers in [0, 2]'],
    ['a label that is a string', 'sparse', X, withItem(LABELS, 1, '1'), TypeError, "y[1] must be a class index (a number), got the string '1'"],
    ['one-hot rows with sparseCategoricalCrossEntropy', 'sparse', X, ONE_HOT, TypeError,
      /y must be class indices \(number\[\]\) for sparseCategoricalCrossEntropy, got an array of length 6; for one-hot rows use 'categoricalCrossEntropy'/],
    ['a 2-column Matrix with sparseCategoricalCrossEntropy', 'sparse', X, new Matrix(6, 2), ShapeError,
      /y must hold one class index per sample .* got 6 × 2; for one-hot targets use 'categoricalCrossEntropy'/],
    ['class indices with categoricalCrossEntropy', 'categorical', X, LABELS, ShapeError,
      'y is a flat list of 6 numbers, but the model has 3 outputs: pass 3 values per sample',
      "for class indices use loss 'sparseCategoricalCrossEntropy'"],
    ['a BCE target above 1', 'binary', X, withItem(BINARY, 2, 2), RangeError, 'y[2][0] is 2; binaryCrossEntropy needs targets in [0, 1]'],
    ['a BCE target below 0', 'binary', X, withItem(BINARY, 3, -0.5), RangeError, 'y[3][0] is -0.5; binaryCrossEntropy needs targets in [0, 1]'],
    ['a CCE target above 1', 'categorical', X, withCell(ONE_HOT, 1, 1, 1.5), RangeError, 'y[1][1] is 1.5; categoricalCrossEntropy needs targets in [0, 1]'],
    ['y missing', 'regression', X, undefined, TypeError, 'y must be a Matrix or an array of rows (number[][]), got undefined'],
  ]

  for (const [method, run] of Object.entries(METHODS)) {
    describe(method, () => {
      it.each(CASES)('%s', async (_, kind, x, y, cls, ...patterns) => {
        const model = models[kind]
        const error = await expectUnchanged(model, () => run(model, x, y))
        check(error, cls, patterns)
      })
    })
  }

  it('sanity: the valid data goes through every method (so the cases above fail for their fault only)', async () => {
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const model = trainedModel(kind)
      for (const run of Object.values(METHODS)) expect(await caught(() => run(model, X, KINDS[kind].y))).toBeNull()
    }
  })

  it('sanity: snapshot() does see a change (fit moves the weights)', async () => {
    const model = trainedModel('sparse')
    const before = snapshot(model)
    await model.fit(X, LABELS, { epochs: 1 })
    expect(snapshot(model).bytes.equals(before.bytes)).toBe(false)
  })
})

describe('fit options', () => {
  const CASES: [string, Record<string, unknown>, ErrorClass, ...(string | RegExp)[]][] = [
    ['batchSize 0', { batchSize: 0 }, RangeError, 'fit batchSize must be an integer ≥ 1, got 0'],
    ['batchSize 2.5', { batchSize: 2.5 }, TypeError, 'fit batchSize must be an integer, got 2.5'],
    ['epochs 0', { epochs: 0 }, RangeError, 'fit epochs must be an integer ≥ 1, got 0'],
    ['epochs as a string', { epochs: '10' }, TypeError, "fit epochs must be an integer, got the string '10'"],
    ['validationSplit 1', { validationSplit: 1 }, RangeError, 'fit validationSplit must be a number in [0, 1), got 1'],
    ['validationSplit -0.1', { validationSplit: -0.1 }, RangeError, 'fit validationSplit must be a number in [0, 1), got -0.1'],
    ['validationSplit leaving no training rows', { validationSplit: 0.9 }, RangeError,
      'fit validationSplit 0.9 of 6 samples leaves 0 for training and 6 for validation; both need at least one'],
    ['validationData that is not a pair', { validationData: [X] }, TypeError, 'fit validationData must be [x, y], got an array of length 1'],
    ['validationData with the wrong columns', { validationData: [X.map((r) => r.slice(1)), LABELS] }, ShapeError,
      "validationData x must have 3 columns (the model's input size), got 6 × 2"],
    ['validationData with bad labels', { validationData: [X, withItem(LABELS, 1, 7)] }, RangeError, 'validationData y[1] is 7; class indices must be integers in [0, 2]'],
    ['patience without tolerance', { patience: 5 }, TypeError, /fit patience .*needs tolerance/, /earlyStopping\(\{ patience \}\)/],
    ['negative tolerance', { tolerance: -1 }, RangeError, 'fit tolerance must be a number ≥ 0, got -1'],
    ['a typo in an option name', { epoch: 3 }, TypeError, "fit options has an unknown option 'epoch'; valid options are: epochs, batchSize"],
    ['learningrate is not a fit option', { learningrate: 0.1 }, TypeError, "fit options has an unknown option 'learningrate'"],
    ['a signal that is not an AbortSignal', { signal: { aborted: false } }, TypeError, 'fit signal must be an AbortSignal, got an object'],
    ['callbacks that are not an array', { callbacks: earlyStopping() }, TypeError, 'fit callbacks must be an array of callback objects, got a EarlyStopping'],
    ['shuffle as a string', { shuffle: 'yes' }, TypeError, "fit shuffle must be true or false, got the string 'yes'"],
    ['verbose 2', { verbose: 2 }, TypeError, 'fit verbose must be 0, 1, true or false, got 2'],
    ['earlyStopping on valLoss without validation data', { callbacks: [earlyStopping({ patience: 2 })] }, RangeError,
      "earlyStopping monitors 'valLoss', which this fit does not log (it logs 'loss', 'accuracy'); pass validationSplit or validationData"],
    ['earlyStopping on a key that is never logged', { validationSplit: 0.5, callbacks: [earlyStopping({ monitor: 'val_loss' as never })] }, RangeError,
      "earlyStopping monitors 'val_loss', which this fit does not log (it logs 'loss', 'accuracy', 'valLoss', 'valAccuracy')"],
    ['options that are not an object', 5 as unknown as Record<string, unknown>, TypeError, 'fit options must be an options object, got 5'],
  ]

  it.each(CASES)('%s', async (_, options, cls, ...patterns) => {
    const model = models.sparse
    const error = await expectUnchanged(model, () => model.fit(X, LABELS, options))
    check(error, cls, patterns)
  })

  it('evaluate and predict options', async () => {
    const model = models.sparse
    check(await expectUnchanged(model, () => model.evaluate(X, LABELS, { batchSize: 0 })), RangeError, ['evaluate batchSize must be an integer ≥ 1, got 0'])
    check(await expectUnchanged(model, () => model.evaluate(X, LABELS, { batchsize: 2 } as object)), TypeError, ["evaluate options has an unknown option 'batchsize'; valid options are: batchSize"])
    check(await expectUnchanged(model, () => model.predict(X, { batchSize: -1 })), RangeError, ['predict batchSize must be an integer ≥ 1, got -1'])
    check(await expectUnchanged(model, () => model.predict(X.map((r) => r.slice(0, 2)))), ShapeError, ["x must have 3 columns (the model's input size), got 6 × 2"])
    check(await expectUnchanged(model, () => model.predict(withCell(X, 0, 0, NaN))), RangeError, ['x[0][0] is NaN'])
    // The engine checks each batch as it reads it: a bad value in a later batch is found and
    // named exactly, whichever the engine (the native one fuses the check into its copy).
    check(await expectUnchanged(model, () => model.predict(withCell(X, 5, 2, -Infinity), { batchSize: 2 })), RangeError, ['x[5][2] is -Infinity; data must be finite numbers'])
    check(await expectUnchanged(model, () => model.predict(withCell(X, 3, 1, Infinity), { batchSize: 4 })), RangeError, ['x[3][1] is Infinity; data must be finite numbers'])
    check(await expectUnchanged(model, () => model.getWeights({ trainable: true } as object)), TypeError, ["getWeights options has an unknown option 'trainable'; valid options are: trainableOnly"])
  })
})

describe('not compiled', () => {
  const CALLS: [string, (m: Sequential) => unknown][] = [
    ['fit', (m) => m.fit(X, LABELS)],
    ['evaluate', (m) => m.evaluate(X, LABELS)],
    ['trainOnBatch', (m) => m.trainOnBatch(X, LABELS)],
    ['computeGradients', (m) => m.computeGradients(X, LABELS)],
    ['learningRate', (m) => m.learningRate],
  ]
  const fresh = () => new Sequential({ seed: 1 }).add(new Dense({ inputSize: 3, units: 3, activation: 'softmax' }))

  it.each(CALLS)('%s before compile throws NotCompiledError', async (what, call) => {
    const error = await caught(() => call(fresh()))
    check(error, NotCompiledError, [`${what} needs a compiled model: call model.compile({ loss, optimizer }) first`])
  })

  it.each(CALLS)('%s on a built (predicted-with) but uncompiled model, which keeps its weights', async (what, call) => {
    const model = fresh()
    model.predict(X)
    check(await expectUnchanged(model, () => call(model)), NotCompiledError, [`${what} needs a compiled model`])
  })

  it('a compile that failed leaves the model uncompiled', async () => {
    const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 3, units: 3, activation: 'relu' }))
    expect(caughtSync(() => model.compile({ loss: 'categoricalCrossEntropy' }))).toBeInstanceOf(TypeError)
    expect(model.compiled).toBe(false)
    check(await caught(() => model.fit(X, ONE_HOT)), NotCompiledError, ['fit needs a compiled model'])
  })
})

describe('unknown names list the valid ones', () => {
  const ACTIVATION_LIST = "'linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu', 'softmax'"
  const CASES: [string, () => unknown, ErrorClass, ...string[]][] = [
    ['activation', () => new Dense({ units: 2, activation: 'sigmod' as 'sigmoid' }), TypeError,
      `Dense activation must be one of ${ACTIVATION_LIST}; got the string 'sigmod'`],
    ['Activation layer activation', () => new Activation({ activation: 'gelu' as 'relu' }), TypeError,
      `Activation activation must be one of ${ACTIVATION_LIST}; got the string 'gelu'`],
    ['activation options on a name that takes none', () => new Dense({ units: 2, activation: { name: 'relu' } as never }), TypeError,
      "Dense activation.name: only 'leakyRelu' takes options; use the plain name for the others, got the string 'relu'"],
    ['loss', () => trainedModel('sparse').compile({ loss: 'mse' as LossName }), TypeError,
      "compile loss must be one of 'binaryCrossEntropy', 'categoricalCrossEntropy', 'sparseCategoricalCrossEntropy', 'meanSquaredError'; got the string 'mse'"],
    ['missing loss', () => trainedModel('sparse').compile({} as never), TypeError,
      "compile needs a loss: one of 'binaryCrossEntropy', 'categoricalCrossEntropy', 'sparseCategoricalCrossEntropy', 'meanSquaredError'"],
    ['optimizer', () => trainedModel('sparse').compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: 'adamax' as 'adam' }), TypeError,
      "compile optimizer must be an optimizer (new Adam(), new SGD(), …) or one of 'sgd', 'adagrad', 'rmsprop', 'adam', 'adamw'; got the string 'adamax'"],
    ['metric', () => trainedModel('regression').compile({ loss: 'meanSquaredError', metrics: ['meanSquaredError', 'r2' as MetricName] }), TypeError,
      "compile metrics[1] must be one of 'accuracy', 'meanAbsoluteError', 'meanSquaredError'; got the string 'r2'"],
    ['a metric that does not apply to class indices', () => trainedModel('sparse').compile({ loss: 'sparseCategoricalCrossEntropy', metrics: ['meanAbsoluteError'] }), TypeError,
      "compile metrics: only 'accuracy' applies to class-index targets (sparseCategoricalCrossEntropy), got meanAbsoluteError"],
    ['kernel initializer', () => new Dense({ units: 2, kernelInitializer: 'xavier' as 'zeros' }), TypeError,
      "Dense kernelInitializer must be one of 'zeros', 'ones', 'randomUniform', 'randomNormal', 'glorotUniform', 'glorotNormal', 'heUniform', 'heNormal'; got the string 'xavier'"],
    ['bias initializer with options', () => new Dense({ units: 2, biasInitializer: { name: 'constant' } as never }), TypeError,
      "Dense biasInitializer.name must be one of 'randomUniform', 'randomNormal'; got the string 'constant'"],
    ['backend', () => new Sequential({ backend: 'gpu' as 'js' }), TypeError, "Sequential backend must be one of 'auto', 'native', 'js'; got the string 'gpu'"],
    ['earlyStopping mode', () => earlyStopping({ mode: 'maximum' as 'max' }), TypeError, "earlyStopping mode must be one of 'auto', 'min', 'max'; got the string 'maximum'"],
    ['load backend', () => Sequential.fromBytes(new Uint8Array(8), { backend: 'cuda' as 'js' }), TypeError, "fromBytes backend must be one of 'auto', 'native', 'js'; got the string 'cuda'"],
  ]
  it.each(CASES)('%s', (_, run, cls, ...patterns) => expectThrows(run, cls, ...patterns))
})

describe('unknown option keys (typos) are reported with the valid keys', () => {
  const CASES: [string, () => unknown, string][] = [
    ['SGD learningrate', () => new SGD({ learningrate: 0.1 } as object), "SGD options has an unknown option 'learningrate'; valid options are: learningRate, clipNorm, globalClipNorm, clipValue, momentum, nesterov"],
    ['Adam beta_1', () => new Adam({ beta_1: 0.9 } as object), "Adam options has an unknown option 'beta_1'; valid options are: learningRate, clipNorm, globalClipNorm, clipValue, beta1, beta2, epsilon"],
    ['AdamW weight_decay', () => new AdamW({ weight_decay: 0.1 } as object), "AdamW options has an unknown option 'weight_decay'; valid options are: learningRate, clipNorm, globalClipNorm, clipValue, beta1, beta2, epsilon, weightDecay"],
    ['RMSProp centred', () => new RMSProp({ centred: true } as object), "RMSProp options has an unknown option 'centred'; valid options are: learningRate, clipNorm, globalClipNorm, clipValue, rho, momentum, epsilon, centered"],
    ['AdaGrad lr', () => new AdaGrad({ lr: 0.1 } as object), "AdaGrad options has an unknown option 'lr'"],
    ['Dense unit', () => new Dense({ inputSize: 3, unit: 4 } as never), "Dense options has an unknown option 'unit'; valid options are: inputSize, units, activation"],
    ['Dense input_shape', () => new Dense({ units: 4, inputShape: [3] } as never), "Dense options has an unknown option 'inputShape'"],
    ['Dropout ratio', () => new Dropout({ rate: 0.5, ratio: 0.5 } as never), "Dropout options has an unknown option 'ratio'; valid options are: inputSize, rate"],
    ['BatchNormalization eps', () => new BatchNormalization({ eps: 1e-5 } as never), "BatchNormalization options has an unknown option 'eps'; valid options are: inputSize, momentum, epsilon"],
    ['Activation fn', () => new Activation({ activation: 'relu', fn: 'relu' } as never), "Activation options has an unknown option 'fn'"],
    ['Sequential seeds', () => new Sequential({ seeds: 1 } as object), "Sequential options has an unknown option 'seeds'; valid options are: seed, backend, threads, layers"],
    ['compile optimiser', () => trainedModel('sparse').compile({ loss: 'sparseCategoricalCrossEntropy', optimiser: 'sgd' } as never), "compile options has an unknown option 'optimiser'; valid options are: loss, optimizer, metrics"],
    ['earlyStopping patient', () => earlyStopping({ patient: 3 } as object), "earlyStopping options has an unknown option 'patient'"],
    ['l1l2 l3', () => l1l2({ l3: 1 } as object), "l1l2 options has an unknown option 'l3'; valid options are: l1, l2"],
    ['leakyRelu slope', () => new Dense({ units: 2, activation: { name: 'leakyRelu', slope: 0.1 } as never }), "Dense activation has an unknown option 'slope'; valid options are: name, alpha"],
    ['randomNormal std', () => new Dense({ units: 2, kernelInitializer: { name: 'randomNormal', std: 1 } as never }), "Dense kernelInitializer has an unknown option 'std'; valid options are: name, mean, stddev"],
  ]
  it.each(CASES)('%s', (_, run, message) => expectThrows(run, TypeError, message))
})

describe('bad hyper-parameters', () => {
  const CASES: [string, () => unknown, ErrorClass, string][] = [
    ['negative learning rate', () => new SGD({ learningRate: -0.1 }), RangeError, 'SGD learningRate must be a number > 0, got -0.1'],
    ['zero learning rate', () => new Adam({ learningRate: 0 }), RangeError, 'Adam learningRate must be a number > 0, got 0'],
    ['NaN learning rate', () => new RMSProp({ learningRate: NaN }), TypeError, 'RMSProp learningRate must be a finite number, got NaN'],
    ['learning rate as a string', () => new AdaGrad({ learningRate: '0.1' as unknown as number }), TypeError, "AdaGrad learningRate must be a finite number, got the string '0.1'"],
    ['SGD momentum 1', () => new SGD({ momentum: 1 }), RangeError, 'SGD momentum must be a number in [0, 1), got 1'],
    ['SGD momentum -0.5', () => new SGD({ momentum: -0.5 }), RangeError, 'SGD momentum must be a number in [0, 1), got -0.5'],
    ['RMSProp momentum 1.5', () => new RMSProp({ momentum: 1.5 }), RangeError, 'RMSProp momentum must be a number in [0, 1), got 1.5'],
    ['RMSProp rho 1', () => new RMSProp({ rho: 1 }), RangeError, 'RMSProp rho must be a number in [0, 1), got 1'],
    ['Adam beta1 1', () => new Adam({ beta1: 1 }), RangeError, 'Adam beta1 must be a number in [0, 1), got 1'],
    ['Adam beta2 -0.1', () => new Adam({ beta2: -0.1 }), RangeError, 'Adam beta2 must be a number in [0, 1), got -0.1'],
    ['AdamW beta1 2', () => new AdamW({ beta1: 2 }), RangeError, 'AdamW beta1 must be a number in [0, 1), got 2'],
    ['AdamW weightDecay -1', () => new AdamW({ weightDecay: -1 }), RangeError, 'AdamW weightDecay must be a number ≥ 0, got -1'],
    ['clipNorm 0', () => new Adam({ clipNorm: 0 }), RangeError, 'Adam clipNorm must be a number > 0, got 0'],
    ['clipValue -1', () => new SGD({ clipValue: -1 }), RangeError, 'SGD clipValue must be a number > 0, got -1'],
    ['dropout rate 1', () => new Dropout({ rate: 1 }), RangeError, 'Dropout rate must be a number in [0, 1), got 1'],
    ['dropout rate -0.1', () => new Dropout({ rate: -0.1 }), RangeError, 'Dropout rate must be a number in [0, 1), got -0.1'],
    ['dropout rate missing', () => new Dropout({} as never), TypeError, 'Dropout rate must be a finite number, got undefined'],
    ['non-integer units', () => new Dense({ units: 2.5 }), TypeError, 'Dense units must be an integer, got 2.5'],
    ['zero units', () => new Dense({ units: 0 }), RangeError, 'Dense units must be an integer ≥ 1, got 0'],
    ['units as a string', () => new Dense({ units: '4' as unknown as number }), TypeError, "Dense units must be an integer, got the string '4'"],
    ['inputSize 0', () => new Dense({ inputSize: 0, units: 2 }), RangeError, 'Dense inputSize must be an integer ≥ 1, got 0'],
    ['BN momentum 1.5', () => new BatchNormalization({ momentum: 1.5 }), RangeError, 'BatchNormalization momentum must be a number in [0, 1], got 1.5'],
    ['BN epsilon 0', () => new BatchNormalization({ epsilon: 0 }), RangeError, 'BatchNormalization epsilon must be a number > 0, got 0'],
    ['leakyRelu alpha -1', () => new Dense({ units: 2, activation: { name: 'leakyRelu', alpha: -1 } }), RangeError, 'Dense activation.alpha must be a number ≥ 0, got -1'],
    ['negative l2', () => l2(-1), RangeError, 'l2 strength must be a number ≥ 0, got -1'],
    ['a regulariser that is not one', () => new Dense({ units: 2, kernelRegularizer: 0.01 as never }), TypeError,
      'Dense kernelRegularizer must be a regularizer from l1(), l2() or l1l2(), got 0.01'],
    ['randomUniform minval ≥ maxval', () => new Dense({ units: 2, kernelInitializer: { name: 'randomUniform', minval: 1, maxval: 1 } }), RangeError,
      'Dense kernelInitializer needs minval < maxval, got minval 1 and maxval 1'],
    ['negative seed', () => new Sequential({ seed: -1 }), RangeError, 'Sequential seed must be an integer in [0, 4294967295], got -1'],
    ['fractional seed', () => new Sequential({ seed: 1.5 }), TypeError, 'Sequential seed must be an integer, got 1.5'],
    ['earlyStopping patience -1', () => earlyStopping({ patience: -1 }), RangeError, 'earlyStopping patience must be an integer ≥ 0, got -1'],
  ]
  it.each(CASES)('%s', (_, run, cls, message) => expectThrows(run, cls, message))
})

describe('architecture', () => {
  it('the first layer needs inputSize', () => {
    expectThrows(() => new Sequential().add(new Dense({ units: 3 })), TypeError, 'the first layer needs inputSize (the number of input features)')
    expectThrows(() => new Sequential({ layers: [new Dropout({ rate: 0.5 })] }), TypeError, 'the first layer needs inputSize')
  })

  it('a later layer whose inputSize disagrees is rejected when added, and the model stays usable', () => {
    const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 3, units: 4 })).add(new Dropout({ rate: 0.1 }))
    expectThrows(() => model.add(new Dense({ inputSize: 5, units: 2 })), ShapeError,
      'layer 2 (Dense) declares inputSize 5 but receives 4 values from the layer before')
    expect(model.layers.length).toBe(2)
    model.add(new Dense({ inputSize: 4, units: 2, activation: 'softmax' }))
    expect(() => model.compile({ loss: 'categoricalCrossEntropy' })).not.toThrow()
    expectThrows(() => new Sequential({ layers: [new Dense({ inputSize: 3, units: 4 }), new BatchNormalization({ inputSize: 3 })] }), ShapeError,
      'layer 1 (BatchNormalization) declares inputSize 3 but receives 4 values')
  })

  it('adding a layer after build is refused and changes nothing', async () => {
    const model = models.regression
    const error = await expectUnchanged(model, () => model.add(new Dense({ units: 1 })))
    check(error, ModelStateError, ['cannot add layers to a model that is already built (compiled, trained or used)'])
    expect(model.layers.length).toBe(4)
  })

  it('add needs a layer', () => {
    expectThrows(() => new Sequential().add({ units: 3 } as never), TypeError, 'add expects a layer (new Dense({...}), new Dropout({...}), …), got an object')
    expectThrows(() => new Sequential({ layers: new Dense({ inputSize: 1, units: 1 }) as never }), TypeError, 'Sequential layers must be an array of layers, got a Dense')
  })

  it('compiling a model without layers', () => {
    expectThrows(() => new Sequential().compile({ loss: 'meanSquaredError' }), ModelStateError, 'the model has no layers; add at least one with model.add(...)')
  })

  const OUTPUT_CASES: [string, 'linear' | 'relu' | 'tanh', LossName][] = [
    ['categoricalCrossEntropy on a linear output', 'linear', 'categoricalCrossEntropy'],
    ['binaryCrossEntropy on a relu output', 'relu', 'binaryCrossEntropy'],
    ['sparseCategoricalCrossEntropy on a tanh output', 'tanh', 'sparseCategoricalCrossEntropy'],
  ]
  it.each(OUTPUT_CASES)('%s', (_, activation, loss) => {
    const model = new Sequential().add(new Dense({ inputSize: 3, units: 3, activation }))
    expectThrows(() => model.compile({ loss }), TypeError,
      `loss '${loss}' needs probabilities, so the last layer's activation must be 'softmax' or 'sigmoid'; it is '${activation}'`)
    expect(model.compiled).toBe(false)
  })

  it('sparseCategoricalCrossEntropy with one output', () => {
    const model = new Sequential().add(new Dense({ inputSize: 3, units: 1, activation: 'sigmoid' }))
    expectThrows(() => model.compile({ loss: 'sparseCategoricalCrossEntropy' }), ShapeError,
      "loss 'sparseCategoricalCrossEntropy' needs one output per class (≥ 2), the model has 1; for two classes with one output use 'binaryCrossEntropy'")
  })

  it('a failed recompile keeps the model compiled as before, with its weights and optimizer state', async () => {
    const model = models.binary
    const error = await expectUnchanged(model, () => model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new SGD() }))
    check(error, ShapeError, ['needs one output per class'])
    expect(model.plan.loss).toBe('binaryCrossEntropy')
    expect(model.optimizer).toBeInstanceOf(Adam)
    for (const bad of [{ loss: 'meanSquaredError', optimizer: 'nadam' }, { loss: 'binaryCrossEntropy', metrics: 'accuracy' }]) {
      check(await expectUnchanged(model, () => model.compile(bad as never)), TypeError, [/compile (optimizer|metrics) must be/])
    }
  })
})

describe('setWeights', () => {
  // models.sparse: layers.0.kernel 3×4, layers.0.bias 4, layers.1 γ β μ σ² (4 each), layers.3.kernel 4×3, layers.3.bias 3.
  const good = () => models.sparse.getWeights()
  const replace = (i: number, value: unknown) => good().map((w, j) => (j === i ? value : w))

  const CASES: [string, () => unknown, ErrorClass, string][] = [
    ['too few arrays', () => good().slice(1), ShapeError, 'setWeights expects 8 arrays (in getWeights() order), got an array of length 7'],
    ['not an array', () => good()[0], ShapeError, 'setWeights expects 8 arrays (in getWeights() order), got a Matrix'],
    ['a transposed kernel (the last one)', () => replace(6, new Matrix(3, 4)), ShapeError, 'weights[6] (layers.3.kernel) must be 4 × 3, got 3 × 4'],
    ['a kernel as rows of the wrong shape', () => replace(0, [[1, 2, 3, 4]]), ShapeError, 'weights[0] (layers.0.kernel) must be 3 × 4, got 1 × 4'],
    ['a bias of the wrong length', () => replace(7, [0, 0]), ShapeError, 'weights[7] (layers.3.bias) must have 3 values, got 2'],
    ['NaN in a late weight', () => replace(7, [0, NaN, 0]), RangeError, 'weights[7] (layers.3.bias) holds NaN at index 1; weights must be finite'],
    ['Infinity in a running variance', () => replace(5, [1, 1, Infinity, 1]), RangeError, 'weights[5] (layers.1.movingVariance) holds Infinity at index 2'],
    ['a string in a kernel', () => replace(6, [[1, 2, 3], [1, 2, 3], [1, '2', 3], [1, 2, 3]]), TypeError, "weights[6] (layers.3.kernel)[2][1] must be a number, got the string '2'"],
    ['something that is not a weight', () => replace(3, 'beta'), TypeError, "weights[3] (layers.1.beta) must be a 1 × 4 Matrix or number[][] (or a list of numbers), got the string 'beta'"],
  ]
  let fill = 0
  it.each(CASES)('%s: throws and changes nothing', async (_, weights, cls, message) => {
    const model = models.sparse
    // Every entry before the bad one is valid and new (each case its own value), so a partial write would show.
    fill += 0.25
    const error = await expectUnchanged(model, () => {
      const w = weights()
      if (Array.isArray(w)) for (const m of w) if (m instanceof Matrix) m.data.fill(fill)
      model.setWeights(w as Matrix[])
    })
    check(error, cls, [message])
  })
})

describe('engine selection', () => {
  const saved = process.env.BACKPROP_BACKEND
  afterEach(() => {
    if (saved === undefined) delete process.env.BACKPROP_BACKEND
    else process.env.BACKPROP_BACKEND = saved
  })

  it('an invalid BACKPROP_BACKEND is reported when a model is built', async () => {
    process.env.BACKPROP_BACKEND = 'gpu'
    const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 3, units: 3, activation: 'softmax' }))
    const message = "the environment variable BACKPROP_BACKEND must be one of 'auto', 'native', 'js'; got the string 'gpu'"
    expectThrows(() => model.compile({ loss: 'sparseCategoricalCrossEntropy' }), TypeError, message)
    expectThrows(() => backendInfo(), TypeError, message)
    // An explicit backend does not consult the variable.
    expect(() => new Sequential({ backend: 'js' }).add(new Dense({ inputSize: 3, units: 1 })).build()).not.toThrow()
    // Loading blames the variable, not the file.
    expectThrows(() => Sequential.fromBytes(models.sparse.toBytes()), TypeError, message)
    // Models built before keep working.
    expect(await caught(() => models.sparse.evaluate(X, LABELS))).toBeNull()
    delete process.env.BACKPROP_BACKEND
    expect(() => model.compile({ loss: 'sparseCategoricalCrossEntropy' })).not.toThrow()
  })

  const native = backendInfo()
  it.skipIf(native.nativeAvailable)("backend 'native' without the native engine shows the cause", async () => {
    const model = new Sequential({ seed: 1, backend: 'native' }).add(new Dense({ inputSize: 3, units: 1 }))
    const error = caughtSync(() => model.compile({ loss: 'meanSquaredError' }))
    check(error, BackendUnavailableError, ["backend 'native' was requested but the native engine cannot load: ", native.fallbackReason!])
    expect(error!.cause).toBeInstanceOf(Error)
    expect((error!.cause as Error).message).toBe(native.fallbackReason)
    // Loading a good file with backend 'native' reports the engine, not a broken file.
    const loadError = caughtSync(() => Sequential.fromBytes(models.sparse.toBytes(), { backend: 'native' }))
    expect(loadError).not.toBeInstanceOf(ModelFileError)
    check(loadError, BackendUnavailableError, ["backend 'native' was requested but the native engine cannot load"])
    const dir = fs.mkdtempSync(os.tmpdir() + '/backprop-')
    try {
      const file = path.join(dir, 'm.safetensors')
      await models.sparse.save(file)
      const e = await caught(() => Sequential.load(file, { backend: 'native' }))
      expect(e).not.toBeInstanceOf(ModelFileError)
      check(e, BackendUnavailableError, ["backend 'native' was requested"])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('other arguments', () => {
  it('load and fromBytes arguments', async () => {
    check(await caught(() => Sequential.load('m.safetensors', { engine: 'js' } as object)), TypeError, ["load options has an unknown option 'engine'; valid options are: backend"])
    expectThrows(() => Sequential.fromBytes([1, 2, 3] as never), TypeError, 'fromBytes expects a Uint8Array, got an array of length 3')
  })

  it('Matrix constructor', () => {
    expectThrows(() => new Matrix(2, 2, new Float32Array(3)), ShapeError, 'Matrix data must hold rows × cols = 2 × 2 = 4 values, got 3')
    expectThrows(() => new Matrix(2, 2, [1, 2, 3, 4] as never), TypeError, 'Matrix data must be a Float32Array, got an array of length 4')
    expectThrows(() => new Matrix(-1, 2), RangeError, 'Matrix rows must be an integer ≥ 0, got -1')
  })
})
