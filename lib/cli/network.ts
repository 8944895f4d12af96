/**
 * The network the train command builds from its flags: hidden Dense layers (with optional
 * Dropout), an output layer and loss that fit the task, and the optimizer with its
 * hyper-parameters. Also turns class labels into the targets the chosen loss needs.
 */
import type { ActivationName, LossName } from '../plan.js'
import type { Task } from '../data/dataset.js'
import { oneHot } from '../data/one-hot.js'
import { buildModel as buildSpecModel } from '../model/build-model.js'
import { resolveSpec } from '../model/model-spec.js'
import type { Sequential } from '../model/sequential.js'
import type { Backend } from '../engine/select.js'
import type { Targets } from '../inputs.js'
import { UsageError } from './exit-codes.js'

export const HIDDEN_ACTIVATIONS = ['relu', 'leakyRelu', 'tanh', 'sigmoid', 'linear'] as const satisfies readonly ActivationName[]
export const OPTIMIZER_NAMES = ['adam', 'adamw', 'sgd', 'rmsprop', 'adagrad'] as const
export const LOSS_NAMES = ['sparseCategoricalCrossEntropy', 'categoricalCrossEntropy', 'binaryCrossEntropy', 'meanSquaredError'] as const satisfies readonly LossName[]

export interface NetworkFlags {
  layers: number[]
  activation: (typeof HIDDEN_ACTIVATIONS)[number]
  dropout?: number
  l2?: number
  loss?: LossName
  optimizer: (typeof OPTIMIZER_NAMES)[number]
  learningRate?: number
  momentum?: number
  nesterov?: boolean
  beta1?: number
  beta2?: number
  rho?: number
  weightDecay?: number
  clipNorm?: number
  globalClipNorm?: number
  seed: number
  backend: Backend
}

/** Which optimizer each hyper-parameter flag applies to. */
const APPLIES: Record<string, readonly string[]> = {
  momentum: ['sgd', 'rmsprop'],
  nesterov: ['sgd'],
  beta1: ['adam', 'adamw'],
  beta2: ['adam', 'adamw'],
  rho: ['rmsprop'],
  weightDecay: ['adamw'],
}

/** The loss for a task and class count, checking an explicit choice fits. */
export function chooseLoss(task: Task, classes: number, requested: LossName | undefined): LossName {
  if (task === 'regression') {
    if (requested !== undefined && requested !== 'meanSquaredError') throw new UsageError(`--loss ${requested} needs class labels; regression data uses meanSquaredError`)
    return 'meanSquaredError'
  }
  const loss = requested ?? 'sparseCategoricalCrossEntropy'
  if (loss === 'meanSquaredError') throw new UsageError('--loss meanSquaredError is for regression; for classes use sparseCategoricalCrossEntropy, categoricalCrossEntropy or (two classes) binaryCrossEntropy')
  if (loss === 'binaryCrossEntropy' && classes !== 2) throw new UsageError(`--loss binaryCrossEntropy needs exactly 2 classes; the data has ${classes}`)
  return loss
}

export function buildModel(flags: NetworkFlags, inputs: number, task: Task, classes: number): { model: Sequential; loss: LossName } {
  const loss = chooseLoss(task, classes, flags.loss)
  const optimizerOptions: Record<string, number | boolean> = {}
  for (const key of ['momentum', 'nesterov', 'beta1', 'beta2', 'rho', 'weightDecay'] as const) {
    const value = flags[key]
    if (value === undefined) continue
    // Said in flag terms here; the spec would say it in its own.
    if (!APPLIES[key]!.includes(flags.optimizer)) {
      throw new UsageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to ${APPLIES[key]!.join(' and ')}, not to --optimizer ${flags.optimizer}`)
    }
    optimizerOptions[key] = value
  }
  if (flags.clipNorm !== undefined && flags.globalClipNorm !== undefined) {
    throw new UsageError('--clip-norm (each variable) and --global-clip-norm (the whole gradient) exclude each other, as in Keras: give one')
  }
  // The same declarative spec a search trial builds from: one place turns specs into models.
  const spec = resolveSpec('the network flags', {
    layers: flags.layers,
    activation: flags.activation,
    ...(flags.dropout !== undefined && { dropout: flags.dropout }),
    ...(flags.l2 !== undefined && { l2: flags.l2 }),
    optimizer: flags.optimizer,
    ...(flags.learningRate !== undefined && { learningRate: flags.learningRate }),
    ...(flags.clipNorm !== undefined && { clipNorm: flags.clipNorm }),
    ...(flags.globalClipNorm !== undefined && { globalClipNorm: flags.globalClipNorm }),
    ...optimizerOptions,
  })
  const model = buildSpecModel(spec, {
    inputSize: inputs,
    outputSize: task === 'regression' || loss === 'binaryCrossEntropy' ? 1 : classes,
    loss,
    metrics: task === 'regression' ? ['meanAbsoluteError'] : ['accuracy'],
    seed: flags.seed,
    backend: flags.backend,
    threads: null,
  })
  return { model, loss }
}

/** Class indices (or regression values) as the targets `loss` expects. */
export function targetsFor(loss: LossName, y: Int32Array | Float32Array, classes: number): Targets {
  return loss === 'categoricalCrossEntropy' ? oneHot(y, classes) : y
}

/** "64 → 128 relu → 64 relu → 10 softmax" */
export function describeNetwork(model: Sequential): string {
  const plan = model.plan
  const parts = [String(plan.inputSize)]
  for (const layer of plan.layers) {
    if (layer.kind === 'dense') parts.push(`${layer.units} ${layer.activation.name}`)
    else if (layer.kind === 'dropout') parts[parts.length - 1] += ` (dropout ${layer.rate})`
  }
  return `${parts.join(' → ')}; ${plan.paramCount.toLocaleString('en-US')} parameters`
}
