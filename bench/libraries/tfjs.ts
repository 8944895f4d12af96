/**
 * TensorFlow.js (@tensorflow/tfjs, the layers API users train with) on its pure-JS CPU backend or
 * its WASM backend (@tensorflow/tfjs-backend-wasm; the SIMD .wasm ships in the npm package and is
 * read from node_modules, nothing is downloaded). Training is timed as one model.fit call of one
 * epoch (shuffled); inference as model.predict plus reading the result back.
 */
import { createRequire } from 'node:module'
import type { Workload } from '../definitions.js'
import type { Adapter, Trainer } from './adapter.js'

type Tf = typeof import('@tensorflow/tfjs')

const require = createRequire(import.meta.url)

export async function tfjsAdapter(backend: 'cpu' | 'wasm'): Promise<Adapter> {
  const tf: Tf = await import('@tensorflow/tfjs')
  let wasmThreads: number | null = null
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    // Single-threaded: the multi-threaded build needs cross-origin isolation workers Node lacks.
    if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js WASM backend did not initialise')
    wasmThreads = wasm.getThreadsCount()
  } else if (!(await tf.setBackend('cpu'))) {
    throw new Error('the TF.js CPU backend did not initialise')
  }
  await tf.ready()
  const simd = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null
  return {
    version: () => tf.version.tfjs,
    details: () => ({
      backend: tf.getBackend(),
      ...(backend === 'wasm' && {
        wasmVersion: (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version,
        simd,
        threads: wasmThreads,
      }),
    }),
    create: async (w, x, y) => createTrainer(tf, w, x, y),
  }
}

function createTrainer(tf: Tf, w: Workload, x: Float32Array, y: Float32Array): Trainer {
  const model = tf.sequential()
  w.sizes.slice(1).forEach((units, i) => {
    const last = i === w.sizes.length - 2
    model.add(tf.layers.dense({ units, activation: last ? 'softmax' : w.activation, ...(i === 0 && { inputShape: [w.sizes[0]!] }) }))
  })
  if (w.optimizer) {
    const { name, learningRate } = w.optimizer
    model.compile({ optimizer: name === 'adam' ? tf.train.adam(learningRate) : tf.train.sgd(learningRate), loss: 'sparseCategoricalCrossentropy' })
  }
  const d = w.sizes[0]!
  const held: { dispose(): void }[] = []
  return {
    prepare: async (rows) => {
      const xs = tf.tensor2d(x.subarray(0, rows * d), [rows, d])
      held.push(xs)
      if (w.kind === 'infer') {
        return async () => {
          const out = model.predict(xs, { batchSize: w.batch }) as import('@tensorflow/tfjs').Tensor
          await out.data()
          out.dispose()
        }
      }
      const ys = tf.tensor2d(y.subarray(0, rows), [rows, 1])
      held.push(ys)
      return async () => {
        const history = await model.fit(xs, ys, { batchSize: w.batch, epochs: 1, shuffle: true, verbose: 0 })
        const loss = history.history.loss?.[0]
        if (typeof loss === 'number' && !Number.isFinite(loss)) throw new Error(`${w.name} diverged on TF.js`)
      }
    },
    dispose: () => {
      for (const t of held) t.dispose()
      model.dispose()
    },
  }
}
