/**
 * A CSV file streamed in blocks of rows, with `loadCsv`'s rules and errors (the same record
 * reader, lib/data/csv.ts): decimal numbers in float32 range, a DataFileError naming the file,
 * line and column of anything else. Memory stays at one block, whatever the file's size.
 *
 * A first pass over the file counts its rows and, unless `labelNames` fixes them, finds the class
 * labels, numbered as `loadCsv` numbers them (sorted, numerically when they all are numbers), so
 * every epoch maps a name to the same index. A CSV file cannot be read from a given
 * row, so shuffling uses the bounded buffer and shard takes every n-th row.
 */
import type { Task } from '../dataset.js'
import { TASKS, sortedLabelNames } from '../dataset.js'
import { canonicalLabel, checkDelimiter, checkStrings, csvRecords, fail, findColumn, readFeatures, readTarget, type CsvRecord } from '../csv.js'
import { checkOneOf, checkOptions, checkString, describe, optional } from '../../validate.js'
import { DataSource, DEFAULT_BLOCK_ROWS, headOf, type EpochContext, type RowBlock, type SourceShape } from './data-source.js'
import { blocksInFlight, blocksOffThread, decodesOffThread } from './off-thread.js'

export interface CsvSourceOptions {
  /** The label column: its header name or 0-based index (default: the last column). */
  label?: string | number
  /** 'classification' (default): labels are class names; 'regression': numbers. */
  task?: Task
  /** The feature columns to read, by header name, in this order (default: all but the label). */
  featureNames?: string[]
  /** The class names in index order; a label not among them is an error (default: found in a first pass). */
  labelNames?: string[]
  /** Field delimiter (default ','). */
  delimiter?: string
}

interface Layout {
  shape: SourceShape
  features: number[]
  label: number
  targetName: string
  /** Class index by canonical label (classification). */
  classes: Map<string, number> | null
}

export class CsvSource extends DataSource {
  private readonly task: Task
  private readonly label: string | number | null
  private readonly featureNames: string[] | null
  private readonly labelNames: string[] | null
  private readonly delimiter: string
  private layout: Promise<Layout> | null = null

  constructor(private readonly path: string, options: CsvSourceOptions = {}) {
    super()
    checkString('data.csv path', path)
    const o = checkOptions('data.csv options', options, ['label', 'task', 'featureNames', 'labelNames', 'delimiter'])
    this.task = optional(o.task, 'classification' as Task, (v) => checkOneOf('data.csv task', v, TASKS))
    this.label = optional(o.label, null as string | number | null, (v) => {
      if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v
      throw new TypeError(`data.csv label must be a column name or a 0-based column index, got ${describe(v)}`)
    })
    this.featureNames = optional(o.featureNames, null, (v) => checkStrings('data.csv featureNames', v))
    this.labelNames = optional(o.labelNames, null, (v) => checkStrings('data.csv labelNames', v))
    if (this.labelNames !== null && this.task === 'regression') throw new TypeError('data.csv labelNames applies to classification, not regression')
    this.delimiter = checkDelimiter('data.csv', o.delimiter)
  }

  shape(): Promise<SourceShape> {
    return this.resolve().then((l) => l.shape)
  }

  async memoryEstimate(): Promise<number> {
    const { xColumns, yColumns } = await this.shape()
    return blocksInFlight() * DEFAULT_BLOCK_ROWS * (xColumns + yColumns) * 4
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    if (decodesOffThread()) {
      const { labelNames } = await this.shape()
      const options: CsvSourceOptions = { task: this.task, delimiter: this.delimiter, ...(this.label !== null && { label: this.label }), ...(this.featureNames && { featureNames: this.featureNames }), ...(labelNames && { labelNames }) }
      yield* blocksOffThread({ kind: 'csv', path: this.path, options }, context)
      return
    }
    // With the classes known, only the header is needed: no first pass.
    const layout = this.task === 'regression' || this.labelNames ? await this.header() : await this.resolve()
    const xc = layout.features.length
    let out: RowBlock | null = null
    for await (const record of csvRecords(this.path, this.delimiter)) {
      context.signal?.throwIfAborted()
      out ??= { x: new Float32Array(DEFAULT_BLOCK_ROWS * xc), y: new Float32Array(DEFAULT_BLOCK_ROWS), rows: 0 }
      readFeatures(this.path, record, layout.features, out.x, out.rows * xc)
      out.y[out.rows] = this.target(layout, record)
      if (++out.rows === DEFAULT_BLOCK_ROWS) {
        yield out
        out = null
      }
    }
    if (out && out.rows > 0) yield headOf(out, out.rows, xc, 1)
  }

  private target(layout: Layout, record: CsvRecord): number {
    const cell = record.cells[layout.label]!
    if (layout.classes === null) return readTarget(this.path, cell, record.line, layout.label, layout.targetName)
    const k = layout.classes.get(canonicalLabel(cell))
    if (k === undefined) {
      fail(this.path, record.line, `column ${layout.label + 1} ('${layout.targetName}'): unknown label '${cell}'; expected one of: ${[...layout.classes.keys()].join(', ')}`)
    }
    return k!
  }

  /** The header's layout alone (the classes only if labelNames gives them). */
  private async header(): Promise<Layout> {
    for await (const record of csvRecords(this.path, this.delimiter)) return this.layoutOf(record.header)
    return this.resolve() // no rows: the first pass says what is wrong
  }

  /** The header's layout, and for classes without labelNames, the first pass that finds them. */
  private resolve(): Promise<Layout> {
    this.layout ??= (async () => {
      let layout: Layout | null = null
      const seen = new Set<string>()
      let rows = 0
      for await (const record of csvRecords(this.path, this.delimiter)) {
        layout ??= this.layoutOf(record.header)
        rows++
        if (layout.classes !== null || this.task === 'regression') continue
        const cell = record.cells[layout.label]!
        if (cell === '') fail(this.path, record.line, `column ${layout.label + 1} ('${layout.targetName}', the label): the label is empty`)
        seen.add(canonicalLabel(cell))
      }
      if (layout!.classes !== null || this.task === 'regression') return { ...layout!, shape: { ...layout!.shape, rows } }
      const labelNames = sortedLabelNames([...seen])
      return { ...layout!, classes: new Map(labelNames.map((n, i) => [n, i])), shape: { ...layout!.shape, rows, labelNames } }
    })()
    // A failed first pass is not remembered: the next call reads the file again.
    this.layout.catch(() => (this.layout = null))
    return this.layout
  }

  private layoutOf(header: string[]): Layout {
    const label = findColumn(this.path, header, this.label ?? header.length - 1, 'label column')
    const targetName = header[label]!
    if (header.length < 2) fail(this.path, 1, `the header has ${header.length} column; expected at least one feature column and the label column`)
    const features = this.featureNames ? this.featureNames.map((n) => findColumn(this.path, header, n, 'feature column')) : header.map((_, i) => i).filter((i) => i !== label)
    if (features.includes(label)) fail(this.path, 1, `column '${targetName}' is both the label column and a feature column`)
    const classes = this.labelNames ? new Map(this.labelNames.map((n, i) => [n, i])) : null
    return {
      features,
      label,
      targetName,
      classes,
      shape: { xColumns: features.length, yColumns: 1, rows: null, featureNames: features.map((c) => header[c]!), labelNames: this.labelNames },
    }
  }
}
