/**
 * Online inference: one-row latency and small-batch throughput of the mnist network
 * (784-256-128-10, ReLU, softmax) on the native engine against PyTorch, one thread each
 * (issue #12 §1). Run:
 *
 *   npx tsx bench/latency.ts [--calls 20000] [--repetitions 7] [--out bench/results/latency.md]
 *
 * backprop: `model.predictRow(x, out)` (one row, caller's buffer) and `model.predict(rows)` for
 * batches of 1, 8 and 64. PyTorch (bench/libraries/torch_latency.py): `model(x[i:i+batch])` under
 * `torch.no_grad()`, 1 thread, with OpenBLAS's AVX-512 kernels where the CPU has them (as
 * bench/train.bench.ts runs it). Each figure is the median over repetitions of the mean time per
 * call, cycling over 256 distinct rows; p50/p99 are of individually timed one-row calls.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Dense, Matrix, Sequential, backendInfo } from '../lib/index.js'
import { Rng } from '../lib/rng.js'
import { findTorch } from './train.bench.js'

const SIZES = [784, 256, 128, 10]
const BATCHES = [1, 8, 64]
const POOL = 256

interface Side {
  /** Seconds per call, by batch. */
  perCall: Record<number, number>
  p50: number
  p99: number
  about: string
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}

const calls = Number(option('calls', '20000'))
const repetitions = Number(option('repetitions', '7'))
const out = option('out', '')

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

function timePerCall(run: (i: number) => void, n: number): number {
  for (let i = 0; i < n / 4; i++) run(i)
  const means: number[] = []
  for (let r = 0; r < repetitions; r++) {
    const t = process.hrtime.bigint()
    for (let i = 0; i < n; i++) run(i)
    means.push(Number(process.hrtime.bigint() - t) / 1e9 / n)
  }
  return median(means)
}

function backprop(): Side {
  const model = new Sequential({ seed: 1, backend: 'native', threads: 1 })
  for (let l = 1; l < SIZES.length; l++) {
    model.add(new Dense({ units: SIZES[l]!, activation: l === SIZES.length - 1 ? 'softmax' : 'relu', ...(l === 1 && { inputSize: SIZES[0]! }) }))
  }
  const rng = Rng.seeded(1, 0)
  const x = Float32Array.from({ length: (POOL + 64) * SIZES[0]! }, () => rng.nextFloat())
  const row = (i: number) => x.subarray(i * SIZES[0]!, (i + 1) * SIZES[0]!)
  const result = new Float32Array(SIZES.at(-1)!)
  const perCall: Record<number, number> = {}
  perCall[1] = timePerCall((i) => model.predictRow(row(i % POOL), result), calls)
  for (const batch of BATCHES.filter((b) => b > 1)) {
    const views = Array.from({ length: POOL }, (_, i) => new Matrix(batch, SIZES[0]!, x.subarray(i * SIZES[0]!, (i + batch) * SIZES[0]!)))
    perCall[batch] = timePerCall((i) => model.predict(views[i % POOL]!, { batchSize: batch }), Math.max(calls / batch, 50))
  }
  const singles: number[] = []
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint()
    model.predictRow(row(i % POOL), result)
    singles.push(Number(process.hrtime.bigint() - t) / 1e9)
  }
  singles.sort((a, b) => a - b)
  const info = backendInfo()
  return { perCall, p50: singles[singles.length >> 1]!, p99: singles[Math.floor(singles.length * 0.99)]!, about: `backprop native, isa ${info.isa ?? '?'}, 1 thread` }
}

function torch(): Side | string {
  const found = findTorch()
  if (!found.available) return found.reason ?? 'PyTorch is not available'
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1' }
  // As bench/train.bench.ts: OpenBLAS's AVX-512 (SkylakeX) kernels where the CPU has AVX-512.
  const avx512 = /^flags.*\bavx512f\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'))
  const core = env.BACKPROP_BENCH_OPENBLAS_CORETYPE ?? (avx512 ? 'SkylakeX' : env.OPENBLAS_CORETYPE)
  if (core) env.OPENBLAS_CORETYPE = core
  const script = fileURLToPath(new URL('./libraries/torch_latency.py', import.meta.url))
  const job = JSON.stringify({ sizes: SIZES, batches: BATCHES, calls, repetitions })
  const stdout = execFileSync(found.python!, [script, job], { env, encoding: 'utf8', timeout: 600_000 })
  const line = stdout.split('\n').find((l) => l.startsWith('@@latency-result '))
  if (!line) return `torch_latency.py printed no result:\n${stdout}`
  const r = JSON.parse(line.slice('@@latency-result '.length)) as { version: string; threads: number; OPENBLAS_CORETYPE: string | null; batches: Record<string, { secondsPerCall: number }>; p50: number; p99: number }
  const perCall: Record<number, number> = {}
  for (const b of BATCHES) perCall[b] = r.batches[String(b)]!.secondsPerCall
  return { perCall, p50: r.p50, p99: r.p99, about: `PyTorch ${r.version}, ${r.threads} thread, OPENBLAS_CORETYPE ${r.OPENBLAS_CORETYPE ?? 'unset'}` }
}

const us = (s: number) => `${(s * 1e6).toFixed(1)} µs`
const rate = (rows: number) => `${Math.round(rows).toLocaleString('en-US')}`

const ours = backprop()
const theirs = torch()
const lines = [
  `## Online inference: mnist network (784-256-128-10), one thread`,
  '',
  `Command: \`npx tsx bench/latency.ts --calls ${calls} --repetitions ${repetitions}\``,
  '',
  `| | backprop: time per call | rows/s | PyTorch: time per call | rows/s | speed-up |`,
  `| --- | ---: | ---: | ---: | ---: | ---: |`,
]
for (const b of BATCHES) {
  const a = ours.perCall[b]!
  const t = typeof theirs === 'string' ? null : theirs.perCall[b]!
  lines.push(`| batch ${b}${b === 1 ? ' (predictRow)' : ''} | ${us(a)} | ${rate(b / a)} | ${t ? us(t) : '—'} | ${t ? rate(b / t) : '—'} | ${t ? `${(t / a).toFixed(2)}×` : '—'} |`)
}
lines.push(`| one row, p50 / p99 of single calls | ${us(ours.p50)} / ${us(ours.p99)} | | ${typeof theirs === 'string' ? '—' : `${us(theirs.p50)} / ${us(theirs.p99)}`} | | |`)
lines.push('', `${ours.about}; ${typeof theirs === 'string' ? `PyTorch not run: ${theirs}` : theirs.about}.`)
const text = lines.join('\n') + '\n'
process.stdout.write(text)
if (out) writeFileSync(out, text)
