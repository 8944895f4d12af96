/**
 * The Parquet source's Snappy decoder (lib/data/sources/snappy.ts) against hyparquet-writer's
 * compressor and hyparquet's own decoder (the references): round trips over data that does and
 * does not compress, literal lengths in each of their encodings, overlapping copies; and on
 * arbitrary bytes, a clean "snappy:" error or hyparquet's result, never a write past the output.
 */
import fc from 'fast-check'
import { snappyUncompress as reference } from 'hyparquet'
import { snappyCompress } from 'hyparquet-writer/src/snappy.js'
import { describe, expect, it } from 'vitest'
import { snappyUncompress } from '../lib/data/sources/snappy.js'

const decode = (input: Uint8Array, size: number) => {
  const out = new Uint8Array(size)
  snappyUncompress(input, out)
  return out
}

describe('snappyUncompress', () => {
  it('undoes snappyCompress: random floats, text, runs, every literal length encoding', () => {
    let s = 7
    const random = (n: number) => Uint8Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24))
    const floats = new Uint8Array(Float32Array.from({ length: 20_000 }, (_, i) => Math.sin(i)).buffer)
    const text = new TextEncoder().encode('the quick brown fox jumps over the lazy dog; '.repeat(500))
    const runs = new Uint8Array(10_000).fill(3)
    for (const data of [new Uint8Array(0), random(1), random(60), random(61), random(300), random(70_000), random(1 << 20), floats, text, runs]) {
      const compressed = snappyCompress(data)
      expect(decode(compressed, data.length)).toEqual(data)
    }
    // Short alphabets make copies of every length and offset, overlapping ones included.
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000, max: 3 }), (data) => void expect(decode(snappyCompress(data), data.length)).toEqual(data)), { numRuns: 500 })
  })

  it('any byte string: an Error saying what is wrong, or what hyparquet decodes', () => {
    // hyparquet's decoder is the reference only where ours succeeds: on garbage it can write
    // lengths far past the output (and take seconds), which is why ours checks each one.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(300), (input, size) => {
        let got: Uint8Array
        try {
          got = decode(input, size)
        } catch (e) {
          expect((e as Error).message).toMatch(/^snappy: /)
          return
        }
        const expected = new Uint8Array(size)
        reference(input, expected)
        expect(got).toEqual(expected)
      }),
      { numRuns: 3000 },
    )
  })

  it('damaged data is refused: a length that lies, a copy from before the start, a cut literal', () => {
    const good = snappyCompress(new TextEncoder().encode('abcabcabcabcabcabc'))
    expect(() => decode(good, 17)).toThrow(/^snappy: the data holds 18 bytes, the page header says 17/)
    expect(() => decode(Uint8Array.of(8, 0x01 | (4 << 2), 5), 8)).toThrow(/^snappy: a copy reaches 5 bytes back from byte 0/)
    expect(() => decode(Uint8Array.of(10, 9 << 2, 1, 2), 10)).toThrow(/^snappy: a literal runs past the input/)
  })
})
