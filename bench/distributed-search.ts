/**
 * The 20-trial random search of bench/search-digits.ts on the UCI digits, run four ways in one
 * go: in this thread, on 2 worker threads, and through Redis (BullMQ) on 1 and on 2 `backprop
 * worker` processes. Prints each time and its ratio to the sequential search, and checks that
 * every way found the same trials with the same scores. Starts its own redis-server on
 * 127.0.0.1 (Debian's redis-server must be installed).
 *
 *   npm run build && npx tsx bench/distributed-search.ts
 *
 * Each trial's engine is single-threaded (BACKPROP_THREADS=1), every way. On one machine the
 * workers share its cores with the coordinator, so 2 processes can at best halve the time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { randomSearch, type SearchResult, type SearchSpace } from '../lib/index.js'
import { followReference } from '../lib/distributed/data-reference.js'
import { checkReference } from '../lib/distributed/distributed-options.js'
import { startRedis } from '../__test__/helpers/redis.js'

process.env.BACKPROP_THREADS ??= '1'
const CLI = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/cli/main.js')
const reference = checkReference('bench', { data: 'digits', scale: 'minmax' })
const { x, y } = await followReference(reference, 'sparseCategoricalCrossEntropy')
const space: SearchSpace = { layers: [[64], [128], [128, 64], [256, 128]], learningRate: { logUniform: [3e-4, 3e-2] }, batchSize: [16, 32, 64], dropout: { uniform: [0, 0.3] }, l2: [0, 1e-4], epochs: [60] }
const options = { loss: 'sparseCategoricalCrossEntropy' as const, seed: 42, trials: 20, refit: false as const }

const redis = await startRedis()
const line = (result: SearchResult) => [...result.trials].sort((a, b) => a.index - b.index).map((t) => `${t.status} ${t.score}`).join('|')

async function timed(name: string, run: () => Promise<SearchResult>): Promise<{ name: string; ms: number; result: SearchResult }> {
  const started = performance.now()
  const result = await run()
  return { name, ms: performance.now() - started, result }
}

async function withWorkers(count: number, queue: string): Promise<SearchResult> {
  const workers: ChildProcess[] = Array.from({ length: count }, () => spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--queue', queue], { stdio: 'ignore', env: process.env }))
  try {
    return await randomSearch(x, y, space, { ...options, distributed: { redis: redis.url, queue, data: reference } })
  } finally {
    for (const w of workers) w.kill('SIGTERM')
  }
}

try {
  const runs = [
    await timed('local, this thread', () => randomSearch(x, y, space, { ...options, workers: 0 })),
    await timed('local, 2 worker threads', () => randomSearch(x, y, space, { ...options, workers: 2 })),
    await timed('Redis, 1 worker process', () => withWorkers(1, 'one')),
    await timed('Redis, 2 worker processes', () => withWorkers(2, 'two')),
  ]
  const reference = line(runs[0]!.result)
  console.log('| search (20 trials, digits) | time | ÷ this thread | same trials and scores |')
  console.log('| --- | ---: | ---: | :---: |')
  for (const r of runs) console.log(`| ${r.name} | ${(r.ms / 1000).toFixed(1)} s | ${(r.ms / runs[0]!.ms).toFixed(2)} | ${line(r.result) === reference ? 'yes' : 'NO'} |`)
  const best = runs[0]!.result.trials.reduce((a, b) => ((b.score ?? -1) > (a.score ?? -1) ? b : a))
  console.log(`\nbest validation accuracy ${best.score?.toFixed(4)} (trial ${best.index})`)
} finally {
  await redis.stop()
}
