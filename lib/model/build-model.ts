import { Activation, BatchNormalization, Dense, Dropout } from '../layers/index.js'
import type { Backend } from '../engine/select.js'
import { AdaGrad, Adam, AdamW, RMSProp, SGD, type Optimizer } from '../optimizers/index.js'
import type { LossName, MetricName } from '../plan.js'
import { Sequential } from './sequential.js'
import { l1l2 } from '../regularizers.js'
import { scheduleFromSpec } from '../schedules/index.js'
import type { Callback } from '../training/callbacks.js'
import { learningRateScheduler } from '../training/learning-rate-scheduler.js'
import { ReduceLROnPlateau } from '../training/reduce-lr-on-plateau.js'
import type { LogKey } from '../training/monitor.js'
import { scheduleCallbackOptions, type ResolvedSpec } from './model-spec.js'

/** What a trial's model must fit: the data's shape and the task. */
export interface ModelTask {
  inputSize: number
  outputSize: number
  loss: LossName
  /** Metrics to compile besides the loss. */
  metrics: MetricName[]
  seed: number
  backend: Backend
  /** Threads the native engine may use for the model (null: all). */
  threads: number | null
}

/** The output activation each loss needs. */
const OUTPUT_ACTIVATION: Record<LossName, 'softmax' | 'sigmoid' | 'linear'> = {
  sparseCategoricalCrossEntropy: 'softmax',
  categoricalCrossEntropy: 'softmax',
  binaryCrossEntropy: 'sigmoid',
  meanSquaredError: 'linear',
}

/** The compiled model a resolved spec describes. */
export function buildModel(spec: ResolvedSpec, task: ModelTask): Sequential {
  const regularizer = spec.l1 > 0 || spec.l2 > 0 ? l1l2({ l1: spec.l1, l2: spec.l2 }) : undefined
  const dense = (units: number, activation: Dense['activation']['name'] | ResolvedSpec['activation'], inputSize?: number) =>
    new Dense({
      units,
      activation,
      ...(inputSize !== undefined && { inputSize }),
      ...(regularizer && { kernelRegularizer: regularizer }),
      ...(spec.kernelInitializer !== null && { kernelInitializer: spec.kernelInitializer }),
    })
  const model = new Sequential({ seed: task.seed, backend: task.backend, ...(task.threads !== null && { threads: task.threads }) })
  spec.layers.forEach((units, i) => {
    const inputSize = i === 0 ? task.inputSize : undefined
    if (spec.batchNormalization) {
      // Normalise the pre-activations, as the BatchNormalization paper does.
      model.add(dense(units, 'linear', inputSize)).add(new BatchNormalization()).add(new Activation({ activation: spec.activation }))
    } else {
      model.add(dense(units, spec.activation, inputSize))
    }
    if (spec.dropout > 0) model.add(new Dropout({ rate: spec.dropout }))
  })
  model.add(dense(task.outputSize, OUTPUT_ACTIVATION[task.loss], spec.layers.length === 0 ? task.inputSize : undefined))
  model.compile({ loss: task.loss, optimizer: buildOptimizer(spec), metrics: task.metrics })
  return model
}

function buildOptimizer(spec: ResolvedSpec): Optimizer {
  const options = {
    ...spec.optimizerOptions,
    ...(spec.learningRate !== null && { learningRate: spec.learningRate }),
    ...(spec.clipNorm !== null && { clipNorm: spec.clipNorm }),
    ...(spec.globalClipNorm !== null && { globalClipNorm: spec.globalClipNorm }),
    ...(spec.clipValue !== null && { clipValue: spec.clipValue }),
  }
  switch (spec.optimizer) {
    case 'sgd':
      return new SGD(options)
    case 'adagrad':
      return new AdaGrad(options)
    case 'rmsprop':
      return new RMSProp(options)
    case 'adam':
      return new Adam(options)
    case 'adamw':
      return new AdamW(options)
  }
}

/**
 * The schedule callback of a trial (none for 'none'). Without validation data (a refit on all
 * the data), reduce-on-plateau watches the training counterpart of its validation key.
 */
export function scheduleCallback(spec: ResolvedSpec, model: Sequential, hasValidation: boolean): Callback | null {
  const option = scheduleCallbackOptions('schedule', spec.schedule, model.learningRate, spec.epochs)
  if (option === null) return null
  if (option.kind === 'schedule') return learningRateScheduler(scheduleFromSpec(option.spec))
  const monitor = option.options.monitor ?? 'valLoss'
  const trainingKey = (monitor.startsWith('val') ? monitor[3]!.toLowerCase() + monitor.slice(4) : monitor) as LogKey
  return new ReduceLROnPlateau({ ...option.options, monitor: hasValidation ? (monitor as LogKey) : trainingKey })
}
