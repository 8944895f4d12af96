/**
 * The network the train command builds from its flags: hidden Dense layers (with optional
 * Dropout), an output layer and loss that fit the task, and the optimizer with its
 * hyper-parameters. Also turns class labels into the targets the chosen loss needs.
 */
import type { ActivationName, LossName } from '../plan.js'
import type { Task } from '../data/dataset.js'
import { oneHot } from '../data/one-hot.js'
import { Dense, Dropout } from '../layers/index.js'
import { Sequential } from '../model/sequential.js'
import { AdaGrad, Adam, AdamW, RMSProp, SGD, type Optimizer } from '../optimizers/index.js'
import type { Backend } from '../engine/select.js'
import { l2 } from '../regularizers.js'
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
  const model = new Sequential({ seed: flags.seed, backend: flags.backend })
  for (const units of flags.layers) {
    model.add(new Dense({
      ...(model.layers.length === 0 && { inputSize: inputs }),
      units,
      activation: flags.activation,
      ...(flags.l2 && { kernelRegularizer: l2(flags.l2) }),
    }))
    if (flags.dropout) model.add(new Dropout({ rate: flags.dropout }))
  }
  const outputs = task === 'regression' || loss === 'binaryCrossEntropy' ? 1 : classes
  const activation = task === 'regression' ? 'linear' : loss === 'binaryCrossEntropy' ? 'sigmoid' : 'softmax'
  model.add(new Dense({ ...(model.layers.length === 0 && { inputSize: inputs }), units: outputs, activation, ...(flags.l2 && { kernelRegularizer: l2(flags.l2) }) }))
  model.compile({ loss, optimizer: buildOptimizer(flags), metrics: task === 'regression' ? ['meanAbsoluteError'] : ['accuracy'] })
  return { model, loss }
}

function buildOptimizer(flags: NetworkFlags): Optimizer {
  const options: Record<string, number | boolean> = {}
  for (const key of ['learningRate', 'clipNorm', 'momentum', 'nesterov', 'beta1', 'beta2', 'rho', 'weightDecay'] as const) {
    const value = flags[key]
    if (value === undefined) continue
    if (APPLIES[key] && !APPLIES[key].includes(flags.optimizer)) {
      throw new UsageError(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to ${APPLIES[key].join(' and ')}, not to --optimizer ${flags.optimizer}`)
    }
    options[key] = value
  }
  switch (flags.optimizer) {
    case 'adam':
      return new Adam(options)
    case 'adamw':
      return new AdamW(options)
    case 'sgd':
      return new SGD(options)
    case 'rmsprop':
      return new RMSProp(options)
    case 'adagrad':
      return new AdaGrad(options)
  }
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
