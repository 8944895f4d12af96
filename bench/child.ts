/**
 * Runs one library's share of a benchmark in its own process, so that thread settings
 * (BACKPROP_THREADS is read once per process) and peak memory belong to that library alone.
 *
 *   node --import tsx bench/child.ts '<Job as JSON>'
 *
 * bench/train.bench.ts starts it; it prints one line `@@bench-result <JobResult as JSON>`.
 * For each case: a probe (two runs of one batch, the second timed) estimates an epoch's time. A
 * repetition is a whole epoch when one fits in timeSeconds; otherwise it is the first batches of
 * the data, as many as take about timeSeconds / minRepetitions. Then tinybench runs one warm-up
 * repetition and times repetitions until both timeSeconds and minRepetitions are reached; the
 * result is their median.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { Bench } from 'tinybench'
import { checksum, deviations, type CaseResult, type Job, type JobResult, type LibraryId, library } from './definitions.js'
import type { Adapter } from './libraries/adapter.js'

export const RESULT_PREFIX = '@@bench-result '

/** Reads a file of little-endian float32 values straight into a Float32Array (no extra copy). */
export function readFloats(path: string): Float32Array {
  const fd = openSync(path, 'r')
  try {
    const bytes = fstatSync(fd).size
    const out = new Float32Array(bytes / 4)
    const view = new Uint8Array(out.buffer)
    for (let done = 0; done < bytes; ) {
      const n = readSync(fd, view, done, bytes - done, null)
      if (n === 0) throw new Error(`${path}: ended after ${done} of ${bytes} bytes`)
      done += n
    }
    return out
  } finally {
    closeSync(fd)
  }
}

export async function loadAdapter(id: LibraryId): Promise<Adapter> {
  switch (id) {
    case 'native-1t':
    case 'native-2t':
      return (await import('./libraries/backprop.js')).backpropAdapter('native')
    case 'js':
      return (await import('./libraries/backprop.js')).backpropAdapter('js')
    case 'tfjs-cpu':
      return (await import('./libraries/tfjs.js')).tfjsAdapter('cpu')
    case 'tfjs-wasm':
      return (await import('./libraries/tfjs.js')).tfjsAdapter('wasm')
    case 'brain':
      return (await import('./libraries/brain.js')).brainAdapter()
    case 'torch-1t':
    case 'torch-2t':
      throw new Error('PyTorch runs in bench/libraries/torch_bench.py')
  }
}

async function runJob(job: Job): Promise<JobResult> {
  const files = new Map<string, Float32Array>()
  const load = (path: string) => files.get(path) ?? files.set(path, readFloats(path)).get(path)!
  for (const c of job.cases) {
    load(c.data.x)
    load(c.data.y)
  }
  const baselineRssMB = process.memoryUsage.rss() / 2 ** 20
  const adapter = await loadAdapter(job.library)
  const details = adapter.details()
  const expected = library(job.library).threads
  if (job.library.startsWith('native') && details.threads !== expected) {
    throw new Error(`${job.library}: the native engine runs ${details.threads} threads, expected ${expected} (BACKPROP_THREADS=${process.env.BACKPROP_THREADS})`)
  }
  const cases: CaseResult[] = []
  for (const c of job.cases) {
    const w = c.workload
    const x = load(c.data.x)
    const y = load(c.data.y)
    if (y.length < w.samples) throw new Error(`${c.id}: ${c.data.y} holds ${y.length} rows, the workload needs ${w.samples}`)
    const trainer = await adapter.create(w, x, y)
    try {
      // brain.js updates per sample, so its unit of work is one sample; the others', one batch.
      const unit = job.library === 'brain' ? 1 : Math.min(w.batch, w.samples)
      const probe = await trainer.prepare(unit)
      await probe()
      let started = performance.now()
      await probe()
      const perUnit = Math.max(performance.now() - started, 1e-3) / 1000
      // Whole epochs when one fits in the time budget; else repetitions of ~budget/minRepetitions.
      const unitsPerEpoch = Math.ceil(w.samples / unit)
      const fullEpoch = job.fullEpochs === true || unitsPerEpoch <= 1 || perUnit * unitsPerEpoch <= job.timeSeconds
      const target = job.timeSeconds / job.minRepetitions
      const rows = fullEpoch ? w.samples : Math.min(Math.max(1, Math.round(target / perUnit)), unitsPerEpoch - 1) * unit
      const run = await trainer.prepare(rows)
      const bench = new Bench({ time: job.timeSeconds * 1000, iterations: job.minRepetitions, warmupIterations: 1, warmupTime: 0, retainSamples: true, throws: true })
      bench.add(c.id, async () => {
        await run()
      })
      await bench.run()
      const result = bench.tasks[0]!.result
      if (result.state !== 'completed') throw new Error(`${c.id}: tinybench ended in state ${result.state}`)
      const ms = result.latency.p50
      const out: CaseResult = {
        id: c.id,
        samplesPerSecond: rows / (ms / 1000),
        samplesPerRepetition: rows,
        fullEpoch,
        repetitions: result.latency.samplesCount,
        spreadPercent: (100 * result.latency.mad) / ms,
        data: `${checksum(x.subarray(0, w.samples * w.sizes[0]!))} ${checksum(y.subarray(0, w.samples))}`,
        deviations: deviations(job.library, w),
      }
      if (job.timeFitCall && trainer.fitOnce) {
        if (!fullEpoch) throw new Error(`${c.id}: timeFitCall needs whole epochs`)
        started = performance.now()
        await trainer.fitOnce(w.samples)
        out.fitCallSeconds = (performance.now() - started) / 1000
        out.epochSeconds = ms / 1000
      }
      cases.push(out)
    } finally {
      trainer.dispose()
    }
  }
  return {
    library: job.library,
    version: adapter.version(),
    details,
    cases,
    baselineRssMB,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const job = JSON.parse(process.argv[2]!) as Job
  const result = await runJob(job)
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(result)}\n`)
  // TF.js and the native pool may keep handles open; the result is out, so leave now.
  process.exit(0)
}
