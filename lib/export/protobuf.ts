/**
 * A minimal Protocol Buffers encoder: just what writing an ONNX model needs (varints, 32-bit
 * floats, length-delimited strings, bytes and nested messages, packed repeated floats).
 * Wire format: https://protobuf.dev/programming-guides/encoding/. Fields are written in the
 * order they are added; a parser accepts any order.
 */

/** Wire types of the protobuf encoding. */
const VARINT = 0
const FIXED32 = 5
const LENGTH_DELIMITED = 2

const utf8 = new TextEncoder()

/** Builds one message. Nested messages are built by their own writer and added with `message`. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = []
  private length = 0

  /** An int32/int64/enum field; negative numbers take ten bytes, as protobuf's int64. */
  int(field: number, value: number): this {
    this.tag(field, VARINT)
    this.varint(value)
    return this
  }

  /** A `float` field (32-bit IEEE 754, little-endian). */
  float(field: number, value: number): this {
    this.tag(field, FIXED32)
    const bytes = new Uint8Array(4)
    new DataView(bytes.buffer).setFloat32(0, value, true)
    this.push(bytes)
    return this
  }

  /** A `string` field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value))
  }

  /** A `bytes` field. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED)
    this.varint(value.length)
    this.push(value)
    return this
  }

  /** An embedded message field. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish())
  }

  /** A packed `repeated float` field: the floats little-endian, back to back. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 4)
    const view = new DataView(bytes.buffer)
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true)
    return this.bytes(field, bytes)
  }

  /** The encoded message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const chunk of this.chunks) {
      out.set(chunk, at)
      at += chunk.length
    }
    return out
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`protobuf field numbers are 1 … 2^29 − 1, got ${field}`)
    this.varint(field * 8 + wireType)
  }

  /**
   * Base-128 varint, least significant group first. Integers beyond 2^53 cannot reach here
   * (they are not safe JavaScript numbers); negatives are their 64-bit two's complement.
   */
  private varint(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf varints take safe integers, got ${value}`)
    let v = BigInt.asUintN(64, BigInt(value))
    const bytes: number[] = []
    do {
      const low = Number(v & 0x7fn)
      v >>= 7n
      bytes.push(v > 0n ? low | 0x80 : low)
    } while (v > 0n)
    this.push(Uint8Array.from(bytes))
  }

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes)
    this.length += bytes.length
  }
}
