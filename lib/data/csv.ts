/**
 * CSV files with a header row: numeric feature columns and one label column — class names
 * (mapped to indices, the mapping kept) or real targets. Files are streamed (gzip-compressed or
 * plain, told apart by their first bytes): a first pass counts the lines so the features go
 * straight into one Float32Array of the right size, and memory stays near the size of the result.
 *
 * Quoting, delimiters and line endings are parsed by csv-parse; this module checks what the
 * records mean, and names the file, line and column of anything unexpected.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { parse } from 'csv-parse'
import { utf8Checked } from './utf8-check.js'
import { DataFileError } from '../errors.js'
import { Matrix } from '../matrix.js'
import { checkOneOf, checkOptions, describe, optional } from '../validate.js'
import { sortedLabelNames, TASKS, type LabeledDataset, type Task } from './dataset.js'

export interface CsvOptions {
  /** The label column: its header name or its 0-based index. Default: the last column. */
  labelColumn?: string | number
  /** 'classification' (the default): labels are class names; 'regression': numbers. */
  task?: Task
  /**
   * The class names in index order (e.g. those a model was trained with). A label not in this
   * list is an error. Without it, the file's distinct labels are sorted (numerically when they
   * all are numbers) and numbered in that order.
   */
  labelNames?: string[]
  /**
   * The feature columns to read, by header name, in this order (e.g. those a model was trained
   * with); other columns are ignored. Default: every column but the label, in file order.
   */
  featureNames?: string[]
  /** Field delimiter (default ','). */
  delimiter?: string
}

export interface CsvFeaturesOptions {
  /** The columns to read, by header name, in this order. Default: every column. */
  featureNames?: string[]
  /** Columns to leave out (e.g. a label column), by header name. */
  exclude?: string[]
  delimiter?: string
}

/** Features read without labels (e.g. for prediction). */
export interface CsvFeatures {
  x: Matrix
  featureNames: string[]
}

/**
 * Loads a labelled dataset from a CSV file. Throws a DataFileError naming the file, the line
 * and the column when the file is missing, empty, ragged, or holds a cell that is not what the
 * column needs.
 */
export async function loadCsv(path: string, options: CsvOptions = {}): Promise<LabeledDataset> {
  const o = checkOptions('loadCsv options', options, ['labelColumn', 'task', 'labelNames', 'featureNames', 'delimiter'])
  const task = optional(o.task, 'classification' as Task, (v) => checkOneOf('loadCsv task', v, TASKS))
  const fixedLabels = optional(o.labelNames, null, (v) => checkStrings('loadCsv labelNames', v))
  if (fixedLabels !== null && task === 'regression') throw new TypeError('loadCsv labelNames applies to classification, not regression')
  const wanted = optional(o.featureNames, null, (v) => checkStrings('loadCsv featureNames', v))
  const labelColumn = optional(o.labelColumn, null as string | number | null, (v) => {
    if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v
    throw new TypeError(`loadCsv labelColumn must be a column name or a 0-based column index, got ${describe(v)}`)
  })
  const delimiter = checkDelimiter('loadCsv', o.delimiter)

  const labelIndex = new Map<string, number>((fixedLabels ?? []).map((name, i) => [name, i]))
  const seenLabels: string[] = []
  let labels: Int32Array | Float32Array = task === 'regression' ? new Float32Array(0) : new Int32Array(0)
  let targetName = ''

  const table = await readTable(path, delimiter, {
    layout(header) {
      const label = findColumn(path, header, labelColumn ?? header.length - 1, 'label column')
      targetName = header[label]!
      if (header.length < 2) fail(path, 1, `the header has ${header.length} column; expected at least one feature column and the label column`)
      const features = wanted
        ? wanted.map((name) => findColumn(path, header, name, 'feature column'))
        : header.map((_, i) => i).filter((i) => i !== label)
      if (features.includes(label)) fail(path, 1, `column '${targetName}' is both the label column and a feature column`)
      return { features, label }
    },
    grow(capacity) {
      const next = task === 'regression' ? new Float32Array(capacity) : new Int32Array(capacity)
      next.set(labels.subarray(0, Math.min(labels.length, capacity)))
      labels = next
    },
    label(cell, row, line, column) {
      if (task === 'regression') {
        labels[row] = readTarget(path, cell, line, column, targetName)
        return
      }
      cell = canonicalLabel(cell)
      let k = labelIndex.get(cell)
      if (k === undefined) {
        if (fixedLabels !== null) {
          fail(path, line, `column ${column + 1} ('${targetName}'): unknown label ${showCell(cell)}; expected one of the labels the model knows: ${fixedLabels.join(', ')}`)
        }
        if (cell === '') fail(path, line, `column ${column + 1} ('${targetName}', the label): the label is empty`)
        k = seenLabels.length
        seenLabels.push(cell)
        labelIndex.set(cell, k)
      }
      labels[row] = k
    },
  })
  const y = labels.length === table.x.rows ? labels : labels.slice(0, table.x.rows)
  if (task === 'regression') {
    return { task, x: table.x, y: y as Float32Array, featureNames: table.featureNames, targetName }
  }
  let labelNames = fixedLabels
  if (labelNames === null) {
    // Number the classes in sorted order, not in order of appearance, so the same classes get
    // the same indices whatever the row order.
    labelNames = sortedLabelNames(seenLabels)
    const sortedIndex = new Map(labelNames.map((name, i) => [name, i]))
    const remap = Int32Array.from(seenLabels, (name) => sortedIndex.get(name)!)
    for (let i = 0; i < y.length; i++) y[i] = remap[y[i]!]!
  }
  return { task, x: table.x, y: y as Int32Array, featureNames: table.featureNames, labelNames, targetName }
}

/** Reads numeric feature columns from a CSV file (no labels), e.g. data to predict. */
export async function loadCsvFeatures(path: string, options: CsvFeaturesOptions = {}): Promise<CsvFeatures> {
  const o = checkOptions('loadCsvFeatures options', options, ['featureNames', 'exclude', 'delimiter'])
  const wanted = optional(o.featureNames, null, (v) => checkStrings('loadCsvFeatures featureNames', v))
  const exclude = optional(o.exclude, [] as string[], (v) => (Array.isArray(v) && v.length === 0 ? [] : checkStrings('loadCsvFeatures exclude', v)))
  const delimiter = checkDelimiter('loadCsvFeatures', o.delimiter)
  return readTable(path, delimiter, {
    layout(header) {
      const features = wanted
        ? wanted.map((name) => findColumn(path, header, name, 'feature column'))
        : header.map((_, i) => i).filter((i) => !exclude.includes(header[i]!))
      if (features.length === 0) fail(path, 1, 'no feature columns to read')
      return { features, label: null }
    },
  })
}

/** The header row of a CSV file, e.g. to see which columns it has. */
export async function readCsvHeader(path: string, options: { delimiter?: string } = {}): Promise<string[]> {
  const o = checkOptions('readCsvHeader options', options, ['delimiter'])
  const delimiter = checkDelimiter('readCsvHeader', o.delimiter)
  await checkFile(path)
  const parser = await parseText(path, delimiter)
  try {
    for await (const { record } of parser as AsyncIterable<{ record: string[] }>) return checkHeader(path, record)
  } catch (error) {
    rethrow(path, error)
  } finally {
    parser.destroy()
  }
  return fail(path, 1, 'the file is empty; expected a header row naming the columns')
}

interface TableSpec {
  /** Chooses the feature columns (and the label column, if any) from the header. */
  layout(header: string[]): { features: number[]; label: number | null }
  /** Makes room for `capacity` labels. */
  grow?(capacity: number): void
  /** Stores the label cell of data row `row` (0-based), found at a 1-based line. */
  label?(cell: string, row: number, line: number, column: number): void
}

/** Streams the file once to count its lines, then again to parse it into a Matrix. */
async function readTable(path: string, delimiter: string, spec: TableSpec): Promise<CsvFeatures> {
  await checkFile(path)
  let capacity = Math.max(0, (await countLines(path)) - 1)
  let header: string[] = []
  let columns: number[] = []
  let label: number | null = null
  let data = new Float32Array(0)
  let rows = 0
  for await (const record of csvRecords(path, delimiter)) {
    if (rows === 0) {
      header = record.header
      ;({ features: columns, label } = spec.layout(header))
      data = new Float32Array(capacity * columns.length)
      spec.grow?.(capacity)
    }
    if (rows === capacity) {
      // Only when the line count under-counted records (e.g. lone \r line endings).
      capacity = Math.max(16, capacity * 2)
      const bigger = new Float32Array(capacity * columns.length)
      bigger.set(data)
      data = bigger
      spec.grow?.(capacity)
    }
    readFeatures(path, record, columns, data, rows * columns.length)
    if (label !== null) spec.label!(record.cells[label]!, rows, record.line, label)
    rows++
  }
  const used = rows * columns.length
  // Keep the buffer when only a few blank lines were over-counted; copy when it would waste much.
  const values = used === data.length ? data : used >= 0.99 * data.length ? data.subarray(0, used) : data.slice(0, used)
  return { x: new Matrix(rows, columns.length, values), featureNames: columns.map((c) => header[c]!) }
}

/** A data record of a CSV file: its cells, its 1-based line, and the file's header. */
export interface CsvRecord {
  header: string[]
  cells: string[]
  line: number
  /** Where the record ends in the file: the byte after its line break (plain, uncompressed files). */
  end: number
  /** Where the header ends. */
  headerEnd: number
}

/**
 * Part of a plain (not gzip) CSV file: the records between two record boundaries, read with the
 * header. `start` and `end` are byte offsets (a record's `end`), `firstLine` the line `start` is on.
 */
export interface CsvRange {
  headerEnd: number
  start: number
  end: number
  firstLine: number
}

/**
 * The data records of a CSV file, one at a time (what loadCsv and the streaming CSV source both
 * read through): each as wide as the header, which is checked first. An empty file, a file with
 * only a header, a ragged row, bad quoting, invalid UTF-8 or a damaged gzip stream end the
 * iteration with a DataFileError naming the file and line.
 */
export async function* csvRecords(path: string, delimiter: string, range?: CsvRange): AsyncGenerator<CsvRecord> {
  await checkFile(path)
  let header: string[] | null = null
  let headerEnd = 0
  let rows = 0
  const parser = await parseText(path, delimiter, range)
  // In a range, the parser sees the header then the range's bytes: lines and offsets shift.
  const lineShift = range ? range.firstLine - 2 : 0
  const byteShift = range ? range.start - range.headerEnd : 0
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
      const line = header === null ? info.lines : info.lines + lineShift
      if (header === null) {
        header = checkHeader(path, record)
        headerEnd = info.bytes
        continue
      }
      if (record.length !== header.length) {
        fail(path, line, `expected ${header.length} fields, as in the header, found ${record.length}${record.length === 1 && header.length > 1 ? ' (is the delimiter right?)' : ''}`)
      }
      rows++
      yield { header, cells: record, line, end: info.bytes + byteShift, headerEnd }
    }
  } catch (error) {
    rethrow(path, error)
  } finally {
    parser.destroy()
  }
  if (header === null) fail(path, 1, 'the file is empty; expected a header row naming the columns, then one row per sample')
  if (rows === 0) fail(path, 2, 'the file has a header but no data rows')
}

/** Parses a record's feature cells (the header positions `columns`) into `into` at `offset`. */
export function readFeatures(path: string, record: CsvRecord, columns: readonly number[], into: Float32Array, offset: number): void {
  for (let j = 0; j < columns.length; j++) {
    const c = columns[j]!
    const v = parseNumber(record.cells[c]!)
    if (typeof v === 'string') fail(path, record.line, `column ${c + 1} ('${record.header[c]}'): ${v}`)
    into[offset + j] = v as number
  }
}

/** A regression target cell as a number, or a DataFileError naming the file, line and column. */
export function readTarget(path: string, cell: string, line: number, column: number, name: string): number {
  const v = parseNumber(cell)
  if (typeof v === 'string') fail(path, line, `column ${column + 1} ('${name}', the target): ${v}`)
  return v as number
}

/** A class label as it is compared: numeric labels as numbers ('1' and '1.0' are one class). */
export function canonicalLabel(cell: string): string {
  const n = DECIMAL.test(cell) ? Number(cell) : NaN
  return Number.isFinite(n) ? String(n) : cell
}

/** The file's records; an error reading or decoding it ends the parse with that error. */
async function parseText(path: string, delimiter: string, range?: CsvRange) {
  const text = range ? rangeText(path, range) : await openText(path)
  const parser = parse({ delimiter, info: true, relax_column_count: true, skip_empty_lines: true, bom: true, trim: true })
  text.on('error', (error) => parser.destroy(error))
  return text.pipe(parser)
}

function checkHeader(path: string, header: string[]): string[] {
  const seen = new Map<string, number>()
  header.forEach((name, i) => {
    if (name === '') fail(path, 1, `column ${i + 1} of the header has no name; expected a header row naming every column`)
    const first = seen.get(name)
    if (first !== undefined) fail(path, 1, `the header names column ${first + 1} and column ${i + 1} both '${name}'; column names must be distinct`)
    seen.set(name, i)
  })
  return header
}

/** Each header's column positions by name, so finding many columns stays linear. */
const columnPositions = new WeakMap<string[], Map<string, number>>()

export function findColumn(path: string, header: string[], column: string | number, what: string): number {
  if (typeof column === 'number') {
    if (column >= header.length) fail(path, 1, `the ${what} is index ${column}, but the header has ${header.length} columns (0–${header.length - 1})`)
    return column
  }
  let positions = columnPositions.get(header)
  if (!positions) columnPositions.set(header, (positions = new Map(header.map((name, i) => [name, i]))))
  const index = positions.get(column) ?? -1
  if (index < 0) fail(path, 1, `no ${what} named '${column}'; the header has: ${header.join(', ')}`)
  return index
}

/** A decimal number as numpy and pandas read one: digits, an optional point and exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
/** The largest finite float32: beyond it a value would become Infinity in the model. */
const FLOAT32_MAX = 3.4028234663852886e38

/**
 * A cell's number, or why it is not one: empty cells, hexadecimal (`0x10`, which Number() would
 * read as 16), `Infinity`, words, and values beyond float32's range are refused.
 */
function parseNumber(cell: string): number | string {
  if (cell === '') return 'expected a number, found an empty cell'
  if (!DECIMAL.test(cell)) {
    const other = Number.isFinite(Number(cell)) ? '; numbers in a data file are decimal (as numpy and pandas read them)' : ''
    return `expected a number, found ${showCell(cell)}${other}`
  }
  const v = Number(cell)
  if (!(Math.abs(v) <= FLOAT32_MAX)) return `${showCell(cell)} is out of float32 range (±3.4e38)`
  return v
}

function showCell(cell: string): string {
  if (cell === '') return 'an empty cell'
  return `'${cell.length > 40 ? `${cell.slice(0, 40)}…` : cell}'`
}

export function fail(path: string, line: number, why: string): never {
  throw new DataFileError(`${path}: line ${line}: ${why}`, path, { line })
}

/** Turns csv-parse's own errors (e.g. an unclosed quote) and read errors into DataFileErrors. */
function rethrow(path: string, error: unknown): never {
  if (error instanceof DataFileError) throw error
  const e = error as Error & { code?: string; lines?: number }
  if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
    const line = e.lines ?? 0
    throw new DataFileError(`${path}: line ${line}: not valid CSV: ${e.message}`, path, { line })
  }
  if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR') {
    throw new DataFileError(`${path}: the gzip stream is damaged or cut short (${e.message})`, path)
  }
  throw new DataFileError(`${path}: cannot read the file: ${e.message}`, path)
}

async function checkFile(path: string): Promise<void> {
  let info
  try {
    info = await stat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new DataFileError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read the file: ${(error as Error).message}`, path)
  }
  if (info.isDirectory()) throw new DataFileError(`${path} is a directory; expected a CSV file`, path)
}

/** The header's bytes then the range's, as one UTF-8-checked stream. */
function rangeText(path: string, range: CsvRange): Readable {
  const check = utf8Checked(path)
  const pieces: [number, number][] = [[0, range.headerEnd], [range.start, range.end]]
  void (async () => {
    try {
      for (const [start, end] of pieces) {
        if (end <= start) continue
        for await (const chunk of createReadStream(path, { start, end: end - 1 })) {
          if (!check.write(chunk)) await new Promise((resolve) => check.once('drain', resolve))
        }
      }
      check.end()
    } catch (error) {
      check.destroy(error as Error)
    }
  })()
  return check
}

/** The file's bytes as a stream, decompressed when it starts with the gzip magic number. */
async function openText(path: string): Promise<Readable> {
  const file = await open(path, 'r')
  const head = Buffer.alloc(2)
  try {
    await file.read(head, 0, 2, 0)
  } finally {
    await file.close()
  }
  const raw = createReadStream(path)
  const check = utf8Checked(path)
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    raw.on('error', (error) => check.destroy(error))
    return raw.pipe(check)
  }
  const gunzip = createGunzip()
  raw.on('error', (error) => gunzip.destroy(error))
  gunzip.on('error', (error) => check.destroy(error))
  return raw.pipe(gunzip).pipe(check)
}

/** Lines in the file (a last line without a newline counts): an upper bound on its records + 1. */
async function countLines(path: string): Promise<number> {
  let lines = 0
  let last = 0x0a
  try {
    for await (const chunk of (await openText(path)) as AsyncIterable<Buffer>) {
      for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) lines++
      if (chunk.length > 0) last = chunk[chunk.length - 1]!
    }
  } catch (error) {
    rethrow(path, error)
  }
  return last === 0x0a ? lines : lines + 1
}

export function checkStrings(name: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`${name} must be a non-empty array of strings, got ${describe(value)}`)
  }
  return value as string[]
}

export function checkDelimiter(what: string, value: unknown): string {
  return optional(value, ',', (v) => {
    if (typeof v !== 'string' || v.length !== 1 || v === '"' || v === '\n' || v === '\r') {
      throw new TypeError(`${what} delimiter must be one character such as ',' or ';', got ${describe(v)}`)
    }
    return v
  })
}
