/**
 * Scalers against numpy (golden/data-tools.py), their inverse and saved forms; one-hot encoding;
 * seeded, optionally stratified train/test splits; and k-fold splits.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  Matrix,
  MinMaxScaler,
  ModelStateError,
  ShapeError,
  StandardScaler,
  fromOneHot,
  kFold,
  oneHot,
  scalerFromJSON,
  takeRows,
  trainTestSplit,
} from '../lib/index.js'

const golden = JSON.parse(readFileSync(new URL('./golden/data-tools.json', import.meta.url), 'utf8')).scaler

/** Asserts two tables agree to float32 precision relative to each value's size. */
function expectClose(actual: Matrix, expected: number[][]): void {
  expect([actual.rows, actual.cols]).toEqual([expected.length, expected[0]!.length])
  expected.forEach((row, r) => row.forEach((v, c) => expect(Math.abs(actual.get(r, c) - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)))))
}

describe('StandardScaler', () => {
  it('matches numpy: mean, population standard deviation, constant feature scale 1', () => {
    const s = new StandardScaler().fit(golden.x)
    golden.mean.forEach((m: number, c: number) => expect(s.mean![c]).toBeCloseTo(m, 9))
    golden.std.forEach((v: number, c: number) => expect(s.scale![c]).toBeCloseTo(v, 9))
    expect(s.scale![4]).toBe(1)
    expectClose(s.transform(golden.x), golden.standardized)
  })

  it('inverseTransform undoes transform; toJSON / scalerFromJSON round-trip exactly', () => {
    const s = new StandardScaler().fit(golden.x)
    expectClose(s.inverseTransform(s.transform(golden.x)), golden.x)
    const back = scalerFromJSON(JSON.parse(JSON.stringify(s.toJSON())))
    expect(back).toBeInstanceOf(StandardScaler)
    expect(back.transform(golden.x).data).toEqual(s.transform(golden.x).data)
  })

  it('withMean / withStd false leave that part out', () => {
    const x = [[1, 10], [3, 30]]
    expect(new StandardScaler({ withMean: false }).fitTransform(x).toArray()).toEqual([[1, 1], [3, 3]])
    expect(new StandardScaler({ withStd: false }).fitTransform(x).toArray()).toEqual([[-1, -10], [1, 10]])
  })

  it('refuses use before fit, a different width, and non-finite data', () => {
    expect(() => new StandardScaler().transform([[1]])).toThrow(ModelStateError)
    const s = new StandardScaler().fit([[1, 2], [3, 4]])
    expect(() => s.transform([[1, 2, 3]])).toThrow(ShapeError)
    expect(() => s.transform([[1, 2, 3]])).toThrow(/must have 2 columns/)
    expect(() => new StandardScaler().fit([[1], [NaN]])).toThrow(/StandardScaler.fit x\[1\]\[0\] is NaN/)
    expect(() => scalerFromJSON({ kind: 'standard', mean: [0], scale: [0] })).toThrow(/must not hold 0/)
    expect(() => scalerFromJSON({ kind: 'robust' })).toThrow(/expected a saved scaler/)
  })
})

describe('MinMaxScaler', () => {
  it('matches numpy for feature range [-1, 1], with a constant feature only shifted', () => {
    const s = new MinMaxScaler({ featureRange: golden.featureRange }).fit(golden.x)
    expectClose(s.transform(golden.x), golden.minMax)
    expectClose(s.inverseTransform(s.transform(golden.x)), golden.x)
    const back = scalerFromJSON(JSON.parse(JSON.stringify(s.toJSON())))
    expect(back).toBeInstanceOf(MinMaxScaler)
    expect(back.transform(golden.x).data).toEqual(s.transform(golden.x).data)
  })

  it('maps the fitted minimum and maximum to the ends of the range', () => {
    const t = new MinMaxScaler().fitTransform([[2, -5], [4, 5], [3, 0]])
    expect(t.toArray()).toEqual([[0, 0], [1, 1], [0.5, 0.5]])
    expect(() => new MinMaxScaler({ featureRange: [1, 1] })).toThrow(/min < max/)
  })
})

describe('oneHot and fromOneHot', () => {
  it('encode class indices and decode them back', () => {
    const m = oneHot([2, 0, 1], 4)
    expect(m.toArray()).toEqual([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    expect(Array.from(fromOneHot(m))).toEqual([2, 0, 1])
    expect(oneHot(Int32Array.from([1, 1])).toArray()).toEqual([[0, 1], [0, 1]])
    expect(Array.from(fromOneHot([[0.1, 0.7, 0.2], [0.5, 0.5, 0]]))).toEqual([1, 0])
  })

  it('refuses labels out of range', () => {
    expect(() => oneHot([0, 3], 3)).toThrow(/labels hold class 3, but classes is 3/)
    expect(() => oneHot([0, -1])).toThrow(/labels\[1\] is -1/)
  })
})

describe('trainTestSplit', () => {
  const n = 103
  const x = Array.from({ length: n }, (_, i) => [i, -i])
  const y = Array.from({ length: n }, (_, i) => (i < 70 ? 0 : i < 95 ? 1 : 2))

  it('splits every row into exactly one part, rows staying with their labels', () => {
    const s = trainTestSplit(x, y, { testSize: 0.2, seed: 1 })
    expect(s.xTest.length).toBe(21) // ceil(0.2 · 103), as scikit-learn
    expect(s.xTrain.length).toBe(82)
    const all = [...s.trainIndices, ...s.testIndices].sort((a, b) => a - b)
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i))
    s.xTest.forEach((row, i) => expect(y[row[0]!]).toBe(s.yTest[i]))
    expect(Array.isArray(s.xTrain)).toBe(true) // same container kind as given
  })

  it('is seeded: the same seed gives the same split, another seed another', () => {
    const a = trainTestSplit(x, y, { seed: 5 })
    expect(trainTestSplit(x, y, { seed: 5 }).testIndices).toEqual(a.testIndices)
    expect(trainTestSplit(x, y, { seed: 6 }).testIndices).not.toEqual(a.testIndices)
  })

  it('stratified: each class keeps its share in the test set (within one sample)', () => {
    for (const seed of [0, 1, 2]) {
      const s = trainTestSplit(Matrix.from(x), Int32Array.from(y), { testSize: 0.3, stratify: true, seed })
      expect(s.xTest).toBeInstanceOf(Matrix)
      expect(s.yTest).toBeInstanceOf(Int32Array)
      const testCount = Math.ceil(0.3 * n)
      expect(s.yTest.length).toBe(testCount)
      for (const [cls, size] of [[0, 70], [1, 25], [2, 8]] as const) {
        const got = Array.from(s.yTest).filter((v) => v === cls).length
        expect(Math.abs(got - (size * testCount) / n)).toBeLessThan(1)
      }
    }
  })

  it('without shuffle, the test set is the last rows; a count works as testSize', () => {
    const s = trainTestSplit(x, y, { shuffle: false, testSize: 3 })
    expect(Array.from(s.testIndices)).toEqual([100, 101, 102])
  })

  it('refuses mismatched rows and sizes that leave a part empty', () => {
    expect(() => trainTestSplit(x, y.slice(1))).toThrow(/y has 102 rows but x has 103/)
    expect(() => trainTestSplit(x, y, { testSize: 103 })).toThrow(/leaves 0 for training/)
  })
})

describe('kFold', () => {
  it('every row is validated exactly once; folds differ in size by at most one', () => {
    const folds = kFold(23, { k: 5, seed: 3 })
    expect(folds.map((f) => f.validation.length)).toEqual([5, 5, 5, 4, 4])
    const seen = folds.flatMap((f) => Array.from(f.validation)).sort((a, b) => a - b)
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => i))
    for (const f of folds) {
      expect(f.train.length + f.validation.length).toBe(23)
      expect(Array.from(f.train).some((i) => f.validation.includes(i))).toBe(false)
    }
  })

  it('stratified: each fold holds its share of every class', () => {
    const y = Array.from({ length: 60 }, (_, i) => (i < 40 ? 0 : i < 55 ? 1 : 2))
    const folds = kFold(y, { k: 5, stratify: y, seed: 1 })
    for (const f of folds) {
      const counts = [0, 1, 2].map((c) => Array.from(f.validation).filter((i) => y[i] === c).length)
      expect(counts[0]).toBe(8)
      expect(counts[1]).toBe(3)
      expect(counts[2]).toBe(1)
    }
  })

  it('is seeded, and takeRows picks the samples of a fold', () => {
    expect(kFold(10, { k: 2, seed: 9 })[0]!.validation).toEqual(kFold(10, { k: 2, seed: 9 })[0]!.validation)
    const x = Matrix.from([[0], [10], [20], [30]])
    const f = kFold(x, { k: 2, shuffle: false })[1]!
    expect(takeRows(x, f.validation).toArray()).toEqual([[20], [30]])
    expect(() => kFold(3, { k: 4 })).toThrow(/k is 4, but there are only 3 samples/)
  })
})

describe('StandardScaler.partialFit', () => {
  it('over blocks of rows equals fit on all of them, and transformInPlace equals transform', async () => {
    const { StandardScaler, Matrix } = await import('../lib/index.js')
    // Large offsets and small spread: where a naive Σx² − n·mean² would lose the variance.
    const rows = Array.from({ length: 1000 }, (_, i) => [1e4 + Math.sin(i), -3 + (i % 7) * 0.01, 5])
    const whole = new StandardScaler().fit(rows)
    const streamed = new StandardScaler()
    for (let i = 0; i < rows.length; i += 137) streamed.partialFit(rows.slice(i, i + 137))
    for (let c = 0; c < 3; c++) {
      expect(streamed.mean![c]).toBeCloseTo(whole.mean![c]!, 9)
      expect(streamed.scale![c]! / whole.scale![c]!).toBeCloseTo(1, 9)
    }
    const x = Matrix.from(rows.slice(0, 5))
    expect(Array.from(streamed.transformInPlace(Float32Array.from(x.data)))).toEqual(Array.from(streamed.transform(x).data))
    expect(() => streamed.partialFit([[1, 2]])).toThrow('StandardScaler.partialFit x has 2 columns; the rows seen before had 3')
  })
})

describe('MinMaxScaler.partialFit and scalers over a source', () => {
  const rows = Array.from({ length: 3000 }, (_, i) => [((i * 7919) % 1000) - 500, Math.cos(i) * 3, i % 2 === 0 ? 4 : 4])

  it('MinMaxScaler.partialFit over blocks equals fit on all rows exactly, and transformInPlace equals transform', () => {
    const whole = new MinMaxScaler({ featureRange: [-1, 1] }).fit(rows)
    const streamed = new MinMaxScaler({ featureRange: [-1, 1] })
    for (let i = 0; i < rows.length; i += 211) streamed.partialFit(rows.slice(i, i + 211))
    for (const key of ['dataMin', 'dataMax', 'scale', 'offset'] as const) expect(Array.from(streamed[key]!)).toEqual(Array.from(whole[key]!))
    const x = Matrix.from(rows.slice(0, 9))
    expect(Array.from(streamed.transformInPlace(Float32Array.from(x.data)))).toEqual(Array.from(streamed.transform(x).data))
    expect(() => streamed.partialFit([[1, 2]])).toThrow('MinMaxScaler.partialFit x has 2 columns; the rows seen before had 3')
    expect(() => streamed.transformInPlace(new Float32Array(4))).toThrow('MinMaxScaler.transformInPlace x has 4 values, not a whole number of rows of 3 features')
    // fit forgets what partialFit learned before.
    const refit = new MinMaxScaler().partialFit([[1e6, 1e6, 1e6]]).fit(rows)
    expect(Array.from(refit.dataMax!)).toEqual(Array.from(new MinMaxScaler().fit(rows).dataMax!))
  })

  it('fitSource learns in one pass over a shuffled source what fit learns in memory', async () => {
    const { data } = await import('../lib/index.js')
    const y = rows.map((_, i) => i % 3)
    const source = data.array(rows, y).shuffle(256, { seed: 4 }).batch(100)
    const minMax = await new MinMaxScaler().fitSource(source)
    expect(Array.from(minMax.scale!)).toEqual(Array.from(new MinMaxScaler().fit(rows).scale!))
    const standard = await new StandardScaler().partialFit([[9, 9, 9]]).fitSource(source)
    const whole = new StandardScaler().fit(rows)
    for (let c = 0; c < 3; c++) {
      expect(standard.mean![c]).toBeCloseTo(whole.mean![c]!, 9)
      expect(standard.scale![c]! / whole.scale![c]!).toBeCloseTo(1, 9)
    }
    await expect(new MinMaxScaler().fitSource(data.array(rows, y).take(0))).rejects.toThrow('MinMaxScaler.fitSource source has no rows')
  })

  it('source.map(scaler) scales each block into new arrays and leaves the caller’s data and the labels as they were', async () => {
    const { data } = await import('../lib/index.js')
    const x = Matrix.from(rows)
    const before = Float32Array.from(x.data)
    const y = rows.map((_, i) => i % 3)
    for (const scaler of [new StandardScaler().fit(x), new MinMaxScaler().fit(x)]) {
      const got: number[] = []
      const labels: number[] = []
      for await (const b of data.array(x, y).batch(128).map(scaler).blocks({ epoch: 0 })) {
        got.push(...b.x)
        labels.push(...b.y)
      }
      expect(got).toEqual(Array.from(scaler.transform(x).data))
      expect(labels).toEqual(y)
      expect(Array.from(x.data)).toEqual(Array.from(before))
    }
    expect(() => data.array(x, y).map({} as never)).toThrow('map expects a function (block) => block or a fitted scaler, got')
  })
})
