/**
 * Training from files larger than memory (issue #9): one epoch of 784-256-128-10 (Adam, batch
 * 128) through fitDataset over a generated .npy pair with shuffle(65536), over the same rows in
 * 8 shards, and in-memory `fit` on 100k rows of the same data for comparison — each in its own
 * process, so its peak RSS is its own; with ≥ 500k rows, also the peak RSS of in-memory fit on
 * 500k rows (the data itself is 1.46 GiB). Prints samples/s, the ratio to in-memory fit, and peak RSS.
 *
 *   npx tsx bench/streaming.ts [--rows 1500000] [--quick] [--dir bench/.data] [--backend native|js]
 *
 * The data (rows × 784 float32 features in [0, 1) and int32 labels from a fixed random linear
 * teacher) is written once, in chunks, and reused while its size matches. --quick uses 200k rows.
 * The first 200k rows are also written as a Parquet file (row groups of 10k), and 50k as a CSV file, and
 * one epoch of fitDataset over each is timed the same way (text and Parquet decoding cost CPU
 * time that .npy does not: these rows show how much).
 */
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const FEATURES = 784
const CLASSES = 10
const root = fileURLToPath(new URL('..', import.meta.url))

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string' },
    quick: { type: 'boolean', default: false },
    dir: { type: 'string', default: join(root, 'bench', '.data') },
    backend: { type: 'string', default: 'native' },
    child: { type: 'string' },
  },
})

/** A .npy v1 header for a C-order array, padded as numpy pads it. */
function npyHeader(descr: string, shape: number[]): Uint8Array {
  let text = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`
  text += ' '.repeat((64 - ((10 + text.length + 1) % 64)) % 64) + '\n'
  const out = new Uint8Array(10 + text.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
  new DataView(out.buffer).setUint16(8, text.length, true)
  out.set(new TextEncoder().encode(text), 10)
  return out
}

/** Writes rows [from, to) of the synthetic data as one .npy pair, a chunk at a time. */
function writePair(xPath: string, yPath: string, from: number, to: number): void {
  const rows = to - from
  const x = openSync(xPath, 'w')
  const y = openSync(yPath, 'w')
  writeSync(x, npyHeader('<f4', [rows, FEATURES]))
  writeSync(y, npyHeader('<i4', [rows]))
  // A fixed teacher: label = argmax of W·x for a seeded W, so the data is learnable.
  let s = 12345
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32)
  const teacher = Float32Array.from({ length: FEATURES * CLASSES }, () => rand() - 0.5)
  const chunk = 8192
  for (let start = from; start < to; start += chunk) {
    const n = Math.min(chunk, to - start)
    const xs = new Float32Array(n * FEATURES)
    const ys = new Int32Array(n)
    for (let r = 0; r < n; r++) {
      let t = (start + r) * 2654435761
      for (let c = 0; c < FEATURES; c++) xs[r * FEATURES + c] = ((t = (Math.imul(t ^ (t >>> 15), 2246822519) + c) >>> 0) / 2 ** 32)
      let best = 0
      let bestScore = -Infinity
      for (let k = 0; k < CLASSES; k++) {
        let score = 0
        for (let c = 0; c < FEATURES; c++) score += teacher[k * FEATURES + c]! * xs[r * FEATURES + c]!
        if (score > bestScore) [best, bestScore] = [k, score]
      }
      ys[r] = best
    }
    writeSync(x, new Uint8Array(xs.buffer))
    writeSync(y, new Uint8Array(ys.buffer))
  }
  closeSync(x)
  closeSync(y)
}

function ensureData(dir: string, rows: number): void {
  mkdirSync(join(dir, 'shards'), { recursive: true })
  const x = join(dir, 'x.npy')
  const expected = npyHeader('<f4', [rows, FEATURES]).length + rows * FEATURES * 4
  if (!existsSync(x) || statSync(x).size !== expected) {
    console.error(`writing ${((rows * FEATURES * 4) / 2 ** 30).toFixed(2)} GiB of data to ${dir} …`)
    writePair(x, join(dir, 'y.npy'), 0, rows)
    for (let i = 0; i < 8; i++) {
      const from = Math.floor((i * rows) / 8)
      writePair(join(dir, 'shards', `x-${String(i).padStart(3, '0')}.npy`), join(dir, 'shards', `y-${String(i).padStart(3, '0')}.npy`), from, Math.floor(((i + 1) * rows) / 8))
    }
  }
}

/**
 * Rows of the Parquet and CSV copies. The Parquet file is larger than the shuffle buffer, so its
 * epoch measures decoding overlapped with training, not only the buffer's first fill.
 */
const PARQUET_ROWS = 200_000
const CSV_ROWS = 50_000
const ROW_GROUP = 10_000

/** Writes the first rows as data.parquet and data.csv (columns f0 … f783, label), once. */
async function ensureColumnar(dir: string): Promise<void> {
  const parquet = join(dir, 'data.parquet')
  const csv = join(dir, 'data.csv')
  if (existsSync(parquet) && existsSync(csv)) return
  console.error(`writing ${PARQUET_ROWS} rows as Parquet and ${CSV_ROWS} as CSV …`)
  const { data } = await import('../lib/index.js')
  const { ParquetWriter, fileWriter, schemaFromColumnData } = await import('hyparquet-writer')
  const { writeFileSync } = await import('node:fs')
  const names = Array.from({ length: FEATURES }, (_, j) => `f${j}`)
  let columns: number[][] = []
  let labels: number[] = []
  const group = () => [...columns.map((values, j) => ({ name: names[j]!, data: values, type: 'FLOAT' as const })), { name: 'label', data: labels, type: 'INT32' as const }]
  const flush = () => {
    if (labels.length > 0) writer.write({ columnData: group(), rowGroupSize: ROW_GROUP })
    columns = names.map(() => [])
    labels = []
  }
  columns = names.map(() => [])
  const writer = new ParquetWriter({ writer: fileWriter(parquet), schema: schemaFromColumnData({ columnData: group() }) })
  const lines: string[] = [[...names, 'label'].join(',')]
  for await (const b of data.npy(join(dir, 'x.npy'), join(dir, 'y.npy')).take(PARQUET_ROWS).blocks({ epoch: 0 })) {
    for (let r = 0; r < b.rows; r++) {
      const row = b.x.subarray(r * FEATURES, (r + 1) * FEATURES)
      row.forEach((v, j) => columns[j]!.push(v))
      labels.push(b.y[r]!)
      if (labels.length === ROW_GROUP) flush()
      if (lines.length <= CSV_ROWS) lines.push(`${Array.from(row, (v) => v.toPrecision(7)).join(',')},${b.y[r]}`)
    }
  }
  flush()
  writer.finish()
  writeFileSync(csv, lines.join('\n') + '\n')
}

/** One measurement, in this (child) process: prints { rows, seconds }. */
async function child(kind: string, dir: string, backend: 'native' | 'js'): Promise<void> {
  const { Adam, Dense, Sequential, data } = await import('../lib/index.js')
  const model = new Sequential({ seed: 1, backend, threads: 1 })
    .add(new Dense({ inputSize: FEATURES, units: 256, activation: 'relu' }))
    .add(new Dense({ units: 128, activation: 'relu' }))
    .add(new Dense({ units: CLASSES, activation: 'softmax' }))
    .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam(), metrics: ['accuracy'] })
  let rows = 0
  let seconds = 0
  if (kind === 'memory' || kind === 'memory-large') {
    // The rows read into memory first (not timed), then one epoch of fit.
    const wanted = kind === 'memory' ? 100_000 : 500_000
    const source = data.npy(join(dir, 'x.npy'), join(dir, 'y.npy')).take(wanted)
    const x = new Float32Array(wanted * FEATURES)
    const y = new Float32Array(wanted)
    for await (const b of source.blocks({ epoch: 0 })) {
      x.set(b.x, rows * FEATURES)
      y.set(b.y, rows)
      rows += b.rows
    }
    const { Matrix } = await import('../lib/index.js')
    const started = performance.now()
    await model.fit(new Matrix(rows, FEATURES, x), y, { epochs: 1, batchSize: 128 })
    seconds = (performance.now() - started) / 1000
  } else {
    const source =
      kind === 'shards' ? await data.directory(join(dir, 'shards'))
      : kind === 'parquet' ? data.parquet(join(dir, 'data.parquet'), { label: 'label' })
      : kind === 'csv' ? data.csv(join(dir, 'data.csv'), { label: 'label' })
      : data.npy(join(dir, 'x.npy'), join(dir, 'y.npy'))
    // The first pass (row count, classes) is not timed: it happens once per source, not per epoch.
    await source.shape()
    const pipeline = source.shuffle(65536, { seed: 1 }).batch(128)
    rows = (await pipeline.shape()).rows!
    const started = performance.now()
    await model.fitDataset(pipeline, { epochs: 1 })
    seconds = (performance.now() - started) / 1000
  }
  console.log(JSON.stringify({ rows, seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 }))
}

async function main(): Promise<void> {
  const backend = args.backend === 'js' ? 'js' : 'native'
  if (args.child) return child(args.child, args.dir!, backend)
  const rows = Number(args.rows ?? (args.quick ? 200_000 : 1_500_000))
  ensureData(args.dir!, rows)
  await ensureColumnar(args.dir!)
  const results: Record<string, { rows: number; seconds: number; maxRssMB: number }> = {}
  const kinds = rows >= 500_000 ? ['memory', 'file', 'shards', 'parquet', 'csv', 'memory-large'] : ['memory', 'file', 'shards', 'parquet', 'csv']
  for (const kind of kinds) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', kind, '--dir', args.dir!, '--backend', backend], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, BACKPROP_THREADS: '1' },
    })
    if (run.status !== 0) throw new Error(`${kind}: ${run.stderr}`)
    results[kind] = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
  }
  const speed = (k: string) => results[k]!.rows / results[k]!.seconds
  console.log(`${backend} engine, 1 thread; ${rows} rows × ${FEATURES} float32 (${((rows * FEATURES * 4) / 2 ** 30).toFixed(2)} GiB)`)
  console.log('| run | rows | samples/s | ÷ in-memory fit | peak RSS |')
  console.log('|---|---|---|---|---|')
  for (const [k, label] of [['memory', 'in-memory fit, 100k rows'], ['file', 'fitDataset, one .npy pair, shuffle(65536)'], ['shards', 'fitDataset, 8 shards, shuffle(65536)'], ['parquet', `fitDataset, Parquet (${PARQUET_ROWS / 1000}k rows, row groups of ${ROW_GROUP / 1000}k), shuffle(65536)`], ['csv', `fitDataset, CSV (${CSV_ROWS / 1000}k rows), shuffle(65536)`], ['memory-large', 'in-memory fit, 500k rows (1.46 GiB of features)']] as const) {
    const r = results[k]
    if (!r) continue
    console.log(`| ${label} | ${r.rows} | ${Math.round(speed(k))} | ${(speed(k) / speed('memory')).toFixed(2)} | ${Math.round(r.maxRssMB)} MB |`)
  }
}

await main()
