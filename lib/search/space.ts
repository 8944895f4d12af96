import { Rng } from '../rng.js'
import { checkInteger, describe, isPlainObject } from '../validate.js'
import {
  INTEGER_KEYS,
  MODEL_SPEC_KEYS,
  NUMERIC_KEYS,
  OPTIMIZER_KEYS,
  checkSpecKey,
  checkSpecValue,
  type ModelSpec,
  type ModelSpecKey,
} from '../model/model-spec.js'
import type { OptimizerName } from '../optimizers/index.js'

/**
 * Search spaces as plain data (so a space can be written as JSON for the CLI):
 *
 * - a list `[a, b, c]` is a choice among its values (grid search tries each);
 * - `{ uniform: [low, high] }`, `{ logUniform: [low, high] }`, `{ intUniform: [low, high] }` are
 *   distributions for random search (intUniform includes both ends);
 * - anything else is a fixed value.
 *
 * A list always means a choice, so a fixed list-valued key is a choice of one:
 * `layers: [[64, 32]]`. A space may also be a list of spaces, as scikit-learn's param grids:
 * grid search enumerates each in turn, random search picks one at random for each trial. That
 * is how to search optimizer-specific keys: `[{ optimizer: ['sgd'], momentum: [0, 0.9] },
 * { optimizer: ['adam'], beta1: [0.8, 0.9] }]`.
 */
export type Distribution =
  | { uniform: [number, number] }
  | { logUniform: [number, number] }
  | { intUniform: [number, number] }

/** One key's axis: a list to choose from, a distribution, or a fixed value. */
export type Axis<V> = [V] extends [readonly unknown[]] ? readonly V[] : readonly V[] | Distribution | V

/** A search space: an axis per model-spec key. */
export type SearchSpace = { [K in ModelSpecKey]?: Axis<NonNullable<ModelSpec[K]>> }

/** Parameters of one trial: a value per key of the space (user keys too, with a build function). */
export type TrialParams = ModelSpec & Record<string, unknown>

const DISTRIBUTIONS = ['uniform', 'logUniform', 'intUniform'] as const
type DistributionKind = (typeof DISTRIBUTIONS)[number]

/** Uniform on [low, high). */
export function uniform(low: number, high: number): Distribution {
  return { uniform: [low, high] }
}

/** Log-uniform on [low, high): uniform in log space, as learning rates and penalties want. */
export function logUniform(low: number, high: number): Distribution {
  return { logUniform: [low, high] }
}

/** A uniform integer in [low, high], both ends included. */
export function intUniform(low: number, high: number): Distribution {
  return { intUniform: [low, high] }
}

/** A choice among values: the list itself (for readability in code). */
export function choice<V>(...values: V[]): V[] {
  return values
}

type CheckedAxis =
  | { kind: 'choice'; values: unknown[] }
  | { kind: DistributionKind; low: number; high: number }
  | { kind: 'fixed'; value: unknown }

/** A space checked and split into subspaces, each a list of [key, axis] in the given order. */
export type CheckedSpace = [ModelSpecKey, CheckedAxis][][]

function distributionKind(value: unknown): DistributionKind | null {
  if (!isPlainObject(value)) return null
  const keys = Object.keys(value)
  return keys.length === 1 && (DISTRIBUTIONS as readonly string[]).includes(keys[0]!) ? (keys[0] as DistributionKind) : null
}

/**
 * Checks a space for a grid or random search: known keys, valid values and distribution
 * bounds, no key that no optimizer of the subspace takes, and — for a grid — lists only.
 * `name` prefixes the errors, e.g. 'gridSearch space'. With `openKeys` (a user build function
 * reads the parameters), keys other than the model-spec keys are allowed and left unchecked.
 */
export function checkSpace(name: string, space: unknown, mode: 'grid' | 'random', openKeys = false): CheckedSpace {
  const subspaces = Array.isArray(space) ? space : [space]
  if (subspaces.length === 0) throw new RangeError(`${name} is an empty list of spaces; give at least one`)
  return subspaces.map((sub, s) => {
    const where = Array.isArray(space) ? `${name}[${s}]` : name
    if (!isPlainObject(sub)) {
      throw new TypeError(`${where} must be an object mapping model keys to choices, e.g. { units: [32, 64], learningRate: ${mode === 'grid' ? '[1e-3, 1e-2]' : '{ logUniform: [1e-4, 1e-1] }'} }; got ${describe(sub)}`)
    }
    const axes = Object.entries(sub).map(([key, axis]): [ModelSpecKey, CheckedAxis] => {
      if (openKeys && !(MODEL_SPEC_KEYS as readonly string[]).includes(key)) return [key as ModelSpecKey, checkAxis(`${where} ${key}`, null, axis, mode)]
      const k = checkSpecKey(where, key)
      return [k, checkAxis(`${where} ${key}`, k, axis, mode)]
    })
    if (!openKeys) checkCombinations(where, new Map(axes))
    return axes
  })
}

/** Checks one axis; `key` null is a user key (build function), whose values are not checked. */
function checkAxis(name: string, key: ModelSpecKey | null, axis: unknown, mode: 'grid' | 'random'): CheckedAxis {
  const checkValue = (what: string, value: unknown) => key !== null && checkSpecValue(what, key, value)
  if (Array.isArray(axis)) {
    if (axis.length === 0) throw new RangeError(`${name} is an empty list; list at least one value`)
    axis.forEach((v, i) => {
      if (key === 'layers' && !Array.isArray(v)) {
        throw new TypeError(
          `${name}[${i}] must be a list of hidden-layer widths, got ${describe(v)}: a list in a space is a choice, so write layers: [[64, 32]] for one architecture and [[64], [64, 32]] for a choice`,
        )
      }
      checkValue(`${name}[${i}]`, v)
    })
    return { kind: 'choice', values: axis }
  }
  const kind = distributionKind(axis)
  if (kind === null) {
    checkValue(name, axis)
    return { kind: 'fixed', value: axis }
  }
  if (mode === 'grid') {
    throw new TypeError(`${name} is a ${kind} distribution, which a grid cannot enumerate; list the values to try, or use randomSearch`)
  }
  if (key !== null && !NUMERIC_KEYS.has(key)) throw new TypeError(`${name} is not a number, so it cannot follow a ${kind} distribution; list the choices instead`)
  const bounds = (axis as Record<string, unknown>)[kind]
  if (!Array.isArray(bounds) || bounds.length !== 2 || bounds.some((b) => typeof b !== 'number' || !Number.isFinite(b))) {
    throw new TypeError(`${name}: ${kind} needs [low, high] as two finite numbers, got ${describe(bounds)}`)
  }
  const [low, high] = bounds as [number, number]
  if (!(low < high)) throw new RangeError(`${name}: ${kind} needs low < high, got [${low}, ${high}]`)
  if (kind === 'logUniform' && low <= 0) throw new RangeError(`${name}: logUniform needs low > 0, got [${low}, ${high}]`)
  if (kind === 'intUniform') {
    checkInteger(`${name} intUniform low`, low)
    checkInteger(`${name} intUniform high`, high)
  } else if (key !== null && INTEGER_KEYS.has(key)) {
    throw new TypeError(`${name} must be an integer, so use intUniform instead of ${kind}`)
  }
  // Both ends must be valid values (a dropout of 1 or a learning rate of 0 is not).
  checkValue(`${name} ${kind} low`, low)
  // Continuous draws stay below high, so a half-open key (dropout < 1) may use high as the bound.
  checkValue(`${name} ${kind} high`, kind === 'intUniform' ? high : high - (high - low) * 1e-12)
  return { kind, low, high }
}

/** Refuses a subspace in which some trial would get a key its optimizer does not take. */
function checkCombinations(name: string, axes: Map<ModelSpecKey, CheckedAxis>): void {
  const optimizerAxis = axes.get('optimizer')
  const optimizers: OptimizerName[] =
    optimizerAxis === undefined
      ? ['adam']
      : optimizerAxis.kind === 'choice'
        ? (optimizerAxis.values as OptimizerName[])
        : [(optimizerAxis as { value: OptimizerName }).value]
  for (const [key, takers] of Object.entries(OPTIMIZER_KEYS) as [ModelSpecKey, readonly OptimizerName[]][]) {
    if (!axes.has(key)) continue
    const misfit = optimizers.filter((o) => !takers.includes(o))
    if (misfit.length > 0) {
      throw new TypeError(
        `${name} ${key} applies to ${takers.map((t) => `'${t}'`).join(', ')}, but the space also tries optimizer ${misfit.map((t) => `'${t}'`).join(', ')}` +
          `${optimizerAxis === undefined ? ' (the default)' : ''}; use a list of spaces, e.g. [{ optimizer: ['sgd'], momentum: [0, 0.9] }, { optimizer: ['adam'] }]`,
      )
    }
  }
  if (axes.has('layers') && (axes.has('units') || axes.has('depth'))) {
    throw new TypeError(`${name} has layers and also units/depth; search either the widths (layers) or units and depth`)
  }
}

/** The number of grid points: the sum over subspaces of the product of their list lengths. */
export function gridSize(space: CheckedSpace): number {
  return space.reduce((sum, axes) => sum + axes.reduce((n, [, a]) => n * (a.kind === 'choice' ? a.values.length : 1), 1), 0)
}

/**
 * Grid point `index`, counting subspace by subspace, and within one as nested loops with the
 * last key varying fastest (as scikit-learn's ParameterGrid over keys in the given order).
 */
export function gridPoint(space: CheckedSpace, index: number): TrialParams {
  let rest = index
  for (const axes of space) {
    const size = axes.reduce((n, [, a]) => n * (a.kind === 'choice' ? a.values.length : 1), 1)
    if (rest >= size) {
      rest -= size
      continue
    }
    const params: Record<string, unknown> = {}
    for (let i = axes.length - 1; i >= 0; i--) {
      const [key, axis] = axes[i]!
      if (axis.kind === 'choice') {
        params[key] = axis.values[rest % axis.values.length]
        rest = Math.floor(rest / axis.values.length)
      } else {
        params[key] = (axis as { value: unknown }).value
      }
    }
    return ordered(axes, params)
  }
  throw new RangeError(`grid point ${index} is out of range (the grid has ${gridSize(space)} points)`)
}

/** The keys in the space's order, so every trial lists its parameters alike. */
function ordered(axes: [ModelSpecKey, CheckedAxis][], params: Record<string, unknown>): TrialParams {
  return Object.fromEntries(axes.map(([key]) => [key, structuredClone(params[key])])) as TrialParams
}

/**
 * Draws trials from a space one after another from a seeded stream: trial i is the i-th draw,
 * whatever runs when, so a search with the same seed tries the same parameters.
 */
export class SpaceSampler {
  private readonly rng: Rng

  constructor(
    private readonly space: CheckedSpace,
    seed: number,
  ) {
    this.rng = Rng.seeded(seed, SAMPLER_STREAM)
  }

  next(): TrialParams {
    const axes = this.space.length === 1 ? this.space[0]! : this.space[this.rng.nextBelow(this.space.length)]!
    const params: Record<string, unknown> = {}
    for (const [key, axis] of axes) params[key] = this.draw(axis)
    return ordered(axes, params)
  }

  private draw(axis: CheckedAxis): unknown {
    switch (axis.kind) {
      case 'fixed':
        return axis.value
      case 'choice':
        return axis.values[this.rng.nextBelow(axis.values.length)]
      case 'uniform':
        return below(axis.low + this.rng.nextFloat() * (axis.high - axis.low), axis.low, axis.high)
      case 'logUniform': {
        const logLow = Math.log(axis.low)
        return below(Math.exp(logLow + this.rng.nextFloat() * (Math.log(axis.high) - logLow)), axis.low, axis.high)
      }
      case 'intUniform':
        return axis.low + this.rng.nextBelow(axis.high - axis.low + 1)
    }
  }
}

/**
 * Keeps a draw in [low, high): rounding (or exp∘log) can land a draw on high or an ulp past a
 * bound, and some keys (dropout) must stay below high.
 */
function below(value: number, low: number, high: number): number {
  if (value < low) return low
  if (value < high) return value
  if (high === 0) return Math.max(-Number.MIN_VALUE, low)
  const bits = new Float64Array([high])
  const word = new BigInt64Array(bits.buffer)
  word[0]! += high > 0 ? -1n : 1n
  return Math.max(bits[0]!, low)
}

/** PRNG stream of the search's seed that draws trial parameters (streams 0–1 are the model's). */
const SAMPLER_STREAM = 2

/** Every point of a grid, in the order gridSearch tries them (for previewing a grid). */
export function parameterGrid(space: SearchSpace | SearchSpace[]): TrialParams[] {
  const checked = checkSpace('parameterGrid space', space, 'grid')
  return Array.from({ length: gridSize(checked) }, (_, i) => gridPoint(checked, i))
}

/** The first `trials` parameter draws randomSearch makes with this seed (for previewing). */
export function parameterSampler(space: SearchSpace | SearchSpace[], options: { trials: number; seed: number }): TrialParams[] {
  const checked = checkSpace('parameterSampler space', space, 'random')
  const trials = checkInteger('parameterSampler trials', options?.trials, { min: 0 })
  const seed = checkInteger('parameterSampler seed', options?.seed, { min: 0, max: 0xffffffff })
  const sampler = new SpaceSampler(checked, seed)
  return Array.from({ length: trials }, () => sampler.next())
}

export { MODEL_SPEC_KEYS }
