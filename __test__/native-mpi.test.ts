/**
 * Data-parallel training over MPI, really run: `mpirun -np 2` (Open MPI, on loopback) of
 * __test__/mpi.child.mjs over the built package. The reference is one process training the same
 * model with the doubled batch: the same losses and weights up to summation order.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BackendUnavailableError, Dense, Sequential, spirals } from '../lib/index.js'
import { ROOT, requireFreshBuild } from './helpers/cli.js'
import { writeNpy } from './helpers/npy.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-mpi-')
const MPIRUN = spawnSync('mpirun', ['--version']).status === 0 ? 'mpirun' : null
const CHILD = join(ROOT, '__test__/mpi.child.mjs')
/** Open MPI on this machine only: loopback TCP, no ssh, as root in CI containers. */
const ENV = { ...process.env, OMPI_MCA_btl: 'self,tcp', OMPI_MCA_btl_tcp_if_include: 'lo', OMPI_MCA_oob_tcp_if_include: 'lo', OMPI_MCA_plm_rsh_agent: '' }
const MPIRUN_FLAGS = ['--allow-run-as-root', '--oversubscribe']

interface Trained {
  rank: number
  loss: number[]
  valLoss: number[]
  params: number[]
  stats: number[]
}

function run(ranks: number, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('mpirun', [...MPIRUN_FLAGS, '-np', String(ranks), process.execPath, CHILD, ...args], { env: ENV, encoding: 'utf8', timeout: 120_000 })
  return { status: r.status, stderr: r.stderr }
}

function alone(args: string[]): void {
  const r = spawnSync(process.execPath, [CHILD, ...args], { encoding: 'utf8', timeout: 120_000 })
  expect(r.status, r.stderr).toBe(0)
}

const read = (out: string, rank: number) => JSON.parse(readFileSync(`${out}.${rank}.json`, 'utf8')) as Trained

function expectRelative(actual: number[], expected: number[], tolerance: number, what: string): void {
  expect(actual.length, what).toBe(expected.length)
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `${what}[${i}]: ${a} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected[i]!))))
}

describe.skipIf(MPIRUN === null)('data-parallel training over MPI (mpirun -np 2)', () => {
  // fit: each rank's batch is half the single process's; fitDataset: the source's batches are
  // the global ones, each rank training half of each. Dropout is included (masks must match).
  it.each([
    ['fit: 2 ranks with batch 16 train what 1 process with batch 32 trains', ['mpi', '16', '5'], ['single', '32', '5'], 'dropout'],
    ['fitDataset: 2 ranks each training half of every batch of a shuffled source train what 1 process trains on the whole batches', ['mpi', '32', '4'], ['single', '32', '4'], 'dataset dropout'],
  ])('%s; the ranks hold identical weights', (name, distributed, single, layers) => {
    requireFreshBuild()
    const two = temp(`${name.split(':')[0]}-two`)
    const one = temp(`${name.split(':')[0]}-one`)
    const r = run(2, [...distributed, two, layers])
    expect(r.status, r.stderr).toBe(0)
    alone([...single, one, layers])
    const [a, b, reference] = [read(two, 0), read(two, 1), read(one, 0)]
    // Only the summation order differs (each rank sums its rows, then MPI sums the ranks).
    expectRelative(a.loss, reference.loss, 1e-5, 'loss per epoch')
    expectRelative(a.valLoss, reference.valLoss, 1e-5, 'validation loss per epoch')
    expectRelative(a.params, reference.params, 1e-5, 'weights')
    // Every rank made the same updates, bit for bit.
    expect(b.params).toEqual(a.params)
    expect(b.loss).toEqual(a.loss)
  }, 150_000)

  it('with BatchNormalization, the ranks end with the same weights and running statistics', () => {
    requireFreshBuild()
    const out = temp('bn')
    const r = run(2, ['mpi', '16', '3', out, 'batchnorm'])
    expect(r.status, r.stderr).toBe(0)
    const [a, b] = [read(out, 0), read(out, 1)]
    expect(a.stats.length).toBeGreaterThan(0)
    expect(b.params).toEqual(a.params)
    expect(b.stats).toEqual(a.stats)
    expect(b.valLoss).toEqual(a.valLoss)
  }, 150_000)

  it('mpirun -np 2 backprop train --distributed mpi: rank 0 alone prints and saves the model one process with the doubled batch trains', async () => {
    requireFreshBuild()
    const CLI = join(ROOT, 'dist/cli/main.js')
    const flags = ['train', '--data', 'digits', '--epochs', '4', '--layers', '32', '--threads', '1']
    const two = spawnSync('mpirun', [...MPIRUN_FLAGS, '-np', '2', process.execPath, CLI, ...flags, '--batch-size', '16', '--distributed', 'mpi', '--out', temp('two.safetensors')], { env: ENV, encoding: 'utf8', timeout: 120_000 })
    expect(two.status, two.stderr).toBe(0)
    expect(two.stdout.match(/^test accuracy: /gm)).toHaveLength(1)
    expect(two.stderr.match(/^epoch 4\/4/gm)).toHaveLength(1)
    expect(two.stderr).toContain('batch 16 per process × 2 processes (MPI)')
    const one = spawnSync(process.execPath, [CLI, ...flags, '--batch-size', '32', '--out', temp('one.safetensors')], { encoding: 'utf8', timeout: 120_000 })
    expect(one.status, one.stderr).toBe(0)
    const [a, b] = await Promise.all([Sequential.load(temp('two.safetensors')), Sequential.load(temp('one.safetensors'))])
    expectRelative(Array.from(a.network.readState().params), Array.from(b.network.readState().params), 1e-4, 'weights')
  }, 150_000)

  it('streamed: mpirun -np 2 backprop train --data x.npy --distributed mpi --batch-size 8 trains what one process trains with --batch-size 16', async () => {
    requireFreshBuild()
    const CLI = join(ROOT, 'dist/cli/main.js')
    const d = spirals({ samples: 2000, seed: 3 })
    writeNpy(temp('x.npy'), d.x.flat(), [2000, 2])
    writeNpy(temp('y.npy'), d.y, [2000], '<i8')
    const flags = ['train', '--data', temp('x.npy'), '--labels', temp('y.npy'), '--layers', '32', '--epochs', '3', '--threads', '1', '--seed', '5']
    const two = spawnSync('mpirun', [...MPIRUN_FLAGS, '-np', '2', process.execPath, CLI, ...flags, '--batch-size', '8', '--distributed', 'mpi', '--out', temp('s-two.safetensors')], { env: ENV, encoding: 'utf8', timeout: 120_000 })
    expect(two.status, two.stderr).toBe(0)
    expect(two.stderr.match(/^epoch 3\/3/gm)).toHaveLength(1)
    const one = spawnSync(process.execPath, [CLI, ...flags, '--batch-size', '16', '--out', temp('s-one.safetensors')], { encoding: 'utf8', timeout: 120_000 })
    expect(one.status, one.stderr).toBe(0)
    const [a, b] = await Promise.all([Sequential.load(temp('s-two.safetensors')), Sequential.load(temp('s-one.safetensors'))])
    expectRelative(Array.from(a.network.readState().params), Array.from(b.network.readState().params), 1e-4, 'weights')
  }, 150_000)

  it('a rank killed mid-training ends the run with an error within seconds, not a hang', async () => {
    requireFreshBuild()
    const out = temp('kill')
    const child = spawn('mpirun', [...MPIRUN_FLAGS, '-np', '2', process.execPath, CHILD, 'mpi', '8', '1000', out, '', 'slow'], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    while (!existsSync(`${out}.1.pid`)) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 1000)) // training is under way
    process.kill(Number(readFileSync(`${out}.1.pid`, 'utf8')), 'SIGKILL')
    const killedAt = performance.now()
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))])
    expect(code, stderr).not.toBe('hung')
    expect(code).not.toBe(0)
    expect(performance.now() - killedAt).toBeLessThan(30_000)
    expect(existsSync(`${out}.0.json`)).toBe(false) // rank 0 did not finish as if nothing happened
  }, 90_000)

  it('without MPI a BackendUnavailableError says what is missing; the JS engine is refused', async () => {
    requireFreshBuild()
    const script = `import('${join(ROOT, 'dist/index.js')}').then((b) => { try { b.distributedInfo(); console.log('loaded') } catch (e) { console.log(e.name + ': ' + e.message) } })`
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BACKPROP_MPI_LIB: '/nonexistent/libmpi.so' }, encoding: 'utf8' })
    expect(r.stdout).toContain('BackendUnavailableError: MPI is not available: no MPI library could be loaded from /nonexistent/libmpi.so')
    const notMpi = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BACKPROP_MPI_LIB: 'libc.so.6' }, encoding: 'utf8' })
    expect(notMpi.stdout).toContain('libc.so.6 is not an MPI library')
    const model = new Sequential({ backend: 'js' }).add(new Dense({ inputSize: 2, units: 2, activation: 'softmax' }))
    model.compile({ loss: 'sparseCategoricalCrossEntropy' })
    await expect(model.fit([[0, 1]], [1], { distributed: 'mpi' })).rejects.toThrow(BackendUnavailableError)
    await expect(model.fit([[0, 1]], [1], { distributed: 'mpi' })).rejects.toThrow('MPI training runs on the native engine')
    await expect(model.fit([[0, 1]], [1], { distributed: 'tcp' as never })).rejects.toThrow("fit distributed must be one of 'mpi'")
  }, 60_000)
})
