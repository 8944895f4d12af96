/**
 * Random search of 20 trials on the UCI digits (8×8 images, 1797 samples), run one trial after
 * another in this thread and on 2 worker threads, in the same process, interleaved over a few
 * rounds so that load from anything else on the machine hits both alike. Prints each time, the
 * parallel/sequential ratio (the goal is < 0.65), the best validation accuracy (goal ≥ 0.97),
 * and checks that both ways found the same trials with the same scores.
 *
 *   npm run build && npx tsx bench/search-digits.ts [--rounds 5] [--from dist|source] [--backend auto|js|native] [--out DIR]
 *
 * --from dist (the default) runs the built package, as an installed backprop runs; --from
 * source runs lib/ through tsx, whose workers each pay ~0.5 s to load the loader and compile.
 * Each trial's engine is single-threaded (BACKPROP_THREADS=1 unless set), both ways. Before and
 * after, a probe times a fixed compute loop run twice in a row and on 2 threads at once: the
 * best any parallel run can do on the machine as it is (other work shares the cores).
 *
 * With --out, writes the last parallel search's results as JSON, CSV and a chart (SVG and its
 * Vega-Lite spec).
 */
import { mkdirSync, statSync, readdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import type * as Backprop from '../lib/index.js'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    from: { type: 'string', default: 'dist' },
    backend: { type: 'string', default: 'auto' },
    out: { type: 'string' },
  },
})
const rounds = Number(args.rounds)
// One model per core: keep each trial's engine single-threaded, in both ways of running, as
// `backprop search` does. Set before the native kernels start (they read it once per process).
process.env.BACKPROP_THREADS ??= '1'

const root = fileURLToPath(new URL('..', import.meta.url))
if (args.from === 'dist') requireFreshBuild()
// Typed from the sources; loaded from where --from says.
const lib = (await import(args.from === 'dist' ? pathToFileURL(join(root, 'dist/index.js')).href : '../lib/index.js')) as typeof Backprop
const { Matrix, backendInfo, loadDataset, logUniform, randomSearch, uniform } = lib

const digits = await loadDataset('digits')
// Pixels are 0–16: scale to [0, 1].
const x = new Matrix(digits.x.rows, digits.x.cols, digits.x.data.map((v) => v / 16))

const space: Backprop.SearchSpace = {
  layers: [[64], [128], [128, 64], [256, 128]],
  learningRate: logUniform(3e-4, 3e-2),
  batchSize: [16, 32, 64],
  dropout: uniform(0, 0.3),
  l2: [0, 1e-4],
  epochs: [60],
}

async function search(workers: number): Promise<{ ms: number; result: Backprop.SearchResult }> {
  const started = performance.now()
  const result = await randomSearch(x, digits.y, space, {
    loss: 'sparseCategoricalCrossEntropy',
    trials: 20,
    seed: 2024,
    validationSplit: 0.2,
    earlyStopping: 8,
    workers,
    backend: args.backend as Backprop.Backend,
    // Timed: the trials only. The refit is the same work either way.
    refit: false,
  })
  return { ms: performance.now() - started, result }
}

const outcome = (r: Backprop.SearchResult) => JSON.stringify([...r.trials].sort((a, b) => a.index - b.index).map((t) => [t.params, t.status, t.score]))
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ')

const info = backendInfo()
console.log(`engine: ${args.backend === 'auto' ? info.engine : args.backend} (native threads: ${info.threads ?? 'n/a'}); from ${args.from}; load average ${load()}`)
console.log(`probe: ${await probe()}`)
const ratios: number[] = []
let last: Backprop.SearchResult | null = null
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so neither always runs on a warmer (or busier) machine.
  const order = round % 2 === 0 ? [0, 2] : [2, 0]
  const times: Record<number, number> = {}
  const results: Record<number, Backprop.SearchResult> = {}
  for (const workers of order) {
    const { ms, result } = await search(workers)
    times[workers] = ms
    results[workers] = result
  }
  if (outcome(results[0]!) !== outcome(results[2]!)) throw new Error('the sequential and parallel searches found different trials or scores')
  ratios.push(times[2]! / times[0]!)
  last = results[2]!
  console.log(
    `round ${round + 1}: sequential ${(times[0]! / 1000).toFixed(2)} s, 2 workers ${(times[2]! / 1000).toFixed(2)} s, ratio ${ratios.at(-1)!.toFixed(3)}; same trials and scores: yes`,
  )
}
console.log(`probe: ${await probe()}; load average ${load()}`)
const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!
const best = last!.best!
console.log(`median ratio ${median.toFixed(3)} (goal < 0.65): ${median < 0.65 ? 'met' : 'NOT met'}; best round ${Math.min(...ratios).toFixed(3)}`)
console.log(`best validation accuracy ${best.score!.toFixed(4)} (goal ≥ 0.97): ${best.score! >= 0.97 ? 'met' : 'NOT met'}; trial ${best.index}: ${JSON.stringify(best.params)}`)

if (args.out) {
  mkdirSync(args.out, { recursive: true })
  writeFileSync(join(args.out, 'search-digits.json'), JSON.stringify(last, null, 2))
  writeFileSync(join(args.out, 'search-digits.csv'), last!.toCSV())
  writeFileSync(join(args.out, 'search-digits.vl.json'), JSON.stringify(last!.chartSpec(), null, 2))
  writeFileSync(join(args.out, 'search-digits.svg'), await last!.chartSvg())
  console.log(`results written to ${args.out}`)
}

/**
 * A fixed single-threaded compute loop, twice in a row and then on 2 worker threads at once:
 * their ratio is what the machine offers a 2-way parallel job right now.
 */
async function probe(): Promise<string> {
  const code = `
    const { parentPort } = require('node:worker_threads')
    let s = 0
    for (let i = 0; i < 3e8; i++) s = (s + i * 7) % 1000003
    parentPort.postMessage(s)`
  const once = () => new Promise((resolve) => new Worker(code, { eval: true }).once('message', resolve))
  let started = performance.now()
  await once()
  await once()
  const serial = performance.now() - started
  started = performance.now()
  await Promise.all([once(), once()])
  const parallel = performance.now() - started
  return `a compute loop on 2 threads takes ${(parallel / serial).toFixed(2)}× its time run twice in a row`
}

/** Refuses a dist/ older than lib/, so the numbers are never of stale code. */
function requireFreshBuild(): void {
  const built = (() => {
    try {
      return statSync(join(root, 'dist/index.js')).mtimeMs
    } catch {
      throw new Error("dist/ is missing: run 'npm run build' first, or pass --from source")
    }
  })()
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith('.ts') ? statSync(join(dir, e.name)).mtimeMs : 0)))
  if (newest(join(root, 'lib')) > built) throw new Error("dist/ is older than lib/: run 'npm run build' first, or pass --from source")
}
