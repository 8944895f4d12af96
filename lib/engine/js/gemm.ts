/**
 * Matrix multiplication for the JS engine: C = op(A)·op(B) (or C += …), row-major, where op is
 * identity or transpose. Both operands are first packed into Float64Array panels of four rows
 * of op(A) and four columns of op(B), laid out so that the 4×4 register-blocked micro-kernel
 * reads them sequentially. Packing also converts float32 to float64 once, so the inner loop does
 * no conversions, and it makes every transpose form run the same fast kernel. The packing
 * buffers grow once and are reused, so steady-state training allocates nothing.
 */

export type FloatArray = Float32Array | Float64Array
export type FloatArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor

const TILE = 4
/** Products with at most this many rows (and no transposes) skip packing; see `skinny`. */
const SKINNY_MAX_ROWS = 2
/** Holds an edge tile's accumulators (module-level so the kernel never allocates). */
const edgeScratch = new Float64Array(TILE * TILE)

export class Gemm {
  private packedA = new Float64Array(0)
  private packedB = new Float64Array(0)

  /**
   * C[m×n] = op(A)·op(B), or C += op(A)·op(B) when `accumulate`.
   * op(A) is m×k: A is stored m×k (transA false) or k×m (transA true), with row stride lda.
   * op(B) is k×n: B is stored k×n (transB false) or n×k (transB true), with row stride ldb.
   */
  multiply(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: FloatArray,
    aOffset: number,
    lda: number,
    b: FloatArray,
    bOffset: number,
    ldb: number,
    c: FloatArray,
    cOffset: number,
    ldc: number,
    accumulate: boolean,
  ): void {
    if (m === 0 || n === 0) return
    if (k === 0) {
      if (!accumulate) for (let i = 0; i < m; i++) c.fill(0, cOffset + i * ldc, cOffset + i * ldc + n)
      return
    }
    if (m <= SKINNY_MAX_ROWS && !transA && !transB) {
      this.skinny(m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate)
      return
    }
    const mPanels = Math.ceil(m / TILE)
    const nPanels = Math.ceil(n / TILE)
    const pa = this.ensureA(mPanels * TILE * k)
    const pb = this.ensureB(nPanels * TILE * k)
    packA(transA, m, k, a, aOffset, lda, pa)
    packB(transB, k, n, b, bOffset, ldb, pb)
    for (let jp = 0; jp < nPanels; jp++) {
      const j0 = jp * TILE
      const nr = Math.min(TILE, n - j0)
      for (let ip = 0; ip < mPanels; ip++) {
        const i0 = ip * TILE
        kernel4x4(pa, ip * TILE * k, pb, jp * TILE * k, k, c, cOffset + i0 * ldc + j0, ldc,
          Math.min(TILE, m - i0), nr, accumulate)
      }
    }
  }

  /**
   * A few rows of A times B read in place: packing B costs as much as the product when A has
   * one row (a one-row mnist prediction took ~0.9 ms, mostly packing). Each row accumulates in
   * float64 in k order, the sums the packed kernel makes, so the results are the same.
   */
  private skinny(
    m: number, n: number, k: number,
    a: FloatArray, aOffset: number, lda: number,
    b: FloatArray, bOffset: number, ldb: number,
    c: FloatArray, cOffset: number, ldc: number,
    accumulate: boolean,
  ): void {
    const acc = this.ensureB(n)
    for (let i = 0; i < m; i++) {
      acc.fill(0, 0, n)
      const row = aOffset + i * lda
      for (let q = 0; q < k; q++) {
        const av = a[row + q]!
        const brow = bOffset + q * ldb
        for (let j = 0; j < n; j++) acc[j] = acc[j]! + av * b[brow + j]!
      }
      const crow = cOffset + i * ldc
      if (accumulate) for (let j = 0; j < n; j++) c[crow + j] = c[crow + j]! + acc[j]!
      else for (let j = 0; j < n; j++) c[crow + j] = acc[j]!
    }
  }

  private ensureA(size: number): Float64Array {
    if (this.packedA.length < size) this.packedA = new Float64Array(size)
    return this.packedA
  }

  private ensureB(size: number): Float64Array {
    if (this.packedB.length < size) this.packedB = new Float64Array(size)
    return this.packedB
  }
}

/** Packs op(A) (m×k) into panels of 4 rows: panel p holds [k][4], zero-padded past row m. */
function packA(trans: boolean, m: number, k: number, a: FloatArray, off: number, lda: number, out: Float64Array): void {
  const panels = Math.ceil(m / TILE)
  for (let p = 0; p < panels; p++) {
    const base = p * TILE * k
    for (let r = 0; r < TILE; r++) {
      const i = p * TILE + r
      if (i >= m) {
        for (let q = 0; q < k; q++) out[base + q * TILE + r] = 0
      } else if (trans) {
        for (let q = 0; q < k; q++) out[base + q * TILE + r] = a[off + q * lda + i]!
      } else {
        const row = off + i * lda
        for (let q = 0; q < k; q++) out[base + q * TILE + r] = a[row + q]!
      }
    }
  }
}

/** Packs op(B) (k×n) into panels of 4 columns: panel p holds [k][4], zero-padded past column n. */
function packB(trans: boolean, k: number, n: number, b: FloatArray, off: number, ldb: number, out: Float64Array): void {
  const panels = Math.ceil(n / TILE)
  for (let p = 0; p < panels; p++) {
    const base = p * TILE * k
    for (let c = 0; c < TILE; c++) {
      const j = p * TILE + c
      if (j >= n) {
        for (let q = 0; q < k; q++) out[base + q * TILE + c] = 0
      } else if (trans) {
        const row = off + j * ldb
        for (let q = 0; q < k; q++) out[base + q * TILE + c] = b[row + q]!
      } else {
        for (let q = 0; q < k; q++) out[base + q * TILE + c] = b[off + q * ldb + j]!
      }
    }
  }
}

/** A 4×4 block of C from a packed A panel and a packed B panel, accumulators in registers. */
function kernel4x4(
  pa: Float64Array,
  aBase: number,
  pb: Float64Array,
  bBase: number,
  k: number,
  c: FloatArray,
  cBase: number,
  ldc: number,
  mr: number,
  nr: number,
  accumulate: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0
  let ai = aBase
  let bi = bBase
  for (let q = 0; q < k; q++, ai += TILE, bi += TILE) {
    const a0 = pa[ai]!, a1 = pa[ai + 1]!, a2 = pa[ai + 2]!, a3 = pa[ai + 3]!
    const b0 = pb[bi]!, b1 = pb[bi + 1]!, b2 = pb[bi + 2]!, b3 = pb[bi + 3]!
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3
  }
  if (mr === TILE && nr === TILE) {
    let r = cBase
    if (accumulate) {
      c[r]! += c00; c[r + 1]! += c01; c[r + 2]! += c02; c[r + 3]! += c03; r += ldc
      c[r]! += c10; c[r + 1]! += c11; c[r + 2]! += c12; c[r + 3]! += c13; r += ldc
      c[r]! += c20; c[r + 1]! += c21; c[r + 2]! += c22; c[r + 3]! += c23; r += ldc
      c[r]! += c30; c[r + 1]! += c31; c[r + 2]! += c32; c[r + 3]! += c33
    } else {
      c[r] = c00; c[r + 1] = c01; c[r + 2] = c02; c[r + 3] = c03; r += ldc
      c[r] = c10; c[r + 1] = c11; c[r + 2] = c12; c[r + 3] = c13; r += ldc
      c[r] = c20; c[r + 1] = c21; c[r + 2] = c22; c[r + 3] = c23; r += ldc
      c[r] = c30; c[r + 1] = c31; c[r + 2] = c32; c[r + 3] = c33
    }
    return
  }
  // Edge tile: write only the rows and columns inside C.
  const block = edgeScratch
  block[0] = c00; block[1] = c01; block[2] = c02; block[3] = c03
  block[4] = c10; block[5] = c11; block[6] = c12; block[7] = c13
  block[8] = c20; block[9] = c21; block[10] = c22; block[11] = c23
  block[12] = c30; block[13] = c31; block[14] = c32; block[15] = c33
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const idx = cBase + i * ldc + j
      c[idx] = (accumulate ? c[idx]! : 0) + block[i * TILE + j]!
    }
  }
}
