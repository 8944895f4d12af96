// One process of bench/mpi-scaling.ts (run under mpirun, over the built package): trains the
// workload's network on synthetic data with fit({ distributed: 'mpi' }) for a few timed epochs,
// then times MPI_Allreduce of a gradient-sized buffer; rank 0 prints one JSON line.
import { Adam, Dense, Matrix, SGD, Sequential, distributedInfo } from '../dist/index.js'
import { mpiSum } from '../native/index.js'

const [name, epochsText] = process.argv.slice(2)
const W = {
  mnist: { sizes: [784, 256, 128, 10], optimizer: () => new Adam({ learningRate: 1e-3 }), batch: 128, samples: 16384 },
  wide: { sizes: [1024, 1024, 1024, 10], optimizer: () => new SGD({ learningRate: 0.01 }), batch: 256, samples: 8192 },
}[name]
const epochs = Number(epochsText ?? 3)
const { rank, size } = distributedInfo()
let seed = 1
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
const x = new Float32Array(W.samples * W.sizes[0]).map(random)
const y = Float32Array.from({ length: W.samples }, () => Math.floor(random() * 10))
const model = new Sequential({ seed: 3, backend: 'native', threads: 1 })
W.sizes.slice(1).forEach((units, l) => model.add(new Dense({ ...(l === 0 && { inputSize: W.sizes[0] }), units, activation: l === W.sizes.length - 2 ? 'softmax' : 'relu' })))
model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: W.optimizer() })
const features = new Matrix(W.samples, W.sizes[0], x)
await model.fit(features, y, { epochs: 1, batchSize: W.batch, distributed: 'mpi' }) // warm-up
const started = performance.now()
await model.fit(features, y, { epochs, batchSize: W.batch, distributed: 'mpi' })
const seconds = (performance.now() - started) / 1000
const grads = new Float32Array(model.plan.paramCount)
const reps = 50
mpiSum(grads)
const t = performance.now()
for (let i = 0; i < reps; i++) mpiSum(grads)
const allreduceMs = (performance.now() - t) / reps
if (rank === 0) console.log(JSON.stringify({ name, ranks: size, samplesPerSecond: (epochs * W.samples) / seconds, stepsPerEpoch: Math.ceil(W.samples / (W.batch * size)), gradientBytes: grads.byteLength, allreduceMs }))
