// One process of the MPI tests (__test__/mpi.test.ts), over the built package: trains a small
// network with fit (data-parallel under mpirun with 'mpi', alone otherwise) and writes what it
// trained to <out>.<rank>.json. argv: mode ('mpi' | 'single'), batch size, epochs, out, layers
// ('dropout' or 'batchnorm' add that layer; 'dataset' trains with fitDataset over a shuffled
// source batched by the batch size, whole for one process, split for MPI), and 'slow' to train long.
import { writeFileSync } from 'node:fs'
import { Adam, BatchNormalization, Dense, Dropout, Sequential, data, distributedInfo, moons } from '../dist/index.js'

const [mode, batch, epochs, out, layers = '', slow = ''] = process.argv.slice(2)
const rows = moons({ samples: slow ? 20000 : 600, seed: 1 })
const model = new Sequential({ seed: 5, backend: 'native', threads: 1 }).add(new Dense({ inputSize: 2, units: slow ? 256 : 16, activation: 'relu' }))
if (layers.includes('dropout')) model.add(new Dropout({ rate: 0.2 }))
if (layers.includes('batchnorm')) model.add(new BatchNormalization())
model.add(new Dense({ units: 2, activation: 'softmax' }))
model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] })
const rank = mode === 'mpi' ? distributedInfo().rank : 0
if (slow) writeFileSync(`${out}.${rank}.pid`, String(process.pid))
const distributed = mode === 'mpi' ? { distributed: 'mpi' } : {}
const history = layers.includes('dataset')
  ? await model.fitDataset(data.array(rows.x.slice(0, 480), rows.y.slice(0, 480)).shuffle(200, { seed: 4 }).batch(Number(batch)), {
      epochs: Number(epochs),
      validationData: [rows.x.slice(480), rows.y.slice(480)],
      ...distributed,
    })
  : await model.fit(rows.x, rows.y, { epochs: Number(epochs), batchSize: Number(batch), validationSplit: 0.2, ...distributed })
const { params, stats } = model.network.readState()
writeFileSync(`${out}.${rank}.json`, JSON.stringify({ rank, loss: history.loss, valLoss: history.valLoss, accuracy: history.metrics.accuracy, params: Array.from(params), stats: Array.from(stats) }))
