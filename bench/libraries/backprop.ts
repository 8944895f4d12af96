/**
 * backprop itself, on either engine. Training is timed per epoch as fit runs it: one
 * trainEpochAsync call of the model's engine on the TrainingData fit builds (for the native engine,
 * on the libuv thread pool over a native copy of the data made once; for the JS engine, on the
 * main thread in slices). fit's one-time setup per call (input checks, that native copy) is timed
 * separately by fitOnce. Inference is timed as the public model.predict.
 */
import { Adam, Dense, Matrix, SGD, Sequential, backendInfo } from '../../lib/index.js'
import type { TrainingData } from '../../lib/engine/engine.js'
import type { Workload } from '../definitions.js'
import type { Adapter, Trainer } from './adapter.js'
import { createRequire } from 'node:module'

const packageJson = createRequire(import.meta.url)('../../package.json') as { version: string }

export function backpropAdapter(backend: 'native' | 'js'): Adapter {
  return {
    version: () => packageJson.version,
    details: (): Record<string, string | number | null> => {
      if (backend === 'js') return { engine: 'js', threads: 1 }
      const info = backendInfo()
      return { engine: 'native', isa: info.isa, 'products on': info.gemmIsa, threads: info.threads }
    },
    create: async (w, x, y) => createTrainer(backend, w, x, y),
  }
}

/** The workload's network as a backprop model (seed 42, default initialisers). */
export function buildModel(backend: 'native' | 'js', w: Workload): Sequential {
  const model = new Sequential({ seed: 42, backend })
  w.sizes.slice(1).forEach((units, i) => {
    const last = i === w.sizes.length - 2
    model.add(new Dense({ ...(i === 0 && { inputSize: w.sizes[0] }), units, activation: last ? 'softmax' : w.activation }))
  })
  if (w.optimizer) {
    const { name, learningRate } = w.optimizer
    model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: name === 'adam' ? new Adam({ learningRate }) : new SGD({ learningRate }) })
  } else {
    model.build()
  }
  return model
}

function createTrainer(backend: 'native' | 'js', w: Workload, x: Float32Array, y: Float32Array): Trainer {
  const model = buildModel(backend, w)
  const d = w.sizes[0]!
  const rowsOf = (rows: number) => ({ x: x.subarray(0, rows * d), y: y.subarray(0, rows) })
  return {
    prepare: async (rows) => {
      const part = rowsOf(rows)
      if (w.kind === 'infer') {
        const features = new Matrix(rows, d, part.x)
        return () => model.predict(features, { batchSize: w.batch })
      }
      const data: TrainingData = { x: part.x, y: part.y, rows }
      const network = model.network
      return async () => {
        const result = await network.trainEpochAsync(data, { batchSize: w.batch, shuffle: true, learningRate: model.learningRate })
        if (result.diverged) throw new Error(`${w.name} diverged: ${result.diverged.reason}`)
      }
    },
    fitOnce: async (rows) => {
      const part = rowsOf(rows)
      await model.fit(new Matrix(rows, d, part.x), part.y, { epochs: 1, batchSize: w.batch })
    },
    dispose: () => model.network.dispose(),
  }
}
