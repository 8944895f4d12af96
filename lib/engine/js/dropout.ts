import type { Rng } from '../../rng.js'
import type { FloatArray } from './gemm.js'

/**
 * Inverted dropout: each unit is dropped when its uniform draw is below `rate`, and kept units
 * are scaled by 1/(1 − rate) so inference needs no rescaling. Draws run row-major over the
 * batch, one per unit, from the training stream — the order the native engine follows too.
 */
export function dropoutForward(
  rate: number,
  x: FloatArray,
  out: FloatArray,
  mask: FloatArray,
  count: number,
  rng: Rng,
): void {
  const keep = 1 / (1 - rate)
  for (let i = 0; i < count; i++) {
    mask[i] = rng.nextFloat() < rate ? 0 : keep
    out[i] = x[i]! * mask[i]!
  }
}

export function dropoutBackward(dy: FloatArray, dx: FloatArray, mask: FloatArray, count: number): void {
  for (let i = 0; i < count; i++) dx[i] = dy[i]! * mask[i]!
}
