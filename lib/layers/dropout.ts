import type { DropoutPlan } from '../plan.js'
import { checkNumber, checkOptions } from '../validate.js'
import { Layer, type LayerOptions } from './layer.js'

export interface DropoutOptions extends LayerOptions {
  /** Fraction of units dropped during training, in [0, 1) (required). */
  rate: number
}

/**
 * Inverted dropout: in training each unit is zeroed with probability `rate` and the survivors
 * are scaled by 1/(1 − rate); at inference the layer passes its input through unchanged.
 */
export class Dropout extends Layer {
  readonly className = 'Dropout'
  readonly rate: number

  constructor(options: DropoutOptions) {
    const o = checkOptions('Dropout options', options, ['inputSize', 'rate'])
    super('Dropout', o)
    this.rate = checkNumber('Dropout rate', o.rate, { min: 0, max: 1, maxInclusive: false })
  }

  outputSize(inputs: number): number {
    return inputs
  }

  toPlan(inputs: number): DropoutPlan {
    return { kind: 'dropout', units: inputs, rate: this.rate }
  }
}
