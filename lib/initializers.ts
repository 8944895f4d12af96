import type { ActivationName } from './plan.js'
import type { Rng } from './rng.js'
import { checkNumber, checkOneOf, checkOptions, describe, isPlainObject, optional } from './validate.js'

export const INITIALIZERS = [
  'zeros',
  'ones',
  'randomUniform',
  'randomNormal',
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
] as const
export type InitializerName = (typeof INITIALIZERS)[number]

/** An initializer by name with its defaults, or with options for the random ones. */
export type Initializer =
  | InitializerName
  | {
      name: 'randomUniform'
      /** Lower bound (default −0.05). */
      minval?: number
      /** Upper bound (default 0.05). */
      maxval?: number
    }
  | {
      name: 'randomNormal'
      /** Mean (default 0). */
      mean?: number
      /** Standard deviation (default 0.05). */
      stddev?: number
    }

/** A checked initializer with every option filled in. */
export type InitializerConfig =
  | { name: 'zeros' | 'ones' | 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' }
  | { name: 'randomUniform'; minval: number; maxval: number }
  | { name: 'randomNormal'; mean: number; stddev: number }

export function checkInitializer(argName: string, spec: unknown): InitializerConfig {
  if (typeof spec === 'string') {
    const name = checkOneOf(argName, spec, INITIALIZERS)
    if (name === 'randomUniform') return { name, minval: -0.05, maxval: 0.05 }
    if (name === 'randomNormal') return { name, mean: 0, stddev: 0.05 }
    return { name }
  }
  if (!isPlainObject(spec)) {
    throw new TypeError(`${argName} must be an initializer name or { name, ...options }, got ${describe(spec)}`)
  }
  const name = checkOneOf(`${argName}.name`, spec.name, ['randomUniform', 'randomNormal'] as const)
  if (name === 'randomUniform') {
    checkOptions(argName, spec, ['name', 'minval', 'maxval'])
    const minval = optional(spec.minval, -0.05, (v) => checkNumber(`${argName}.minval`, v))
    const maxval = optional(spec.maxval, 0.05, (v) => checkNumber(`${argName}.maxval`, v))
    if (!(minval < maxval)) {
      throw new RangeError(`${argName} needs minval < maxval, got minval ${minval} and maxval ${maxval}`)
    }
    return { name, minval, maxval }
  }
  checkOptions(argName, spec, ['name', 'mean', 'stddev'])
  return {
    name,
    mean: optional(spec.mean, 0, (v) => checkNumber(`${argName}.mean`, v)),
    stddev: optional(spec.stddev, 0.05, (v) => checkNumber(`${argName}.stddev`, v, { min: 0 })),
  }
}

/** He initialisation suits the ReLU family; Glorot (Xavier) suits the symmetric activations. */
export function defaultKernelInitializer(activation: ActivationName): InitializerConfig {
  return { name: activation === 'relu' || activation === 'leakyRelu' ? 'heNormal' : 'glorotUniform' }
}

/** Keras's correction: a normal truncated at 2σ has standard deviation 0.8796σ. */
const TRUNCATED_STDDEV = 0.87962566103423978

/** A standard normal draw truncated to [−2, 2] by rejection. */
function truncatedNormal(rng: Rng): number {
  for (;;) {
    const z = rng.nextNormal()
    if (Math.abs(z) <= 2) return z
  }
}

/**
 * Fills out[offset, offset + count) in order, drawing from `rng`. fanIn and fanOut are the
 * layer's inputs and units. Glorot uses √(6/(fanIn+fanOut)) (uniform limit) or
 * √(2/(fanIn+fanOut)) (normal σ); He uses √(6/fanIn) and √(2/fanIn). The normal variants are
 * truncated at 2σ and rescaled so the variance is the intended one, as in Keras.
 */
export function initialize(
  init: InitializerConfig,
  out: Float32Array,
  offset: number,
  count: number,
  fanIn: number,
  fanOut: number,
  rng: Rng,
): void {
  const end = offset + count
  switch (init.name) {
    case 'zeros':
      out.fill(0, offset, end)
      return
    case 'ones':
      out.fill(1, offset, end)
      return
    case 'randomUniform': {
      const span = init.maxval - init.minval
      for (let i = offset; i < end; i++) out[i] = init.minval + span * rng.nextFloat()
      return
    }
    case 'randomNormal':
      for (let i = offset; i < end; i++) out[i] = init.mean + init.stddev * rng.nextNormal()
      return
    case 'glorotUniform':
    case 'heUniform': {
      const limit = Math.sqrt(6 / (init.name === 'heUniform' ? fanIn : fanIn + fanOut))
      for (let i = offset; i < end; i++) out[i] = limit * (2 * rng.nextFloat() - 1)
      return
    }
    case 'glorotNormal':
    case 'heNormal': {
      const sigma = Math.sqrt(2 / (init.name === 'heNormal' ? fanIn : fanIn + fanOut)) / TRUNCATED_STDDEV
      for (let i = offset; i < end; i++) out[i] = sigma * truncatedNormal(rng)
      return
    }
  }
}
