/**
 * `backprop train` on streamed .npy data: JSON lines on stdout and nothing else, checkpoints,
 * SIGTERM writing a checkpoint before exiting, and --resume finishing the run with the same
 * model bytes as a run that was never stopped.
 */
import { once } from 'node:events'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MinMaxScaler, Sequential, spirals } from '../lib/index.js'
import { cli, requireFreshBuild, startCli } from './helpers/cli.js'
import { writeNpy } from './helpers/npy.js'

const dir = mkdtempSync(join(tmpdir(), 'backprop-cli-stream-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const x = join(dir, 'x.npy')
const y = join(dir, 'y.npy')
const RUN = ['--labels', y, '--layers', '64,64', '--batch-size', '16', '--seed', '3', '--threads', '1']

beforeAll(() => {
  requireFreshBuild()
  const d = spirals({ samples: 6000, seed: 2 })
  writeNpy(x, d.x.flat(), [6000, 2])
  writeNpy(y, d.y, [6000], '<i8')
})

describe('backprop train on .npy data', () => {
  it('--log-format json: stdout is one JSON object per epoch (and per --log-every batches), nothing else', () => {
    const run = cli(['train', '--data', x, ...RUN, '--epochs', '3', '--log-format', 'json', '--log-every', '100'])
    expect(run.status, run.stderr).toBe(0)
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l))
    const epochs = lines.filter((l) => l.batch === undefined)
    expect(epochs.map((l) => l.epoch)).toEqual([1, 2, 3])
    for (const e of epochs) expect(Object.keys(e)).toEqual(expect.arrayContaining(['loss', 'accuracy', 'valLoss', 'valAccuracy', 'learningRate', 'samplesPerSecond']))
    // 5400 training rows in batches of 16: 338 batches; a line after batches 100, 200 and 300.
    expect(lines.filter((l) => l.batch !== undefined).map((l) => `${l.epoch}:${l.batch}`)).toEqual(['1:100', '1:200', '1:300', '2:100', '2:200', '2:300', '3:100', '3:200', '3:300'])
    expect(run.stderr).toMatch(/6000 rows × 2 features; train 5400, validation 600 \(streamed/)
  })

  it('SIGTERM writes a checkpoint; --resume ends with the model of the uninterrupted run, byte for byte', async () => {
    const whole = cli(['train', '--data', x, ...RUN, '--epochs', '12', '--out', join(dir, 'whole.safetensors')], { timeout: 120_000 })
    expect(whole.status, whole.stderr).toBe(0)

    const ck = join(dir, 'ck')
    const child = startCli(['train', '--data', x, ...RUN, '--epochs', '12', '--checkpoint', ck, '--log-format', 'json', '--out', join(dir, 'resumed.safetensors')])
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk
      // Stop it once two epochs are done: mid-run, wherever its batches are.
      if (out.split('\n').length > 2) child.kill('SIGTERM')
    })
    const [code] = await once(child, 'exit')
    expect(code).toBe(143)
    const saved = readdirSync(ck)
    expect(saved.length).toBeGreaterThan(0)

    const resumed = cli(['train', '--resume', ck, '--out', join(dir, 'resumed.safetensors')], { timeout: 120_000 })
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(resumed.stderr).toMatch(/resuming after \d+ epochs/)
    expect(resumed.stdout).toMatch(/^trained \d+ epochs in /m)
    const a = await Sequential.load(join(dir, 'whole.safetensors'))
    const b = await Sequential.load(join(dir, 'resumed.safetensors'))
    expect(b.epochsTrained).toBe(12)
    expect(Buffer.from(b.network.readState().params.buffer)).toEqual(Buffer.from(a.network.readState().params.buffer))
    expect(readFileSync(join(dir, 'resumed.safetensors')).length).toBeGreaterThan(0)
  }, 180_000)

  it('--resume refuses a flag that changes the run, naming both values', () => {
    const ck = join(dir, 'ck2')
    expect(cli(['train', '--data', x, ...RUN, '--epochs', '1', '--checkpoint', ck]).status).toBe(0)
    const run = cli(['train', '--resume', ck, '--layers', '8'])
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('--layers [8] differs from the run being resumed ([64,64]')
  })

  it('--scale minmax learns the range in one streamed pass and saves it with the model', async () => {
    const out = join(dir, 'minmax.safetensors')
    const run = cli(['train', '--data', x, ...RUN, '--epochs', '1', '--scale', 'minmax', '--out', out])
    expect(run.status, run.stderr).toBe(0)
    const model = await Sequential.load(out)
    const scaler = model.preprocessing!.scaler as MinMaxScaler
    expect(scaler).toBeInstanceOf(MinMaxScaler)
    // The first 5400 rows train (the last 600 validate): the scaler saw exactly those.
    const d = spirals({ samples: 6000, seed: 2 })
    const expected = new MinMaxScaler().fit(d.x.slice(0, 5400))
    expect(Array.from(scaler.dataMin!)).toEqual(Array.from(expected.dataMin!))
    expect(Array.from(scaler.dataMax!)).toEqual(Array.from(expected.dataMax!))
  })

  it('--stream trains a CSV file in blocks: class names from the file, saved with the model, checkpoints as for .npy', async () => {
    const csv = join(dir, 'spirals.csv')
    const d = spirals({ samples: 3000, seed: 4 })
    const names = ['left arm', 'right arm']
    writeFileSync(csv, ['u,v,arm', ...d.x.map((row, i) => `${row[0]},${row[1]},${names[d.y[i]!]}`)].join('\n') + '\n')
    const out = join(dir, 'csv.safetensors')
    const run = cli(['train', '--data', csv, '--stream', '--label', 'arm', '--layers', '32', '--epochs', '2', '--checkpoint', join(dir, 'csv-ck'), '--log-format', 'json', '--out', out])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/3000 rows × 2 features; train 2700, validation 300 \(streamed/)
    expect(run.stdout.trim().split('\n').map((l) => JSON.parse(l).epoch)).toEqual([1, 2])
    const model = await Sequential.load(out)
    expect(model.preprocessing!.labelNames).toEqual(['left arm', 'right arm'])
    expect(model.preprocessing!.featureNames).toEqual(['u', 'v'])
    expect(readdirSync(join(dir, 'csv-ck')).length).toBeGreaterThan(0)
    const resumed = cli(['train', '--resume', join(dir, 'csv-ck')])
    expect(resumed.status).toBe(0)
    expect(resumed.stderr).toContain('has already trained its 2 epochs')
  })

  it('trains a Parquet file (always streamed), its label column named with --label', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer')
    const d = spirals({ samples: 2000, seed: 6 })
    const file = join(dir, 'spirals.parquet')
    writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: [
      { name: 'arm', data: d.y.map((k) => (k === 0 ? 'left' : 'right')), type: 'STRING' },
      { name: 'u', data: d.x.map((r) => r[0]!), type: 'DOUBLE' },
      { name: 'v', data: d.x.map((r) => r[1]!), type: 'DOUBLE' },
    ], rowGroupSize: 500 })))
    const out = join(dir, 'parquet.safetensors')
    const run = cli(['train', '--data', file, '--label', 'arm', '--layers', '16', '--epochs', '2', '--out', out])
    expect(run.status, run.stderr).toBe(0)
    expect(run.stderr).toMatch(/2000 rows × 2 features; train 1800, validation 200 \(streamed/)
    const model = await Sequential.load(out)
    expect(model.preprocessing!.labelNames).toEqual(['left', 'right'])
    expect(model.preprocessing!.featureNames).toEqual(['u', 'v'])
  })

  it('--progress-every: lines within the epoch, from the engine\'s chunks, with the share done, the speed and the ETA', () => {
    // 80k rows of 200 features through 512-512: chunks of ~5k rows, and 2 MFLOP per row, so the
    // epoch takes ≥ 0.65 s even at a core's full FMA peak (245 GFLOP/s measured here): room for
    // lines every 0.1 s.
    const wide = join(dir, 'wide-x.npy')
    const labels = join(dir, 'wide-y.npy')
    writeNpy(wide, Float32Array.from({ length: 80_000 * 200 }, (_, i) => Math.sin(i)), [80_000, 200])
    writeNpy(labels, Int32Array.from({ length: 80_000 }, (_, i) => i % 3), [80_000], '<i4')
    const run = cli(['train', '--data', wide, '--labels', labels, '--backend', 'native', '--layers', '512,512', '--batch-size', '32', '--epochs', '1', '--validation-split', '0', '--threads', '1', '--progress-every', '0.1'])
    expect(run.status, run.stderr).toBe(0)
    const lines = [...run.stderr.matchAll(/^epoch 1\/1 {2}(\d+)% \((\d+) of 80000 rows\) {2}(\d+) samples\/s {2}epoch ETA (\d+) s$/gm)]
    expect(lines.length, run.stderr).toBeGreaterThanOrEqual(1)
    const rows = lines.map((m) => Number(m[2]))
    expect(rows).toEqual([...rows].sort((a, b) => a - b))
    for (const m of lines) {
      expect(Number(m[1])).toBe(Math.round((100 * Number(m[2])) / 80_000))
      expect(Number(m[3])).toBeGreaterThan(0)
    }
    expect(cli(['train', '--data', wide, '--labels', labels, '--progress-every', '0']).stderr).toMatch(/--progress-every <seconds>' argument '0' is invalid/)
  })

  it('checkpoint flags without streamed data are a usage error', () => {
    const run = cli(['train', '--data', 'iris', '--checkpoint', join(dir, 'nope')])
    expect(run.status).toBe(2)
    expect(run.stderr).toContain('--checkpoint applies to streamed training')
  })
})
