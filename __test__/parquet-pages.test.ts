/**
 * The Parquet source's fast path for plain number columns (lib/data/sources/parquet-pages.ts)
 * against hyparquet's general reader, which stays the reference: OPTIONAL and REQUIRED columns,
 * FLOAT, DOUBLE, INT32, INT64 and pyarrow's annotated int8, dictionary pages, several pages per chunk, SNAPPY or not, and version 1
 * data pages (pyarrow's default, made here from a written file by helpers/parquet-v1.ts). A
 * null sends the chunk back to the general reader, which names the row.
 */
import fs from 'node:fs'
import { parquetMetadata, parquetReadObjects, parquetSchema, type SchemaTree } from 'hyparquet'
import { parquetWriteBuffer, schemaFromColumnData } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { DataFileError, data } from '../lib/index.js'
import { chunkRange, isPlainNumberColumn, readNumberColumn } from '../lib/data/sources/parquet-pages.js'
import { toDataPageV1 } from './helpers/parquet-v1.js'
import { collect } from './helpers/source-rows.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-parquet-pages-')
const N = 3000
const FEATURES = ['optional', 'required', 'double', 'int', 'long', 'small', 'dictionary'] as const
const columns = {
  optional: Array.from({ length: N }, (_, i) => Math.fround(Math.sin(i) * 5)),
  required: Array.from({ length: N }, (_, i) => Math.fround(Math.cos(i) / 3)),
  double: Array.from({ length: N }, (_, i) => i / 7),
  int: Array.from({ length: N }, (_, i) => ((i * 37) % 1001) - 500),
  long: Array.from({ length: N }, (_, i) => (i % 2 ? -1 : 1) * i * 1_000_003),
  small: Array.from({ length: N }, (_, i) => (i % 256) - 128),
  dictionary: Array.from({ length: N }, (_, i) => [0.5, -1.25, 3][i % 3]!),
}
const labels = Array.from({ length: N }, (_, i) => i % 4)

function write(name: string, codec: 'SNAPPY' | 'UNCOMPRESSED', nullAt?: number): Uint8Array {
  const optional = columns.optional.map((v, i) => (i === nullAt ? null : v))
  const columnData = [
    { name: 'optional', data: optional, type: 'FLOAT' as const },
    { name: 'required', data: columns.required, type: 'FLOAT' as const, nullable: false },
    { name: 'double', data: columns.double, type: 'DOUBLE' as const },
    { name: 'int', data: columns.int, type: 'INT32' as const },
    { name: 'long', data: columns.long.map(BigInt), type: 'INT64' as const },
    { name: 'small', data: columns.small },
    { name: 'dictionary', data: columns.dictionary, type: 'FLOAT' as const },
    { name: 'label', data: labels, type: 'INT32' as const },
  ]
  // pyarrow's int8: INT32 annotated with its width.
  const schema = schemaFromColumnData({ columnData, schemaOverrides: { small: { name: 'small', type: 'INT32', repetition_type: 'OPTIONAL', converted_type: 'INT_8', logical_type: { type: 'INTEGER', bitWidth: 8, isSigned: true } } } })
  const bytes = new Uint8Array(parquetWriteBuffer({
    columnData: columnData.map(({ type: _, nullable: __, ...c }) => c),
    schema,
    rowGroupSize: 1000,
    pageSize: 1024, // several pages per column chunk
    codec,
  }))
  fs.writeFileSync(temp(name), bytes)
  return bytes
}

const FILES = [
  ['version 2 pages, SNAPPY', 'DATA_PAGE_V2', (nullAt?: number) => write('v2.parquet', 'SNAPPY', nullAt)],
  ['version 2 pages, UNCOMPRESSED', 'DATA_PAGE_V2', (nullAt?: number) => write('v2-plain.parquet', 'UNCOMPRESSED', nullAt)],
  ['version 1 pages', 'DATA_PAGE', (nullAt?: number) => toDataPageV1(write('plain.parquet', 'UNCOMPRESSED', nullAt))],
] as const

/** Every chunk of every feature column through the fast path, or null where it declines. */
async function fastColumns(bytes: Uint8Array) {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const metadata = parquetMetadata(buffer)
  const schema = parquetSchema(metadata)
  return Promise.all(
    FEATURES.map(async (name) => {
      const schemaPath = [schema, ...schema.children.filter((c) => c.element.name === name)]
      expect(isPlainNumberColumn(schemaPath)).toBe(true)
      const parts = await Promise.all(
        metadata.row_groups.map((group) => {
          const meta = group.columns.find((c) => c.meta_data!.path_in_schema[0] === name)!.meta_data!
          const { start, end } = chunkRange(meta)
          return readNumberColumn(bytes.subarray(start, end), meta, schemaPath, Number(group.num_rows))
        }),
      )
      return { name, parts, metadata }
    }),
  )
}

describe.each(FILES)('%s', (_name, pageType, file) => {
  it('every chunk reads as hyparquet reads it, as a typed array of the column type', async () => {
    const bytes = file()
    const path = temp('check.parquet')
    fs.writeFileSync(path, bytes)
    const reference = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer })
    for (const { name, parts, metadata } of await fastColumns(bytes)) {
      expect(parts.every((p) => p !== null)).toBe(true)
      const values = parts.flatMap((p) => Array.from(p!))
      expect(values).toEqual(reference.map((row) => Number(row[name])))
      expect(values).toEqual(columns[name])
      expect(parts[0]).toBeInstanceOf(name === 'double' || name === 'long' ? Float64Array : name === 'int' || name === 'small' ? Int32Array : Float32Array)
      // The file holds what this test means to cover: several data pages, and a dictionary.
      const meta = metadata.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema[0] === name)!.meta_data!
      expect(meta.encoding_stats!.find((s) => s.page_type === pageType)!.count).toBeGreaterThan(1)
      if (name === 'dictionary') expect(meta.encodings).toContain('RLE_DICTIONARY')
      if (name === 'small') expect(parquetSchema(metadata).children.find((c) => c.element.name === 'small')!.element).toMatchObject({ converted_type: 'INT_8', logical_type: { type: 'INTEGER', bitWidth: 8, isSigned: true } })
    }
    const got = await collect(data.parquet(path, { label: 'label' }))
    expect(got.x).toEqual(Array.from({ length: N }, (_, i) => FEATURES.map((f) => Math.fround(columns[f][i]!))).flat())
    expect(got.y).toEqual(labels)
  })

  it('a null declines the chunk holding it; the source then names its row and column', async () => {
    const bytes = file(1234)
    const path = temp('null.parquet')
    fs.writeFileSync(path, bytes)
    const optional = (await fastColumns(bytes)).find((c) => c.name === 'optional')!.parts
    expect(optional.map((p) => p === null)).toEqual([false, true, false])
    const error = await collect(data.parquet(path, { label: 'label' })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect((error as Error).message).toBe(`${path}: row 1235, column 'optional': expected a finite number in float32 range, found null`)
  })
})

it('a page running past its column chunk is an error, not a read beyond it', async () => {
  const bytes = write('cut.parquet', 'UNCOMPRESSED')
  const { metadata } = (await fastColumns(bytes))[0]!
  const schema = parquetSchema(metadata)
  const meta = metadata.row_groups[0]!.columns[0]!.meta_data!
  const { start, end } = chunkRange(meta)
  const cut = bytes.subarray(start, end - 10)
  await expect(readNumberColumn(cut, meta, [schema, schema.children[0]!], 1000)).rejects.toThrow(/runs past the column chunk|ends after/)
})

it('unsigned, dated and repeated columns take the general reader', () => {
  const column = (element: object) => [{ element: { name: 'root' }, children: [] }, { element: { name: 'c', ...element }, children: [] }] as unknown as SchemaTree[]
  expect(isPlainNumberColumn(column({ type: 'INT64', converted_type: 'INT_64' }))).toBe(true)
  expect(isPlainNumberColumn(column({ type: 'INT32', logical_type: { type: 'INTEGER', bitWidth: 16, isSigned: true } }))).toBe(true)
  expect(isPlainNumberColumn(column({ type: 'INT32', converted_type: 'UINT_32' }))).toBe(false)
  expect(isPlainNumberColumn(column({ type: 'INT64', logical_type: { type: 'INTEGER', bitWidth: 64, isSigned: false } }))).toBe(false)
  expect(isPlainNumberColumn(column({ type: 'INT32', converted_type: 'DATE' }))).toBe(false)
  expect(isPlainNumberColumn(column({ type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } }))).toBe(false)
  expect(isPlainNumberColumn(column({ type: 'FLOAT', repetition_type: 'REPEATED' }))).toBe(false)
  expect(isPlainNumberColumn(column({ type: 'BYTE_ARRAY' }))).toBe(false)
})
