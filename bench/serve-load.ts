/**
 * Load figure of `backprop serve` (issue #12 §2): requests/s and p50/p99 latency at 1, 16 and
 * 256 concurrent clients, with micro-batching on (--max-batch 64; not waiting for batch partners,
 * the default, or waiting 2 ms) and off (--max-batch 1).
 * Loopback only, bounded in time. Run (after npm run build):
 *
 *   npx tsx bench/serve-load.ts [--seconds 5] [--out docs/serving-load.md]
 *
 * The server is the built command in its own process, serving the mnist network (784-256-128-10,
 * random weights); each request posts one row of 784 numbers. The client is a few lines of
 * node:http with keep-alive connections, one per concurrent client, each sending its next
 * request when the previous answer arrives. Client and server share the machine's cores.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Dense, Sequential } from '../lib/index.js'
import { Rng } from '../lib/rng.js'

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const CONCURRENCY = [1, 16, 256]

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback
}
const seconds = Number(option('seconds', '5'))
const out = option('out', '')

async function startServe(model: string, maxBatch: number, maxDelayMs: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort()
  // --log-level warn: no log line per request, which would cost more than the prediction.
  const child = spawn(process.execPath, [CLI, 'serve', model, '--port', String(port), '--max-batch', String(maxBatch), '--max-delay-ms', String(maxDelayMs), '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  for (let tries = 0; tries < 200; tries++) {
    const up = await new Promise<boolean>((resolve) => http.get({ host: '127.0.0.1', port, path: '/health' }, (res) => resolve(res.resume().statusCode === 200)).on('error', () => resolve(false)))
    if (up) return { child, port }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill()
  throw new Error('backprop serve did not come up within 20 s')
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

interface Load {
  requests: number
  errors: number
  perSecond: number
  p50: number
  p99: number
}

async function load(port: number, clients: number, bodies: string[]): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients })
  const latencies: number[] = []
  let errors = 0
  const end = performance.now() + seconds * 1000
  const one = (body: string) =>
    new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', () => resolve(0))
      req.end(body)
    })
  const client = async (c: number) => {
    for (let i = c; performance.now() < end; i += clients) {
      const t = performance.now()
      const status = await one(bodies[i % bodies.length]!)
      if (status === 200) latencies.push(performance.now() - t)
      else errors++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)))
  const elapsed = (performance.now() - started) / 1000
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / elapsed,
    p50: latencies[latencies.length >> 1] ?? NaN,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
  }
}

const dir = mkdtempSync(join(tmpdir(), 'backprop-serve-load-'))
try {
  const model = new Sequential({ seed: 1, layers: [new Dense({ units: 256, activation: 'relu', inputSize: 784 }), new Dense({ units: 128, activation: 'relu' }), new Dense({ units: 10, activation: 'softmax' })] })
  const file = join(dir, 'mnist.safetensors')
  await model.save(file)
  const rng = Rng.seeded(2, 0)
  const bodies = Array.from({ length: 256 }, () => JSON.stringify({ rows: [Array.from({ length: 784 }, () => Math.round(rng.nextFloat() * 100) / 100)] }))
  const rows: string[] = []
  const configs = [
    ['on (default): max-batch 64, max-delay-ms 0', 64, 0],
    ['on: max-batch 64, max-delay-ms 2', 64, 2],
    ['off: max-batch 1', 1, 0],
  ] as const
  for (const [label, maxBatch, maxDelayMs] of configs) {
    const { child, port } = await startServe(file, maxBatch, maxDelayMs)
    await load(port, 16, bodies) // warm-up
    for (const clients of CONCURRENCY) {
      const r = await load(port, clients, bodies)
      rows.push(`| ${label} | ${clients} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.errors} |`)
      process.stderr.write(`${rows.at(-1)}\n`)
    }
    child.kill('SIGTERM')
    await new Promise((resolve) => child.on('exit', resolve))
  }
  const text = [
    `Command: \`npx tsx bench/serve-load.ts --seconds ${seconds}\` (after \`npm run build\`); one row of 784 values per request, mnist network (784-256-128-10), native engine.`,
    '',
    '| batching | concurrent clients | requests/s | p50 latency | p99 latency | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n')
  process.stdout.write(text)
  if (out) writeFileSync(out, text)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
