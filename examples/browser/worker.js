// Trains in a Web Worker, so the page stays responsive. The page posts
// { x, y, seed, epochs }; this posts { type: 'epoch', epoch, loss, accuracy } after every
// epoch, then { type: 'done', losses, accuracy, engine } (or { type: 'error', message }).
import * as backprop from './backprop-nn.js'
import { trainMoons } from './train-moons.js'

self.onmessage = async ({ data: { x, y, seed, epochs } }) => {
  try {
    const onEpoch = (epoch, logs) => self.postMessage({ type: 'epoch', epoch, loss: logs.loss, accuracy: logs.accuracy })
    const result = await trainMoons(backprop, { x, y, seed, epochs, onEpoch })
    self.postMessage({ type: 'done', ...result })
  } catch (error) {
    self.postMessage({ type: 'error', message: String(error?.stack ?? error) })
  }
}
