// For native-exit.test.ts (plain JavaScript over the built package, so that a worker thread can
// run it too): a long native fit with an onBatchEnd callback (lockstep), and after 300 ms the way
// out named by the first argument: process.exit(7), an uncaught exception, an unhandled
// rejection, or nothing (a worker that its parent terminates).
import { Adam, Dense, Matrix, Sequential } from '../dist/index.js'

const rows = 4000
const x = new Float32Array(rows * 64).map((_, i) => Math.sin(i))
const y = Float32Array.from({ length: rows }, (_, i) => i % 10)
const model = new Sequential({ seed: 1, backend: 'native' })
  .add(new Dense({ inputSize: 64, units: 512, activation: 'relu' }))
  .add(new Dense({ units: 512, activation: 'relu' }))
  .add(new Dense({ units: 10, activation: 'softmax' }))
  .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam() })
const way = process.argv[2]
setTimeout(() => {
  if (way === 'exit') process.exit(7)
  if (way === 'throw') throw new Error('thrown while training')
  if (way === 'reject') void Promise.reject(new Error('rejected while training'))
}, 300)
console.log('training')
await model.fit(new Matrix(rows, 64, x), y, { epochs: 100_000, callbacks: [{ onBatchEnd() {} }] })
