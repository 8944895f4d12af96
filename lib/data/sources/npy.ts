/**
 * NumPy's .npy format, read in row ranges so that a file of any size streams: a magic string,
 * a version, a header length, a Python-literal header `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (rows, cols), }`, then the raw C-order array. Versions 1 (2-byte header length), 2 and
 * 3 (4-byte length; 3 allows UTF-8 in the header) are read. Everything declared is checked
 * against the file's real size before a byte of data is read.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { DataFileError } from '../../errors.js'

/** Element types a .npy file may hold here: little-endian (or byte-order-free) numbers. */
const DTYPES = {
  f4: { bytes: 4, read: (v: DataView, o: number) => v.getFloat32(o, true) },
  f8: { bytes: 8, read: (v: DataView, o: number) => v.getFloat64(o, true) },
  i1: { bytes: 1, read: (v: DataView, o: number) => v.getInt8(o) },
  u1: { bytes: 1, read: (v: DataView, o: number) => v.getUint8(o) },
  i2: { bytes: 2, read: (v: DataView, o: number) => v.getInt16(o, true) },
  u2: { bytes: 2, read: (v: DataView, o: number) => v.getUint16(o, true) },
  i4: { bytes: 4, read: (v: DataView, o: number) => v.getInt32(o, true) },
  u4: { bytes: 4, read: (v: DataView, o: number) => v.getUint32(o, true) },
  i8: { bytes: 8, read: (v: DataView, o: number) => Number(v.getBigInt64(o, true)) },
  u8: { bytes: 8, read: (v: DataView, o: number) => Number(v.getBigUint64(o, true)) },
} as const
type Dtype = keyof typeof DTYPES

/** What a .npy header declares, checked against the file. */
export interface NpyHeader {
  dtype: Dtype
  /** Rows (the first dimension; 1 for a 0-d array). */
  rows: number
  /** Values per row (the product of the other dimensions; 1 for a vector). */
  cols: number
  /** Byte offset of the first value. */
  dataOffset: number
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
/** A header is a few hundred bytes; refuse a declared length that could only be a lie. */
const MAX_HEADER = 1 << 20

/** Parses the header at the start of `bytes` (the file's first bytes) for a file of `fileSize` bytes. */
export function parseNpyHeader(bytes: Uint8Array, fileSize: number, path: string): NpyHeader {
  const fail = (why: string, byteOffset: number): never => {
    throw new DataFileError(`${path}: not a readable .npy file: ${why}`, path, { byteOffset })
  }
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('it does not start with the .npy magic string \\x93NUMPY', 0)
  const major = bytes[6]!
  if (major < 1 || major > 3) fail(`format version ${major}.${bytes[7]} is not 1, 2 or 3`, 6)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const lengthBytes = major === 1 ? 2 : 4
  if (bytes.length < 8 + lengthBytes) fail('the file ends inside its header', bytes.length)
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const start = 8 + lengthBytes
  if (headerLength > MAX_HEADER) fail(`it declares a header of ${headerLength} bytes`, 8)
  if (start + headerLength > bytes.length) fail(`its header (${headerLength} bytes) runs past the end of the file (${fileSize} bytes)`, start)
  let text: string
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(start, start + headerLength))
  } catch {
    return fail('its header is not valid text', start)
  }
  const field = (name: string, pattern: string): string => {
    const m = new RegExp(`['"]${name}['"]\\s*:\\s*(${pattern})`).exec(text)
    if (!m) fail(`its header has no valid '${name}' entry: ${text.trim()}`, start)
    return m![1]!
  }
  const descr = field('descr', `'[^']*'|"[^"]*"`).slice(1, -1)
  if (field('fortran_order', 'True|False') === 'True') {
    fail('the array is in Fortran (column-major) order; save it in C order (np.ascontiguousarray) to stream it by rows', start)
  }
  const order = descr[0]!
  const code = descr.slice(1)
  if (order === '>' && !(code === 'i1' || code === 'u1')) fail(`its elements are big-endian ('${descr}'); convert with a.astype('<${code}')`, start)
  if (!['<', '|', '='].includes(order) || !(code in DTYPES)) {
    fail(`element type '${descr}' is not a little-endian number (float32/64, int8-64, uint8-64)`, start)
  }
  const shapeText = field('shape', '\\([^)]*\\)').slice(1, -1).trim()
  const dims = shapeText === '' ? [] : shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (dims.some((d) => !/^\d+L?$/.test(d))) fail(`its shape (${shapeText}) is not a list of sizes`, start)
  const shape = dims.map((d) => Number.parseInt(d, 10))
  const rows = shape.length === 0 ? 1 : shape[0]!
  const cols = shape.slice(1).reduce((a, b) => a * b, 1)
  const dtype = code as Dtype
  const dataOffset = start + headerLength
  const declared = rows * cols * DTYPES[dtype].bytes
  if (!Number.isSafeInteger(declared) || dataOffset + declared !== fileSize) {
    fail(
      `its header declares shape (${shape.join(', ')}) of '${descr}', ${declared} bytes of data, but the file holds ${fileSize - dataOffset} after the header (${dataOffset + declared > fileSize ? 'truncated' : 'trailing bytes'})`,
      dataOffset,
    )
  }
  return { dtype, rows, cols, dataOffset }
}

/** An open .npy file read in row ranges, converted to float32. */
export class NpyFile {
  private constructor(
    readonly path: string,
    readonly header: NpyHeader,
    private readonly file: FileHandle,
  ) {}

  static async open(path: string): Promise<NpyFile> {
    let file: FileHandle
    try {
      file = await open(path, 'r')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new DataFileError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read: ${(error as Error).message}`, path)
    }
    try {
      const stat = await file.stat()
      if (!stat.isFile()) throw new DataFileError(`${path}: not a regular file`, path)
      const head = new Uint8Array(Math.min(stat.size, 4096))
      await file.read(head, 0, head.length, 0)
      let header: NpyHeader
      try {
        header = parseNpyHeader(head, stat.size, path)
      } catch (error) {
        // A long header: read exactly what it declares, once.
        const declared = head.length >= 12 && head[6]! >= 2 ? new DataView(head.buffer).getUint32(8, true) + 12 : 0
        if (!(error instanceof DataFileError) || declared <= head.length || declared > MAX_HEADER + 12 || declared > stat.size) throw error
        const longer = new Uint8Array(declared)
        await file.read(longer, 0, declared, 0)
        header = parseNpyHeader(longer, stat.size, path)
      }
      return new NpyFile(path, header, file)
    } catch (error) {
      await file.close()
      throw error
    }
  }

  /** Rows [start, start + count) as float32, into `out` (rows × cols) when given. */
  async readRows(start: number, count: number, out: Float32Array = new Float32Array(count * this.header.cols)): Promise<Float32Array> {
    const { dtype, cols, dataOffset } = this.header
    const size = DTYPES[dtype].bytes
    const bytes = count * cols * size
    const position = dataOffset + start * cols * size
    if (dtype === 'f4') {
      const target = new Uint8Array(out.buffer, out.byteOffset, bytes)
      await this.readFully(target, position)
      return out
    }
    const raw = new Uint8Array(bytes)
    await this.readFully(raw, position)
    const view = new DataView(raw.buffer)
    const read = DTYPES[dtype].read
    for (let i = 0, n = count * cols; i < n; i++) out[i] = read(view, i * size)
    return out
  }

  async close(): Promise<void> {
    await this.file.close()
  }

  private async readFully(target: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < target.length) {
      const { bytesRead } = await this.file.read(target, done, target.length - done, position + done)
      if (bytesRead === 0) throw new DataFileError(`${this.path}: the file ended at byte ${position + done} (it shrank while being read?)`, this.path, { byteOffset: position + done })
      done += bytesRead
    }
  }
}
