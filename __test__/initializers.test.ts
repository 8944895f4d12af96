import { describe, expect, it } from 'vitest'
import { Dense, Sequential } from '../lib/index.js'
import { checkInitializer, initialize } from '../lib/initializers.js'
import { Rng } from '../lib/rng.js'

function moments(values: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0
  let s2 = 0
  for (const v of values) {
    s += v
    s2 += v * v
  }
  const mean = s / values.length
  return { mean, std: Math.sqrt(s2 / values.length - mean * mean), min: Math.min(...values), max: Math.max(...values) }
}

function draw(name: string, fanIn: number, fanOut: number, count = 40_000): Float32Array {
  const out = new Float32Array(count)
  initialize(checkInitializer('init', name), out, 0, count, fanIn, fanOut, Rng.seeded(11, 0))
  return out
}

describe('initializers', () => {
  it('zeros and ones', () => {
    expect(draw('zeros', 3, 4, 10).every((v) => v === 0)).toBe(true)
    expect(draw('ones', 3, 4, 10).every((v) => v === 1)).toBe(true)
  })

  it('glorotUniform draws from ±√(6/(fanIn+fanOut)) with the uniform variance', () => {
    const limit = Math.sqrt(6 / (100 + 50))
    const m = moments(draw('glorotUniform', 100, 50))
    expect(m.min).toBeGreaterThanOrEqual(-limit)
    expect(m.max).toBeLessThanOrEqual(limit)
    expect(m.max).toBeGreaterThan(0.99 * limit)
    expect(m.std).toBeCloseTo(limit / Math.sqrt(3), 2)
    expect(Math.abs(m.mean)).toBeLessThan(0.003)
  })

  it('heUniform draws from ±√(6/fanIn)', () => {
    const limit = Math.sqrt(6 / 100)
    const m = moments(draw('heUniform', 100, 50))
    expect(m.max).toBeLessThanOrEqual(limit)
    expect(m.std).toBeCloseTo(limit / Math.sqrt(3), 2)
  })

  it('glorotNormal and heNormal are truncated at 2σ and rescaled to the intended variance', () => {
    for (const [name, variance] of [['glorotNormal', 2 / 150], ['heNormal', 2 / 100]] as const) {
      const m = moments(draw(name, 100, 50))
      const sigma = Math.sqrt(variance) / 0.87962566103423978
      expect(m.max).toBeLessThanOrEqual(2 * sigma + 1e-6)
      expect(m.min).toBeGreaterThanOrEqual(-2 * sigma - 1e-6)
      expect(m.std / Math.sqrt(variance)).toBeCloseTo(1, 1)
    }
  })

  it('randomUniform and randomNormal take options', () => {
    const u = new Float32Array(20_000)
    initialize(checkInitializer('i', { name: 'randomUniform', minval: 2, maxval: 3 }), u, 0, u.length, 1, 1, Rng.seeded(1, 0))
    expect(Math.min(...u)).toBeGreaterThanOrEqual(2)
    expect(Math.max(...u)).toBeLessThan(3)
    const n = new Float32Array(20_000)
    initialize(checkInitializer('i', { name: 'randomNormal', mean: 5, stddev: 2 }), n, 0, n.length, 1, 1, Rng.seeded(1, 0))
    const m = moments(n)
    expect(m.mean).toBeCloseTo(5, 1)
    expect(m.std).toBeCloseTo(2, 1)
  })

  it('defaults to He for the ReLU family and Glorot otherwise; biases start at zero', () => {
    const model = new Sequential({ seed: 3 })
      .add(new Dense({ inputSize: 400, units: 300, activation: 'relu' }))
      .add(new Dense({ units: 200, activation: 'tanh' }))
    const [w1, b1, w2] = model.getWeights()
    expect(moments(w1!.data).std).toBeCloseTo(Math.sqrt(2 / 400), 2)
    expect(b1!.data.every((v) => v === 0)).toBe(true)
    expect(moments(w2!.data).max).toBeLessThanOrEqual(Math.sqrt(6 / 500))
  })

  it('are seeded: the same seed gives the same weights, another seed different ones', () => {
    const weights = (seed: number) =>
      new Sequential({ seed }).add(new Dense({ inputSize: 5, units: 4, activation: 'sigmoid' })).getWeights()[0]!.data
    expect(weights(1)).toEqual(weights(1))
    expect(weights(1)).not.toEqual(weights(2))
  })
})
