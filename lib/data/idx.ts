/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, "file
 * formats"): a 4-byte magic number — two zero bytes, a type code, the number of dimensions —
 * then each dimension as a big-endian uint32, then the values, big-endian, row-major.
 *
 * Files are read as a stream (gzip-compressed or raw, told apart by their first bytes) straight
 * into one Float32Array allocated from the header, so memory stays near the size of the result.
 * Everything the header declares is checked against what the file holds.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { createGunzip } from 'node:zlib'
import { DataFileError } from '../errors.js'

/** Element types of the IDX format, by type code. */
const IDX_TYPES = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
} as const

export type IdxType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name']

/** An array read from an IDX file. */
export interface IdxTensor {
  /** The dimensions the header declares, e.g. [60000, 28, 28]. */
  shape: number[]
  /** The element type the header declares. */
  type: IdxType
  /** All values, row-major, converted to float32. */
  data: Float32Array
}

/** Deflate expands at most 1032:1; a header claiming more than that cannot be honest. */
const MAX_DEFLATE_RATIO = 1032
/** More values than this cannot go in one Float32Array. */
const MAX_VALUES = 2 ** 31 - 1
const GZIP_MAGIC = [0x1f, 0x8b]

/**
 * Reads an IDX file (raw or gzip-compressed). Throws a DataFileError naming the file and the
 * byte offset when the file is missing, is not IDX, is truncated, or holds more than declared.
 */
export async function readIdx(path: string): Promise<IdxTensor> {
  const fileSize = await sizeOf(path)
  const gzipped = await startsWith(path, GZIP_MAGIC)
  const where = gzipped ? ' of the decompressed data' : ''
  const fail = (byteOffset: number, why: string): never => {
    throw new DataFileError(`${path}: at byte ${byteOffset}${where}: ${why}`, path, { byteOffset })
  }

  let header: Header | null = null
  let data: Float32Array | null = null
  let headerBytes: Uint8Array = new Uint8Array(0)
  let written = 0 // values stored
  let consumed = 0 // bytes of the (decompressed) stream seen
  const carry = new Uint8Array(8) // a value split across two chunks
  let carried = 0

  const stream = gzipped ? createReadStream(path).pipe(createGunzip()) : createReadStream(path)
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let bytes: Uint8Array = chunk
      if (header === null) {
        headerBytes = concat(headerBytes, bytes)
        const parsed = parseHeader(headerBytes, fail)
        if (parsed === null) {
          consumed += bytes.length
          continue
        }
        header = parsed
        checkDeclaredSize(header, fileSize, gzipped, fail)
        data = new Float32Array(header.count)
        bytes = headerBytes.subarray(header.length)
        consumed = header.length
      }
      const { bytes: size, read } = header
      let i = 0
      if (carried > 0) {
        while (carried < size && i < bytes.length) carry[carried++] = bytes[i++]!
        if (carried < size) {
          consumed += i
          continue
        }
        if (written === header.count) fail(consumed, `the data goes on after the ${header.count} declared values (${describeHeader(header)})`)
        data![written++] = read(new DataView(carry.buffer), 0)
        carried = 0
      }
      const whole = Math.floor((bytes.length - i) / size)
      if (written + whole > header.count) {
        fail(header.length + header.count * size, `the data goes on after the ${header.count} declared values (${describeHeader(header)}); the file has more bytes than its header declares`)
      }
      if (size === 1 && header.type === 'uint8') {
        data!.set(bytes.subarray(i, i + whole), written)
      } else {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        for (let k = 0; k < whole; k++) data![written + k] = read(view, i + k * size)
      }
      written += whole
      i += whole * size
      while (i < bytes.length) carry[carried++] = bytes[i++]!
      consumed += bytes.length
    }
  } catch (error) {
    if (error instanceof DataFileError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR') {
      const expected = header ? `; the header declares ${describeHeader(header)}, ${header.length + header.count * header.bytes} bytes in all` : ''
      fail(consumed, `the gzip stream is damaged or cut short (${(error as Error).message}) after ${consumed} decompressed bytes${expected}`)
    }
    throw new DataFileError(`${path}: cannot read the file: ${(error as Error).message}`, path)
  }
  if (header === null) {
    fail(consumed, `the file ends inside the IDX header (${consumed} bytes); expected a 4-byte magic number (0x00 0x00 type dims) and 4 bytes per dimension`)
  }
  const expectedBytes = header!.length + header!.count * header!.bytes
  if (written === header!.count && carried > 0) {
    fail(expectedBytes, `the file has ${carried} bytes after the ${header!.count} declared values (${describeHeader(header!)}, ${expectedBytes} bytes in all)`)
  }
  if (written < header!.count || carried > 0) {
    fail(consumed, `the file ends after ${written} of the ${header!.count} declared values (${describeHeader(header!)}): expected ${expectedBytes} bytes, found ${consumed} (truncated?)`)
  }
  return { shape: header!.shape, type: header!.type, data: data! }
}

interface Header {
  shape: number[]
  type: IdxType
  bytes: number
  count: number
  /** Header length in bytes. */
  length: number
  read: (view: DataView, offset: number) => number
}

/** The header once `bytes` holds all of it, else null. */
function parseHeader(bytes: Uint8Array, fail: (at: number, why: string) => never): Header | null {
  if (bytes.length < 4) return null
  const code = bytes[2]! as keyof typeof IDX_TYPES
  const dims = bytes[3]!
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(code in IDX_TYPES) || dims === 0) {
    const shown = Array.from(bytes.subarray(0, 4), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ')
    fail(0, `wrong magic number ${shown}; an IDX file starts with 0x00 0x00, a type code (0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64) and the number of dimensions (≥ 1)`)
  }
  const length = 4 + 4 * dims
  if (bytes.length < length) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const shape = Array.from({ length: dims }, (_, d) => view.getUint32(4 + 4 * d, false))
  const count = shape.reduce((a, b) => a * b, 1)
  const type = IDX_TYPES[code]
  if (count > MAX_VALUES) fail(4, `the header declares dimensions ${shape.join(' × ')} = ${count} values, more than one Float32Array can hold (${MAX_VALUES})`)
  return { shape, type: type.name, bytes: type.bytes, count, length, read: reader(type.name) }
}

function reader(type: IdxType): (view: DataView, offset: number) => number {
  switch (type) {
    case 'uint8':
      return (v, o) => v.getUint8(o)
    case 'int8':
      return (v, o) => v.getInt8(o)
    case 'int16':
      return (v, o) => v.getInt16(o, false)
    case 'int32':
      return (v, o) => v.getInt32(o, false)
    case 'float32':
      return (v, o) => v.getFloat32(o, false)
    case 'float64':
      return (v, o) => v.getFloat64(o, false)
  }
}

/**
 * Refuses, before allocating, a header that declares more data than the file can hold: exactly
 * for a raw file (whose size is known), by deflate's largest ratio for a gzip one.
 */
function checkDeclaredSize(header: Header, fileSize: number, gzipped: boolean, fail: (at: number, why: string) => never): void {
  const expected = header.length + header.count * header.bytes
  if (!gzipped && expected !== fileSize) {
    if (fileSize < expected) {
      fail(fileSize, `the file ends after ${fileSize} bytes, but its header declares ${describeHeader(header)}, which need ${expected} bytes (truncated?)`)
    }
    fail(expected, `the file has ${fileSize - expected} bytes after the ${header.count} declared values (${describeHeader(header)}, ${expected} bytes in all)`)
  }
  if (gzipped && expected > fileSize * MAX_DEFLATE_RATIO) {
    fail(0, `its header declares ${describeHeader(header)} (${expected} bytes), more than a ${fileSize}-byte gzip file can hold (truncated or not IDX?)`)
  }
}

function describeHeader(header: Header): string {
  return `${header.shape.join(' × ')} ${header.type} values`
}

async function sizeOf(path: string): Promise<number> {
  try {
    const info = await stat(path)
    if (info.isDirectory()) throw new DataFileError(`${path} is a directory; expected an IDX file`, path)
    // A device or a pipe has no size to check the header against, and may never end.
    if (!info.isFile()) throw new DataFileError(`${path} is not a regular file; expected an IDX file`, path)
    return info.size
  } catch (error) {
    if (error instanceof DataFileError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new DataFileError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read the file: ${(error as Error).message}`, path)
  }
}

async function startsWith(path: string, prefix: number[]): Promise<boolean> {
  let file: Awaited<ReturnType<typeof open>>
  try {
    file = await open(path, 'r')
  } catch (error) {
    throw new DataFileError(`${path}: cannot read the file: ${(error as Error).message}`, path)
  }
  try {
    const head = Buffer.alloc(prefix.length)
    const { bytesRead } = await file.read(head, 0, prefix.length, 0)
    return bytesRead === prefix.length && prefix.every((b, i) => head[i] === b)
  } finally {
    await file.close()
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
