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

type ExportableModel = Pick<Sequential, 'build' | 'plan' | 'network' | 'preprocessing'>

const ZEROS = { class_name: 'Zeros', config: {} }
const ONES = { class_name: 'Ones', config: {} }

/** The model.json content and weights.bin bytes of a model. */
export function exportTfjs(model: ExportableModel, options: TfjsExportOptions = {}): TfjsArtifacts {
  const o = checkOptions('exportTfjs options', options, ['includePreprocessing'])
  const includePreprocessing = optional(o.includePreprocessing, false, (v) => checkBoolean('exportTfjs includePreprocessing', v))
  const plan = model.build().plan
  const { params, stats } = model.network.readState()
  const keras = new SequentialBuilder(plan.inputSize)
  const scaler = model.preprocessing?.scaler ?? null
  if (includePreprocessing) {
    if (scaler === null) {
      throw new ModelStateError('exportTfjs includePreprocessing: the model has no saved scaler (model.preprocessing.scaler) to include')
    }
    const json = scaler.toJSON()
    const zeros = new Array<number>(plan.inputSize).fill(0)
    const ones = new Array<number>(plan.inputSize).fill(1)
    const fixed = { name: 'preprocessing', momentum: 0.99, epsilon: 0, trainable: false }
    if (json.kind === 'standard') keras.batchNormalization(fixed, { gamma: json.scale.map((s) => 1 / s), beta: zeros, movingMean: json.mean, movingVariance: ones })
    else keras.batchNormalization(fixed, { gamma: json.scale, beta: json.offset, movingMean: zeros, movingVariance: ones })
  }

  const slice = (buffer: Float32Array, offset: number, length: number) => buffer.subarray(offset, offset + length)
  for (const layer of plan.layers) {
    switch (layer.kind) {
      case 'dense': {
        const name = keras.uniqueName('dense')
        const leaky = layer.activation.name === 'leakyRelu'
        keras.add('Dense', name, {
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
        keras.weight(name, 'kernel', [layer.inputs, layer.units], slice(params, layer.kernelOffset, layer.inputs * layer.units))
        if (layer.biasOffset >= 0) keras.weight(name, 'bias', [layer.units], slice(params, layer.biasOffset, layer.units))
        if (leaky) keras.activation(layer.activation)
        break
      }
      case 'batchNormalization': {
        const n = layer.units
        keras.batchNormalization({ name: keras.uniqueName('batch_normalization'), momentum: layer.momentum, epsilon: layer.epsilon }, {
          gamma: slice(params, layer.gammaOffset, n),
          beta: slice(params, layer.betaOffset, n),
          movingMean: slice(stats, layer.meanOffset, n),
          movingVariance: slice(stats, layer.varianceOffset, n),
        })
        break
      }
      case 'dropout':
        keras.add('Dropout', keras.uniqueName('dropout'), { rate: layer.rate, noise_shape: null, seed: null })
        break
      case 'activation':
        keras.activation(layer.activation)
        break
    }
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
      modelTopology: { class_name: 'Sequential', config: { name: 'sequential', layers: keras.layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [`./${TFJS_WEIGHTS_FILE}`], weights: keras.specs }],
      ...(Object.keys(metadata).length > 0 && { userDefinedMetadata: metadata }),
    },
    weights: keras.weightsBin(),
  }
}

/** Collects a Keras Sequential's layer configs and its weights, in order. */
class SequentialBuilder {
  readonly layers: KerasLayer[] = []
  readonly specs: TfjsWeightSpec[] = []
  private readonly values: ArrayLike<number>[] = []
  private readonly counts = new Map<string, number>()

  constructor(private readonly inputSize: number) {}

  /** Keras-style unique layer names: dense_1, dense_2, batch_normalization_1, … */
  uniqueName(base: string): string {
    const n = (this.counts.get(base) ?? 0) + 1
    this.counts.set(base, n)
    return `${base}_${n}`
  }

  add(className: string, name: string, config: Record<string, unknown>): void {
    // The first layer declares the input: [batch (any size), features].
    const input = this.layers.length === 0 ? { batch_input_shape: [null, this.inputSize], dtype: 'float32' } : {}
    this.layers.push({ class_name: className, config: { ...config, name, trainable: config.trainable ?? true, ...input } })
  }

  /** A weight of layer `layer`, stored as `layer/name`. */
  weight(layer: string, name: string, shape: number[], values: ArrayLike<number>): void {
    this.specs.push({ name: `${layer}/${name}`, shape, dtype: 'float32' })
    this.values.push(values)
  }

  /** An activation on its own: a Keras Activation, or LeakyReLU (Keras has no leaky activation name). */
  activation(activation: ActivationPlan): void {
    if (activation.name === 'leakyRelu') this.add('LeakyReLU', this.uniqueName('leaky_re_lu'), { alpha: activation.alpha })
    else this.add('Activation', this.uniqueName('activation'), { activation: activation.name })
  }

  batchNormalization(
    config: { name: string; momentum: number; epsilon: number; trainable?: boolean },
    w: { gamma: ArrayLike<number>; beta: ArrayLike<number>; movingMean: ArrayLike<number>; movingVariance: ArrayLike<number> },
  ): void {
    this.add('BatchNormalization', config.name, {
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
      trainable: config.trainable ?? true,
    })
    const shape = [w.gamma.length]
    this.weight(config.name, 'gamma', shape, w.gamma)
    this.weight(config.name, 'beta', shape, w.beta)
    this.weight(config.name, 'moving_mean', shape, w.movingMean)
    this.weight(config.name, 'moving_variance', shape, w.movingVariance)
  }

  /** weights.bin: the weights back to back in manifest order, float32 little-endian. */
  weightsBin(): Uint8Array {
    const bytes = new Uint8Array(this.values.reduce((sum, v) => sum + v.length, 0) * 4)
    const view = new DataView(bytes.buffer)
    let at = 0
    for (const v of this.values) {
      for (let i = 0; i < v.length; i++, at += 4) view.setFloat32(at, v[i]!, true)
    }
    return bytes
  }
}
