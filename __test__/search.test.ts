/**
 * Hyper-parameter search: the grid is exactly the product of its axes, random draws follow
 * their distributions within their bounds, a seed fixes trials and scores (also across worker
 * threads), failing trials are recorded without stopping the search, invalid spaces get clear
 * errors, and the results (ranking, refit, exports, budget, pruning, progress) are as
 * documented. Timing claims live in bench/search-digits.ts, not here.
 */
import { describe, expect, it } from 'vitest'
import {
  Dense,
  Matrix,
  SGD,
  Sequential,
  gridSearch,
  intUniform,
  linearRegression,
  logUniform,
  moons,
  parameterGrid,
  parameterSampler,
  progressBar,
  randomSearch,
  trialSeed,
  uniform,
  type SearchProgress,
  type SearchSpace,
  type TrialResult,
} from '../lib/index.js'
import { MedianPruner } from '../lib/search/median-pruner.js'

const data = moons({ samples: 160, noise: 0.3, seed: 11 })
const held = moons({ samples: 80, noise: 0.3, seed: 12 })
const base = { loss: 'sparseCategoricalCrossEntropy', seed: 5, workers: 0 } as const

/** What identifies a trial's outcome: its parameters, seed, status and score. */
const outcome = (trials: readonly TrialResult[]) =>
  [...trials].sort((a, b) => a.index - b.index).map((t) => ({ index: t.index, params: t.params, seed: t.seed, status: t.status, score: t.score, epochs: t.epochsTrained }))

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

// ─── the grid ────────────────────────────────────────────────────────────────────────────────

describe('grid', () => {
  it('enumerates exactly the product of its axes, fixed values in every point', () => {
    const space = { units: [4, 8], learningRate: [0.001, 0.01, 0.1], activation: ['relu', 'tanh'], epochs: 3 } as SearchSpace
    const grid = parameterGrid(space)
    expect(grid).toHaveLength(2 * 3 * 2)
    const expected: string[] = []
    for (const units of [4, 8]) for (const learningRate of [0.001, 0.01, 0.1]) for (const activation of ['relu', 'tanh']) {
      expected.push(JSON.stringify({ units, learningRate, activation, epochs: 3 }))
    }
    expect(grid.map((p) => JSON.stringify(p))).toEqual(expected)
  })

  it('a list of spaces is enumerated space by space', () => {
    const grid = parameterGrid([
      { optimizer: ['sgd'], momentum: [0, 0.5, 0.9] },
      { optimizer: ['adam', 'adamw'], beta1: [0.8, 0.9] },
    ])
    expect(grid).toEqual([
      { optimizer: 'sgd', momentum: 0 },
      { optimizer: 'sgd', momentum: 0.5 },
      { optimizer: 'sgd', momentum: 0.9 },
      { optimizer: 'adam', beta1: 0.8 },
      { optimizer: 'adam', beta1: 0.9 },
      { optimizer: 'adamw', beta1: 0.8 },
      { optimizer: 'adamw', beta1: 0.9 },
    ])
  })

  it('gridSearch runs each grid point once, in grid order, scored and timed', async () => {
    const space: SearchSpace = { layers: [[4], [8, 4]], learningRate: [0.01, 0.05], epochs: [3], batchSize: [32] }
    const result = await gridSearch(data.x, data.y, space, base)
    expect(result.trials).toHaveLength(4)
    expect([...result.trials].sort((a, b) => a.index - b.index).map((t) => t.params)).toEqual(parameterGrid(space))
    for (const t of result.trials) {
      expect(t.status).toBe('completed')
      expect(t.score).toBeGreaterThan(0)
      expect(t.score).toBeLessThanOrEqual(1)
      expect(t.epochsTrained).toBe(3)
      expect(t.fitTimeMs).toBeGreaterThan(0)
      expect(t.seed).toBe(trialSeed(5, t.index))
    }
    expect(result.method).toBe('grid')
    expect(result.stopReason).toBe('completed')
  })
})

// ─── random draws ────────────────────────────────────────────────────────────────────────────

describe('random search draws', () => {
  const N = 4000
  const draws = parameterSampler(
    {
      dropout: uniform(0.1, 0.5),
      learningRate: logUniform(1e-4, 1e-1),
      units: intUniform(3, 7),
      activation: ['relu', 'tanh', 'sigmoid', 'leakyRelu'],
      epochs: 9,
    },
    { trials: N, seed: 42 },
  )
  const column = <T>(key: string) => draws.map((d) => (d as Record<string, unknown>)[key] as T)
  const fraction = (values: number[], test: (v: number) => boolean) => values.filter(test).length / values.length
  // Binomial standard error at p = 0.5 over N draws is 0.008: 4 of them is a loose bound that a
  // wrong distribution (e.g. uniform instead of log-uniform) misses by far.
  const TOL = 0.032

  it('uniform stays in [low, high) and is flat', () => {
    const v = column<number>('dropout')
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0.1)
    expect(Math.max(...v)).toBeLessThan(0.5)
    for (const q of [0.2, 0.3, 0.4]) expect(Math.abs(fraction(v, (x) => x < q) - (q - 0.1) / 0.4)).toBeLessThan(TOL)
  })

  it('logUniform stays in [low, high) and is flat in log space (each decade equally likely)', () => {
    const v = column<number>('learningRate')
    expect(Math.min(...v)).toBeGreaterThanOrEqual(1e-4)
    expect(Math.max(...v)).toBeLessThan(1e-1)
    for (const q of [1e-3, 1e-2]) expect(Math.abs(fraction(v, (x) => x < q) - Math.log10(q / 1e-4) / 3)).toBeLessThan(TOL)
  })

  it('intUniform gives every integer of [low, high], both ends included, equally often', () => {
    const v = column<number>('units')
    expect(v.every(Number.isInteger)).toBe(true)
    expect(new Set(v)).toEqual(new Set([3, 4, 5, 6, 7]))
    for (const k of [3, 4, 5, 6, 7]) expect(Math.abs(fraction(v, (x) => x === k) - 0.2)).toBeLessThan(TOL)
  })

  it('a list is a uniform choice; a fixed value is always itself', () => {
    const v = column<string>('activation')
    for (const a of ['relu', 'tanh', 'sigmoid', 'leakyRelu']) expect(Math.abs(v.filter((x) => x === a).length / N - 0.25)).toBeLessThan(TOL)
    expect(new Set(column('epochs'))).toEqual(new Set([9]))
  })

  it('a list of spaces: each trial comes from one of them, chosen uniformly', () => {
    const mixed = parameterSampler([{ optimizer: ['sgd'], momentum: uniform(0, 0.9) }, { optimizer: ['adam'], beta1: uniform(0.8, 0.95) }], { trials: 2000, seed: 3 })
    const sgd = mixed.filter((p) => p.optimizer === 'sgd')
    expect(Math.abs(sgd.length / 2000 - 0.5)).toBeLessThan(0.05)
    for (const p of mixed) expect(Object.keys(p)).toEqual(p.optimizer === 'sgd' ? ['optimizer', 'momentum'] : ['optimizer', 'beta1'])
  })

  it('the same seed draws the same trials; another seed others', () => {
    const space: SearchSpace = { learningRate: logUniform(1e-4, 1), units: intUniform(1, 100) }
    expect(parameterSampler(space, { trials: 20, seed: 7 })).toEqual(parameterSampler(space, { trials: 20, seed: 7 }))
    expect(parameterSampler(space, { trials: 20, seed: 8 })).not.toEqual(parameterSampler(space, { trials: 20, seed: 7 }))
  })
})

// ─── reproducibility ─────────────────────────────────────────────────────────────────────────

describe('a seed fixes the search', () => {
  const space: SearchSpace = {
    layers: [[4], [8], [8, 4]],
    learningRate: logUniform(1e-3, 1e-1),
    batchSize: [16, 32],
    dropout: uniform(0, 0.3),
    epochs: [6],
  }

  it('same seed → same trials and scores; in this thread and on 2 workers alike', async () => {
    const inThread = await randomSearch(data.x, data.y, space, { ...base, trials: 6 })
    const again = await randomSearch(data.x, data.y, space, { ...base, trials: 6 })
    const onWorkers = await randomSearch(data.x, data.y, space, { ...base, trials: 6, workers: 2 })
    expect(outcome(again.trials)).toEqual(outcome(inThread.trials))
    expect(outcome(onWorkers.trials)).toEqual(outcome(inThread.trials))
    expect(new Set(inThread.trials.map((t) => t.score)).size).toBeGreaterThan(1) // the scores differ, so equality means something
    const other = await randomSearch(data.x, data.y, space, { ...base, trials: 6, seed: 6 })
    expect(outcome(other.trials)).not.toEqual(outcome(inThread.trials))
  })

  it('with early stopping and median pruning too, whatever the workers’ timing', async () => {
    const options = { ...base, trials: 8, earlyStopping: 2, pruning: { afterEpochs: 2, minTrials: 2 } }
    const inThread = await randomSearch(data.x, data.y, { ...space, epochs: [12] }, options)
    const onWorkers = await randomSearch(data.x, data.y, { ...space, epochs: [12] }, { ...options, workers: 2 })
    expect(outcome(onWorkers.trials)).toEqual(outcome(inThread.trials))
    expect(inThread.count('pruned')).toBeGreaterThan(0)
  })
})

describe('median pruning decides from lower-index trials only, whatever the order of reports', () => {
  /** Replays reports (trial, epoch, value) in the given order; returns each report's decision. */
  async function replay(order: [number, number, number][], finishAfter: Record<number, number>): Promise<Map<string, boolean>> {
    const pruner = new MedianPruner('max', 2)
    const decisions = new Map<string, boolean>()
    const pending: Promise<void>[] = []
    for (const [index, epoch, value] of order) {
      pending.push(pruner.report(index, epoch, value).then((prune) => void decisions.set(`${index}@${epoch}`, prune)))
      if (finishAfter[index] === epoch) pruner.finish(index)
    }
    await Promise.all(pending)
    return decisions
  }

  it('prunes a trial below the median of the earlier trials at that epoch, and only then', async () => {
    const reports: [number, number, number][] = [
      [0, 1, 0.6], [0, 2, 0.8],
      [1, 1, 0.7], [1, 2, 0.9],
      [2, 1, 0.5], [2, 2, 0.84], // median of 0.8, 0.9 is 0.85: pruned at epoch 2; at 1, two peers 0.6/0.7 → 0.65 > 0.5: pruned
      [3, 1, 0.66],              // median of 0.6, 0.7, 0.5 is 0.6: kept
    ]
    const finish = { 0: 2, 1: 2, 2: 2, 3: 1 }
    const inOrder = await replay(reports, finish)
    expect(Object.fromEntries(inOrder)).toEqual({ '0@1': false, '0@2': false, '1@1': false, '1@2': false, '2@1': true, '2@2': true, '3@1': false })
    // Later trials reporting first wait for the earlier ones: the same decisions.
    const shuffled = [reports[6]!, reports[4]!, reports[2]!, reports[0]!, reports[5]!, reports[1]!, reports[3]!]
    expect(Object.fromEntries(await replay(shuffled, finish))).toEqual(Object.fromEntries(inOrder))
  })
})

// ─── failures ────────────────────────────────────────────────────────────────────────────────

describe('a failing trial is recorded and the search goes on', () => {
  const reg = linearRegression({ samples: 80, features: 2, seed: 1 })
  const space: SearchSpace = { optimizer: ['sgd'], learningRate: [0.01, 1e6, 0.02], epochs: [3], layers: [[4]] }

  it.each([0, 2])('a diverging trial (workers: %i) fails with its TrainingDivergedError', async (workers) => {
    const result = await gridSearch(reg.x, reg.y, space, { loss: 'meanSquaredError', seed: 1, workers })
    const byIndex = [...result.trials].sort((a, b) => a.index - b.index)
    expect(byIndex.map((t) => t.status)).toEqual(['completed', 'failed', 'completed'])
    expect(byIndex[1]!.error).toMatch(/^TrainingDivergedError: training diverged in epoch \d+, batch \d+: the loss is/)
    expect(byIndex[1]!.score).toBeNull()
    expect(result.best!.status).toBe('completed')
    expect(result.trials.at(-1)!.status).toBe('failed') // ranked last
  })

  it('a build function that throws fails only its trial', async () => {
    const result = await gridSearch(data.x, data.y, { width: [3, 0, 5], epochs: [2] } as SearchSpace, {
      ...base,
      build: (params, ctx) => {
        if (params.width === 0) throw new RangeError('width 0 is not a network')
        return new Sequential({ seed: ctx.seed })
          .add(new Dense({ inputSize: ctx.inputSize, units: params.width as number, activation: 'tanh' }))
          .add(new Dense({ units: ctx.outputSize, activation: 'softmax' }))
          .compile({ loss: ctx.loss, optimizer: new SGD({ learningRate: 0.1 }), metrics: ctx.metrics })
      },
    })
    const byIndex = [...result.trials].sort((a, b) => a.index - b.index)
    expect(byIndex.map((t) => t.status)).toEqual(['completed', 'failed', 'completed'])
    expect(byIndex[1]!.error).toBe('RangeError: width 0 is not a network')
  })
})

// ─── invalid input ───────────────────────────────────────────────────────────────────────────

describe('invalid spaces and options get errors naming the key, what was expected and what was given', () => {
  const grid = (space: unknown, options: object = {}) => gridSearch(data.x, data.y, space as SearchSpace, { ...base, ...options })
  const random = (space: unknown, options: object = {}) => randomSearch(data.x, data.y, space as SearchSpace, { ...base, ...options })

  it.each([
    ['a misspelt key', () => grid({ learning_rate: [0.1] }), TypeError, "gridSearch space has an unknown key 'learning_rate'; valid keys are: layers, units, depth"],
    ['an empty list', () => grid({ units: [] }), RangeError, 'gridSearch space units is an empty list; list at least one value'],
    ['a distribution in a grid', () => grid({ learningRate: logUniform(1e-4, 1e-1) }), TypeError, 'gridSearch space learningRate is a logUniform distribution, which a grid cannot enumerate; list the values to try, or use randomSearch'],
    ['a bad value in a list', () => grid({ dropout: [0.1, 1] }), RangeError, 'gridSearch space dropout[1] must be a number in [0, 1), got 1'],
    ['a softmax hidden layer', () => grid({ activation: ['softmax'] }), TypeError, "gridSearch space activation[0] is for hidden layers and cannot be 'softmax'"],
    ['flat layer widths', () => grid({ layers: [64, 32] }), TypeError, 'gridSearch space layers[0] must be a list of hidden-layer widths, got 64: a list in a space is a choice, so write layers: [[64, 32]]'],
    ['an optimizer key the optimizer does not take', () => grid({ optimizer: ['adam', 'sgd'], momentum: [0.9] }), TypeError, "gridSearch space momentum applies to 'sgd', 'rmsprop', but the space also tries optimizer 'adam'; use a list of spaces"],
    ['momentum with the default optimizer', () => random({ momentum: uniform(0, 0.9) }), TypeError, "randomSearch space momentum applies to 'sgd', 'rmsprop', but the space also tries optimizer 'adam' (the default)"],
    ['layers and units together', () => grid({ layers: [[8]], units: [4] }), TypeError, 'gridSearch space has layers and also units/depth'],
    ['logUniform from 0', () => random({ learningRate: logUniform(0, 1) }), RangeError, 'randomSearch space learningRate: logUniform needs low > 0, got [0, 1]'],
    ['low ≥ high', () => random({ dropout: uniform(0.5, 0.1) }), RangeError, 'randomSearch space dropout: uniform needs low < high, got [0.5, 0.1]'],
    ['a bound out of range', () => random({ dropout: uniform(-0.5, 0.5) }), RangeError, 'randomSearch space dropout uniform low must be a number in [0, 1), got -0.5'],
    ['uniform for an integer key', () => random({ units: uniform(4, 64) }), TypeError, 'randomSearch space units must be an integer, so use intUniform instead of uniform'],
    ['intUniform with fractions', () => random({ units: intUniform(4.5, 64) }), TypeError, 'randomSearch space units intUniform low must be an integer, got 4.5'],
    ['a distribution for a name', () => random({ activation: uniform(0, 1) }), TypeError, 'randomSearch space activation is not a number, so it cannot follow a uniform distribution; list the choices instead'],
    ['an unknown schedule', () => grid({ schedule: [{ kind: 'linear' }] }), TypeError, "gridSearch space schedule[0] kind must be one of 'stepDecay', 'exponentialDecay', 'cosineDecay', 'reduceLROnPlateau'; got the string 'linear'"],
    ['a bad schedule option', () => grid({ schedule: [{ kind: 'stepDecay', stepSize: 0 }] }), RangeError, 'gridSearch space schedule[0]: stepDecay stepSize must be an integer ≥ 1, got 0'],
    ['a space that is not an object', () => grid('units=4'), TypeError, "gridSearch space must be an object mapping model keys to choices, e.g. { units: [32, 64], learningRate: [1e-3, 1e-2] }; got the string 'units=4'"],
  ])('%s', async (_, run, kind, message) => {
    const error = await rejection(Promise.resolve().then(run))
    expect(error).toBeInstanceOf(kind)
    expect(error.message).toContain(message)
  })

  it.each([
    ['no loss', () => randomSearch(data.x, data.y, { units: [4] }, {} as never), TypeError, "randomSearch options need a loss: one of 'binaryCrossEntropy'"],
    ['a misspelt option', () => random({ units: [4] }, { trails: 5 }), TypeError, "randomSearch options has an unknown option 'trails'"],
    ['two validation sources', () => random({ units: [4] }, { validationSplit: 0.2, folds: 3 }), TypeError, 'randomSearch takes one of validationSplit, validationData and folds; got validationSplit and folds'],
    ['one fold', () => random({ units: [4] }, { folds: 1 }), RangeError, 'randomSearch folds must be an integer ≥ 2, got 1'],
    ['a build function on workers', () => random({ units: [4] }, { workers: 2, build: () => null }), TypeError, 'randomSearch build is a function, which cannot be sent to worker threads: pass workers: 0'],
    ['a metric that does not fit the loss', () => random({ units: [4] }, { metric: 'meanAbsoluteError' }), TypeError, "randomSearch metric 'meanAbsoluteError' does not apply to class-index targets"],
    ['zero trials', () => random({ units: [4] }, { trials: 0 }), RangeError, 'randomSearch trials must be an integer ≥ 1, got 0'],
    ['labels that do not match x', () => randomSearch(data.x, data.y.slice(1), { units: [4] }, base), RangeError, 'randomSearch y has 159 labels but x has 160 samples'],
  ])('%s', async (_, run, kind, message) => {
    const error = await rejection(Promise.resolve().then(run))
    expect(error).toBeInstanceOf(kind)
    expect(error.message).toContain(message)
  })

  it('the preview helpers check their space too', () => {
    expect(thrown(() => parameterGrid({ units: { intUniform: [1, 4] } } as SearchSpace)).message).toBe(
      'parameterGrid space units is a intUniform distribution, which a grid cannot enumerate; list the values to try, or use randomSearch',
    )
  })
})

// ─── results ─────────────────────────────────────────────────────────────────────────────────

describe('results', () => {
  const space: SearchSpace = { layers: [[2], [8, 4]], learningRate: [0.003, 0.05], epochs: [8], batchSize: [16] }

  it('rank best first, keep every trial’s parameters, score, fit time and epochs, and export them', async () => {
    const result = await gridSearch(data.x, data.y, space, { ...base, validationData: [held.x, held.y] })
    const scores = result.trials.map((t) => t.score!)
    expect(scores).toEqual([...scores].sort((a, b) => b - a))
    expect(result.bestScore).toBe(scores[0])
    expect(result.bestParams).toEqual(result.trials[0]!.params)

    const json = JSON.parse(JSON.stringify(result))
    expect(json).toMatchObject({ method: 'grid', seed: 5, metric: 'accuracy', direction: 'max', stopReason: 'completed', bestScore: scores[0] })
    expect(json.trials).toHaveLength(4)
    expect(json.trials[0]).toEqual(JSON.parse(JSON.stringify(result.trials[0])))

    const lines = result.toCSV().trimEnd().split('\n')
    expect(lines[0]).toBe('rank,index,status,score,fitTimeMs,epochsTrained,bestEpoch,seed,layers,learningRate,epochs,batchSize,error')
    expect(lines).toHaveLength(5)
    // A list with a comma in it is quoted (RFC 4180); [2] is not.
    const csvLayers = (l: unknown) => (JSON.stringify(l).includes(',') ? `"${JSON.stringify(l)}"` : JSON.stringify(l))
    result.trials.forEach((t, i) => {
      expect(lines[i + 1]).toBe(
        `${i + 1},${t.index},completed,${t.score},${Math.round(t.fitTimeMs)},8,8,${t.seed},${csvLayers(t.params.layers)},${t.params.learningRate},8,16,`,
      )
    })
    expect(lines.some((l) => l.includes(',"[8,4]",'))).toBe(true)
  })

  it('refit: true retrains the best trial on its rows — the same model, the same score', async () => {
    const result = await gridSearch(data.x, data.y, space, { ...base, validationData: [held.x, held.y], earlyStopping: 2 })
    const model = result.model!
    expect(model).toBeInstanceOf(Sequential)
    expect(model.seed).toBe(result.best!.seed)
    expect(model.evaluate(held.x, held.y).accuracy).toBe(result.bestScore)
  })

  it("refit: 'all' trains on training and validation rows for the best trial's epochs; false skips it", async () => {
    const all = await gridSearch(data.x, data.y, space, { ...base, validationData: [held.x, held.y], earlyStopping: 2, refit: 'all' })
    expect(all.model!.epochsTrained).toBe(Math.round(all.best!.bestEpoch))
    const none = await gridSearch(data.x, data.y, space, { ...base, refit: false })
    expect(none.model).toBeNull()
  })

  it('regression is scored by the validation loss, lowest first, or by a chosen metric', async () => {
    const reg = linearRegression({ samples: 120, features: 2, seed: 4 })
    const space: SearchSpace = { units: [2, 8], learningRate: [0.003, 0.03], epochs: [5] }
    const byLoss = await gridSearch(reg.x, reg.y, space, { loss: 'meanSquaredError', seed: 2, workers: 0, validationData: [reg.x.slice(0, 30), reg.y.slice(0, 30)] })
    expect([byLoss.metric, byLoss.direction]).toEqual(['loss', 'min'])
    const losses = byLoss.trials.map((t) => t.score!)
    expect(losses).toEqual([...losses].sort((a, b) => a - b))
    expect(byLoss.model!.evaluate(reg.x.slice(0, 30), reg.y.slice(0, 30)).loss).toBe(byLoss.bestScore)
    const byMae = await gridSearch(reg.x, reg.y, space, { loss: 'meanSquaredError', metric: 'meanAbsoluteError', seed: 2, workers: 0 })
    expect(byMae.direction).toBe('min')
    expect(byMae.model!.plan.metrics).toEqual(['meanAbsoluteError'])
  })

  it('k-fold cross-validation scores the mean of k folds; refit trains on every row', async () => {
    const result = await gridSearch(data.x, data.y, { units: [6], epochs: [4] }, { ...base, folds: 4 })
    const t = result.trials[0]!
    expect(t.foldScores).toHaveLength(4)
    expect(t.score).toBeCloseTo(t.foldScores.reduce((a, b) => a + b) / 4, 12)
    expect(new Set(t.foldScores).size).toBeGreaterThan(1)
    expect(result.model!.epochsTrained).toBe(4)
  })

  it('early stopping ends trials before their epochs and records the best epoch', async () => {
    const result = await gridSearch(data.x, data.y, { units: [8], learningRate: [0.3], optimizer: ['sgd'], epochs: [200] }, { ...base, earlyStopping: 3 })
    const t = result.trials[0]!
    expect(t.epochsTrained).toBeLessThan(200)
    expect(t.bestEpoch).toBe(t.epochsTrained - 3)
  })

  it('a chart of the score against each parameter that varied (log axis for wide ranges)', async () => {
    const result = await randomSearch(data.x, data.y, { units: intUniform(2, 8), learningRate: logUniform(1e-3, 1), epochs: [3] }, { ...base, trials: 5 })
    const spec = result.chartSpec() as { data: { values: Record<string, unknown>[] }; concat: { encoding: { x: { field: string; scale?: unknown } } }[] }
    expect(spec.data.values).toHaveLength(5)
    expect(spec.concat.map((p) => p.encoding.x.field)).toEqual(['units', 'learningRate'])
    expect(spec.concat[1]!.encoding.x.scale).toEqual({ type: 'log' })
    expect(spec.concat[0]!.encoding.x.scale).toBeUndefined()
    const svg = await result.chartSvg()
    expect(svg).toMatch(/^<svg[^>]*>/)
    expect(svg).toContain('learningRate')
  })

  it('schedules are part of the space', async () => {
    const result = await gridSearch(data.x, data.y, {
      units: [6],
      epochs: [5],
      schedule: ['none', { kind: 'cosineDecay', warmupSteps: 1 }, { kind: 'reduceLROnPlateau', patience: 1 }, { kind: 'stepDecay', stepSize: 2 }],
    }, base)
    expect(result.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed'])
    expect(new Set(result.trials.map((t) => t.score)).size).toBeGreaterThan(1)
  })
})

// ─── budget, progress, cancellation ──────────────────────────────────────────────────────────

describe('budget, progress and cancellation', () => {
  it('a time budget starts no trial after it runs out', async () => {
    const result = await randomSearch(data.x, data.y, { units: intUniform(2, 8), epochs: [30] }, { ...base, trials: 500, timeBudgetMs: 150 })
    expect(result.stopReason).toBe('timeBudget')
    expect(result.trials.length).toBeLessThan(500)
  })

  it('progress is reported after every trial', async () => {
    const events: SearchProgress[] = []
    await randomSearch(data.x, data.y, { units: intUniform(2, 8), epochs: [2] }, { ...base, trials: 4, progress: (e) => events.push(e) })
    expect(events.map((e) => e.done)).toEqual([1, 2, 3, 4])
    expect(events.every((e) => e.total === 4)).toBe(true)
    expect(events.at(-1)!.best).not.toBeNull()
  })

  it('the progress bar draws in place on a terminal and a line per trial elsewhere', () => {
    const trial = { index: 2, status: 'completed', score: 0.9 } as TrialResult
    const event = (done: number): SearchProgress => ({ trial, done, total: 4, running: 1, best: trial, elapsedMs: 1234 })
    let out = ''
    const bar = progressBar({ write: (t: string) => (out += t), isTTY: false }, 8)
    bar(event(1))
    bar(event(4))
    expect(out).toBe('[##------] 1/4  best 0.9000 (trial 2)  1.2 s\n[########] 4/4  best 0.9000 (trial 2)  1.2 s\n')
    let tty = ''
    progressBar({ write: (t: string) => (tty += t), isTTY: true }, 8)(event(1))
    expect(tty).toBe('\r[##------] 1/4  best 0.9000 (trial 2)  1.2 s\x1b[K')
  })

  it('a progress callback that throws ends the search with its error', async () => {
    const error = await rejection(
      randomSearch(data.x, data.y, { units: [4], epochs: [2] }, { ...base, trials: 3, progress: () => { throw new Error('display broke') } }),
    )
    expect(error.message).toBe('display broke')
  })

  it('an abort signal cancels the trials in flight and resolves with what was done', async () => {
    const controller = new AbortController()
    // Trial 0 (one epoch) ends long before trial 1 (2000 epochs), and its end aborts the search.
    const result = await gridSearch(data.x, data.y, { units: [8], epochs: [1, 2000, 2000, 2000] }, {
      ...base,
      workers: 2,
      signal: controller.signal,
      progress: () => controller.abort(),
    })
    expect(result.stopReason).toBe('aborted')
    expect(result.trials.length).toBeLessThan(4)
    expect(result.model).toBeNull()
    expect(result.trials.some((t) => t.status === 'cancelled')).toBe(true)
  })
})

it('Matrix features and typed-array labels work as arrays do', async () => {
  const x = Matrix.from(data.x)
  const y = Int32Array.from(data.y)
  const a = await gridSearch(x, y, { units: [4], epochs: [2] }, base)
  const b = await gridSearch(data.x, data.y, { units: [4], epochs: [2] }, base)
  expect(outcome(a.trials)).toEqual(outcome(b.trials))
})
