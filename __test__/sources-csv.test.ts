/**
 * data.csv: a CSV file streamed in blocks, against loadCsv of the same file (the reference: the
 * same values, labels and class numbering), through shuffle and shard, and with the errors
 * loadCsv gives — a bad cell deep in the file names its line, and training that meets it stops
 * with that error and keeps the weights of the last finished epoch.
 */
import fs from 'node:fs'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DataFileError, Dense, Sequential, data, loadCsv } from '../lib/index.js'
import { collect } from './helpers/source-rows.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-csv-source-')

/** n rows of 3 features and a species label (numeric-looking labels too, as '1' and '1.0'). */
function writeCsv(name: string, n: number, options: { badAt?: number; labels?: string[]; gzip?: boolean } = {}): string {
  const labels = options.labels ?? ['setosa', 'virginica', 'versicolor']
  const lines = ['a,b,"c, quoted",species']
  for (let i = 0; i < n; i++) {
    const cell = options.badAt === i ? 'oops' : String((i % 97) / 7)
    lines.push(`${(i * 0.5).toFixed(2)},${cell},${-i},${labels[(i * 7) % labels.length]}`)
  }
  const text = lines.join('\r\n') + '\r\n'
  const path = temp(name)
  fs.writeFileSync(path, options.gzip ? zlib.gzipSync(text) : text)
  return path
}


describe('data.csv', () => {
  it('streams what loadCsv loads: values, class indices and names (also gzip, and 1 / 1.0 as one class)', async () => {
    for (const [name, options] of [['plain.csv', {}], ['numeric.csv.gz', { labels: ['2', '1', '1.0', '10'], gzip: true }]] as [string, { labels?: string[]; gzip?: boolean }][]) {
      const path = writeCsv(name, 10_000, options)
      const reference = await loadCsv(path)
      const source = data.csv(path)
      const shape = await source.shape()
      expect(shape).toMatchObject({ xColumns: 3, yColumns: 1, rows: 10_000, featureNames: ['a', 'b', 'c, quoted'] })
      expect(shape.labelNames).toEqual(reference.task === 'classification' ? reference.labelNames : null)
      const got = await collect(source)
      expect(got.x).toEqual(Array.from(reference.x.data))
      expect(got.y).toEqual(Array.from(reference.y))
    }
  })

  it('regression targets, chosen columns, given class names', async () => {
    const path = writeCsv('regression.csv', 500)
    const regression = await collect(data.csv(path, { label: 'a', task: 'regression', featureNames: ['c, quoted', 'b'] }))
    const reference = await loadCsv(path, { labelColumn: 'a', task: 'regression', featureNames: ['c, quoted', 'b'] })
    expect(regression.x).toEqual(Array.from(reference.x.data))
    expect(regression.y).toEqual(Array.from(reference.y))
    const fixed = data.csv(path, { labelNames: ['virginica', 'setosa', 'versicolor'] })
    expect((await fixed.shape()).labelNames).toEqual(['virginica', 'setosa', 'versicolor'])
    expect((await collect(fixed)).y.slice(0, 3)).toEqual([1, 0, 2]) // setosa, virginica, versicolor
    const unknown = await collect(data.csv(path, { labelNames: ['setosa'] })).catch((e: unknown) => e)
    expect(unknown).toBeInstanceOf(DataFileError)
    expect((unknown as Error).message).toMatch(/regression.csv: line 3: column 4 \('species'\): unknown label 'virginica'/)
  })

  it('shuffles (a seeded permutation) and shards (disjoint parts that cover every row)', async () => {
    const path = writeCsv('shuffle.csv', 3000)
    const rows = (await collect(data.csv(path, { task: 'regression', label: 'c, quoted', featureNames: ['a', 'b'] }))).y
    const shuffled = (await collect(data.csv(path, { task: 'regression', label: 'c, quoted', featureNames: ['a', 'b'] }).shuffle(256, { seed: 3 }))).y
    expect(shuffled).not.toEqual(rows)
    expect([...shuffled].sort((p, q) => p - q)).toEqual([...rows].sort((p, q) => p - q))
    expect((await collect(data.csv(path, { task: 'regression', label: 'c, quoted', featureNames: ['a', 'b'] }).shuffle(256, { seed: 3 }))).y).toEqual(shuffled)
    const parts = await Promise.all([0, 1, 2].map((i) => collect(data.csv(path, { task: 'regression', label: 'c, quoted', featureNames: ['a', 'b'] }).shard(i, 3))))
    expect(parts.flatMap((p) => p.y).sort((p, q) => p - q)).toEqual([...rows].sort((p, q) => p - q))
  })

  it('a bad cell deep in the file is a DataFileError with its line; training stops with it, keeping finite weights and the finished epochs', async () => {
    const good = writeCsv('good.csv', 4000)
    const bad = writeCsv('bad.csv', 4000, { badAt: 3500 })
    const error = await collect(data.csv(bad)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect((error as DataFileError).message).toBe(`${bad}: line 3502: column 2 ('b'): expected a number, found 'oops'`)
    expect((error as DataFileError).location).toEqual({ line: 3502 })

    const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 3, units: 3, activation: 'softmax' }))
    model.compile({ loss: 'sparseCategoricalCrossEntropy' })
    await model.fitDataset(data.csv(good).batch(64), { epochs: 1 })
    const before = Array.from(model.network.readState().params)
    // The bad file has the same classes, so the first pass passes; the bad cell is met while training.
    const failed = await model.fitDataset(data.csv(bad, { labelNames: ['setosa', 'versicolor', 'virginica'] }).batch(64), { epochs: 2 }).catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(DataFileError)
    expect((failed as Error).message).toContain('line 3502')
    const after = Array.from(model.network.readState().params)
    expect(after.every(Number.isFinite)).toBe(true)
    // Rows reach the engine in chunks of ~4 MB, each read whole before it trains: this epoch is
    // one chunk, which never trained, so the model keeps the last good weights exactly.
    expect(after).toEqual(before)
    // The failed epoch is not recorded; the model can go on training.
    expect(model.trainingHistory.epochs).toBe(1)
    await model.fitDataset(data.csv(good).batch(64), { epochs: 1 })
    expect(model.trainingHistory.epochs).toBe(2)
  })

  it('checks its options', () => {
    expect(() => data.csv('x.csv', { label: -1 })).toThrow('data.csv label must be a column name or a 0-based column index, got -1')
    expect(() => data.csv('x.csv', { task: 'regression', labelNames: ['a'] })).toThrow('data.csv labelNames applies to classification, not regression')
    expect(() => data.csv('x.csv', { delimiter: '""' })).toThrow("data.csv delimiter must be one character such as ',' or ';'")
  })
})
