/**
 * A Parquet file streamed a row group at a time with hyparquet (pure JavaScript): only the
 * chosen columns are read, and memory holds one row group. The footer tells the row count and
 * the column names before any data is read; string class labels are found in a first pass
 * unless `labelNames` gives them. A damaged file is a DataFileError naming the file and the row
 * group.
 */
import type { AsyncBuffer, FileMetaData, RowGroup, SchemaTree } from 'hyparquet'
import { open, stat } from 'node:fs/promises'
import { DataFileError } from '../../errors.js'
import { DataSource, type EpochContext, type RowBlock, type SourceShape } from './data-source.js'
import { compressors } from './snappy.js'
import { chunkRange, isPlainNumberColumn, readNumberColumn } from './parquet-pages.js'
import { blocksInFlight, blocksOffThread, decodesOffThread } from './off-thread.js'
import { blockOf, checkColumnar, reopenOptions, classesOf, labelText, layoutOf, type CheckedColumnar, type ColumnarOptions, type ColumnLayout, type ColumnValues } from './columnar.js'

type File = AsyncBuffer

/** A feature the fast path reads: its schema path, and its chunk's index in a row group's columns. */
interface PlainColumn {
  name: string
  schemaPath: SchemaTree[]
  index: number
}
/** Loaded on first use: importing backprop-nn does not load hyparquet. */
const hyparquet = () => import('hyparquet')

export class ParquetSource extends DataSource {
  private readonly options: CheckedColumnar
  private opened: Promise<{ file: File; metadata: FileMetaData; layout: ColumnLayout; plain: PlainColumn[]; shape: SourceShape }> | null = null

  constructor(private readonly path: string, options: ColumnarOptions = {}) {
    super()
    this.options = checkColumnar('data.parquet', path, options)
  }

  async shape(): Promise<SourceShape> {
    return (await this.open()).shape
  }

  async memoryEstimate(): Promise<number> {
    const { metadata, shape } = await this.open()
    // Decoding a row group holds its compressed bytes and its columns; then its block of rows.
    const block = (g: RowGroup) => Number(g.num_rows) * (shape.xColumns + 1) * 4
    const decoding = Math.max(...metadata.row_groups.map((g) => Number(g.total_compressed_size ?? g.total_byte_size) + block(g)))
    return decoding + blocksInFlight() * Math.max(...metadata.row_groups.map(block))
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    const { file, metadata, layout, plain, shape } = await this.open()
    if (decodesOffThread()) {
      yield* blocksOffThread({ kind: 'parquet', path: this.path, options: reopenOptions(this.options, layout, shape.labelNames) }, context)
      return
    }
    let start = 0
    for (const [g, group] of metadata.row_groups.entries()) {
      context.signal?.throwIfAborted()
      const rows = Number(group.num_rows)
      const columns = await this.readGroup(file, metadata, layout, plain, g, start, rows)
      yield blockOf(this.path, layout, (name) => columns.get(name)!, rows, start)
      start += rows
    }
  }

  /**
   * One row group's columns, each as an array of its values: plain number columns by the fast
   * path (parquet-pages.ts), the rest — and any column a null sends back — by hyparquet's reader.
   */
  private async readGroup(file: File, metadata: FileMetaData, layout: ColumnLayout, plain: PlainColumn[], group: number, start: number, rows: number): Promise<Map<string, ColumnValues>> {
    const columns = new Map<string, ColumnValues>()
    const { parquetRead } = await hyparquet()
    const chunks = metadata.row_groups[group]!.columns
    // Each plain column's chunk, where this group has it at the index the first group had.
    const fast = plain.flatMap((c) => {
      const meta = chunks[c.index]?.meta_data
      return meta?.path_in_schema.join('.') === c.name ? [{ ...c, meta, ...chunkRange(meta) }] : []
    })
    try {
      if (fast.length > 0) {
        // One read for the group's plain columns: they usually lie side by side.
        const from = Math.min(...fast.map((c) => c.start))
        const span = new Uint8Array(await file.slice(from, Math.max(...fast.map((c) => c.end))))
        for (const { name, meta, schemaPath, start: s, end: e } of fast) {
          const values = await readNumberColumn(span.subarray(s - from, e - from), meta, schemaPath, rows)
          if (values) columns.set(name, values)
        }
      }
      // The rest, and any plain column a null sent back.
      const general = layout.features.filter((name) => !columns.has(name))
      await parquetRead({
        file,
        metadata,
        compressors,
        columns: [...general, layout.label],
        rowStart: start,
        rowEnd: start + rows,
        // Decoded column chunks, as typed arrays where the type allows: no rows are assembled.
        onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
          const from = Math.max(rowStart, start)
          const to = Math.min(rowEnd, start + rows)
          if (to <= from) return
          if (rowStart === start && rowEnd === start + rows) return void columns.set(columnName, columnData as ColumnValues)
          let values = columns.get(columnName) as unknown[] | undefined
          if (!values) columns.set(columnName, (values = new Array(rows)))
          for (let r = from; r < to; r++) values[r - start] = (columnData as ArrayLike<unknown>)[r - rowStart]
        },
      })
    } catch (error) {
      throw new DataFileError(`${this.path}: row group ${group + 1} of ${metadata.row_groups.length} (rows ${start + 1}–${start + rows}) cannot be read: ${(error as Error).message}`, this.path)
    }
    for (const name of [...layout.features, layout.label]) {
      if ((columns.get(name)?.length ?? 0) !== rows) throw new DataFileError(`${this.path}: row group ${group + 1} holds ${columns.get(name)?.length ?? 0} values of '${name}', its footer says ${rows}`, this.path)
    }
    return columns
  }

  private open() {
    this.opened ??= (async () => {
      const { parquetMetadataAsync, parquetSchema } = await hyparquet()
      let file: File
      let metadata: FileMetaData
      try {
        file = await fileRanges(this.path)
        metadata = await parquetMetadataAsync(file)
      } catch (error) {
        if (error instanceof DataFileError) throw error
        const code = (error as NodeJS.ErrnoException).code
        throw new DataFileError(code === 'ENOENT' ? `${this.path}: no such file` : `${this.path}: not a readable Parquet file: ${(error as Error).message}`, this.path)
      }
      const schema = parquetSchema(metadata)
      const layout = layoutOf('Parquet schema', this.path, schema.children.map((c) => c.element.name), this.options)
      // Found once, not per row group: which features the fast path reads, and where.
      const chunkIndex = new Map(metadata.row_groups[0]?.columns.map((c, i) => [c.meta_data?.path_in_schema.join('.'), i]))
      const plain: PlainColumn[] = layout.features.flatMap((name) => {
        const schemaPath = [schema, ...schema.children.filter((c) => c.element.name === name)]
        const index = chunkIndex.get(name)
        return index !== undefined && isPlainNumberColumn(schemaPath) ? [{ name, schemaPath, index }] : []
      })
      let labelNames = this.options.labelNames
      if (this.options.task === 'classification' && layout.classes === null) {
        const seen = new Set<string>()
        let start = 0
        for (const [g, group] of metadata.row_groups.entries()) {
          const rows = Number(group.num_rows)
          const values = (await this.readGroup(file, metadata, { ...layout, features: [] }, [], g, start, rows)).get(layout.label)!
          for (let r = 0; r < rows; r++) {
            const v = values[r]
            if (v === null || v === undefined) throw new DataFileError(`${this.path}: row ${start + r + 1}, column '${layout.label}': the label is missing`, this.path)
            seen.add(labelText(v))
          }
          start += rows
        }
        const found = classesOf(seen)
        layout.classes = found.classes
        labelNames = found.labelNames
      }
      const shape: SourceShape = { xColumns: layout.features.length, yColumns: 1, rows: Number(metadata.num_rows), featureNames: layout.features, labelNames }
      return { file, metadata, layout, plain, shape }
    })()
    this.opened.catch(() => (this.opened = null))
    return this.opened
  }
}

/**
 * The file as hyparquet reads it: byte ranges on demand. Each read opens the file for itself
 * (hyparquet's own version starts a stream per range), so nothing stays open between epochs.
 */
async function fileRanges(path: string): Promise<File> {
  const info = await stat(path)
  if (!info.isFile()) throw new DataFileError(`${path}: not a regular file`, path)
  return {
    byteLength: info.size,
    async slice(start: number, end = info.size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(end - start)
      const file = await open(path, 'r')
      try {
        for (let done = 0; done < bytes.length; ) {
          const { bytesRead } = await file.read(bytes, done, bytes.length - done, start + done)
          if (bytesRead === 0) throw new Error(`the file ends at byte ${start + done}, before byte ${end}`)
          done += bytesRead
        }
      } finally {
        await file.close()
      }
      return bytes.buffer
    },
  }
}
