/**
 * Rewrites a Parquet file's data pages from version 2 (all hyparquet-writer writes) to version 1
 * (what pyarrow and Spark write by default), so the reader's V1 path is tested on a real file.
 *
 * Only for files written UNCOMPRESSED with flat, unrepeated columns: a V2 page is
 * [definition levels][values] with the levels' length in its header; the same V1 page is
 * [4-byte length][definition levels][values] (no levels at all for a REQUIRED column). Every
 * chunk's offsets and sizes in the footer are moved to match; the page indexes are dropped.
 */
import { parquetMetadata } from 'hyparquet'
import { parquetHeader } from 'hyparquet/src/column.js'
import { Encodings } from 'hyparquet/src/constants.js'
import { ByteWriter } from 'hyparquet-writer'
import { serializeTCompactProtocol } from 'hyparquet-writer/src/thrift.js'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'

const DATA_PAGE = 0
const RLE = Encodings.indexOf('RLE')

export function toDataPageV1(file: Uint8Array): Uint8Array {
  const buffer = file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer
  const metadata = parquetMetadata(buffer)
  const out = new ByteWriter()
  out.appendBytes(file.subarray(0, 4)) // PAR1
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data!
      if (meta.codec !== 'UNCOMPRESSED') throw new Error('toDataPageV1 takes UNCOMPRESSED files')
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset)
      const end = start + Number(meta.total_compressed_size)
      const reader = { view: new DataView(buffer), offset: start }
      const chunkStart = out.offset
      let dataStart = chunkStart
      while (reader.offset < end) {
        const headerStart = reader.offset
        const header = parquetHeader(reader)
        const page = file.subarray(reader.offset, reader.offset + header.compressed_page_size)
        reader.offset += header.compressed_page_size
        const v2 = header.data_page_header_v2
        if (!v2) {
          out.appendBytes(file.subarray(headerStart, reader.offset)) // the dictionary page as it was
          dataStart = out.offset
          continue
        }
        if (v2.repetition_levels_byte_length !== 0) throw new Error('toDataPageV1 takes unrepeated columns')
        const levels = v2.definition_levels_byte_length
        const body = new Uint8Array(levels > 0 ? 4 + page.length : page.length)
        if (levels > 0) {
          new DataView(body.buffer).setUint32(0, levels, true)
          body.set(page, 4)
        } else {
          body.set(page)
        }
        serializeTCompactProtocol(out, {
          field_1: DATA_PAGE,
          field_2: body.length,
          field_3: body.length,
          field_5: { field_1: v2.num_values, field_2: Encodings.indexOf(v2.encoding), field_3: RLE, field_4: RLE },
        })
        out.appendBytes(body)
      }
      if (meta.dictionary_page_offset !== undefined) meta.dictionary_page_offset = BigInt(chunkStart)
      meta.data_page_offset = BigInt(dataStart)
      meta.total_compressed_size = meta.total_uncompressed_size = BigInt(out.offset - chunkStart)
      meta.encoding_stats = meta.encoding_stats?.map((s) => (s.page_type === 'DATA_PAGE_V2' ? { ...s, page_type: 'DATA_PAGE' } : s))
      delete chunk.offset_index_offset
      delete chunk.offset_index_length
      delete chunk.column_index_offset
      delete chunk.column_index_length
    }
  }
  const { metadata_length: _, ...footer } = metadata
  writeMetadata(out, footer as unknown as Parameters<typeof writeMetadata>[1]) // hyparquet-writer bundles its own hyparquet types
  out.appendBytes(file.subarray(0, 4)) // PAR1
  return new Uint8Array(out.getBuffer())
}
