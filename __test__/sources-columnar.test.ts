/**
 * data.parquet and data.arrow against the values they were written from (files written here
 * with hyparquet-writer and apache-arrow's own writer): several row groups / record batches,
 * string and numeric labels, regression, shuffle and shard, and damaged files.
 */
import fs from 'node:fs'
import { Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { DataFileError, Dense, Sequential, data } from '../lib/index.js'
import { collect } from './helpers/source-rows.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-columnar-')
const N = 2500
const a = Float64Array.from({ length: N }, (_, i) => Math.sin(i) * 3)
const b = Int32Array.from({ length: N }, (_, i) => (i * 13) % 101)
const species = Array.from({ length: N }, (_, i) => ['versicolor', 'setosa', 'virginica'][(i * 7) % 3]!)
const target = Float64Array.from({ length: N }, (_, i) => i / 10)
/** What loadCsv would number the classes: sorted names. */
const classOf = (name: string) => ['setosa', 'versicolor', 'virginica'].indexOf(name)

function writeParquet(name: string, rowGroupSize = 700): string {
  const path = temp(name)
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'a', data: Array.from(a), type: 'DOUBLE' },
      { name: 'b', data: Array.from(b), type: 'INT32' },
      { name: 'y', data: Array.from(target), type: 'DOUBLE' },
      { name: 'species', data: species, type: 'STRING' },
    ],
    rowGroupSize,
  })
  fs.writeFileSync(path, new Uint8Array(buffer))
  return path
}

function writeArrow(name: string, format: 'file' | 'stream'): string {
  const path = temp(name)
  // Three record batches: tables made separately, their batches written as one table.
  const parts = [0, 1000, 2000].map((start) => {
    const end = Math.min(N, start + 1000)
    // Plain strings (not dictionary-encoded): the file format holds one dictionary per column.
    return new Table({ a: vectorFromArray(a.slice(start, end)), b: vectorFromArray(b.slice(start, end)), y: vectorFromArray(target.slice(start, end)), species: vectorFromArray(species.slice(start, end), new Utf8()) })
  })
  const table = parts[0]!.concat(...parts.slice(1))
  expect(table.batches.length).toBe(3)
  fs.writeFileSync(path, tableToIPC(table, format))
  return path
}


const expectedX = Array.from({ length: N }, (_, i) => [Math.fround(a[i]!), b[i]!]).flat()

describe.each([
  ['parquet (4 row groups)', () => writeParquet('data.parquet'), (p: string, o?: object) => data.parquet(p, o)],
  ['arrow file (3 record batches)', () => writeArrow('data.arrow', 'file'), (p: string, o?: object) => data.arrow(p, o)],
  ['arrow stream (3 record batches)', () => writeArrow('data.arrows', 'stream'), (p: string, o?: object) => data.arrow(p, o)],
])('%s', (_name, write, open) => {
  it('rows as written: features as float32, string labels numbered in sorted order, names from the schema', async () => {
    const path = write()
    const source = open(path, { label: 'species', featureNames: ['a', 'b'] })
    expect(await source.shape()).toEqual({ xColumns: 2, yColumns: 1, rows: N, featureNames: ['a', 'b'], labelNames: ['setosa', 'versicolor', 'virginica'] })
    const got = await collect(source)
    expect(got.x).toEqual(expectedX)
    expect(got.y).toEqual(species.map(classOf))
  })

  it('regression, the last column as the default label, shuffle and shard', async () => {
    const path = write()
    const regression = open(path, { label: 'y', featureNames: ['a', 'b'], task: 'regression' })
    const rows = (await collect(regression)).y
    expect(rows).toEqual(Array.from(target, Math.fround))
    const shuffled = (await collect(regression.shuffle(300, { seed: 2 }))).y
    expect(shuffled).not.toEqual(rows)
    expect([...shuffled].sort((p, q) => p - q)).toEqual([...rows].sort((p, q) => p - q))
    const parts = await Promise.all([0, 1].map((i) => collect(regression.shard(i, 2))))
    expect(parts.flatMap((p) => p.y).sort((p, q) => p - q)).toEqual([...rows].sort((p, q) => p - q))
    // Default label: the last column (species); features: every other column.
    expect((await open(path).shape()).featureNames).toEqual(['a', 'b', 'y'])
  })

  it('trains a model with fitDataset, and names a missing column with the columns it has', async () => {
    const path = write()
    const model = new Sequential({ seed: 2 }).add(new Dense({ inputSize: 2, units: 3, activation: 'softmax' }))
    model.compile({ loss: 'sparseCategoricalCrossEntropy', metrics: ['accuracy'] })
    const history = await model.fitDataset(open(path, { label: 'species', featureNames: ['a', 'b'] }).batch(100), { epochs: 2 })
    expect(history.epochs).toBe(2)
    expect(history.loss.every(Number.isFinite)).toBe(true)
    const error = await open(path, { label: 'kind' }).shape().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect((error as Error).message).toMatch(/no label column named 'kind'; the (Parquet|Arrow) schema has: a, b, y, species/)
  })
})

describe('a directory of Parquet shards', () => {
  it('reads the files in name order as one sequence, numbering the classes over all of them', async () => {
    const dir = temp('shards')
    fs.mkdirSync(dir)
    const write = (name: string, rows: number[], labels: string[]) =>
      fs.writeFileSync(`${dir}/${name}`, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'f', data: rows.map((r) => r * 1.5), type: 'DOUBLE' }, { name: 'kind', data: labels, type: 'STRING' }] })))
    // The second file alone has 'ant'; the first alone 'zebra': the union orders them.
    write('part-001.parquet', [3, 4], ['ant', 'cat'])
    write('part-000.parquet', [0, 1, 2], ['zebra', 'cat', 'zebra'])
    const source = await data.directory(dir)
    expect(await source.shape()).toMatchObject({ xColumns: 1, rows: 5, labelNames: ['ant', 'cat', 'zebra'] })
    const got = await collect(source)
    expect(got.x).toEqual([0, 1.5, 3, 4.5, 6])
    expect(got.y).toEqual([2, 1, 2, 0, 1])
  })
})

describe('damaged columnar files', () => {
  it('a corrupt Parquet page is a DataFileError naming the file and the row group', async () => {
    const path = writeParquet('corrupt.parquet', 1000)
    const bytes = fs.readFileSync(path)
    // Scramble the middle of the data pages (the footer at the end stays readable).
    for (let i = Math.floor(bytes.length * 0.3); i < Math.floor(bytes.length * 0.45); i++) bytes[i] = (bytes[i]! * 31 + 7) & 0xff
    fs.writeFileSync(path, bytes)
    const error = await collect(data.parquet(path, { label: 'y', task: 'regression' })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect((error as Error).message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: (row group \\d of 3|row \\d+)`))
  })

  it('a truncated Arrow file, and a file that is not Arrow or Parquet, are DataFileErrors naming the file', async () => {
    const path = writeArrow('cut.arrows', 'stream')
    const bytes = fs.readFileSync(path)
    fs.writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)))
    const cut = await collect(data.arrow(path, { label: 'y', task: 'regression' })).catch((e: unknown) => e)
    expect(cut).toBeInstanceOf(DataFileError)
    expect((cut as Error).message).toContain(path)
    const text = temp('not.parquet')
    fs.writeFileSync(text, 'a,b\n1,2\n')
    for (const source of [data.parquet(text), data.arrow(text)]) {
      const e = await source.shape().catch((x: unknown) => x)
      expect(e).toBeInstanceOf(DataFileError)
      expect((e as Error).message).toContain(text)
    }
  })
})
