/**
 * A model as a TensorFlow.js Layers model: `model.json` (a Keras Sequential topology and the
 * weights manifest, as tfjs-layers 4.x writes them) and `weights.bin`, which
 * `tf.loadLayersModel` loads. Every layer maps to a Keras layer, so nothing is refused:
 *   Dense → Dense (activation linear, relu, sigmoid, tanh or softmax; leakyRelu becomes a linear
 *   Dense followed by a LeakyReLU layer with its alpha),
 *   BatchNormalization → BatchNormalization (gamma, beta, moving_mean, moving_variance),
 *   Dropout → Dropout, Activation → Activation (or LeakyReLU).
 * With `includePreprocessing`, the saved scaler becomes a leading non-trainable
 * BatchNormalization layer named 'preprocessing': in inference BatchNormalization computes
 * (x − mean) / √(variance + ε) · γ + β, which is a StandardScaler with mean, variance 1, ε 0 and
 * γ = 1/scale, and a MinMaxScaler with mean 0, variance 1, ε 0, γ = scale and β = offset
 * (tfjs-layers has no Normalization layer).
 */
import { ModelStateError } from '../errors.js'
import type { Sequential } from '../model/sequential.js'
import type { ActivationPlan } from '../plan.js'
import { checkBoolean, checkOptions, optional } from '../validate.js'

export interface TfjsExportOptions {
  /**
   * Put the model's saved scaler (`model.preprocessing.scaler`) first, as a non-trainable
   * BatchNormalization layer named 'preprocessing', so the exported model takes raw features.
   * Default false: it takes scaled features, as `model.predict` does. Throws a ModelStateError
   * when the model has no saved scaler.
   */
  includePreprocessing?: boolean
}

/** The file names inside the export directory. */
export const TFJS_MODEL_FILE = 'model.json'
export const TFJS_WEIGHTS_FILE = 'weights.bin'

/** One entry of the weights manifest: where a named tensor sits in weights.bin, in order. */
export interface TfjsWeightSpec {
  name: string
  shape: number[]
  dtype: 'float32'
}

/** The two files of a TF.js Layers model: model.json's content, and weights.bin. */
export interface TfjsArtifacts {
  modelJson: {
    format: 'layers-model'
    generatedBy: string
    convertedBy: null
    modelTopology: { class_name: 'Sequential'; config: { name: string; layers: KerasLayer[] }; keras_version: string; backend: string }
    weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[]
    /** Feature and class names, when the model has them; `model.getUserDefinedMetadata()` in TF.js. */
    userDefinedMetadata?: { featureNames?: string[]; classNames?: string[]; targetName?: string }
  }
  weights: Uint8Array
}

interface KerasLayer {
  class_name: string
  config: Record<string, unknown>
}

type ExportableModel = Pick<Sequential, 'plan' | 'network' | 'preprocessing'>

const ZEROS = { class_name: 'Zeros', config: {} }
const ONES = { class_name: 'Ones', config: {} }

/** The model.json content and weights.bin bytes of a model. */
export function exportTfjs(model: ExportableModel, options: TfjsExportOptions = {}): TfjsArtifacts {
  const o = checkOptions('exportTfjs options', options, ['includePreprocessing'])
  const includePreprocessing = optional(o.includePreprocessing, false, (v) => checkBoolean('exportTfjs includePreprocessing', v))
  const plan = model.plan
  const { params, stats } = model.network.readState()
  const layers: KerasLayer[] = []
  const specs: TfjsWeightSpec[] = []
  const values: ArrayLike<number>[] = []
  const counts = new Map<string, number>()
  /** Keras-style unique names: dense_1, dense_2, batch_normalization_1, … */
  const nameFor = (base: string) => {
    const n = (counts.get(base) ?? 0) + 1
    counts.set(base, n)
    return `${base}_${n}`
  }
  const add = (className: string, name: string, config: Record<string, unknown>) => {
    // The first layer declares the input: [batch (any), features].
    const input = layers.length === 0 ? { batch_input_shape: [null, plan.inputSize], dtype: 'float32' } : {}
    layers.push({ class_name: className, config: { ...config, name, trainable: config.trainable ?? true, ...input } })
  }
  const weight = (layer: string, name: string, shape: number[], data: ArrayLike<number>) => {
    specs.push({ name: `${layer}/${name}`, shape, dtype: 'float32' })
    values.push(data)
  }
  const slice = (buffer: Float32Array, offset: number, length: number) => buffer.subarray(offset, offset + length)
  const batchNormalization = (name: string, n: number, config: { momentum: number; epsilon: number; trainable?: boolean }, gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>) => {
    add('BatchNormalization', name, {
      axis: -1,
      momentum: config.momentum,
      epsilon: config.epsilon,
      center: true,
      scale: true,
      beta_initializer: ZEROS,
      gamma_initializer: ONES,
      moving_mean_initializer: ZEROS,
      moving_variance_initializer: ONES,
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
      ...(config.trainable === false && { trainable: false }),
    })
    weight(name, 'gamma', [n], gamma)
    weight(name, 'beta', [n], beta)
    weight(name, 'moving_mean', [n], mean)
    weight(name, 'moving_variance', [n], variance)
  }
  /** Activation layers: a Keras Activation, or LeakyReLU (Keras has no 'leakyRelu' activation name). */
  const activationLayer = (activation: ActivationPlan) => {
    if (activation.name === 'leakyRelu') add('LeakyReLU', nameFor('leaky_re_lu'), { alpha: activation.alpha })
    else add('Activation', nameFor('activation'), { activation: activation.name })
  }

  const scaler = model.preprocessing?.scaler ?? null
  if (includePreprocessing) {
    if (scaler === null) {
      throw new ModelStateError('exportTfjs includePreprocessing: the model has no saved scaler (model.preprocessing.scaler) to include')
    }
    const json = scaler.toJSON()
    const n = plan.inputSize
    const zeros = new Array<number>(n).fill(0)
    const ones = new Array<number>(n).fill(1)
    const fixed = { momentum: 0.99, epsilon: 0, trainable: false }
    if (json.kind === 'standard') batchNormalization('preprocessing', n, fixed, json.scale.map((s) => 1 / s), zeros, json.mean, ones)
    else batchNormalization('preprocessing', n, fixed, json.scale, json.offset, zeros, ones)
  }

  plan.layers.forEach((layer) => {
    switch (layer.kind) {
      case 'dense': {
        const name = nameFor('dense')
        const leaky = layer.activation.name === 'leakyRelu'
        add('Dense', name, {
          units: layer.units,
          activation: leaky ? 'linear' : layer.activation.name,
          use_bias: layer.biasOffset >= 0,
          kernel_initializer: { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'normal', seed: null } },
          bias_initializer: ZEROS,
          kernel_regularizer: null,
          bias_regularizer: null,
          activity_regularizer: null,
          kernel_constraint: null,
          bias_constraint: null,
        })
        // Both store the kernel as inputs × units, row-major.
        weight(name, 'kernel', [layer.inputs, layer.units], slice(params, layer.kernelOffset, layer.inputs * layer.units))
        if (layer.biasOffset >= 0) weight(name, 'bias', [layer.units], slice(params, layer.biasOffset, layer.units))
        if (leaky) activationLayer(layer.activation)
        return
      }
      case 'batchNormalization': {
        const n = layer.units
        batchNormalization(nameFor('batch_normalization'), n, layer, slice(params, layer.gammaOffset, n), slice(params, layer.betaOffset, n), slice(stats, layer.meanOffset, n), slice(stats, layer.varianceOffset, n))
        return
      }
      case 'dropout':
        add('Dropout', nameFor('dropout'), { rate: layer.rate, noise_shape: null, seed: null })
        return
      case 'activation':
        activationLayer(layer.activation)
        return
    }
  })

  // weights.bin: the tensors back to back in manifest order, float32 little-endian.
  const weights = new Uint8Array(values.reduce((sum, v) => sum + v.length, 0) * 4)
  const view = new DataView(weights.buffer)
  let at = 0
  for (const v of values) {
    for (let i = 0; i < v.length; i++, at += 4) view.setFloat32(at, v[i]!, true)
  }
  const p = model.preprocessing
  const metadata = {
    ...(p?.featureNames && { featureNames: p.featureNames }),
    ...(p?.labelNames && { classNames: p.labelNames }),
    ...(p?.targetName && { targetName: p.targetName }),
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'backprop-nn',
      convertedBy: null,
      // The topology format of tfjs-layers 4.x (Keras 2 JSON, as TF.js itself saves it).
      modelTopology: { class_name: 'Sequential', config: { name: 'sequential', layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [`./${TFJS_WEIGHTS_FILE}`], weights: specs }],
      ...(Object.keys(metadata).length > 0 && { userDefinedMetadata: metadata }),
    },
    weights,
  }
}
