/**
 * Random search of 20 trials on the UCI digits (8×8 images, 1797 samples), run one trial after
 * another in this thread and on 2 worker threads, in the same process, interleaved over a few
 * rounds so that load from anything else on the machine hits both alike. Prints each time, the
 * parallel/sequential ratio (the goal is < 0.65), the best validation accuracy (goal ≥ 0.97),
 * and checks that both ways found the same trials with the same scores.
 *
 *   npx tsx bench/search-digits.ts [--rounds 3] [--backend auto|js|native] [--out DIR]
 *
 * Each trial's engine is single-threaded (BACKPROP_THREADS=1 unless set), both ways.
 *
 * With --out, writes the last parallel search's results as JSON, CSV and a chart (SVG and its
 * Vega-Lite spec).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Matrix, backendInfo, loadDataset, logUniform, randomSearch, uniform, type Backend, type SearchResult, type SearchSpace } from '../lib/index.js'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'auto' },
    out: { type: 'string' },
  },
})
const rounds = Number(args.rounds)
// One model per core: keep each trial's engine single-threaded, in both ways of running, as
// `backprop search` does. Set before the native kernels start (they read it once per process).
process.env.BACKPROP_THREADS ??= '1'
const backend = args.backend as Backend

const digits = await loadDataset('digits')
// Pixels are 0–16: scale to [0, 1].
const x = new Matrix(digits.x.rows, digits.x.cols, digits.x.data.map((v) => v / 16))

const space: SearchSpace = {
  layers: [[64], [128], [128, 64], [256, 128]],
  learningRate: logUniform(3e-4, 3e-2),
  batchSize: [16, 32, 64],
  dropout: uniform(0, 0.3),
  l2: [0, 1e-4],
  epochs: [60],
}

async function search(workers: number): Promise<{ ms: number; result: SearchResult }> {
  const started = performance.now()
  const result = await randomSearch(x, digits.y, space, {
    loss: 'sparseCategoricalCrossEntropy',
    trials: 20,
    seed: 2024,
    validationSplit: 0.2,
    earlyStopping: 8,
    workers,
    backend,
    // Timed: the trials only. The refit is the same work either way.
    refit: false,
  })
  return { ms: performance.now() - started, result }
}

const outcome = (r: SearchResult) => JSON.stringify([...r.trials].sort((a, b) => a.index - b.index).map((t) => [t.params, t.status, t.score]))

const info = backendInfo()
console.log(`engine: ${backend === 'auto' ? info.engine : backend} (native threads: ${info.threads ?? "n/a"}); load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
const ratios: number[] = []
let last: SearchResult | null = null
for (let round = 0; round < rounds; round++) {
  // Alternate which goes first, so neither always runs on a warmer (or busier) machine.
  const order = round % 2 === 0 ? [0, 2] : [2, 0]
  const times: Record<number, number> = {}
  const results: Record<number, SearchResult> = {}
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
const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!
const best = last!.best!
console.log(`median ratio ${median.toFixed(3)} (goal < 0.65): ${median < 0.65 ? 'met' : 'NOT met'}`)
console.log(`best validation accuracy ${best.score!.toFixed(4)} (goal ≥ 0.97): ${best.score! >= 0.97 ? 'met' : 'NOT met'}; trial ${best.index}: ${JSON.stringify(best.params)}`)
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)

if (args.out) {
  mkdirSync(args.out, { recursive: true })
  writeFileSync(join(args.out, 'search-digits.json'), JSON.stringify(last, null, 2))
  writeFileSync(join(args.out, 'search-digits.csv'), last!.toCSV())
  writeFileSync(join(args.out, 'search-digits.vl.json'), JSON.stringify(last!.chartSpec(), null, 2))
  writeFileSync(join(args.out, 'search-digits.svg'), await last!.chartSvg())
  console.log(`results written to ${args.out}`)
}
