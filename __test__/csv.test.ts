/**
 * CSV loading: labels by name or index, class names numbered in sorted order, regression
 * targets, a fixed label mapping, chosen feature columns, quoting and line endings, gzip; the
 * Float32Array allocated once at its final size; and a DataFileError naming the file, the line
 * and what was expected for each kind of bad file.
 */
import fs from 'node:fs'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DataFileError, loadCsv, loadCsvFeatures, readCsvHeader, type ClassificationDataset, type RegressionDataset } from '../lib/index.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-csv-')
let counter = 0
function csvFile(text: string, name = `data-${counter++}.csv`): string {
  const file = temp(name)
  fs.writeFileSync(file, text)
  return file
}

const FLOWERS = `length,width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9,3.0,setosa
`

describe('loadCsv', () => {
  it('reads numeric features and class labels (the last column by default), classes numbered in sorted order', async () => {
    const data = (await loadCsv(csvFile('a,b,label\n1,2,dog\n3,4,cat\n5,6,dog\n7,8,ant\n'))) as ClassificationDataset
    expect(data.task).toBe('classification')
    expect(data.x.toArray()).toEqual([[1, 2], [3, 4], [5, 6], [7, 8]])
    expect(data.labelNames).toEqual(['ant', 'cat', 'dog'])
    expect(Array.from(data.y)).toEqual([2, 1, 2, 0])
    expect(data.featureNames).toEqual(['a', 'b'])
    expect(data.targetName).toBe('label')
  })

  it('numbers numeric class names numerically (2 before 10)', async () => {
    const data = (await loadCsv(csvFile('x,digit\n0,10\n1,2\n2,9\n'))) as ClassificationDataset
    expect(data.labelNames).toEqual(['2', '9', '10'])
    expect(Array.from(data.y)).toEqual([2, 0, 1])
  })

  it('takes the label column by name or by index, anywhere in the row', async () => {
    const file = csvFile('species,length,width\nsetosa,5.1,3.5\nvirginica,6.3,3.3\n')
    for (const labelColumn of ['species', 0]) {
      const data = (await loadCsv(file, { labelColumn })) as ClassificationDataset
      expect(data.x.toArray()).toEqual([[5.1, 3.5].map(Math.fround), [6.3, 3.3].map(Math.fround)])
      expect(data.labelNames).toEqual(['setosa', 'virginica'])
      expect(data.featureNames).toEqual(['length', 'width'])
    }
  })

  it('reads real targets for regression', async () => {
    const data = (await loadCsv(csvFile('x1,x2,price\n1,0,10.5\n0,1,-3\n'), { task: 'regression', labelColumn: 'price' })) as RegressionDataset
    expect(data.task).toBe('regression')
    expect(Array.from(data.y)).toEqual([10.5, -3])
    expect(data.targetName).toBe('price')
  })

  it('keeps a given label mapping, and reads chosen feature columns in the order given', async () => {
    const data = (await loadCsv(csvFile(FLOWERS), { labelNames: ['virginica', 'versicolor', 'setosa'], featureNames: ['width', 'length'] })) as ClassificationDataset
    expect(data.labelNames).toEqual(['virginica', 'versicolor', 'setosa'])
    expect(Array.from(data.y)).toEqual([2, 1, 0, 2])
    expect(data.featureNames).toEqual(['width', 'length'])
    expect(data.x.row(0)).toEqual(Float32Array.from([3.5, 5.1]))
  })

  it('parses quoted fields, CRLF line endings, spaces, a BOM, blank lines and other delimiters', async () => {
    const text = '\uFEFF"len, cm";"kind"\r\n 1.5 ;"a;b"\r\n\r\n"2e3";"say ""hi"""\r\n'
    const data = (await loadCsv(csvFile(text), { delimiter: ';' })) as ClassificationDataset
    expect(data.featureNames).toEqual(['len, cm'])
    expect(Array.from(data.x.data)).toEqual([1.5, 2000])
    expect(data.labelNames).toEqual(['a;b', 'say "hi"'])
  })

  it('reads gzip-compressed files', async () => {
    const file = temp('flowers.csv.gz')
    fs.writeFileSync(file, zlib.gzipSync(FLOWERS))
    const data = (await loadCsv(file)) as ClassificationDataset
    expect(data.x.rows).toBe(4)
    expect(data.labelNames).toEqual(['setosa', 'versicolor', 'virginica'])
  })

  it('allocates the features once, at their final size', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},${i / 2},${i % 3}`)
    const data = await loadCsv(csvFile(`a,b,c\n${rows.join('\n')}\n`))
    expect(data.x.rows).toBe(5000)
    expect(data.x.data.buffer.byteLength).toBe(5000 * 2 * 4)
    expect(data.x.get(4999, 1)).toBe(2499.5)
  })

  it('agrees with a plain split of the shipped iris file', async () => {
    const file = new URL('../data/iris.csv', import.meta.url).pathname
    const lines = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','))
    const data = (await loadCsv(file)) as ClassificationDataset
    expect(data.x.toArray()).toEqual(lines.map((f) => f.slice(0, 4).map((v) => Math.fround(Number(v)))))
    expect(Array.from(data.y, (k) => data.labelNames[k])).toEqual(lines.map((f) => f[4]))
  })
})

describe('loadCsvFeatures and readCsvHeader', () => {
  it('reads the named columns only, ignoring others such as a label', async () => {
    const file = csvFile(FLOWERS)
    expect(await readCsvHeader(file)).toEqual(['length', 'width', 'species'])
    const { x, featureNames } = await loadCsvFeatures(file, { featureNames: ['width', 'length'] })
    expect(featureNames).toEqual(['width', 'length'])
    expect(x.rows).toBe(4)
    expect(x.row(1)).toEqual(Float32Array.from([3.2, 7.0]))
    expect((await loadCsvFeatures(csvFile('p,q\n1,2\n'))).x.toArray()).toEqual([[1, 2]])
  })
})

describe('loadCsv: bad files name the file, the line and what was expected', () => {
  async function failure(run: Promise<unknown>, file: string): Promise<DataFileError> {
    const e = await run.then(
      () => null,
      (x: unknown) => x,
    )
    expect(e).toBeInstanceOf(DataFileError)
    expect((e as DataFileError).path).toBe(file)
    expect((e as Error).message.startsWith(file)).toBe(true)
    return e as DataFileError
  }

  it('a missing file', async () => {
    const file = temp('absent.csv')
    expect((await failure(loadCsv(file), file)).message).toBe(`${file}: no such file`)
  })

  it('an empty file', async () => {
    const file = csvFile('')
    const e = await failure(loadCsv(file), file)
    expect(e.message).toBe(`${file}: line 1: the file is empty; expected a header row naming the columns, then one row per sample`)
    expect(e.location.line).toBe(1)
    expect((await failure(readCsvHeader(file), file)).message).toMatch(/line 1: the file is empty/)
  })

  it('a header without data rows', async () => {
    const file = csvFile('a,b,label\n')
    expect((await failure(loadCsv(file), file)).message).toBe(`${file}: line 2: the file has a header but no data rows`)
  })

  it('a non-numeric cell: its line, column number and name, and the cell', async () => {
    const file = csvFile('length,width,species\n5.1,3.5,setosa\n7.0,n/a,versicolor\n')
    const e = await failure(loadCsv(file), file)
    expect(e.message).toBe(`${file}: line 3: column 2 ('width'): expected a number, found 'n/a'`)
    expect(e.location.line).toBe(3)
  })

  it('an empty feature cell', async () => {
    const file = csvFile('a,b,label\n1,,x\n')
    expect((await failure(loadCsv(file), file)).message).toBe(`${file}: line 2: column 2 ('b'): expected a number, found an empty cell`)
  })

  it('a non-numeric regression target', async () => {
    const file = csvFile('a,y\n1,2\n2,high\n')
    expect((await failure(loadCsv(file, { task: 'regression' }), file)).message).toBe(`${file}: line 3: column 2 ('y', the target): expected a number, found 'high'`)
  })

  it('ragged rows: too few or too many fields', async () => {
    const short = csvFile('a,b,label\n1,2,x\n\n3,4\n')
    expect((await failure(loadCsv(short), short)).message).toBe(`${short}: line 4: expected 3 fields, as in the header, found 2`)
    const long = csvFile('a,b,label\n1,2,x,9\n')
    expect((await failure(loadCsv(long), long)).message).toBe(`${long}: line 2: expected 3 fields, as in the header, found 4`)
  })

  it('the wrong delimiter', async () => {
    const file = csvFile('a;b;label\n1;2;x\n')
    expect((await failure(loadCsv(file), file)).message).toMatch(/line 1: the header has 1 column; expected at least one feature column and the label column/)
  })

  it('an unknown label when the label mapping is fixed (e.g. by a trained model)', async () => {
    const file = csvFile(FLOWERS.replace('virginica', 'daisy'))
    const e = await failure(loadCsv(file, { labelNames: ['setosa', 'versicolor', 'virginica'] }), file)
    expect(e.message).toBe(`${file}: line 4: column 3 ('species'): unknown label 'daisy'; expected one of the labels the model knows: setosa, versicolor, virginica`)
  })

  it('a missing label or feature column', async () => {
    const file = csvFile(FLOWERS)
    expect((await failure(loadCsv(file, { labelColumn: 'kind' }), file)).message).toBe(`${file}: line 1: no label column named 'kind'; the header has: length, width, species`)
    expect((await failure(loadCsv(file, { labelColumn: 3 }), file)).message).toBe(`${file}: line 1: the label column is index 3, but the header has 3 columns (0–2)`)
    expect((await failure(loadCsvFeatures(file, { featureNames: ['height'] }), file)).message).toMatch(/no feature column named 'height'/)
  })

  it('a header with a repeated or empty name', async () => {
    const twice = csvFile('a,a,label\n1,2,x\n')
    expect((await failure(loadCsv(twice), twice)).message).toMatch(/line 1: the header names column 1 and column 2 both 'a'/)
    const blank = csvFile('a,,label\n1,2,x\n')
    expect((await failure(loadCsv(blank), blank)).message).toMatch(/line 1: column 2 of the header has no name/)
  })

  it('an unclosed quote', async () => {
    const file = csvFile('a,label\n1,"x\n2,y\n')
    expect((await failure(loadCsv(file), file)).message).toMatch(/line \d+: not valid CSV: Quote Not Closed/)
  })

  it('a damaged gzip file', async () => {
    const file = temp('cut.csv.gz')
    fs.writeFileSync(file, zlib.gzipSync(FLOWERS.repeat(50)).subarray(0, 60))
    expect((await failure(loadCsv(file), file)).message).toMatch(/the gzip stream is damaged or cut short/)
  })

  it('a directory instead of a file', async () => {
    const dir = temp('')
    expect((await failure(loadCsv(dir), dir)).message).toMatch(/is a directory; expected a CSV file/)
  })
})

describe('what a CSV cell may hold (as numpy and pandas read it)', () => {
  it.each([
    ['a feature beyond float32', 'a,b,label\n1,2,x\n1e39,3,y\n', {}, "line 3: column 1 ('a'): '1e39' is out of float32 range (±3.4e38)"],
    ['a target beyond float32', 'a,y\n1,2\n2,-1e39\n', { task: 'regression' as const }, "line 3: column 2 ('y', the target): '-1e39' is out of float32 range (±3.4e38)"],
    ['hexadecimal', 'a,b,label\n1,2,x\n0x10,3,y\n', {}, "line 3: column 1 ('a'): expected a number, found '0x10'; numbers in a data file are decimal (as numpy and pandas read them)"],
    ['Infinity', 'a,b,label\n1,Infinity,x\n', {}, "line 2: column 2 ('b'): expected a number, found 'Infinity'"],
  ])('refuses %s, naming file, line and column', async (_, text, options, message) => {
    const file = csvFile(text)
    await expect(loadCsv(file, options)).rejects.toThrow(`${file}: ${message}`)
  })

  it('refuses text that is not UTF-8 with its line, instead of merging labels into U+FFFD', async () => {
    const file = csvFile('')
    fs.writeFileSync(file, Buffer.concat([Buffer.from('a,city\n1,Bogot'), Buffer.from([0xe1]), Buffer.from('\n2,Medell'), Buffer.from([0xed]), Buffer.from('n\n')]))
    const error = await loadCsv(file).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect((error as DataFileError).message).toBe(`${file}: line 2: the text is not valid UTF-8; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)`)
    expect((error as DataFileError).location.line).toBe(2)
    // Valid UTF-8 of every length reads as it is.
    const ok = csvFile('a,city\n1,Bogotá\n2,東京\n3,🙂\n')
    expect(((await loadCsv(ok)) as ClassificationDataset).labelNames).toEqual(['Bogotá', '東京', '🙂'])
  })

  it('numeric labels compare as numbers: 1 and 1.0 are one class', async () => {
    const d = (await loadCsv(csvFile('a,label\n1,1\n2,1.0\n3,2\n4,2.00\n5,10\n'))) as ClassificationDataset
    expect(d.labelNames).toEqual(['1', '2', '10'])
    expect(Array.from(d.y)).toEqual([0, 0, 1, 1, 2])
  })

  it('reads a 100,000-column line and 100,000 distinct labels in linear time', async () => {
    const cols = 100_000
    const wide = csvFile(`${Array.from({ length: cols }, (_, i) => `c${i}`).join(',')}\n${Array.from({ length: cols }, (_, i) => String(i % 10)).join(',')}\n`)
    const labels = csvFile(`x,label\n${Array.from({ length: cols }, (_, i) => `${i},L${i}`).join('\n')}\n`)
    // Quadratic code took 15 s for each; linear takes well under a second here.
    const started = performance.now()
    expect((await loadCsv(wide)).x.cols).toBe(cols - 1)
    expect(((await loadCsv(labels)) as ClassificationDataset).labelNames).toHaveLength(cols)
    expect(performance.now() - started).toBeLessThan(8000)
  })

  it('random bytes and mutations of a valid file give a DataFileError or a correct read, never another error', async () => {
    const fc = await import('fast-check')
    const valid = Buffer.from('a,b,label\n1.5,2,x\n-3,4e2,y\n5,.5,x\n')
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), async (random, flips) => {
        for (const bytes of [Buffer.from(random), Buffer.from(valid.map((b, i) => flips.find(([at]) => at % valid.length === i)?.[1] ?? b))]) {
          const file = csvFile('')
          fs.writeFileSync(file, bytes)
          const result = await loadCsv(file).then((d) => d, (e: unknown) => e)
          if (result instanceof Error) expect(result).toBeInstanceOf(DataFileError)
          else expect((result as ClassificationDataset).x.data.every(Number.isFinite)).toBe(true)
        }
      }),
      { numRuns: 150 },
    )
  })
})
