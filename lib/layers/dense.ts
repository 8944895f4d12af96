import { activationSpec, checkActivation, type ActivationSpec } from '../activations.js'
import { checkInitializer, defaultKernelInitializer, initialize, type Initializer, type InitializerConfig } from '../initializers.js'
import type { ActivationPlan, DensePlan, LayerPlan, RegularizerPlan } from '../plan.js'
import { checkRegularizer, type Regularizer } from '../regularizers.js'
import type { Rng } from '../rng.js'
import { checkBoolean, checkInteger, checkOptions, optional } from '../validate.js'
import { Layer, type Allocator, type LayerOptions, type WeightSpec } from './layer.js'

export interface DenseOptions extends LayerOptions {
  /** Number of output units (required). */
  units: number
  /** Activation applied to X·W + b (default 'linear'). */
  activation?: ActivationSpec
  /** Initializer of W (default heNormal for the ReLU family, glorotUniform otherwise). */
  kernelInitializer?: Initializer
  /** Initializer of b (default 'zeros'). */
  biasInitializer?: Initializer
  /** Penalty on W added to the loss: l1(λ), l2(λ) or l1l2({ l1, l2 }). */
  kernelRegularizer?: Regularizer
  /** Whether the layer has a bias b (default true). */
  useBias?: boolean
}

const DENSE_OPTIONS = ['inputSize', 'units', 'activation', 'kernelInitializer', 'biasInitializer', 'kernelRegularizer', 'useBias']

/** A fully connected layer: Z = X·W + b, then the activation; W has shape inputs × units. */
export class Dense extends Layer {
  readonly className = 'Dense'
  readonly units: number
  readonly activation: ActivationPlan
  readonly kernelInitializer: InitializerConfig
  readonly biasInitializer: InitializerConfig
  readonly kernelRegularizer: RegularizerPlan | null
  readonly useBias: boolean

  constructor(options: DenseOptions) {
    const o = checkOptions('Dense options', options, DENSE_OPTIONS)
    super('Dense', o)
    this.units = checkInteger('Dense units', o.units, { min: 1 })
    this.activation = optional(o.activation, { name: 'linear' } as ActivationPlan, (v) => checkActivation('Dense activation', v))
    this.kernelInitializer = optional(o.kernelInitializer, defaultKernelInitializer(this.activation.name), (v) =>
      checkInitializer('Dense kernelInitializer', v),
    )
    this.biasInitializer = optional(o.biasInitializer, { name: 'zeros' } as InitializerConfig, (v) =>
      checkInitializer('Dense biasInitializer', v),
    )
    this.kernelRegularizer = checkRegularizer('Dense kernelRegularizer', o.kernelRegularizer)
    this.useBias = optional(o.useBias, true, (v) => checkBoolean('Dense useBias', v))
  }

  outputSize(): number {
    return this.units
  }

  toPlan(inputs: number, alloc: Allocator): DensePlan {
    return {
      kind: 'dense',
      inputs,
      units: this.units,
      activation: this.activation,
      kernelOffset: alloc.params(inputs * this.units),
      biasOffset: this.useBias ? alloc.params(this.units) : -1,
      kernelRegularizer: this.kernelRegularizer,
    }
  }

  override initialize(plan: LayerPlan, params: Float32Array, _stats: Float32Array, rng: Rng): void {
    const p = plan as DensePlan
    initialize(this.kernelInitializer, params, p.kernelOffset, p.inputs * p.units, p.inputs, p.units, rng)
    if (p.biasOffset >= 0) initialize(this.biasInitializer, params, p.biasOffset, p.units, p.inputs, p.units, rng)
  }

  override weights(plan: LayerPlan): WeightSpec[] {
    const p = plan as DensePlan
    const specs: WeightSpec[] = [{ name: 'kernel', shape: [p.inputs, p.units], vector: false, buffer: 'params', offset: p.kernelOffset }]
    if (p.biasOffset >= 0) specs.push({ name: 'bias', shape: [1, p.units], vector: true, buffer: 'params', offset: p.biasOffset })
    return specs
  }
}

/** Rebuilds a Dense layer from its Plan entry (initializers are irrelevant once weights exist). */
export function denseFromPlan(plan: DensePlan): Dense {
  const reg = plan.kernelRegularizer
  return new Dense({
    inputSize: plan.inputs,
    units: plan.units,
    activation: activationSpec(plan.activation),
    useBias: plan.biasOffset >= 0,
    ...(reg !== null && { kernelRegularizer: reg }),
  })
}
