// The recipe both the worker and the test use, so their numbers can be compared: a small
// network on two moons. `lib` is backprop-nn (the browser bundle, or the Node package).
export async function trainMoons(lib, { x, y, seed, epochs, backend = 'auto', onEpoch = () => {} }) {
  const { Adam, Dense, Sequential } = lib
  // 'auto' is the JS engine in a browser: the same numbers as Node's JS engine for the same seed.
  const model = new Sequential({ seed, backend })
    .add(new Dense({ inputSize: 2, units: 16, activation: 'tanh' }))
    .add(new Dense({ units: 1, activation: 'sigmoid' }))
  model.compile({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate: 0.03 }), metrics: ['accuracy'] })
  const progress = { onEpochEnd: (epoch, logs) => onEpoch(epoch, logs) }
  const history = await model.fit(x, y, { epochs, batchSize: 32, callbacks: [progress] })
  return { losses: history.loss, accuracy: model.evaluate(x, y).accuracy, engine: model.engine }
}
