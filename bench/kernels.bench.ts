/**
 * Kernel benchmarks: the native core's raw kernels (native/index.d.ts) against the JS engine's
 * (lib/engine/js/), side by side, with the ratio and GFLOP/s. Run through bench/run.ts
 * (`npm run bench -- --suite kernels`), or `npx tsx bench/kernels.bench.ts [--quick]`.
 *
 * Two child processes: one with BACKPROP_THREADS=1 times native and JS task by task (each
 * native task right before its JS twin, so load from elsewhere hits both), one with
 * BACKPROP_THREADS=2 times native again. Each task is a tinybench task; the result is its median.
 *
 * What is timed:
 * - matmul: native `matmul(a, b, m, k, n, { transA, transB, out })` into a preallocated `out`;
 *   JS `Gemm.multiply` (the JS engine's GEMM). Square n = 64 … 1024 and every product the
 *   training workloads make (forward X·W, weight gradient Xᵀ·dZ, input gradient dZ·Wᵀ).
 * - dense forward: native `denseForward(…, out)` (GEMM with bias and activation fused);
 *   JS: GEMM, bias loop and activation, as JsNetwork.forward does them.
 * - dense backward: native `denseBackward`, which returns new dX, dW and db arrays on every
 *   call (the raw API has no output arguments, so its time includes those allocations);
 *   JS: the activation gradient on a copy of the incoming gradient, dW = Xᵀ·dZ, db, dX = dZ·Wᵀ
 *   into preallocated buffers, as JsNetwork.backward does.
 * - activations: forward and backward in place (inputs restored before each call, untimed).
 * - optimizer step: the raw binding exports no optimizer, so both engines run what the API
 *   offers: `trainBatch` of one row on a 1000 → 1000 linear layer with mean squared error
 *   (1,001,000 parameters: a GEMV forward, an outer-product weight gradient, then the update),
 *   with Adam and with plain SGD. The Adam − SGD difference isolates Adam's extra work on the
 *   same buffers. The JS engine's `optimizerStep` alone (Adam, 1M parameters) is timed too.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'
import { Adam, Dense, SGD, Sequential } from '../lib/index.js'
import { activationBackward, activationForward } from '../lib/engine/js/activations.js'
import { Gemm } from '../lib/engine/js/gemm.js'
import { optimizerStep } from '../lib/engine/js/optimizers.js'
import type { ActivationName, ActivationPlan, OptimizerPlan } from '../lib/plan.js'
import { WORKLOADS } from './definitions.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(HERE, '..')
const PREFIX = '@@kernel-result '

export type KernelGroup = 'matmul' | 'dense forward' | 'dense backward' | 'activation' | 'optimizer'

/** One kernel measurement in one process. */
interface Timing {
  group: KernelGroup
  name: string
  engine: 'native' | 'js'
  threads: number
  medianNs: number
  /** Floating-point operations per call (matmul, dense), or elements / parameters per call. */
  work: number
  unit: 'flop' | 'element' | 'parameter'
}

export interface KernelRow {
  group: KernelGroup
  name: string
  unit: Timing['unit']
  work: number
  /** Median ns per call. */
  js: number | null
  native1: number | null
  native2: number | null
}

export interface KernelOptions {
  quick: boolean
  log: (line: string) => void
}

/** A deterministic fill in [−1, 1). */
function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    a[i] = s / 2 ** 31 - 1
  }
  return a
}

interface MatmulCase {
  form: 'nn' | 'tn' | 'nt'
  m: number
  n: number
  k: number
  label: string
}

/** Square sizes, then every product of the training and inference workloads, without repeats. */
export function matmulCases(quick: boolean): MatmulCase[] {
  const out: MatmulCase[] = []
  const seen = new Set<string>()
  const add = (form: MatmulCase['form'], m: number, n: number, k: number, label: string) => {
    const key = `${form} ${m}x${n}x${k}`
    if (seen.has(key)) return
    seen.add(key)
    out.push({ form, m, n, k, label })
  }
  const squares = quick ? [64, 256] : [64, 128, 256, 512, 1024]
  for (const form of quick ? (['nn'] as const) : (['nn', 'tn', 'nt'] as const)) for (const s of squares) add(form, s, s, s, `n=${s}`)
  for (const w of WORKLOADS) {
    if (quick && w.name !== 'mnist') continue
    for (let l = 0; l + 1 < w.sizes.length; l++) {
      const [inputs, units, b] = [w.sizes[l]!, w.sizes[l + 1]!, w.batch]
      add('nn', b, units, inputs, `${w.name} L${l + 1} forward X·W`)
      if (w.kind === 'infer') continue
      add('tn', inputs, units, b, `${w.name} L${l + 1} dW = Xᵀ·dZ`)
      if (l > 0) add('nt', b, inputs, units, `${w.name} L${l + 1} dX = dZ·Wᵀ`)
    }
  }
  return out
}

/** Dense layers to time: one per workload kind of layer. */
export function denseCases(quick: boolean): { label: string; rows: number; inputs: number; units: number; activation: ActivationName }[] {
  const all = [
    { label: 'small L2 (32 × 16 → 16, tanh)', rows: 32, inputs: 16, units: 16, activation: 'tanh' as const },
    { label: 'mnist L1 (128 × 784 → 256, relu)', rows: 128, inputs: 784, units: 256, activation: 'relu' as const },
    { label: 'mnist L2 (128 × 256 → 128, relu)', rows: 128, inputs: 256, units: 128, activation: 'relu' as const },
    { label: 'wide L2 (256 × 1024 → 1024, relu)', rows: 256, inputs: 1024, units: 1024, activation: 'relu' as const },
    { label: 'infer L1 (1024 × 784 → 256, relu)', rows: 1024, inputs: 784, units: 256, activation: 'relu' as const },
  ]
  return quick ? all.slice(1, 2) : all
}

/** Runs in a child: every task on the native engine (and the JS engine when `js`). */
async function measure(quick: boolean, js: boolean): Promise<Timing[]> {
  const native = (await import('../native/index.js')) as typeof import('../native/index.js')
  const threads = native.info().threads
  const bench = new Bench({
    time: quick ? 60 : 250,
    iterations: quick ? 3 : 5,
    warmupTime: quick ? 20 : 60,
    warmupIterations: 2,
    throws: true,
  })
  const meta = new Map<string, Omit<Timing, 'medianNs'>>()
  const add = (t: Omit<Timing, 'medianNs' | 'threads'>, fn: () => unknown, opts?: { beforeEach?: () => void }) => {
    if (t.engine === 'js' && !js) return
    const name = `${t.engine} ${t.group} ${t.name}`
    meta.set(name, { ...t, threads: t.engine === 'js' ? 1 : threads })
    bench.add(name, fn, opts)
  }
  const gemm = new Gemm()

  for (const c of matmulCases(quick)) {
    const { m, n, k, form } = c
    const a = filled(m * k, 1)
    const b = filled(k * n, 2)
    const out = new Float32Array(m * n)
    const transA = form === 'tn'
    const transB = form === 'nt'
    const name = `${form} ${m}×${n}×${k} ${c.label}`
    const work = 2 * m * n * k
    add({ group: 'matmul', name, engine: 'native', work, unit: 'flop' }, () => native.matmul(a, b, m, k, n, { transA, transB, out }))
    add({ group: 'matmul', name, engine: 'js', work, unit: 'flop' }, () =>
      gemm.multiply(transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, out, 0, n, false))
  }

  for (const d of denseCases(quick)) {
    const { rows, inputs, units, activation } = d
    const x = filled(rows * inputs, 3)
    const w = filled(inputs * units, 4).map((v) => v * 0.05)
    const bias = filled(units, 5)
    const out = new Float32Array(rows * units)
    const act: ActivationPlan = { name: activation }
    const work = 2 * rows * inputs * units
    add({ group: 'dense forward', name: d.label, engine: 'native', work, unit: 'flop' }, () =>
      native.denseForward(x, w, bias, rows, inputs, units, activation, undefined, out))
    add({ group: 'dense forward', name: d.label, engine: 'js', work, unit: 'flop' }, () => {
      gemm.multiply(false, false, rows, units, inputs, x, 0, inputs, w, 0, units, out, 0, units, false)
      for (let r = 0; r < rows; r++) {
        const o = r * units
        for (let j = 0; j < units; j++) out[o + j] = out[o + j]! + bias[j]!
      }
      activationForward(act, out, rows, units)
    })
    const a = native.denseForward(x, w, bias, rows, inputs, units, activation)
    const grad = filled(rows * units, 6)
    const dz = new Float32Array(rows * units)
    const dW = new Float32Array(inputs * units)
    const db = new Float32Array(units)
    const dX = new Float32Array(rows * inputs)
    const bwork = 4 * rows * inputs * units
    add({ group: 'dense backward', name: d.label, engine: 'native', work: bwork, unit: 'flop' }, () =>
      native.denseBackward(x, w, a, grad, rows, inputs, units, activation))
    add({ group: 'dense backward', name: d.label, engine: 'js', work: bwork, unit: 'flop' }, () => {
      dz.set(grad)
      activationBackward(act, a, dz, rows, units)
      gemm.multiply(true, false, inputs, units, rows, x, 0, inputs, dz, 0, units, dW, 0, units, false)
      db.fill(0)
      for (let r = 0; r < rows; r++) {
        const o = r * units
        for (let j = 0; j < units; j++) db[j] = db[j]! + dz[o + j]!
      }
      gemm.multiply(false, true, rows, inputs, units, dz, 0, units, w, 0, units, dX, 0, inputs, false)
    })
  }

  const activations: { name: ActivationName; rows: number; cols: number }[] = quick
    ? [{ name: 'tanh', rows: 256, cols: 1024 }]
    : [
        { name: 'relu', rows: 256, cols: 1024 },
        { name: 'leakyRelu', rows: 256, cols: 1024 },
        { name: 'sigmoid', rows: 256, cols: 1024 },
        { name: 'tanh', rows: 256, cols: 1024 },
        { name: 'softmax', rows: 1024, cols: 10 },
      ]
  for (const { name: actName, rows, cols } of activations) {
    const n = rows * cols
    const source = filled(n, 7).map((v) => 3 * v)
    const z = new Float32Array(n)
    const act: ActivationPlan = { name: actName }
    const label = `${actName} (${rows} × ${cols})`
    const restoreZ = { beforeEach: () => z.set(source) }
    add({ group: 'activation', name: `${label} forward`, engine: 'native', work: n, unit: 'element' }, () => native.activationForward(actName, z, cols), restoreZ)
    add({ group: 'activation', name: `${label} forward`, engine: 'js', work: n, unit: 'element' }, () => activationForward(act, z, rows, cols), restoreZ)
    const out = native.activationForward(actName, Float32Array.from(source), cols)
    const g0 = filled(n, 8)
    const g = new Float32Array(n)
    const restoreG = { beforeEach: () => g.set(g0) }
    add({ group: 'activation', name: `${label} backward`, engine: 'native', work: n, unit: 'element' }, () => native.activationBackward(actName, out, g, cols), restoreG)
    add({ group: 'activation', name: `${label} backward`, engine: 'js', work: n, unit: 'element' }, () => activationBackward(act, out, g, rows, cols), restoreG)
  }

  // The optimizer step: trainBatch of one row on a 1M-parameter layer, Adam and SGD.
  const units = 1000
  const params = units * units + units
  const one = { x: filled(units, 9).map((v) => v * 0.1), y: filled(units, 10).map((v) => v * 0.1), rows: 1 }
  for (const engine of ['native', 'js'] as const) {
    for (const opt of ['Adam', 'SGD'] as const) {
      const model = new Sequential({ seed: 1, backend: engine }).add(new Dense({ inputSize: units, units, activation: 'linear' }))
      model.compile({ loss: 'meanSquaredError', optimizer: opt === 'Adam' ? new Adam({ learningRate: 1e-6 }) : new SGD({ learningRate: 1e-6 }) })
      const network = model.network
      add({ group: 'optimizer', name: `trainBatch, 1 row, 1000 → 1000 linear (1,001,000 params), ${opt}`, engine, work: params, unit: 'parameter' }, () => network.trainBatch(one, 1e-6))
    }
  }
  const adam: OptimizerPlan = new Adam().toPlan()
  const p = filled(1_000_000, 11)
  const g1 = filled(1_000_000, 12).map((v) => v * 1e-3)
  const slots = new Float32Array(2_000_000)
  let step = 0
  add({ group: 'optimizer', name: 'optimizerStep alone, Adam, 1,000,000 params', engine: 'js', work: 1_000_000, unit: 'parameter' }, () =>
    optimizerStep(adam, p, g1, slots, 1_000_000, ++step, 1e-6))

  await bench.run()
  return bench.tasks.map((task) => {
    const r = task.result
    if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state === 'errored' ? r.error.message : r.state}`)
    return { ...meta.get(task.name)!, medianNs: r.latency.p50 * 1e6 }
  })
}

function runChild(threads: number, quick: boolean, js: boolean): Promise<Timing[]> {
  const args = ['--import', 'tsx', join(HERE, 'kernels.bench.ts'), '--child', ...(quick ? ['--quick'] : []), ...(js ? ['--js'] : [])]
  return new Promise((resolve, reject) => {
    const env = { ...process.env, BACKPROP_THREADS: String(threads) }
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(PREFIX))
      if (code === 0 && line) resolve(JSON.parse(line.slice(PREFIX.length)) as Timing[])
      else reject(new Error(`kernel benchmark (${threads} threads) failed: ${stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${code}`}`))
    })
  })
}

export async function runKernelBench(options: KernelOptions): Promise<KernelRow[]> {
  options.log('  kernels: native (1 thread) and JS, task by task')
  const one = await runChild(1, options.quick, true)
  options.log('  kernels: native (2 threads)')
  const two = await runChild(2, options.quick, false)
  const rows = new Map<string, KernelRow>()
  for (const t of [...one, ...two]) {
    const key = `${t.group}|${t.name}`
    const row = rows.get(key) ?? { group: t.group, name: t.name, unit: t.unit, work: t.work, js: null, native1: null, native2: null }
    if (t.engine === 'js') row.js = t.medianNs
    else if (t.threads === 1) row.native1 = t.medianNs
    else row.native2 = t.medianNs
    rows.set(key, row)
  }
  return [...rows.values()]
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  if (args.includes('--child')) {
    const timings = await measure(args.includes('--quick'), args.includes('--js'))
    process.stdout.write(`\n${PREFIX}${JSON.stringify(timings)}\n`)
    process.exit(0)
  }
  const { main } = await import('./run.js')
  await main(['--suite', 'kernels', ...args], `npx tsx bench/kernels.bench.ts ${args.join(' ')}`.trim())
}
