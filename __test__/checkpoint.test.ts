/**
 * Checkpoints and resume: a run killed with SIGKILL and resumed from its newest checkpoint (taken
 * mid-epoch) ends with bit-identical weights to the run that was never interrupted, on each
 * engine; checkpoints are complete model files that name where in the run they were taken.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { Adam, Dense, Sequential, backendInfo, data, modelCheckpoint, moons } from '../lib/index.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'backprop-checkpoint-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function run(dir: string, engine: string, mode: 'full' | 'resume', killAfter?: number) {
  const args = ['--import', 'tsx', join(root, '__test__/checkpoint.child.ts'), dir, engine, mode, ...(killAfter === undefined ? [] : [String(killAfter)])]
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 })
}

const engines = backendInfo().nativeAvailable ? ['js', 'native'] : ['js']

describe.each(engines)('kill -9 and resume, %s engine', (engine) => {
  it('ends bit-identical to the uninterrupted run', () => {
    const whole = run(join(work, `${engine}-whole`), engine, 'full')
    expect(whole.status, whole.stderr).toBe(0)
    const reference = JSON.parse(whole.stdout)
    expect(reference.epochsTrained).toBe(3)

    const dir = join(work, `${engine}-killed`)
    const killed = run(dir, engine, 'full', 40)
    expect(killed.signal).toBe('SIGKILL')
    // 2000 rows in batches of 16: 125 a batch per epoch; killed after 40 of epoch 2 → the newest
    // checkpoint is epoch 1 (one complete), 35 batches in.
    const names = readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort()
    expect(names).toContain('checkpoint-1-35.safetensors')
    expect(names.some((n) => n.startsWith('checkpoint-1-4'))).toBe(false)

    const resumed = run(dir, engine, 'resume')
    expect(resumed.status, resumed.stderr).toBe(0)
    const result = JSON.parse(resumed.stdout)
    expect(result.epochsTrained).toBe(3)
    expect(result.params).toEqual(reference.params)
  }, 180_000)
})

describe('modelCheckpoint', () => {
  const d = moons({ samples: 200, seed: 2 })
  const model = () =>
    new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 8, activation: 'tanh' })).add(new Dense({ units: 2, activation: 'softmax' }))
      .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.05 }) })

  it('saves at epoch ends with {epoch} in the name, keeps the newest N, and the files load with their position', async () => {
    const dir = join(work, 'named')
    const m = model()
    const cb = modelCheckpoint({ path: join(dir, 'm-{epoch}.safetensors'), keep: 2 })
    await m.fitDataset(data.array(d.x, d.y), { epochs: 4, batchSize: 20, callbacks: [cb] })
    expect(readdirSync(dir).sort()).toEqual(['m-3.safetensors', 'm-4.safetensors'])
    const loaded = await Sequential.load(join(dir, 'm-4.safetensors'))
    expect(loaded.checkpoint).toEqual({ epoch: 4, batchesDone: 0 })
    expect(loaded.epochsTrained).toBe(4)
    expect(Array.from(loaded.predict(d.x).data)).toEqual(Array.from(m.predict(d.x).data))
  })

  it('saveBestOnly saves when the monitored value improves', async () => {
    const dir = join(work, 'best')
    const cb = modelCheckpoint({ path: join(dir, 'best-{epoch}.safetensors'), saveBestOnly: true, monitor: 'loss' })
    const h = await model().fitDataset(data.array(d.x, d.y), { epochs: 5, batchSize: 20, callbacks: [cb] })
    const improved = h.loss.filter((l, i) => h.loss.slice(0, i).every((p) => l < p)).length
    expect(readdirSync(dir)).toHaveLength(improved)
  })

  it('checks its options', () => {
    expect(() => modelCheckpoint({ path: '' })).toThrow('modelCheckpoint path must be a file name or a directory')
    expect(() => modelCheckpoint({ path: 'd', everyBatches: 0 })).toThrow('modelCheckpoint everyBatches must be an integer ≥ 1, got 0')
  })
})
