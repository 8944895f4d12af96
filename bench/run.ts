/**
 * The benchmark suite's command: `npm run bench [-- options]`.
 *
 *   npm run bench                                      # everything: kernels, comparison, scaling (~15 min)
 *   npm run bench -- --quick                           # a representative subset, under 2 minutes
 *   npm run bench -- --workload mnist --library native # one workload on one library (both thread counts)
 *   npm run bench -- --suite kernels                   # only the kernel benchmarks
 *
 * A full run writes bench/results/ (results.json, results.md, the SVG charts) and the README's
 * benchmark section; any partial run (--quick, a selection, a suite) writes bench/results/partial/
 * instead, unless --out says where.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, release, totalmem } from 'node:os'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import { backendInfo } from '../lib/index.js'
import { renderSvg } from '../lib/report/render-svg.js'
import { runKernelBench } from './kernels.bench.js'
import { describePeak, measurePeak, measureRoundTrip } from './peak.js'
import { chartSpecs, readmeSection, resultsMarkdown, type BenchResults, type Machine } from './report.js'
import { runTrainBench, selectLibraries, selectWorkloads, type Sweep } from './train.bench.js'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(HERE, '..')
const README = join(ROOT, 'README.md')
const BEGIN = '<!-- bench:begin (written by npm run bench) -->'
const END = '<!-- bench:end -->'
const SUITES = ['kernels', 'train', 'scaling'] as const
type Suite = (typeof SUITES)[number]

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)]
const positive = (name: string, integer: boolean, zero = false) => (value: string) => {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (integer && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${name} must be a ${zero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}`)
  }
  return n
}

function program(): Command {
  return new Command('bench')
    .description('Benchmarks: native vs JS kernels, training and inference against other libraries, scaling.')
    .option('--quick', 'a representative subset in under 2 minutes')
    .option('--workload <names>', 'workloads to run, comma-separated or repeated (small, mnist, wide, infer)', list)
    .option('--library <names>', 'libraries to run: native-1t, native-2t, js, tfjs-cpu, tfjs-wasm, brain, torch-1t, torch-2t, or native, tfjs, torch for both of a kind', list)
    .addOption(new Option('--suite <names>', `parts to run, comma-separated: ${SUITES.join(', ')} (default: all; only train when a workload or library is chosen)`).argParser(list))
    .option('--rounds <n>', 'interleaved rounds of the comparison (default 3, quick 1)', positive('--rounds', true))
    .option('--time <seconds>', 'timed seconds per library and workload in each round (default 2, quick 0.4)', positive('--time', false))
    .option('--repetitions <n>', 'fewest timed repetitions per measurement (default 5, quick 3)', positive('--repetitions', true))
    .option('--max-wait <seconds>', 'before each training measurement, wait up to this long for other processes to leave the CPUs idle (default 60, quick 0)', positive('--max-wait', false, true))
    .option('--out <dir>', 'where to write results (default bench/results, or bench/results/partial for a partial run)')
    .option('--render', 'measure nothing: rewrite results.md, the charts and (for a full run) the README from the results.json in --out')
    .option('--no-readme', "do not rewrite the README's benchmark section after a full run")
}

function machine(): Omit<Machine, 'loadAverage'> {
  let cpu = 'unknown CPU'
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    const field = (name: string) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim()
    cpu = `${field('model name') ?? 'unknown'} (family ${field('cpu family')}, model ${field('model')})`
  } catch {
    // Not Linux: the model name is not needed to run.
  }
  let os = `${process.platform} ${release()}`
  try {
    const pretty = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1]
    if (pretty) os = `${pretty}, Linux ${release()}`
  } catch {
    // Fine without it.
  }
  let isa: string | null = null
  try {
    isa = backendInfo().isa
  } catch {
    isa = null
  }
  return { cpu, cores: availableParallelism(), isa, node: process.version, os, memoryGB: totalmem() / 2 ** 30 }
}

function versions(): Record<string, string> {
  const require = createRequire(import.meta.url)
  const out: Record<string, string> = {}
  for (const name of ['backprop', 'tinybench', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'brain.js']) {
    try {
      const path = name === 'backprop' ? join(ROOT, 'package.json') : require.resolve(`${name}/package.json`)
      out[name] = (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
    } catch {
      // Not installed: the comparison says so.
    }
  }
  return out
}

/** Runs the suite; `invocation` is how the user ran it, recorded with the results. */
export async function main(argv: string[], invocation = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`): Promise<void> {
  const cmd = program()
  cmd.parse(argv, { from: 'user' })
  const o = cmd.opts<{ quick?: boolean; workload?: string[]; library?: string[]; suite?: string[]; rounds?: number; time?: number; repetitions?: number; maxWait?: number; out?: string; render?: boolean; readme: boolean }>()
  const selected = Boolean(o.workload?.length || o.library?.length)
  const suites = new Set<Suite>(
    o.suite?.length
      ? o.suite.map((s) => {
          if (!(SUITES as readonly string[]).includes(s)) throw new InvalidArgumentError(`unknown suite '${s}': one of ${SUITES.join(', ')}`)
          return s as Suite
        })
      : selected ? ['train'] : SUITES,
  )
  const quick = Boolean(o.quick)
  const full = !quick && !selected && suites.size === SUITES.length && o.rounds === undefined && o.time === undefined && o.repetitions === undefined
  const outDir = o.out ?? join(HERE, 'results', ...(full ? [] : ['partial']))
  const log = (line: string) => console.log(line)
  if (o.render) {
    const dir = o.out ?? join(HERE, 'results')
    const saved = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults
    await writeResults(saved, dir, o.readme && saved.command === 'npm run bench' && o.out === undefined, log)
    return
  }
  const started = performance.now()
  const before = loadavg()
  const results: BenchResults = {
    date: new Date().toISOString(),
    command: invocation,
    durationSeconds: null,
    machine: { ...machine(), loadAverage: { before, after: null } },
    versions: versions(),
    kernels: null,
    train: null,
  }
  log(`backprop benchmarks — ${results.machine.cpu}, ${results.machine.cores} cores, ISA ${results.machine.isa}, Node ${process.version}; load average ${before.map((l) => l.toFixed(2)).join(' ')}`)
  if (before[0]! > results.machine.cores * 0.5) log(`  note: the machine is busy (load ${before[0]!.toFixed(2)} on ${results.machine.cores} cores); results will be noisier`)

  log('Measuring the machine\'s peak (cargo run --example peak) and a BLAS sgemm for reference …')
  results.machine.peak = measurePeak()
  log(`  ${describePeak(results.machine.peak, results.machine.cores)}`)

  if (suites.has('kernels')) {
    log('Kernels')
    results.kernels = await runKernelBench({ quick, log })
  }
  if (suites.has('train') || suites.has('scaling')) {
    log(suites.has('train') ? 'Training and inference comparison' : 'Scaling')
    const workloads = suites.has('train') ? selectWorkloads(o.workload ?? (quick ? ['small', 'mnist', 'infer'] : [])) : []
    const libraries = selectLibraries(o.library ?? (quick ? ['native', 'js', 'tfjs-wasm', 'torch-1t'] : []))
    const sweeps: Sweep['name'][] = suites.has('scaling') ? ['batch', 'width', 'dataset'] : []
    results.train = await runTrainBench({
      workloads,
      libraries,
      rounds: o.rounds ?? (quick ? 1 : 3),
      timeSeconds: o.time ?? (quick ? 0.4 : 2),
      minRepetitions: o.repetitions ?? (quick ? 3 : 5),
      sweeps,
      quick,
      maxWaitSeconds: o.maxWait ?? (quick ? 0 : 60),
      log,
    })
  }
  const peak = results.machine.peak
  if (peak && !('unavailable' in peak) && peak.roundTripNs?.start != null) {
    peak.roundTripNs.end = measureRoundTrip()
    log(`  a cache line's round trip between two cores: ${peak.roundTripNs.start} ns at the start, ${peak.roundTripNs.end ?? '?'} at the end`)
  }
  results.machine.loadAverage.after = loadavg()
  results.durationSeconds = (performance.now() - started) / 1000
  for (const l of results.train?.libraries ?? []) {
    if (l.id.startsWith('torch') && l.version) {
      results.versions.torch = l.version
      const blas = l.details?.blas
      if (typeof blas === 'string') results.versions.BLAS = blas
    }
  }

  await writeResults(results, outDir, full && o.readme, log)
  log(`(${results.durationSeconds.toFixed(0)} s)`)
  console.log(`\n${readFileSync(join(outDir, 'results.md'), 'utf8')}`)
}

/** results.json, results.md and the charts into `dir`; the README's section when asked. */
async function writeResults(results: BenchResults, dir: string, readme: boolean, log: (line: string) => void): Promise<void> {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(join(dir, 'results.md'), `${resultsMarkdown(results)}\n`)
  if (results.train) {
    for (const [file, spec] of Object.entries(chartSpecs(results.train))) writeFileSync(join(dir, file), await renderSvg(spec))
  }
  log(`\nWrote ${relative(process.cwd(), dir) || '.'}/results.{json,md} and charts`)
  if (!readme || !results.train) return
  const text = readFileSync(README, 'utf8')
  const start = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  if (start >= 0 && end > start) {
    writeFileSync(README, `${text.slice(0, start + BEGIN.length)}\n${readmeSection(results)}\n${text.slice(end)}`)
    log("Updated the README's benchmark section")
  } else {
    log(`README.md has no ${BEGIN} … ${END} section; not updated`)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main(process.argv.slice(2))
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`)
    process.exitCode = 1
  }
}
