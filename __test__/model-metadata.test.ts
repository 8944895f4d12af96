/**
 * What a model file records beyond the network: the preprocessing (scaler, feature and class
 * names) so a loaded model predicts on raw data, and the training history across fit calls.
 * Files written before these entries existed still load and predict exactly as before.
 */
import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  Adam,
  Dense,
  MinMaxScaler,
  ModelFileError,
  ModelStateError,
  Sequential,
  ShapeError,
  StandardScaler,
  applyPreprocessing,
  blobs,
} from '../lib/index.js'
import { decodeSafetensors, encodeSafetensors } from '../lib/io/safetensors.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-meta-')
const data = blobs({ samples: 90, centers: 3, features: 4, seed: 8, noise: 2 })

function model(seed = 3): Sequential {
  return new Sequential({ seed, backend: 'js' })
    .add(new Dense({ inputSize: 4, units: 8, activation: 'relu' }))
    .add(new Dense({ units: 3, activation: 'softmax' }))
    .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] })
}

describe('preprocessing saved with the model', () => {
  for (const make of [() => new StandardScaler(), () => new MinMaxScaler({ featureRange: [-1, 1] })]) {
    it(`${make().constructor.name}: a loaded model predicts on raw data exactly as before saving`, async () => {
      const m = model()
      const scaler = make().fit(data.x)
      await m.fit(scaler.transform(data.x), data.y, { epochs: 3, batchSize: 16 })
      m.preprocessing = { scaler, featureNames: ['a', 'b', 'c', 'd'], labelNames: ['red', 'green', 'blue'], targetName: 'colour' }
      const file = temp(`${make().constructor.name}.safetensors`)
      await m.save(file)
      const loaded = await Sequential.load(file, { backend: 'js' })
      expect(loaded.preprocessing!.scaler).toBeInstanceOf(scaler.constructor)
      expect(loaded.preprocessing!.labelNames).toEqual(['red', 'green', 'blue'])
      expect(loaded.preprocessing!.featureNames).toEqual(['a', 'b', 'c', 'd'])
      expect(loaded.preprocessing!.targetName).toBe('colour')
      const raw = data.x.slice(0, 20)
      expect(loaded.predict(applyPreprocessing(loaded.preprocessing, raw)).data).toEqual(m.predict(scaler.transform(raw)).data)
    })
  }

  it('is checked against the model when set, and leaves it unchanged when refused', () => {
    const m = model()
    m.preprocessing = { labelNames: ['x', 'y', 'z'] }
    const before = m.preprocessing
    expect(() => (m.preprocessing = { scaler: new StandardScaler().fit([[1, 2]]) })).toThrow(ShapeError)
    expect(() => (m.preprocessing = { scaler: new StandardScaler().fit([[1, 2]]) })).toThrow(/fitted on 2 features, but the model has 4 inputs/)
    expect(() => (m.preprocessing = { labelNames: ['x', 'y'] })).toThrow(/labelNames must have 3 names/)
    expect(() => (m.preprocessing = { featureNames: ['a', 'a', 'b', 'c'] })).toThrow(/must not repeat a name/)
    expect(() => (m.preprocessing = { scaler: new StandardScaler() })).toThrow(ModelStateError)
    expect(() => (m.preprocessing = { scalar: null } as never)).toThrow(/unknown key 'scalar'/)
    expect(m.preprocessing).toBe(before)
  })

  it('a single sigmoid output takes two class names', () => {
    const m = new Sequential({ seed: 1, backend: 'js' }).add(new Dense({ inputSize: 2, units: 1, activation: 'sigmoid' }))
    m.preprocessing = { labelNames: ['no', 'yes'] }
    expect(m.preprocessing!.labelNames).toEqual(['no', 'yes'])
  })

  it('a file whose preprocessing does not fit its model is refused with ModelFileError', async () => {
    const m = model()
    m.preprocessing = { scaler: new StandardScaler().fit(data.x), labelNames: ['r', 'g', 'b'] }
    const { tensors, metadata } = decodeSafetensors(m.toBytes())
    for (const [change, message] of [
      [(p: any) => (p.labelNames = ['r', 'g']), /preprocessing metadata is invalid: preprocessing labelNames must have 3 names/],
      [(p: any) => (p.scaler.mean = [0, 0]), /preprocessing metadata is invalid: .*one length per feature/],
      [(p: any) => (p.scaler = { kind: 'zscore' }), /preprocessing metadata is invalid: expected a saved scaler/],
    ] as const) {
      const p = JSON.parse(metadata.preprocessing!)
      change(p)
      const bytes = encodeSafetensors(tensors, { ...metadata, preprocessing: JSON.stringify(p) })
      expect(() => Sequential.fromBytes(bytes)).toThrow(ModelFileError)
      expect(() => Sequential.fromBytes(bytes)).toThrow(message)
    }
  })
})

describe('training history saved with the model', () => {
  it('accumulates every fit call, validation values aligned by epoch, and survives save/load', async () => {
    const m = model()
    const first = await m.fit(data.x, data.y, { epochs: 2, batchSize: 32 })
    const second = await m.fit(data.x, data.y, { epochs: 3, batchSize: 32, validationSplit: 0.2 })
    const h = m.trainingHistory
    expect(h.epochs).toBe(5)
    expect(h.loss).toEqual([...first.loss, ...second.loss])
    expect(h.metrics.accuracy).toEqual([...first.metrics.accuracy!, ...second.metrics.accuracy!])
    expect(h.valLoss.slice(0, 2).every(Number.isNaN)).toBe(true)
    expect(h.valLoss.slice(2)).toEqual(second.valLoss)
    const file = temp('history.safetensors')
    await m.save(file)
    const loaded = await Sequential.load(file, { backend: 'js' })
    expect(loaded.trainingHistory.toJSON()).toEqual(h.toJSON())
  })

  it('a damaged history is refused with ModelFileError', async () => {
    const m = model()
    await m.fit(data.x, data.y, { epochs: 2 })
    const { tensors, metadata } = decodeSafetensors(m.toBytes())
    const h = JSON.parse(metadata.history!)
    h.loss.pop()
    const bytes = encodeSafetensors(tensors, { ...metadata, history: JSON.stringify(h) })
    expect(() => Sequential.fromBytes(bytes)).toThrow(/training history is invalid: a history's lists must each hold one value per epoch \(2\)/)
  })
})

describe('files written before preprocessing and history were saved', () => {
  it('load, predict exactly as when saved, and have neither', async () => {
    const file = new URL('./golden/model-before-preprocessing.safetensors', import.meta.url).pathname
    const expected = JSON.parse(fs.readFileSync(new URL('./golden/model-before-preprocessing.json', import.meta.url), 'utf8'))
    expect(decodeSafetensors(fs.readFileSync(file)).metadata.preprocessing).toBeUndefined()
    const loaded = await Sequential.load(file, { backend: 'js' })
    expect(loaded.predict(expected.probe).toArray()).toEqual(expected.predictions)
    expect(loaded.epochsTrained).toBe(expected.epochsTrained)
    expect(loaded.preprocessing).toBeNull()
    expect(loaded.trainingHistory.epochs).toBe(0)
  })
})
