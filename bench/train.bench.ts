/**
 * Training benchmarks: the workloads of bench/definitions.ts on backprop's engines and on the
 * libraries people use instead, plus the scaling sweeps (batch size, layer width, dataset size,
 * threads). Run through bench/run.ts (`npm run bench`); `npx tsx bench/train.bench.ts [options]`
 * runs this suite alone with the same options.
 *
 * Every library runs in its own child process (bench/child.ts under Node,
 * bench/libraries/torch_bench.py under Python) on data generated once per run here and written
 * to a temporary directory, so every library reads the same float32 bytes. Rounds interleave the
 * libraries (in a rotated order) workload by workload, so a burst of load from elsewhere on a
 * shared machine hits one round of everything rather than one library: ratios are taken within
 * a round, and the reported numbers are medians over rounds.
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  LIBRARIES,
  WORKLOADS,
  dataKey,
  dataSpec,
  deviations,
  flopsPerSample,
  generateData,
  library,
  workload,
  type Case,
  type CaseResult,
  type DataSpec,
  type Job,
  type JobResult,
  type LibraryId,
  type Workload,
} from './definitions.js'
import { openblasCoretype } from './peak.js'
import { RESULT_PREFIX } from './child.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(HERE, '..')
const CHILD = join(HERE, 'child.ts')
const TORCH_SCRIPT = join(HERE, 'libraries', 'torch_bench.py')
/** A child that runs longer than this is stopped and reported as failed. */
const CHILD_TIMEOUT_MS = 15 * 60 * 1000

export interface TrainOptions {
  workloads: string[]
  libraries: LibraryId[]
  rounds: number
  timeSeconds: number
  minRepetitions: number
  /** Which sweeps to run (empty: none). */
  sweeps: Sweep['name'][]
  quick: boolean
  /** Before each measurement, wait up to this long for other processes to leave the CPUs idle. */
  maxWaitSeconds: number
  log: (line: string) => void
}

/** Whether a peer library can run here, and why not. */
export interface Availability {
  available: boolean
  reason?: string
  /** The interpreter that has torch. */
  python?: string
  blas?: string
}

export interface LibraryRun {
  workload: string
  library: LibraryId
  /** Per round; null where that round failed. */
  samplesPerSecond: (number | null)[]
  median: number | null
  peakRssMB: number | null
  baselineRssMB: number | null
  /** e.g. 'epoch' or '12 batches'. */
  timed: string
  /** CPU cores busy with other work just before each round's measurement started (see quietMoment). */
  busyCores: number[]
  spreadPercent: number | null
  deviations: string[]
  error?: string
  data?: string
}

export interface Ratio {
  workload: string
  numerator: LibraryId
  denominator: LibraryId
  /** Median over rounds of the ratio within each round. */
  median: number
  perRound: number[]
}

export interface Target {
  text: string
  workload: string
  numerator: LibraryId
  denominator: LibraryId
  goal: number
  measured: number | null
  met: boolean | null
}

export interface Sweep {
  name: 'batch' | 'width' | 'dataset'
  title: string
  /** The variable and its values. */
  variable: string
  points: SweepPoint[]
}

export interface SweepPoint {
  library: LibraryId
  value: number
  samplesPerSecond: number | null
  gflops: number | null
  timed: string
  /** dataset sweep: one fit() call with one epoch (setup included), and the median epoch. */
  fitCallSeconds?: number
  epochSeconds?: number
  /** Median of the cores busy with other work when its measurements started. */
  busyCores?: number
  error?: string
}

export interface TrainResults {
  workloads: Workload[]
  libraries: { id: LibraryId; label: string; version: string | null; details: Record<string, unknown> | null; available: boolean; reason?: string }[]
  runs: LibraryRun[]
  ratios: Ratio[]
  targets: Target[]
  sweeps: Sweep[]
  settings: { rounds: number; timeSeconds: number; minRepetitions: number }
}

/** Libraries selected by name: an exact id, or a prefix ('native' → native-1t and native-2t). */
export function selectLibraries(names: string[]): LibraryId[] {
  if (names.length === 0) return LIBRARIES.map((l) => l.id)
  const out = new Set<LibraryId>()
  for (const name of names) {
    const matches = LIBRARIES.filter((l) => l.id === name || l.id.startsWith(`${name}-`) || (name === 'tfjs' && l.id.startsWith('tfjs')))
    if (matches.length === 0) throw new Error(`unknown library '${name}': one of ${LIBRARIES.map((l) => l.id).join(', ')} (or native, torch, tfjs)`)
    for (const m of matches) out.add(m.id)
  }
  return LIBRARIES.filter((l) => out.has(l.id)).map((l) => l.id)
}

export function selectWorkloads(names: string[]): string[] {
  if (names.length === 0) return WORKLOADS.map((w) => w.name)
  for (const n of names) workload(n)
  return names
}

/** Which libraries can run here. PyTorch needs an interpreter with torch (Debian: python3-torch). */
export function checkAvailability(ids: LibraryId[]): Map<LibraryId, Availability> {
  const out = new Map<LibraryId, Availability>()
  const require = createRequire(import.meta.url)
  const resolves = (name: string): string | null => {
    try {
      require.resolve(name)
      return null
    } catch {
      return `${name} is not installed (npm install: it is a devDependency)`
    }
  }
  let torch: Availability | null = null
  for (const id of ids) {
    switch (id) {
      case 'native-1t':
      case 'native-2t': {
        const missing = existsSync(join(ROOT, 'native', 'index.js')) ? null : 'the native addon is not built (npm run build)'
        out.set(id, missing ? { available: false, reason: missing } : { available: true })
        break
      }
      case 'js':
        out.set(id, { available: true })
        break
      case 'tfjs-cpu':
      case 'tfjs-wasm':
      case 'brain': {
        const name = id === 'brain' ? 'brain.js' : id === 'tfjs-cpu' ? '@tensorflow/tfjs' : '@tensorflow/tfjs-backend-wasm'
        const missing = resolves(name) ?? (id === 'tfjs-wasm' ? resolves('@tensorflow/tfjs') : null)
        out.set(id, missing ? { available: false, reason: missing } : { available: true })
        break
      }
      case 'torch-1t':
      case 'torch-2t':
        torch ??= findTorch()
        out.set(id, torch)
        break
    }
  }
  return out
}

/** The first Python that imports torch: $BACKPROP_BENCH_PYTHON, python3, then Debian's /usr/bin/python3. */
let torchCache: Availability | null = null
export function findTorch(): Availability {
  torchCache ??= probeTorch()
  return torchCache
}

function probeTorch(): Availability {
  const candidates = [process.env.BACKPROP_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c)
  const tried: string[] = []
  for (const python of [...new Set(candidates)]) {
    try {
      const out = execFileSync(python, [TORCH_SCRIPT, '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 })
      const info = JSON.parse(out.trim().split('\n').at(-1)!) as { torch?: string; blas?: string; error?: string }
      if (info.torch) return { available: true, python, ...(info.blas && { blas: info.blas }) }
      tried.push(`${python}: ${info.error}`)
    } catch (error) {
      tried.push(`${python}: ${(error as Error).message.split('\n')[0]}`)
    }
  }
  return { available: false, reason: `PyTorch is not installed (apt-get install python3-torch); tried ${tried.join('; ')}` }
}

/** The run's data: generated once per spec, written as raw float32 files every library reads. */
export class DataStore {
  private readonly dir = mkdtempSync(join(tmpdir(), 'backprop-bench-'))
  private readonly files = new Map<string, Case['data']>()

  /** The files for `spec`, generating them on first use. */
  get(spec: DataSpec): Case['data'] {
    const key = dataKey(spec)
    let files = this.files.get(key)
    if (!files) {
      const { x, y } = generateData(spec)
      files = { x: join(this.dir, `${key}.x.f32`), y: join(this.dir, `${key}.y.f32`), spec }
      writeFileSync(files.x, new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
      writeFileSync(files.y, new Uint8Array(y.buffer, y.byteOffset, y.byteLength))
      this.files.set(key, files)
    }
    return files
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** The environment of a library's process: its thread count, and OpenBLAS's best kernel for torch. */
function childEnv(id: LibraryId): NodeJS.ProcessEnv {
  const lib = library(id)
  const env: NodeJS.ProcessEnv = { ...process.env, BACKPROP_THREADS: String(lib.threads) }
  delete env.BACKPROP_BACKEND
  if (lib.runtime === 'python') {
    env.OMP_NUM_THREADS = String(lib.threads)
    // PyTorch gets OpenBLAS's fastest kernels (see openblasCoretype): its AVX-512 ones trained
    // 1.3-1.8x faster on Zen 5 than those it picked itself.
    const core = openblasCoretype(env)
    if (core) env.OPENBLAS_CORETYPE = core
  }
  return env
}

/** Total and idle CPU time of the whole machine so far (jiffies), from /proc/stat. */
function cpuTimes(): { total: number; idle: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    return { total: fields.reduce((a, b) => a + b, 0), idle: fields[3]! + (fields[4] ?? 0) }
  } catch {
    return null
  }
}

/**
 * Waits (up to maxWaitSeconds) until other processes leave the CPUs nearly idle, and returns how
 * many cores they kept busy in the last 0.3 s before the measurement starts. The benchmark runs
 * nothing between its children, so whatever the machine does then is someone else's load; a
 * shared machine's bursts then fall between measurements more often than inside them.
 */
export async function quietMoment(maxWaitSeconds: number, log: (line: string) => void): Promise<number> {
  const cores = availableParallelism()
  const started = performance.now()
  let waited = false
  for (;;) {
    const a = cpuTimes()
    await new Promise((r) => setTimeout(r, 300))
    const b = cpuTimes()
    if (!a || !b || b.total === a.total) return 0
    const busy = cores * (1 - (b.idle - a.idle) / (b.total - a.total))
    if (busy < 0.25 || (performance.now() - started) / 1000 >= maxWaitSeconds) {
      if (waited) log(`    (waited ${((performance.now() - started) / 1000).toFixed(0)} s for other processes; ${busy.toFixed(2)} cores busy now)`)
      return Math.max(0, busy)
    }
    waited = true
    await new Promise((r) => setTimeout(r, 700))
  }
}

/** Runs a job in a child process and returns its result. */
export function runChild(job: Job, python?: string): Promise<JobResult> {
  const lib = library(job.library)
  const [command, args] =
    lib.runtime === 'python'
      ? [python ?? 'python3', [TORCH_SCRIPT, JSON.stringify(job)]]
      : [process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(job)]]
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: childEnv(job.library), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
      if (code === 0 && line) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as JobResult)
      const why = stderr.trim().split('\n').filter((l) => l.trim()).slice(-3).join(' | ') || `exit ${code ?? signal}`
      reject(new Error(`${job.library}: ${why}`))
    })
  })
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function timedLabel(c: CaseResult, w: Workload, lib: LibraryId): string {
  if (c.fullEpoch) return w.kind === 'infer' ? 'all samples' : 'epoch'
  if (lib === 'brain') return `${c.samplesPerRepetition} samples`
  const batches = c.samplesPerRepetition / w.batch
  return `${batches} batch${batches === 1 ? '' : 'es'}`
}

/** The comparison: every selected workload on every selected library, in interleaved rounds. */
async function compare(options: TrainOptions, store: DataStore, available: Map<LibraryId, Availability>): Promise<{ runs: LibraryRun[]; results: Map<LibraryId, JobResult> }> {
  const runs = new Map<string, LibraryRun>()
  const last = new Map<LibraryId, JobResult>()
  const libs = options.libraries.filter((l) => available.get(l)?.available)
  for (const name of options.workloads) {
    const w = workload(name)
    for (const id of options.libraries) {
      const a = available.get(id)!
      runs.set(`${name}/${id}`, {
        workload: name, library: id, samplesPerSecond: [], busyCores: [], median: null, peakRssMB: null, baselineRssMB: null,
        timed: '', spreadPercent: null, deviations: deviations(id, w), ...(!a.available && { error: a.reason }),
      })
    }
  }
  const peaks = new Map<string, number[]>()
  for (let round = 0; round < options.rounds; round++) {
    for (const name of options.workloads) {
      const w = workload(name)
      const data = store.get(dataSpec(w, w.samples))
      // Rotate the order each round so no library always runs first (or right after another).
      const order = libs.map((_, i) => libs[(i + round) % libs.length]!)
      for (const id of order) {
        const run = runs.get(`${name}/${id}`)!
        const job: Job = { library: id, cases: [{ id: name, workload: w, data }], timeSeconds: options.timeSeconds, minRepetitions: options.minRepetitions }
        run.busyCores.push(await quietMoment(options.maxWaitSeconds, options.log))
        try {
          const result = await runChild(job, available.get(id)!.python)
          const c = result.cases[0]!
          last.set(id, result)
          run.samplesPerSecond.push(c.samplesPerSecond)
          run.timed = timedLabel(c, w, id)
          run.spreadPercent = c.spreadPercent
          run.data = c.data
          run.baselineRssMB = result.baselineRssMB
          peaks.set(`${name}/${id}`, [...(peaks.get(`${name}/${id}`) ?? []), result.peakRssMB])
          options.log(`  round ${round + 1}/${options.rounds}  ${name.padEnd(6)} ${id.padEnd(10)} ${fmt(c.samplesPerSecond).padStart(9)} samples/s  (${run.timed}, ±${c.spreadPercent.toFixed(1)}%, peak ${result.peakRssMB.toFixed(0)} MB)`)
        } catch (error) {
          run.samplesPerSecond.push(null)
          run.error = (error as Error).message
          options.log(`  round ${round + 1}/${options.rounds}  ${name.padEnd(6)} ${id.padEnd(10)} failed: ${run.error}`)
        }
      }
    }
  }
  for (const [key, run] of runs) {
    const ok = run.samplesPerSecond.filter((v): v is number => v !== null)
    if (ok.length) {
      run.median = median(ok)
      run.peakRssMB = median(peaks.get(key)!)
      delete run.error
    }
  }
  return { runs: [...runs.values()], results: last }
}

/** Ratios within each round (ours over each other library), then their median over rounds. */
function ratios(runs: LibraryRun[], workloads: string[]): Ratio[] {
  const out: Ratio[] = []
  const ours: LibraryId[] = ['native-1t', 'native-2t', 'js']
  for (const w of workloads) {
    const of = (id: LibraryId) => runs.find((r) => r.workload === w && r.library === id)
    for (const num of ours) {
      const a = of(num)
      if (!a) continue
      for (const r of runs.filter((r) => r.workload === w && r.library !== num)) {
        const perRound = a.samplesPerSecond.flatMap((v, i) => {
          const d = r.samplesPerSecond[i]
          return v !== null && d !== null && d !== undefined ? [v / d] : []
        })
        if (perRound.length) out.push({ workload: w, numerator: num, denominator: r.library, median: median(perRound), perRound })
      }
    }
  }
  return out
}

/** The issue's targets, reported (never asserted). */
function targets(found: Ratio[]): Target[] {
  const list: Omit<Target, 'measured' | 'met'>[] = []
  for (const w of ['mnist', 'wide']) {
    list.push({ text: `native (1 thread) ≥ 50× TF.js WASM on ${w}`, workload: w, numerator: 'native-1t', denominator: 'tfjs-wasm', goal: 50 })
    list.push({ text: `native (2 threads) ≥ 50× TF.js WASM on ${w}`, workload: w, numerator: 'native-2t', denominator: 'tfjs-wasm', goal: 50 })
  }
  for (const w of WORKLOADS) {
    list.push({ text: `native ≥ 1.5× PyTorch on ${w.name}, 1 thread each`, workload: w.name, numerator: 'native-1t', denominator: 'torch-1t', goal: 1.5 })
    list.push({ text: `native ≥ 1.5× PyTorch on ${w.name}, 2 threads each`, workload: w.name, numerator: 'native-2t', denominator: 'torch-2t', goal: 1.5 })
  }
  list.push({ text: 'JS engine ≥ 5× TF.js CPU on mnist', workload: 'mnist', numerator: 'js', denominator: 'tfjs-cpu', goal: 5 })
  list.push({ text: 'JS engine ≥ 1× TF.js WASM on mnist (aim)', workload: 'mnist', numerator: 'js', denominator: 'tfjs-wasm', goal: 1 })
  return list.map((t) => {
    const r = found.find((r) => r.workload === t.workload && r.numerator === t.numerator && r.denominator === t.denominator)
    return { ...t, measured: r?.median ?? null, met: r ? r.median >= t.goal : null }
  })
}

/** The scaling sweeps: which networks, on which libraries. */
export function sweepPlan(quick: boolean): { name: Sweep['name']; title: string; variable: string; libraries: LibraryId[]; cases: { value: number; workload: Workload; rows: number }[]; timeFitCall?: boolean }[] {
  const mnist = workload('mnist')
  const batches = quick ? [1, 16, 256] : [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
  const widths = quick ? [64, 512, 2048] : [64, 128, 256, 512, 1024, 2048]
  const sizes = quick ? [2048, 16384] : [1024, 4096, 16384, 65536]
  return [
    {
      name: 'batch',
      title: 'Training throughput against batch size (784 → 256 → 128 → 10 ReLU, Adam)',
      variable: 'batch size',
      libraries: quick ? ['native-1t', 'js'] : ['native-1t', 'native-2t', 'js', 'torch-1t', 'torch-2t'],
      cases: batches.map((b) => ({ value: b, workload: { ...mnist, name: `batch=${b}`, batch: b }, rows: mnist.samples })),
    },
    {
      name: 'width',
      title: 'Training throughput against layer width (784 → W → W → 10 ReLU, Adam, batch 128)',
      variable: 'width W',
      libraries: quick ? ['native-1t', 'native-2t'] : ['native-1t', 'native-2t', 'js', 'torch-1t', 'torch-2t'],
      cases: widths.map((width) => ({ value: width, workload: { ...mnist, name: `width=${width}`, sizes: [784, width, width, 10] }, rows: mnist.samples })),
    },
    {
      name: 'dataset',
      title: 'Epoch time against dataset size (784 → 256 → 128 → 10 ReLU, Adam, batch 128)',
      variable: 'samples',
      libraries: quick ? ['native-1t'] : ['native-1t', 'native-2t'],
      cases: sizes.map((n) => ({ value: n, workload: { ...mnist, name: `samples=${n}`, samples: n }, rows: n })),
      timeFitCall: true,
    },
  ]
}

/**
 * The sweeps, in rounds like the comparison: each round runs every sweep on every library (one
 * process per library and sweep, all its cases), libraries in a rotated order; each point is the
 * median over rounds. Shorter timing per case than the comparison (a quarter of timeSeconds).
 */
async function sweeps(options: TrainOptions, store: DataStore, available: Map<LibraryId, Availability>, into: Map<LibraryId, JobResult>): Promise<Sweep[]> {
  const plans = sweepPlan(options.quick).filter((p) => options.sweeps.includes(p.name))
  const values = new Map<string, { sps: number[]; fit: number[]; epoch: number[]; load: number[]; timed: string; error?: string }>()
  const key = (plan: string, id: LibraryId, value: number) => `${plan}|${id}|${value}`
  for (const plan of plans) {
    for (const id of plan.libraries) {
      if (!available.has(id)) available.set(id, checkAvailability([id]).get(id)!)
      for (const c of plan.cases) values.set(key(plan.name, id, c.value), { sps: [], fit: [], epoch: [], load: [], timed: '' })
    }
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const plan of plans) {
      // One data file per sweep: the largest size; each case reads its first rows.
      const data = store.get(dataSpec(plan.cases[0]!.workload, Math.max(...plan.cases.map((c) => c.rows))))
      const libs = plan.libraries.filter((id) => available.get(id)!.available)
      for (const id of libs.map((_, i) => libs[(i + round) % libs.length]!)) {
        const job: Job = {
          library: id,
          cases: plan.cases.map((c) => ({ id: c.workload.name, workload: c.workload, data })),
          timeSeconds: Math.max(options.timeSeconds / 4, 0.2),
          minRepetitions: options.minRepetitions,
          // The dataset sweep times whole epochs (fit's setup is compared with one epoch).
          ...(plan.timeFitCall && { timeFitCall: true, fullEpochs: true }),
        }
        const load = await quietMoment(options.maxWaitSeconds, options.log)
        try {
          const result = await runChild(job, available.get(id)!.python)
          if (!into.has(id)) into.set(id, result)
          for (const [i, c] of result.cases.entries()) {
            const v = values.get(key(plan.name, id, plan.cases[i]!.value))!
            v.sps.push(c.samplesPerSecond)
            v.load.push(load)
            v.timed = timedLabel(c, plan.cases[i]!.workload, id)
            if (c.fitCallSeconds !== undefined) {
              v.fit.push(c.fitCallSeconds)
              v.epoch.push(c.epochSeconds!)
            }
          }
          options.log(`  round ${round + 1}/${options.rounds}  ${plan.name} sweep ${id}: ${result.cases.map((c) => `${c.id} ${fmt(c.samplesPerSecond)}`).join(', ')}`)
        } catch (error) {
          for (const c of plan.cases) values.get(key(plan.name, id, c.value))!.error = (error as Error).message
          options.log(`  round ${round + 1}/${options.rounds}  ${plan.name} sweep ${id} failed: ${(error as Error).message}`)
        }
      }
    }
  }
  return plans.map((plan) => ({
    name: plan.name,
    title: plan.title,
    variable: plan.variable,
    points: plan.libraries.flatMap((id) =>
      plan.cases.map((c): SweepPoint => {
        const v = values.get(key(plan.name, id, c.value))!
        const reason = available.get(id)!.available ? v.error : available.get(id)!.reason
        if (v.sps.length === 0) return { library: id, value: c.value, samplesPerSecond: null, gflops: null, timed: '', error: reason ?? 'not measured' }
        const sps = median(v.sps)
        return {
          library: id, value: c.value, samplesPerSecond: sps, gflops: (sps * flopsPerSample(c.workload)) / 1e9, timed: v.timed,
          busyCores: median(v.load),
          ...(v.fit.length && { fitCallSeconds: median(v.fit), epochSeconds: median(v.epoch) }),
        }
      }),
    ),
  }))
}

export async function runTrainBench(options: TrainOptions): Promise<TrainResults> {
  const available = checkAvailability(options.libraries)
  for (const [id, a] of available) if (!a.available) options.log(`  ${id}: skipped — ${a.reason}`)
  const store = new DataStore()
  try {
    const { runs, results } = await compare(options, store, available)
    const sweepResults = await sweeps(options, store, available, results)
    const found = ratios(runs, options.workloads)
    const libs = [...new Set([...options.libraries, ...sweepResults.flatMap((s) => s.points.map((p) => p.library))])]
    return {
      workloads: options.workloads.map(workload),
      libraries: libs.map((id) => {
        const a = available.get(id)!
        const r = results.get(id)
        return { id, label: library(id).label, version: r?.version ?? null, details: r?.details ?? null, available: a.available, ...(a.reason && { reason: a.reason }) }
      }),
      runs,
      ratios: found,
      targets: targets(found).filter((t) => options.workloads.includes(t.workload) && options.libraries.includes(t.numerator) && options.libraries.includes(t.denominator)),
      sweeps: sweepResults,
      settings: { rounds: options.rounds, timeSeconds: options.timeSeconds, minRepetitions: options.minRepetitions },
    }
  } finally {
    store.dispose()
  }
}

export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—'
  if (v >= 100) return Math.round(v).toLocaleString('en-US')
  if (v >= 10) return v.toFixed(1)
  return v.toPrecision(3)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { main } = await import('./run.js')
  await main(['--suite', 'train,scaling', ...process.argv.slice(2)], `npx tsx bench/train.bench.ts ${process.argv.slice(2).join(' ')}`.trim())
}
