/**
 * The fast path of the Parquet source: a flat column of plain numbers — FLOAT, DOUBLE, or a signed
 * INT32 or INT64 (what pandas and pyarrow write for floats and integers) — decoded page by page
 * straight into one typed array.
 *
 * hyparquet's reader passes every page of an OPTIONAL column — what pyarrow and Spark write even
 * when nothing is null — through its nested-list assembly, one JavaScript array push per value;
 * at 784 columns that and the garbage it makes were half the decode time. Here hyparquet's own
 * page functions decompress and decode each page (its `src/*.js` modules are exported for this),
 * and only the assembly is skipped. A page holding a null gives `null`: the caller then reads
 * the group the general way, which names the row.
 */
import type { ColumnMetaData, DecodedArray, SchemaTree } from 'hyparquet'
import { compressors } from './snappy.js'

export type NumericColumn = Float32Array | Float64Array | Int32Array

/** Loaded on first use, with the rest of hyparquet. */
let loaded: ReturnType<typeof load> | null = null
const pages = () => (loaded ??= load())
const load = async () => {
  const [column, datapage, convert, plain] = await Promise.all([
    import('hyparquet/src/column.js'),
    import('hyparquet/src/datapage.js'),
    import('hyparquet/src/convert.js'),
    import('hyparquet/src/plain.js'),
  ])
  return { ...column, ...datapage, ...convert, ...plain }
}

/** The array each physical type is decoded into (INT64 as float64: features become float32). */
const ARRAY_OF = { FLOAT: Float32Array, DOUBLE: Float64Array, INT32: Int32Array, INT64: Float64Array } as const

/** Whether the fast path can decode this column: flat, not repeated, plain numbers. */
export function isPlainNumberColumn(schemaPath: SchemaTree[]): boolean {
  const leaf = schemaPath.at(-1)
  if (schemaPath.length !== 2 || !leaf || leaf.children.length > 0) return false
  const { type, repetition_type, converted_type, logical_type } = leaf.element
  if (type === undefined || !(type in ARRAY_OF) || repetition_type === 'REPEATED') return false
  if (converted_type === undefined && logical_type === undefined) return true
  // Signed integers annotated with their width stay plain integers (unsigned ones do not fit).
  const signed = logical_type?.type === 'INTEGER' ? logical_type.isSigned : converted_type !== undefined && ['INT_8', 'INT_16', 'INT_32', 'INT_64'].includes(converted_type)
  return (type === 'INT32' || type === 'INT64') && signed && (logical_type === undefined || logical_type.type === 'INTEGER')
}

/** Where a column chunk's bytes lie in the file: its dictionary page, if any, comes first. */
export function chunkRange(meta: ColumnMetaData): { start: number; end: number } {
  const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset)
  return { start, end: start + Number(meta.total_compressed_size) }
}

/**
 * The `rows` values of one column chunk (its bytes, as `chunkRange` places them), or null if a
 * page holds a null. Throws on a damaged chunk (a page running past the chunk, more values than
 * the row group's rows).
 */
export async function readNumberColumn(bytes: Uint8Array, meta: ColumnMetaData, schemaPath: SchemaTree[], rows: number): Promise<NumericColumn | null> {
  const p = await pages()
  const element = schemaPath.at(-1)!.element
  const decoder = { pathInSchema: meta.path_in_schema, type: meta.type, element, schemaPath, codec: meta.codec, parsers: p.DEFAULT_PARSERS, compressors }
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 }
  const out = new ARRAY_OF[meta.type as keyof typeof ARRAY_OF](rows)
  let dictionary: DecodedArray | undefined
  let filled = 0
  while (filled < rows) {
    if (reader.offset >= bytes.byteLength) throw new Error(`column '${meta.path_in_schema.join('.')}' ends after ${filled} of ${rows} values`)
    const header = p.parquetHeader(reader)
    if (reader.offset + header.compressed_page_size > bytes.byteLength) throw new Error(`a page of column '${meta.path_in_schema.join('.')}' runs past the column chunk`)
    const compressed = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size)
    reader.offset += header.compressed_page_size
    let values: DecodedArray
    let encoding: string
    if (header.type === 'DICTIONARY_PAGE' && header.dictionary_page_header) {
      const page = p.decompressPage(compressed, header.uncompressed_page_size, meta.codec, compressors)
      dictionary = p.readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, meta.type, header.dictionary_page_header.num_values, element.type_length)
      continue
    } else if (header.type === 'DATA_PAGE' && header.data_page_header) {
      const page = p.decompressPage(compressed, header.uncompressed_page_size, meta.codec, compressors)
      values = p.readDataPage(page, header.data_page_header, decoder).dataPage
      if (values.length !== header.data_page_header.num_values) return null
      encoding = header.data_page_header.encoding
    } else if (header.type === 'DATA_PAGE_V2' && header.data_page_header_v2) {
      const v2 = header.data_page_header_v2
      if (v2.num_nulls !== 0) return null
      encoding = v2.encoding
      if (encoding === 'PLAIN') {
        // With no nulls the levels say nothing: the values, after them, are read directly.
        const levels = v2.definition_levels_byte_length + v2.repetition_levels_byte_length
        const size = header.uncompressed_page_size - levels
        const page = v2.is_compressed !== false && size > 0 ? p.decompressPage(compressed.subarray(levels), size, meta.codec, compressors) : compressed.subarray(levels)
        values = p.readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, meta.type, v2.num_values, element.type_length)
      } else {
        values = p.readDataPageV2(compressed, header, decoder).dataPage
      }
    } else {
      continue // an index page: not data
    }
    if (filled + values.length > rows) throw new Error(`column '${meta.path_in_schema.join('.')}' holds more values than the row group's ${rows} rows`)
    const decoded = p.convertWithDictionary(values, dictionary, encoding as never, decoder)
    if (meta.type === 'INT64') for (let i = 0; i < decoded.length; i++) out[filled + i] = Number(decoded[i])
    else out.set(decoded as ArrayLike<number>, filled)
    filled += values.length
  }
  return out
}
