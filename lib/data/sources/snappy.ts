/**
 * Snappy decompression for Parquet pages, from the format's description
 * (github.com/google/snappy, format_description.txt): a varint of the uncompressed length, then
 * elements — a literal (tag 00: its bytes follow) or a copy of earlier output (tags 01, 10, 11:
 * a length and a 1-, 2- or 4-byte offset back).
 *
 * hyparquet's own decoder copies byte by byte; here a literal is one `set` and a copy that does
 * not overlap itself one `copyWithin`, which matters for numeric columns: random floats barely
 * compress, so a page is mostly long literals. Every length and offset is checked against the
 * input and the output: a damaged page is an Error, never a short or overrun write.
 */
export function snappyUncompress(input: Uint8Array, output: Uint8Array): void {
  let pos = 0
  let declared = 0
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw new Error('snappy: the length header is cut or too long')
    const b = input[pos++]!
    declared += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  if (declared !== output.length) throw new Error(`snappy: the data holds ${declared} bytes, the page header says ${output.length}`)
  let out = 0
  while (pos < input.length) {
    const tag = input[pos++]!
    let length: number
    if ((tag & 3) === 0) {
      length = (tag >>> 2) + 1
      if (length > 60) {
        const bytes = length - 60
        if (pos + bytes > input.length) throw new Error('snappy: a literal length is cut')
        length = 1
        for (let i = 0; i < bytes; i++) length += input[pos + i]! * 2 ** (8 * i)
        pos += bytes
      }
      if (pos + length > input.length) throw new Error('snappy: a literal runs past the input')
      if (out + length > output.length) throw new Error('snappy: a literal runs past the declared length')
      output.set(input.subarray(pos, pos + length), out)
      pos += length
      out += length
      continue
    }
    let offset: number
    if ((tag & 3) === 1) {
      if (pos >= input.length) throw new Error('snappy: a copy is cut')
      length = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | input[pos++]!
    } else {
      const bytes = (tag & 3) === 2 ? 2 : 4
      if (pos + bytes > input.length) throw new Error('snappy: a copy is cut')
      length = (tag >>> 2) + 1
      offset = 0
      for (let i = 0; i < bytes; i++) offset += input[pos + i]! * 2 ** (8 * i)
      pos += bytes
    }
    if (offset === 0 || offset > out) throw new Error(`snappy: a copy reaches ${offset} bytes back from byte ${out}`)
    if (out + length > output.length) throw new Error('snappy: a copy runs past the declared length')
    if (offset >= length) {
      output.copyWithin(out, out - offset, out - offset + length)
    } else {
      // Overlapping: the copy repeats the last `offset` bytes, so it goes byte by byte.
      for (let i = 0; i < length; i++) output[out + i] = output[out - offset + i]!
    }
    out += length
  }
  if (out !== output.length) throw new Error(`snappy: the data ends after ${out} of ${output.length} bytes`)
}

/** hyparquet's hook for a codec: the page's bytes decompressed into a new array of the given size. */
export const compressors = { SNAPPY: (input: Uint8Array, size: number): Uint8Array => {
  const output = new Uint8Array(size)
  snappyUncompress(input, output)
  return output
} }
