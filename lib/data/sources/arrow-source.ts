/**
 * An Arrow IPC file (the file or the stream format) streamed a record batch at a time with
 * apache-arrow: memory holds one batch. A first pass counts the rows and, for string class labels
 * without `labelNames`, finds the classes. A damaged or cut file is a DataFileError naming the
 * file and the batch.
 */
import { createReadStream } from 'node:fs'
import type { RecordBatch } from 'apache-arrow'
import { DataFileError } from '../../errors.js'
import { DataSource, DEFAULT_BLOCK_ROWS, type EpochContext, type RowBlock, type SourceShape } from './data-source.js'
import { blocksInFlight, blocksOffThread, decodesOffThread } from './off-thread.js'
import { blockOf, checkColumnar, reopenOptions, classesOf, labelText, layoutOf, type CheckedColumnar, type ColumnarOptions, type ColumnLayout, type ColumnValues } from './columnar.js'

export class ArrowSource extends DataSource {
  private readonly options: CheckedColumnar
  private opened: Promise<{ layout: ColumnLayout; shape: SourceShape; largestBatch: number }> | null = null

  constructor(private readonly path: string, options: ColumnarOptions = {}) {
    super()
    this.options = checkColumnar('data.arrow', path, options)
  }

  async shape(): Promise<SourceShape> {
    return (await this.open()).shape
  }

  async memoryEstimate(): Promise<number> {
    const { shape, largestBatch } = await this.open()
    // A batch as read, and the blocks of rows made from batches.
    return (1 + blocksInFlight()) * Math.max(largestBatch, DEFAULT_BLOCK_ROWS) * (shape.xColumns + 1) * 4
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    if (decodesOffThread()) {
      const { layout, shape } = await this.open()
      yield* blocksOffThread({ kind: 'arrow', path: this.path, options: reopenOptions(this.options, layout, shape.labelNames) }, context)
      return
    }
    // With the classes known, the first batch's schema gives the layout: no first pass.
    let layout = this.options.task === 'regression' || this.options.labelNames !== null ? null : (await this.open()).layout
    let start = 0
    for await (const batch of this.batches()) {
      context.signal?.throwIfAborted()
      layout ??= layoutOf('Arrow schema', this.path, batch.schema.fields.map((f) => f.name), this.options)
      yield blockOf(this.path, layout, (name) => columnOf(batch, name), batch.numRows, start)
      start += batch.numRows
    }
  }

  /** The file's record batches; a read or decode error becomes a DataFileError naming the batch. */
  private async *batches(): AsyncGenerator<RecordBatch> {
    const stream = createReadStream(this.path)
    let index = 0
    try {
      // Loaded on first use: importing backprop-nn does not load apache-arrow.
      const { RecordBatchReader } = await import('apache-arrow')
      const reader = await RecordBatchReader.from(stream)
      for await (const batch of reader) {
        index++
        yield batch
      }
      if (index === 0 && !reader.schema) throw new Error('no schema')
    } catch (error) {
      if (error instanceof DataFileError) throw error
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new DataFileError(`${this.path}: no such file`, this.path)
      throw new DataFileError(`${this.path}: record batch ${index + 1} cannot be read (not an Arrow IPC file, or cut short): ${(error as Error).message}`, this.path)
    } finally {
      stream.destroy()
    }
  }

  private open() {
    this.opened ??= (async () => {
      let layout: ColumnLayout | null = null
      const seen = new Set<string>()
      let rows = 0
      let largestBatch = 0
      for await (const batch of this.batches()) {
        layout ??= layoutOf('Arrow schema', this.path, batch.schema.fields.map((f) => f.name), this.options)
        largestBatch = Math.max(largestBatch, batch.numRows)
        if (this.options.task === 'classification' && layout.classes === null) {
          const labels = columnOf(batch, layout.label)
          for (let r = 0; r < batch.numRows; r++) {
            const v = labels[r]
            if (v === null || v === undefined) throw new DataFileError(`${this.path}: row ${rows + r + 1}, column '${layout.label}': the label is missing`, this.path)
            seen.add(labelText(v))
          }
        }
        rows += batch.numRows
      }
      if (layout === null) throw new DataFileError(`${this.path}: the file holds no record batches; expected rows of feature and label columns`, this.path)
      let labelNames = this.options.labelNames
      if (this.options.task === 'classification' && layout.classes === null) {
        const found = classesOf(seen)
        layout.classes = found.classes
        labelNames = found.labelNames
      }
      const shape: SourceShape = { xColumns: layout.features.length, yColumns: 1, rows, featureNames: layout.features, labelNames }
      return { layout, shape, largestBatch }
    })()
    this.opened.catch(() => (this.opened = null))
    return this.opened
  }
}

/** A column of a record batch as values: a typed array for numbers, decoded strings for dictionaries. */
function columnOf(batch: RecordBatch, name: string): ColumnValues {
  const vector = batch.getChild(name)
  if (vector === null) throw new DataFileError(`a record batch has no column '${name}'`, name)
  // Nulls read as null (toArray would give 0 for them).
  return vector.nullCount > 0 ? Array.from(vector) : (vector.toArray() as ColumnValues)
}
