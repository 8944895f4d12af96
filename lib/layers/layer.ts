import type { LayerPlan } from '../plan.js'
import type { Rng } from '../rng.js'
import { checkInteger } from '../validate.js'

/** Hands out ranges of the flat buffers as the model is built. */
export interface Allocator {
  /** Reserves `count` trainable parameters and returns their offset. */
  params(count: number): number
  /** Reserves `count` non-trainable statistics and returns their offset. */
  stats(count: number): number
}

/** One weight tensor of a layer: where it lives in the flat buffers and its shape. */
export interface WeightSpec {
  name: string
  /** Rows × columns; vectors are 1 × n. */
  shape: [number, number]
  /** A vector (bias, γ, β, statistics): saved as a 1-D tensor. */
  vector: boolean
  buffer: 'params' | 'stats'
  offset: number
}

/** Options every layer takes. */
export interface LayerOptions {
  /** Number of input features; required on the first layer, checked on the others. */
  inputSize?: number
}

/** A layer: configuration only. Its numbers live in the model's flat buffers. */
export abstract class Layer {
  /** The class name shown by summary() and recorded in saved models. */
  abstract readonly className: string
  readonly inputSize: number | undefined

  protected constructor(className: string, options: Record<string, unknown>) {
    this.inputSize =
      options.inputSize === undefined ? undefined : checkInteger(`${className} inputSize`, options.inputSize, { min: 1 })
  }

  /** Output width given the input width. */
  abstract outputSize(inputs: number): number

  /** The layer's Plan entry for this input width, reserving its buffers. */
  abstract toPlan(inputs: number, alloc: Allocator): LayerPlan

  /** Writes the layer's initial parameters and statistics. */
  initialize(_plan: LayerPlan, _params: Float32Array, _stats: Float32Array, _rng: Rng): void {}

  /** The layer's weights in getWeights() order. */
  weights(_plan: LayerPlan): WeightSpec[] {
    return []
  }
}
