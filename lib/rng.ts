/**
 * The PRNG both engines share: xoshiro128** seeded by splitmix32. Every operation is on 32-bit
 * integers (exact in JavaScript with Math.imul and >>> 0), so the Rust engine reproduces the
 * same stream bit for bit: same seed, same initial weights, shuffles and dropout masks.
 */

const TWO_POW_32 = 4294967296

/** One step of splitmix32: returns [output, nextState]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) >>> 0
  let z = next
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return [(z ^ (z >>> 16)) >>> 0, next]
}

/**
 * The four-word state of stream `stream` for `seed`: words 4·stream … 4·stream+3 of the
 * splitmix32 sequence. Stream 0 initialises weights, stream 1 drives shuffling and dropout, so
 * changing the architecture never changes the batch order.
 */
export function seedState(seed: number, stream: number): Uint32Array {
  let s = seed >>> 0
  let out = 0
  for (let i = 0; i < 4 * stream; i++) [, s] = splitmix32(s)
  const state = new Uint32Array(4)
  for (let i = 0; i < 4; i++) {
    ;[out, s] = splitmix32(s)
    state[i] = out
  }
  return state
}

export const INIT_STREAM = 0
export const TRAINING_STREAM = 1

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}

export class Rng {
  /** The generator state, four unsigned 32-bit words; advanced in place. */
  readonly state: Uint32Array

  constructor(state: Uint32Array) {
    this.state = state
  }

  static seeded(seed: number, stream: number): Rng {
    return new Rng(seedState(seed, stream))
  }

  /** The next unsigned 32-bit integer. */
  nextU32(): number {
    const s = this.state
    const s0 = s[0]!
    const s1 = s[1]!
    const s2 = s[2]!
    const s3 = s[3]!
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0
    const t = (s1 << 9) >>> 0
    const n2 = (s2 ^ s0) >>> 0
    const n3 = (s3 ^ s1) >>> 0
    s[1] = s1 ^ n2
    s[0] = s0 ^ n3
    s[2] = n2 ^ t
    s[3] = rotl(n3, 11)
    return result
  }

  /** Uniform in [0, 1): the 32-bit draw scaled by 2⁻³², exact in both engines. */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32
  }

  /**
   * An integer in [0, bound) as floor(u · bound / 2³²), computed in float64 so that Rust and
   * JavaScript round identically. bound ≤ 2³².
   */
  nextBelow(bound: number): number {
    return Math.floor((this.nextU32() * bound) / TWO_POW_32)
  }

  /** Standard normal by Box–Muller (used only for initialisation, which runs in TypeScript). */
  nextNormal(): number {
    const u1 = (this.nextU32() + 0.5) / TWO_POW_32
    const u2 = this.nextU32() / TWO_POW_32
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  }
}

/** A fresh random seed for models created without one (recorded so the run can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * TWO_POW_32) >>> 0
}
