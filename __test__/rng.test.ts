import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Rng, seedState } from '../lib/rng.js'

// From __test__/golden/rng.py: the same generators written independently in Python.
const golden = JSON.parse(readFileSync(new URL('./golden/rng.json', import.meta.url), 'utf8')) as {
  fromState1234: number[]
  seedState: Record<string, [number[], number[]]>
  seed42stream1: number[]
  shuffle20seed7: number[]
}

describe('the shared PRNG', () => {
  it('is xoshiro128** (reference stream from state [1, 2, 3, 4])', () => {
    const rng = new Rng(Uint32Array.from([1, 2, 3, 4]))
    expect(Array.from({ length: 8 }, () => rng.nextU32())).toEqual(golden.fromState1234)
    // The published first output of xoshiro128** from [1, 2, 3, 4].
    expect(golden.fromState1234[0]).toBe(11520)
  })

  it('seeds each stream from the splitmix32 sequence', () => {
    for (const [seed, [init, training]] of Object.entries(golden.seedState)) {
      expect(Array.from(seedState(Number(seed), 0))).toEqual(init)
      expect(Array.from(seedState(Number(seed), 1))).toEqual(training)
    }
    const rng = Rng.seeded(42, 1)
    expect(Array.from({ length: 8 }, () => rng.nextU32())).toEqual(golden.seed42stream1)
  })

  it('draws bounded integers and shuffles as the reference does', () => {
    const rng = Rng.seeded(7, 1)
    const perm = Array.from({ length: 20 }, (_, i) => i)
    for (let i = 19; i > 0; i--) {
      const j = rng.nextBelow(i + 1)
      ;[perm[i], perm[j]] = [perm[j]!, perm[i]!]
    }
    expect(perm).toEqual(golden.shuffle20seed7)
  })

  it('gives uniform floats in [0, 1) and bounded integers in range', () => {
    const rng = Rng.seeded(3, 0)
    let sum = 0
    const counts = new Array<number>(5).fill(0)
    for (let i = 0; i < 50_000; i++) {
      const u = rng.nextFloat()
      expect(u >= 0 && u < 1).toBe(true)
      sum += u
      counts[rng.nextBelow(5)]!++
    }
    expect(sum / 50_000).toBeCloseTo(0.5, 2)
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400)
  })

  it('gives standard normal draws', () => {
    const rng = Rng.seeded(5, 0)
    let s = 0
    let s2 = 0
    const n = 50_000
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal()
      s += z
      s2 += z * z
    }
    expect(s / n).toBeCloseTo(0, 1)
    expect(s2 / n).toBeCloseTo(1, 1)
  })
})
