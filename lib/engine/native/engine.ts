import type { NativeInfo } from '../../../native/index.js'
import type { Engine } from '../engine.js'
import { loadBinding } from './binding.js'
import { NativeNetwork } from './network.js'

/** The native engine, with what the addon reports about itself. */
export interface NativeEngine extends Engine {
  readonly name: 'native'
  /** SIMD tier, thread count and version of the loaded core. */
  info(): NativeInfo
}

/** Loads the addon and returns the engine over it; throws with the loader's cause. */
export function loadNativeEngine(): NativeEngine {
  const binding = loadBinding()
  const info = binding.info()
  return {
    name: 'native',
    createNetwork: (plan, state, options = {}) => new NativeNetwork(binding, plan, state, options),
    info: () => ({ ...info }),
  }
}
