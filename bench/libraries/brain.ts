/**
 * brain.js's NeuralNetwork, the closest network it can build (see deviations() in
 * ../definitions.ts): the same layer sizes and hidden activation, the activation on the output
 * too, mean squared error on one-hot targets, an update after every sample (trainPattern, the
 * step its train() loop runs per sample), Adam ('praxis: adam') or SGD with its default momentum.
 * Inference is run() per sample.
 */
import { createRequire } from 'node:module'
import type { Workload } from '../definitions.js'
import type { Adapter, Trainer } from './adapter.js'

const require = createRequire(import.meta.url)

interface BrainNetwork {
  train(data: { input: ArrayLike<number>; output: ArrayLike<number> }[], options: Record<string, unknown>): unknown
  trainPattern(value: { input: ArrayLike<number>; output: ArrayLike<number> }): unknown
  run(input: ArrayLike<number>): ArrayLike<number>
}

export async function brainAdapter(): Promise<Adapter> {
  const brain = require('brain.js') as { NeuralNetwork: new (options: Record<string, unknown>) => BrainNetwork }
  return {
    version: () => (require('brain.js/package.json') as { version: string }).version,
    details: () => ({ batch: 1 }),
    create: async (w, x, y) => createTrainer(brain.NeuralNetwork, w, x, y),
  }
}

function createTrainer(NeuralNetwork: new (options: Record<string, unknown>) => BrainNetwork, w: Workload, x: Float32Array, y: Float32Array): Trainer {
  const d = w.sizes[0]!
  const classes = w.sizes.at(-1)!
  // Plain arrays: brain.js reads a typed array as a sparse object ("lookup table") instead.
  const samples: { input: number[]; output: number[] }[] = []
  for (let r = 0; r < w.samples; r++) {
    const output = new Array<number>(classes).fill(0)
    output[y[r]!] = 1
    samples.push({ input: Array.from(x.subarray(r * d, (r + 1) * d)), output })
  }
  const net = new NeuralNetwork({ hiddenLayers: w.sizes.slice(1, -1), activation: w.activation })
  const options: Record<string, unknown> = { iterations: 1, errorThresh: 1e-9 }
  if (w.optimizer?.name === 'adam') Object.assign(options, { praxis: 'adam', learningRate: w.optimizer.learningRate })
  else if (w.optimizer) options.learningRate = w.optimizer.learningRate
  // Sizes the network from one sample and sets the optimizer (one update on that sample).
  net.train([samples[0]!], options)
  return {
    prepare: async (rows) => {
      if (w.kind === 'infer') {
        return () => {
          for (let r = 0; r < rows; r++) net.run(samples[r]!.input)
        }
      }
      return () => {
        for (let r = 0; r < rows; r++) net.trainPattern(samples[r]!)
      }
    },
    dispose: () => {},
  }
}
