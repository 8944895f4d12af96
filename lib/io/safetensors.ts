/**
 * The safetensors container (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON header, then the raw little-endian tensor
 * bytes. Only float32 tensors are written. Reading checks every offset against the file so a
 * truncated or corrupted file gives an error, never garbage. Portable: TextEncoder and DataView,
 * no Buffer, so it runs in browsers too.
 */

export interface Tensor {
  shape: number[]
  data: Float32Array
}

export class SafetensorsFormatError extends Error {
  override name = 'SafetensorsFormatError'
}

export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata }
  let offset = 0
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] }
    offset += bytes
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const headerBytes = new Uint8Array(json.length + ((8 - ((json.length + 8) % 8)) % 8)).fill(0x20)
  headerBytes.set(json)
  const out = new Uint8Array(8 + headerBytes.length + offset)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(headerBytes.length), true)
  out.set(headerBytes, 8)
  let at = 8 + headerBytes.length
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true)
  }
  return out
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new SafetensorsFormatError(`the file is ${bytes.length} bytes long, shorter than the 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = view.getBigUint64(0, true)
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new SafetensorsFormatError(`the header claims ${headerLength} bytes but only ${bytes.length - 8} follow (truncated?)`)
  }
  const dataStart = 8 + Number(headerLength)
  let text: string
  try {
    // The format requires UTF-8: a lenient decoder would turn bad bytes into U+FFFD and two
    // different names into one.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart))
  } catch {
    throw new SafetensorsFormatError('the header is not valid UTF-8')
  }
  let header: unknown
  try {
    header = JSON.parse(text)
  } catch (error) {
    throw new SafetensorsFormatError(`the header is not valid JSON (${(error as Error).message})`)
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsFormatError('the header is not a JSON object')
  }
  const dataLength = bytes.length - dataStart
  const tensors = new Map<string, Tensor>()
  const spans: { name: string; begin: number; end: number }[] = []
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>
      continue
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new SafetensorsFormatError(`tensor '${name}' is described by ${JSON.stringify(entry)}, not an object with dtype, shape and data_offsets`)
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (e.dtype !== 'F32') throw new SafetensorsFormatError(`tensor '${name}' has dtype ${String(e.dtype)}; only F32 is supported`)
    const shape = e.shape
    const offsets = e.data_offsets
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsFormatError(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`)
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsFormatError(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`)
    }
    const [begin, end] = offsets as [number, number]
    const count = shape.reduce((a: number, b: number) => a * b, 1)
    if (end < begin || end - begin !== count * 4) {
      throw new SafetensorsFormatError(`tensor '${name}' spans bytes [${begin}, ${end}) but its shape [${shape.join(', ')}] needs ${count * 4}`)
    }
    if (end > dataLength) {
      throw new SafetensorsFormatError(`tensor '${name}' ends at byte ${end} of the data, but the data holds only ${dataLength} bytes (truncated?)`)
    }
    spans.push({ name, begin, end })
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
    throw new SafetensorsFormatError('__metadata__ is not an object of strings')
  }
  // As the format requires: tensors do not overlap, and together they cover the data exactly.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end)
  let covered = 0
  for (const span of spans) {
    if (span.begin < covered) throw new SafetensorsFormatError(`tensor '${span.name}' (bytes [${span.begin}, ${span.end})) overlaps the tensor before it, which ends at byte ${covered}`)
    if (span.begin > covered) throw new SafetensorsFormatError(`bytes [${covered}, ${span.begin}) of the data belong to no tensor (before '${span.name}')`)
    covered = span.end
  }
  if (covered !== dataLength) throw new SafetensorsFormatError(`the data holds ${dataLength} bytes but its tensors cover ${covered}`)
  for (const { name, begin, end } of spans) {
    const count = (end - begin) / 4
    const data = new Float32Array(count)
    for (let i = 0, at = dataStart + begin; i < count; i++, at += 4) data[i] = view.getFloat32(at, true)
    tensors.set(name, { shape: (header as Record<string, { shape: number[] }>)[name]!.shape, data })
  }
  return { tensors, metadata }
}
