/**
 * Writes .npy files the way numpy.save does (version 1.0 header padded to 64 bytes, C order), so
 * the tests can make files of every element type without Python. __test__/sources.test.ts checks
 * the bytes against numpy.save itself when python3 with numpy is present.
 */
import { writeFileSync } from 'node:fs'

const WRITERS = {
  '<f4': [4, (v: DataView, o: number, x: number) => v.setFloat32(o, x, true)],
  '<f8': [8, (v: DataView, o: number, x: number) => v.setFloat64(o, x, true)],
  '<i4': [4, (v: DataView, o: number, x: number) => v.setInt32(o, x, true)],
  '<i8': [8, (v: DataView, o: number, x: number) => v.setBigInt64(o, BigInt(x), true)],
  '|u1': [1, (v: DataView, o: number, x: number) => v.setUint8(o, x)],
  '>f4': [4, (v: DataView, o: number, x: number) => v.setFloat32(o, x, false)],
} as const

export type NpyType = keyof typeof WRITERS

/** The bytes of a .npy file holding `values` with this shape and element type. */
export function npyBytes(values: ArrayLike<number>, shape: number[], descr: NpyType = '<f4', options: { fortran?: boolean; headerShape?: number[] } = {}): Uint8Array {
  const shapeText = (options.headerShape ?? shape).length === 1 ? `(${(options.headerShape ?? shape)[0]},)` : `(${(options.headerShape ?? shape).join(', ')})`
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`
  const total = 10 + header.length + 1
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n'
  const [size, write] = WRITERS[descr]
  const out = new Uint8Array(10 + header.length + values.length * size)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  const view = new DataView(out.buffer)
  view.setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  for (let i = 0; i < values.length; i++) write(view, 10 + header.length + i * size, values[i]!)
  return out
}

export function writeNpy(path: string, values: ArrayLike<number>, shape: number[], descr: NpyType = '<f4', options: { fortran?: boolean; headerShape?: number[] } = {}): void {
  writeFileSync(path, npyBytes(values, shape, descr, options))
}
