import { describe, expect, it } from 'vitest'
import { Gemm } from '../lib/engine/js/gemm.js'
import { Rng } from '../lib/rng.js'

/** Straightforward float64 reference: C = op(A)·op(B) (+ C). */
function reference(transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, c: Float32Array, ldc: number, accumulate: boolean): Float64Array {
  const out = new Float64Array(m * n)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = accumulate ? c[i * ldc + j]! : 0
      for (let p = 0; p < k; p++) {
        s += (transA ? a[p * lda + i]! : a[i * lda + p]!) * (transB ? b[j * ldb + p]! : b[p * ldb + j]!)
      }
      out[i * n + j] = s
    }
  }
  return out
}

const random = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => 2 * rng.nextFloat() - 1)

describe('the JS engine’s GEMM', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [0, 3, 4], [3, 0, 4], [3, 4, 0], [7, 13, 17], [31, 37, 41], [4, 4, 4], [5, 3, 2], [128, 10, 128], [2, 33, 1],
  ]
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const accumulate of [false, true]) {
          it(`${m}×${n}×${k} transA=${transA} transB=${transB} accumulate=${accumulate}, with padded leading dims`, () => {
            const rng = Rng.seeded(m * 1000 + n * 10 + k, 0)
            // Leading dimensions larger than the logical width, to exercise strides.
            const lda = (transA ? m : k) + 3
            const ldb = (transB ? k : n) + 2
            const ldc = n + 1
            const a = random(rng, (transA ? k : m) * lda)
            const b = random(rng, (transB ? n : k) * ldb)
            const c = random(rng, m * ldc)
            const before = c.slice()
            const expected = reference(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
            new Gemm().multiply(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, c, 0, ldc, accumulate)
            for (let i = 0; i < m; i++) {
              for (let j = 0; j < ldc; j++) {
                if (j >= n) {
                  expect(c[i * ldc + j]).toBe(before[i * ldc + j]) // padding untouched
                } else {
                  expect(Math.abs(c[i * ldc + j]! - expected[i * n + j]!)).toBeLessThan(1e-5 * (k + 1))
                }
              }
            }
          })
        }
      }
    }
  }

  it('honours operand offsets', () => {
    const rng = Rng.seeded(9, 0)
    const a = random(rng, 5 + 6 * 4)
    const b = random(rng, 3 + 4 * 2)
    const c = new Float32Array(1 + 6 * 2)
    new Gemm().multiply(false, false, 6, 2, 4, a, 5, 4, b, 3, 2, c, 1, 2, false)
    const expected = reference(false, false, 6, 2, 4, a.subarray(5), 4, b.subarray(3), 2, c.subarray(1), 2, false)
    expect(c[0]).toBe(0)
    for (let i = 0; i < 12; i++) expect(c[1 + i]).toBeCloseTo(expected[i]!, 5)
  })
})
