/**
 * The main job behind `npm start`: trains a small network on the two-moons problem and prints
 * its progress and result, so a fresh checkout shows the library working end to end.
 */
import { Adam, Dense, Sequential, backendInfo } from './index.js'
import { moons } from './data/synthetic.js'

const info = backendInfo()
console.log(`backprop demo — engine: ${info.engine}${info.fallbackReason ? ` (${info.fallbackReason})` : ''}`)
const train = moons({ samples: 1000, noise: 0.2, seed: 1 })
const test = moons({ samples: 400, noise: 0.2, seed: 2 })
const model = new Sequential({ seed: 42 })
  .add(new Dense({ inputSize: 2, units: 32, activation: 'relu' }))
  .add(new Dense({ units: 32, activation: 'relu' }))
  .add(new Dense({ units: 2, activation: 'softmax' }))
model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.01 }), metrics: ['accuracy'] })
console.log(model.summary())
const started = performance.now()
const history = await model.fit(train.x, train.y, {
  epochs: 60,
  batchSize: 32,
  validationSplit: 0.2,
  callbacks: [
    {
      onEpochEnd: (epoch, logs) => {
        if ((epoch + 1) % 10 === 0) {
          console.log(`epoch ${epoch + 1}: loss ${logs.loss.toFixed(4)}  accuracy ${logs.accuracy!.toFixed(3)}  valLoss ${logs.valLoss!.toFixed(4)}  valAccuracy ${logs.valAccuracy!.toFixed(3)}`)
        }
      },
    },
  ],
})
const seconds = (performance.now() - started) / 1000
const result = model.evaluate(test.x, test.y)
console.log(`trained ${history.epochs} epochs in ${seconds.toFixed(2)} s`)
console.log(`test loss: ${result.loss.toFixed(4)}`)
console.log(`test accuracy: ${result.accuracy!.toFixed(4)}`)
