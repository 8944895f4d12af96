import type { Engine } from '../engine.js'
import { JsNetwork } from './network.js'

/** The pure-TypeScript engine: runs everywhere, and is the readable spec of the native one. */
export const jsEngine: Engine = {
  name: 'js',
  createNetwork: (plan, state) => new JsNetwork(plan, state),
}
