import { checkActivation, type ActivationSpec } from '../activations.js'
import { checkInitializer, type Initializer } from '../initializers.js'
import { OPTIMIZER_NAMES, type OptimizerName } from '../optimizers/index.js'
import { scheduleFromSpec, type ScheduleSpec } from '../schedules/index.js'
import { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from '../training/reduce-lr-on-plateau.js'
import { checkBoolean, checkInteger, checkNumber, checkOneOf, checkOptions, describe, isPlainObject } from '../validate.js'

/**
 * A model and how to train it, as plain data: what one search trial tries. Plain data so a
 * trial can be sent to a worker thread, written to JSON and CSV, and repeated. Every key is
 * optional; `resolveSpec` fills the defaults.
 *
 * The network is `depth` hidden Dense layers of `units` each (or the widths in `layers`), each
 * followed by BatchNormalization + the activation when `batchNormalization` is on, and by
 * Dropout when `dropout` > 0; then an output layer that fits the loss (softmax for the
 * categorical cross-entropies, sigmoid for binary cross-entropy, linear for MSE).
 */
export interface ModelSpec {
  /** Hidden-layer widths, e.g. [64, 32]; [] for none. Overrides units and depth. */
  layers?: number[]
  /** Width of each hidden layer when `layers` is not given (default 64). */
  units?: number
  /** Number of hidden layers when `layers` is not given (default 1). */
  depth?: number
  /** Hidden activation (default 'relu'). */
  activation?: ActivationSpec
  /** Dropout rate after each hidden layer, in [0, 1); 0 adds no Dropout layer (default 0). */
  dropout?: number
  /** BatchNormalization between each hidden Dense layer and its activation (default false). */
  batchNormalization?: boolean
  /** L1 penalty on every kernel (default 0). */
  l1?: number
  /** L2 penalty on every kernel (default 0). */
  l2?: number
  /** Kernel initializer of every Dense layer (default: the activation's, as Dense). */
  kernelInitializer?: Initializer
  /** Optimizer (default 'adam'). */
  optimizer?: OptimizerName
  /** Learning rate (default: the optimizer's). */
  learningRate?: number
  /** SGD and RMSProp momentum. */
  momentum?: number
  /** SGD Nesterov momentum. */
  nesterov?: boolean
  /** Adam and AdamW β1. */
  beta1?: number
  /** Adam and AdamW β2. */
  beta2?: number
  /** AdaGrad, RMSProp, Adam and AdamW ε. */
  epsilon?: number
  /** RMSProp ρ. */
  rho?: number
  /** Centred RMSProp. */
  centered?: boolean
  /** AdaGrad's initial accumulator. */
  initialAccumulatorValue?: number
  /** AdamW's decoupled weight decay. */
  weightDecay?: number
  /** Clip each variable's gradient (a kernel, a bias, …) to this norm, as Keras's clipnorm. */
  clipNorm?: number
  /** Clip the norm of the whole gradient to this, as Keras's global_clipnorm (not with clipNorm). */
  globalClipNorm?: number
  /** Clip each gradient component to ±this. */
  clipValue?: number
  /** Samples per update (default 32). */
  batchSize?: number
  /** Epochs (default 20); early stopping may end a trial sooner. */
  epochs?: number
  /** Learning-rate schedule (default 'none'). */
  schedule?: ScheduleOption
}

/**
 * A learning-rate schedule for a trial. The trial's learningRate fills the rate the schedule
 * starts from (its peak, for cosine with warm-up, which then starts from initialLearningRate,
 * default 0); cosine's decaySteps defaults to the epochs left after warm-up.
 */
export type ScheduleOption =
  | 'none'
  | { kind: 'stepDecay'; stepSize: number; factor?: number }
  | { kind: 'exponentialDecay'; decaySteps: number; decayRate: number; staircase?: boolean }
  | { kind: 'cosineDecay'; decaySteps?: number; alpha?: number; warmupSteps?: number; initialLearningRate?: number }
  | {
      kind: 'reduceLROnPlateau'
      monitor?: string
      factor?: number
      patience?: number
      minDelta?: number
      cooldown?: number
      minLR?: number
    }

export type ModelSpecKey = keyof ModelSpec

/** The spec keys, in the order results list them. */
export const MODEL_SPEC_KEYS: readonly ModelSpecKey[] = [
  'layers', 'units', 'depth', 'activation', 'dropout', 'batchNormalization', 'l1', 'l2', 'kernelInitializer',
  'optimizer', 'learningRate', 'momentum', 'nesterov', 'beta1', 'beta2', 'epsilon', 'rho', 'centered',
  'initialAccumulatorValue', 'weightDecay', 'clipNorm', 'globalClipNorm', 'clipValue', 'batchSize', 'epochs', 'schedule',
]

/** The optimizers that take each optimizer-specific key. */
export const OPTIMIZER_KEYS: Partial<Record<ModelSpecKey, readonly OptimizerName[]>> = {
  momentum: ['sgd', 'rmsprop'],
  nesterov: ['sgd'],
  beta1: ['adam', 'adamw'],
  beta2: ['adam', 'adamw'],
  epsilon: ['adagrad', 'rmsprop', 'adam', 'adamw'],
  rho: ['rmsprop'],
  centered: ['rmsprop'],
  initialAccumulatorValue: ['adagrad'],
  weightDecay: ['adamw'],
}

/** Keys whose values are numbers, so that a distribution can describe them. */
export const NUMERIC_KEYS: ReadonlySet<ModelSpecKey> = new Set<ModelSpecKey>([
  'units', 'depth', 'dropout', 'l1', 'l2', 'learningRate', 'momentum', 'beta1', 'beta2', 'epsilon', 'rho',
  'initialAccumulatorValue', 'weightDecay', 'clipNorm', 'globalClipNorm', 'clipValue', 'batchSize', 'epochs',
])

/** Keys that must be integers. */
export const INTEGER_KEYS: ReadonlySet<ModelSpecKey> = new Set<ModelSpecKey>(['units', 'depth', 'batchSize', 'epochs'])

const unit = { min: 0, max: 1, maxInclusive: false } as const
const positive = { min: 0, minInclusive: false } as const

/** Checks one value of one key; `name` is how the error names it. */
const VALIDATORS: Record<ModelSpecKey, (name: string, value: unknown) => void> = {
  layers: (name, v) => {
    if (!Array.isArray(v)) {
      throw new TypeError(`${name} must be a list of hidden-layer widths such as [64, 32], got ${describe(v)}`)
    }
    v.forEach((w, i) => checkInteger(`${name}[${i}]`, w, { min: 1 }))
  },
  units: (name, v) => checkInteger(name, v, { min: 1 }),
  depth: (name, v) => checkInteger(name, v, { min: 0 }),
  activation: (name, v) => {
    if (checkActivation(name, v).name === 'softmax') {
      throw new TypeError(`${name} is for hidden layers and cannot be 'softmax'; the output layer's activation follows the loss`)
    }
  },
  dropout: (name, v) => checkNumber(name, v, unit),
  batchNormalization: (name, v) => checkBoolean(name, v),
  l1: (name, v) => checkNumber(name, v, { min: 0 }),
  l2: (name, v) => checkNumber(name, v, { min: 0 }),
  kernelInitializer: (name, v) => checkInitializer(name, v),
  optimizer: (name, v) => checkOneOf(name, v, OPTIMIZER_NAMES),
  learningRate: (name, v) => checkNumber(name, v, positive),
  momentum: (name, v) => checkNumber(name, v, unit),
  nesterov: (name, v) => checkBoolean(name, v),
  beta1: (name, v) => checkNumber(name, v, unit),
  beta2: (name, v) => checkNumber(name, v, unit),
  epsilon: (name, v) => checkNumber(name, v, { min: 0 }),
  rho: (name, v) => checkNumber(name, v, unit),
  centered: (name, v) => checkBoolean(name, v),
  initialAccumulatorValue: (name, v) => checkNumber(name, v, { min: 0 }),
  weightDecay: (name, v) => checkNumber(name, v, { min: 0 }),
  clipNorm: (name, v) => checkNumber(name, v, positive),
  globalClipNorm: (name, v) => checkNumber(name, v, positive),
  clipValue: (name, v) => checkNumber(name, v, positive),
  batchSize: (name, v) => checkInteger(name, v, { min: 1 }),
  epochs: (name, v) => checkInteger(name, v, { min: 1 }),
  schedule: (name, v) => {
    // Built once with stand-in numbers, so the schedule's own checks report what is wrong.
    scheduleCallbackOptions(name, v as ScheduleOption, 1e-3, 10)
  },
}

/** Throws unless `key` is a spec key; lists them when it is not (a typo such as learning_rate). */
export function checkSpecKey(name: string, key: string): ModelSpecKey {
  if (!(MODEL_SPEC_KEYS as readonly string[]).includes(key)) {
    throw new TypeError(`${name} has an unknown key '${key}'; valid keys are: ${MODEL_SPEC_KEYS.join(', ')}`)
  }
  return key as ModelSpecKey
}

/** Checks one value of a spec key; the error names it as `name`. */
export function checkSpecValue(name: string, key: ModelSpecKey, value: unknown): void {
  VALIDATORS[key](name, value)
}

/** A ModelSpec with every default filled in. */
export interface ResolvedSpec {
  layers: number[]
  activation: ActivationSpec
  dropout: number
  batchNormalization: boolean
  l1: number
  l2: number
  kernelInitializer: Initializer | null
  optimizer: OptimizerName
  learningRate: number | null
  /** The optimizer's own options that were given (momentum, beta1, …). */
  optimizerOptions: Record<string, number | boolean>
  clipNorm: number | null
  globalClipNorm: number | null
  clipValue: number | null
  batchSize: number
  epochs: number
  schedule: ScheduleOption
}

/**
 * Checks a whole spec (every key and how the keys fit together) and fills the defaults.
 * `name` prefixes the errors, e.g. 'trial 3 params'.
 */
export function resolveSpec(name: string, spec: unknown): ResolvedSpec {
  if (!isPlainObject(spec)) throw new TypeError(`${name} must be a model spec object such as { layers: [64], optimizer: 'adam' }, got ${describe(spec)}`)
  checkOptions(name, spec, MODEL_SPEC_KEYS)
  const s = spec as ModelSpec
  for (const key of MODEL_SPEC_KEYS) if (s[key] !== undefined) checkSpecValue(`${name} ${key}`, key, s[key])
  if (s.layers !== undefined && (s.units !== undefined || s.depth !== undefined)) {
    throw new TypeError(`${name} gives layers and also units/depth; give either the widths (layers) or units and depth`)
  }
  const optimizer = s.optimizer ?? 'adam'
  const optimizerOptions: Record<string, number | boolean> = {}
  for (const [key, takers] of Object.entries(OPTIMIZER_KEYS) as [ModelSpecKey, readonly OptimizerName[]][]) {
    if (s[key] === undefined) continue
    if (!takers.includes(optimizer)) {
      throw new TypeError(`${name} ${key} applies to ${takers.map((t) => `'${t}'`).join(', ')}, not to optimizer '${optimizer}'`)
    }
    optimizerOptions[key] = s[key] as number | boolean
  }
  return {
    layers: s.layers ?? Array.from({ length: s.depth ?? 1 }, () => s.units ?? 64),
    activation: s.activation ?? 'relu',
    dropout: s.dropout ?? 0,
    batchNormalization: s.batchNormalization ?? false,
    l1: s.l1 ?? 0,
    l2: s.l2 ?? 0,
    kernelInitializer: s.kernelInitializer ?? null,
    optimizer,
    learningRate: s.learningRate ?? null,
    optimizerOptions,
    clipNorm: s.clipNorm ?? null,
    globalClipNorm: s.globalClipNorm ?? null,
    clipValue: s.clipValue ?? null,
    batchSize: s.batchSize ?? 32,
    epochs: s.epochs ?? 20,
    schedule: s.schedule ?? 'none',
  }
}

/**
 * What a schedule option becomes for a trial with this learning rate and epoch count: a
 * learning-rate schedule (plain data) or reduce-on-plateau options; null for 'none'.
 */
export function scheduleCallbackOptions(
  name: string,
  option: ScheduleOption,
  learningRate: number,
  epochs: number,
):
  | { kind: 'schedule'; spec: ScheduleSpec }
  | { kind: 'plateau'; options: ReduceLROnPlateauOptions }
  | null {
  if (option === 'none') return null
  if (!isPlainObject(option)) {
    throw new TypeError(`${name} must be 'none' or an object such as { kind: 'cosineDecay', warmupSteps: 2 }, got ${describe(option)}`)
  }
  const { kind, ...rest } = option as Record<string, unknown>
  const wrap = <T>(build: () => T): T => {
    try {
      return build()
    } catch (error) {
      const e = error as Error
      throw Object.assign(new (e.constructor as ErrorConstructor)(`${name}: ${e.message}`), { cause: error })
    }
  }
  switch (kind) {
    case 'stepDecay':
    case 'exponentialDecay':
      return { kind: 'schedule', spec: wrap(() => scheduleFromSpec({ kind, initialLearningRate: learningRate, ...rest } as never).toJSON()) }
    case 'cosineDecay': {
      const warmupSteps = typeof rest.warmupSteps === 'number' ? rest.warmupSteps : 0
      const options =
        warmupSteps > 0
          ? { initialLearningRate: 0, ...rest, warmupTarget: learningRate }
          : { initialLearningRate: learningRate, ...rest }
      const decaySteps = rest.decaySteps ?? Math.max(1, epochs - warmupSteps)
      return { kind: 'schedule', spec: wrap(() => scheduleFromSpec({ kind, ...options, decaySteps } as never).toJSON()) }
    }
    case 'reduceLROnPlateau':
      return { kind: 'plateau', options: wrap(() => (new ReduceLROnPlateau(rest as never), rest as never)) }
  }
  throw new TypeError(
    `${name} kind must be one of 'stepDecay', 'exponentialDecay', 'cosineDecay', 'reduceLROnPlateau'; got ${describe(kind)}`,
  )
}
