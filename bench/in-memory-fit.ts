/**
 * In-memory `fit` below and above the size the native engine copies whole (COPY_LIMIT_BYTES,
 * 64 MB): 784-256-128-10 (Adam, batch 128) on synthetic rows, four epochs in one `fit` call,
 * on one thread and on two, each run in its own process. Prints each epoch's samples/s: the
 * first includes fit's setup (input checks, the engine's copy or its first chunks), the others
 * are the steady state. Above the limit, each epoch's rows are gathered into two chunks that
 * the engine trains in turn (lib/training/gathered-chunks.ts).
 *
 *   npx tsx bench/in-memory-fit.ts [--below 20000] [--above 30000]
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const FEATURES = 784
const EPOCHS = 4

const { values: args } = parseArgs({
  options: {
    below: { type: 'string', default: '20000' },
    above: { type: 'string', default: '30000' },
    child: { type: 'string' },
    threads: { type: 'string' },
  },
})

/** One fit in this (child) process: prints the samples/s of each epoch as JSON. */
async function child(rows: number, threads: number): Promise<void> {
  const { Adam, Dense, Matrix, Sequential } = await import('../lib/index.js')
  const x = new Float32Array(rows * FEATURES)
  for (let i = 0; i < x.length; i++) x[i] = ((Math.imul(i, 2654435761) >>> 0) % 1000) / 1000
  const y = Float32Array.from({ length: rows }, (_, i) => i % 10)
  const model = new Sequential({ seed: 1, backend: 'native', threads })
    .add(new Dense({ inputSize: FEATURES, units: 256, activation: 'relu' }))
    .add(new Dense({ units: 128, activation: 'relu' }))
    .add(new Dense({ units: 10, activation: 'softmax' }))
    .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam() })
  const rates: number[] = []
  let last = performance.now()
  const onEpochEnd = (): void => {
    const now = performance.now()
    rates.push(Math.round((rows / (now - last)) * 1000))
    last = now
  }
  await model.fit(new Matrix(rows, FEATURES, x), y, { epochs: EPOCHS, batchSize: 128, callbacks: [{ onEpochEnd }] })
  console.log(JSON.stringify(rates))
}

if (args.child) {
  await child(Number(args.child), Number(args.threads))
} else {
  const { COPY_LIMIT_BYTES } = await import('../lib/training/fit.js')
  console.log('| data | threads | epoch 1 | epochs 2–4 (samples/s) |\n|---|---|---|---|')
  for (const rows of [Number(args.below), Number(args.above)]) {
    const mb = (rows * (FEATURES + 1) * 4) / 2 ** 20
    const how = rows * (FEATURES + 1) * 4 > COPY_LIMIT_BYTES ? 'chunked' : 'copied whole'
    for (const threads of [1, 2]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(rows), '--threads', String(threads)], { encoding: 'utf8' })
      if (run.status !== 0) throw new Error(`the child for ${rows} rows failed: ${run.stderr}`)
      const rates = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as number[]
      console.log(`| ${rows} rows (${mb.toFixed(0)} MB, ${how}) | ${threads} | ${rates[0]} | ${rates.slice(1).join(', ')} |`)
    }
  }
}
