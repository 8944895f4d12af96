// One process of the MPI tests (__test__/mpi.test.ts), over the built package: trains a small
// network with fit (data-parallel under mpirun with 'mpi', alone otherwise) and writes what it
// trained to <out>.<rank>.json. argv: mode ('mpi' | 'single'), batch size, epochs, out, layers
// ('dropout' or 'batchnorm' add that layer), and 'slow' to train long (for the kill test).
import { writeFileSync } from 'node:fs'
import { Adam, BatchNormalization, Dense, Dropout, Sequential, distributedInfo, moons } from '../dist/index.js'

const [mode, batch, epochs, out, layers = '', slow = ''] = process.argv.slice(2)
const data = moons({ samples: slow ? 20000 : 600, seed: 1 })
const model = new Sequential({ seed: 5, backend: 'native', threads: 1 }).add(new Dense({ inputSize: 2, units: slow ? 256 : 16, activation: 'relu' }))
if (layers.includes('dropout')) model.add(new Dropout({ rate: 0.2 }))
if (layers.includes('batchnorm')) model.add(new BatchNormalization())
model.add(new Dense({ units: 2, activation: 'softmax' }))
model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] })
const rank = mode === 'mpi' ? distributedInfo().rank : 0
if (slow) writeFileSync(`${out}.${rank}.pid`, String(process.pid))
const history = await model.fit(data.x, data.y, {
  epochs: Number(epochs),
  batchSize: Number(batch),
  validationSplit: 0.2,
  ...(mode === 'mpi' && { distributed: 'mpi' }),
})
const { params, stats } = model.network.readState()
writeFileSync(`${out}.${rank}.json`, JSON.stringify({ rank, loss: history.loss, valLoss: history.valLoss, accuracy: history.metrics.accuracy, params: Array.from(params), stats: Array.from(stats) }))
