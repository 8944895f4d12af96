/**
 * Buffers whose size comes from a caller or a file. V8 reports a failed allocation as "Array
 * buffer allocation failed" or "Invalid typed array length", which says nothing of why; these
 * say what needed how much (the native core words its allocation failures the same way).
 */
export function floats(n: number, what: string): Float32Array {
  try {
    return new Float32Array(n)
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
    throw new RangeError(`out of memory: ${what}: ${(n * 4 / 1e9).toFixed(2)} GB (${n} float32 values) could not be allocated`, { cause: error })
  }
}
