/**
 * A training run for checkpoint.test.ts, in its own process so it can be killed for real:
 *   node --import tsx checkpoint.child.ts <dir> <engine> full|resume [killAfterBatch]
 * `full` trains 3 epochs from scratch with a checkpoint every 7 batches, and with
 * killAfterBatch sends itself SIGKILL after that many batches of its second epoch (mid-chunk,
 * between checkpoints); `resume` continues the newest checkpoint in <dir> to the end. Either
 * prints the final parameters' bit patterns as JSON.
 */
import { Adam, BatchNormalization, Dense, Dropout, Sequential, data, modelCheckpoint, moons } from '../lib/index.js'

const [dir, engine, mode, killAfter] = process.argv.slice(2) as [string, 'js' | 'native', 'full' | 'resume', string | undefined]
const EPOCHS = 3
const d = moons({ samples: 2000, seed: 4 })
const source = data.array(d.x, d.y).shuffle(300, { seed: 11 })
const checkpoints = modelCheckpoint({ path: dir, everyBatches: 7, run: { epochs: EPOCHS } })

let model: Sequential
if (mode === 'full') {
  model = new Sequential({ seed: 5, backend: engine })
    .add(new Dense({ inputSize: 2, units: 32, activation: 'relu' }))
    .add(new BatchNormalization())
    .add(new Dropout({ rate: 0.2 }))
    .add(new Dense({ units: 2, activation: 'softmax' }))
    .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] })
} else {
  model = await Sequential.resume(dir, { backend: engine })
}
const kill = killAfter === undefined ? [] : [{
  onBatchEnd(batch: number) {
    if (model.epochsTrained === 1 && batch + 1 === Number(killAfter)) process.kill(process.pid, 'SIGKILL')
  },
}]
await model.fitDataset(source, { epochs: EPOCHS - model.epochsTrained, batchSize: 16, callbacks: [checkpoints, ...kill] })
console.log(JSON.stringify({ epochsTrained: model.epochsTrained, params: Array.from(new Uint32Array(model.network.readState().params.buffer)) }))
