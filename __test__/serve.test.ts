/**
 * The prediction server (issue #12 §2) over real HTTP on 127.0.0.1: started in-process with
 * startServer and as the `backprop serve` command in a child process. Answers are compared with
 * model.predict of the same rows (through the saved scaler); bad bodies must be refused with
 * 400/413 while the server keeps answering; a model file replaced under load must switch the
 * answers without failing a request; SIGTERM must end the process promptly with the requests in
 * flight answered.
 */
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Dense, Matrix, Sequential, StandardScaler, applyPreprocessing, startServer, type PredictionServer } from '../lib/index.js'
import { Rng } from '../lib/rng.js'
import { requireFreshBuild, startCli } from './helpers/cli.js'
import { useTempDir } from './helpers/temp-dir.js'

const FEATURES = ['sepal', 'petal', 'stem', 'leaf']
const CLASSES = ['red', 'green', 'blue']

/** A 4-16-3 softmax classifier with a fitted scaler, feature and class names. */
function classifier(seed: number): Sequential {
  const model = new Sequential({
    seed,
    layers: [new Dense({ units: 16, activation: 'tanh', inputSize: 4 }), new Dense({ units: 3, activation: 'softmax' })],
  })
  const rng = Rng.seeded(99, 0)
  const raw = new Matrix(50, 4, Float32Array.from({ length: 200 }, (_, i) => 10 * (i % 4) + 5 * rng.nextFloat()))
  model.preprocessing = { scaler: new StandardScaler().fit(raw), featureNames: FEATURES, labelNames: CLASSES }
  return model
}

function rawRows(n: number, seed: number): number[][] {
  const rng = Rng.seeded(seed, 1)
  // Integers and halves: exact in JSON and in float32, so the server sees the same inputs.
  return Array.from({ length: n }, (_, r) => Array.from({ length: 4 }, (_, c) => 10 * c + Math.round(10 * rng.nextFloat()) / 2 + (r % 3)))
}

/** What model.predict gives for raw rows, through the model's saved scaler. */
function expected(model: Sequential, rows: number[][]): number[][] {
  const out = model.predict(applyPreprocessing(model.preprocessing, rows))
  return rows.map((_, r) => Array.from(out.data.subarray(r * out.cols, (r + 1) * out.cols)))
}

function expectProbabilities(got: number[], want: number[]): void {
  expect(got).toHaveLength(want.length)
  got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5))
}

interface Answer {
  status: number
  body: { classes?: string[]; predictions?: { class: string; classIndex: number; probabilities: number[] }[]; message?: string; statusCode?: number }
}

async function post(base: string, body: unknown, contentType = 'application/json'): Promise<Answer> {
  const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: response.status, body: (await response.json()) as Answer['body'] }
}

async function getJson(base: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe('startServer (in-process)', () => {
  const temp = useTempDir('backprop-serve-')
  let modelA: Sequential
  let server: PredictionServer
  let file: string

  beforeAll(async () => {
    modelA = classifier(1)
    file = temp('model.safetensors')
    await modelA.save(file)
    server = await startServer(file, { port: 0, logLevel: 'silent', maxBatch: 64, maxDelayMs: 2, bodyLimit: 64 * 1024 })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('answers one request with class names and probabilities equal to model.predict', async () => {
    const rows = rawRows(3, 1)
    const { status, body } = await post(server.url, { rows })
    expect(status).toBe(200)
    expect(body.classes).toEqual(CLASSES)
    const want = expected(modelA, rows)
    body.predictions!.forEach((p, r) => {
      expectProbabilities(p.probabilities, want[r]!)
      const best = want[r]!.indexOf(Math.max(...want[r]!))
      expect(p.classIndex).toBe(best)
      expect(p.class).toBe(CLASSES[best])
    })
  })

  it('answers instances by feature name in any key order, through the saved scaler', async () => {
    const rows = rawRows(4, 2)
    const instances = rows.map((row) => Object.fromEntries(FEATURES.map((f, i) => [f, row[i]!] as const).reverse()))
    const { status, body } = await post(server.url, { instances })
    expect(status).toBe(200)
    const want = expected(modelA, rows)
    body.predictions!.forEach((p, r) => expectProbabilities(p.probabilities, want[r]!))
  })

  it('describes itself on /health and /model', async () => {
    const health = await getJson(server.url, '/health')
    expect(health.status).toBe(200)
    expect(health.body).toMatchObject({ status: 'ok', model: fs.realpathSync(file) })
    const model = await getJson(server.url, '/model')
    expect(model.body).toMatchObject({
      task: 'classification',
      inputSize: 4,
      outputSize: 3,
      features: FEATURES,
      classes: CLASSES,
      scaler: 'standard',
      layers: [
        { kind: 'dense', units: 16, activation: 'tanh', bias: true },
        { kind: 'dense', units: 3, activation: 'softmax', bias: true },
      ],
    })
  })

  it('answers 1,000 concurrent requests, none lost, each with its own row, in shared engine calls', async () => {
    const before = server.stats
    const rows = rawRows(1000, 3)
    const answers = await Promise.all(rows.map((row) => post(server.url, { rows: [row] })))
    const want = expected(modelA, rows)
    answers.forEach((a, r) => {
      expect(a.status).toBe(200)
      expectProbabilities(a.body.predictions![0]!.probabilities, want[r]!)
    })
    const after = server.stats
    expect(after.rows - before.rows).toBe(1000)
    // Batching happened: far fewer engine calls than rows.
    expect(after.batches - before.batches).toBeLessThan(1000)
    expect(after.largestBatch).toBeGreaterThan(1)
  })

  it('refuses bad bodies with 400 or 413 and a message, and keeps serving', async () => {
    const cases: [string, unknown, RegExp, string?][] = [
      ['a string value', { rows: [[1, '2', 3, 4]] }, /body\/rows\/0\/1 must be number/],
      ['a row of the wrong width', { rows: [[1, 2, 3]] }, /rows\[0\] has 3 values; the model takes 4 \(sepal, petal, stem, leaf\)/],
      ['NaN (not JSON)', '{"rows": [[1, NaN, 3, 4]]}', /not valid JSON/],
      ['non-JSON', 'rows=1,2,3,4', /not valid JSON/],
      ['non-JSON without a JSON content type', 'hello', /JSON|Unexpected/, 'text/plain'],
      ['an empty object', {}, /either "rows" .* or "instances"/],
      ['both forms', { rows: [[1, 2, 3, 4]], instances: [{ sepal: 1 }] }, /not both/],
      ['an unknown top-level field', { rows: [[1, 2, 3, 4]], extra: 1 }, /must NOT have additional properties/],
      ['rows that are not arrays', { rows: [1, 2, 3, 4] }, /body\/rows\/0 must be array/],
      ['no rows', { rows: [] }, /must NOT have fewer than 1 items/],
      ['a value beyond float32', { rows: [[1, 2, 1e39, 4]] }, /body\/rows\/0\/2 must be <= 3\.40/],
      ['an unknown feature', { instances: [{ sepal: 1, petal: 2, stem: 3, leaf: 4, root: 5 }] }, /instances\[0\] has an unknown feature "root"/],
      ['a missing feature', { instances: [{ sepal: 1, petal: 2 }] }, /instances\[0\] lacks features "stem", "leaf"/],
      ['a feature given as a string', { instances: [{ sepal: 1, petal: 2, stem: 3, leaf: 'x' }] }, /body\/instances\/0\/leaf must be number/],
      ['__proto__ keys', '{"instances": [{"__proto__": {"x": 1}}]}', /not valid JSON|prototype/i],
    ]
    for (const [name, body, message, type] of cases) {
      const answer = await post(server.url, body, type)
      expect(answer.status, name).toBe(400)
      expect(answer.body.message, name).toMatch(message)
    }
    const many = await post(server.url, { rows: Array.from({ length: 1025 }, () => [1, 2, 3, 4]) })
    expect(many.status).toBe(400)
    expect(many.body.message).toMatch(/body\/rows must NOT have more than 1024 items/)
    const huge = { rows: Array.from({ length: 20_000 }, () => [1, 2, 3, 4]) }
    expect(JSON.stringify(huge).length).toBeGreaterThan(64 * 1024)
    const tooLarge = await post(server.url, huge)
    expect(tooLarge.status).toBe(413)
    // Still up and right.
    const rows = rawRows(2, 4)
    const ok = await post(server.url, { rows })
    expect(ok.status).toBe(200)
    ok.body.predictions!.forEach((p, r) => expectProbabilities(p.probabilities, expected(modelA, rows)[r]!))
  })

  it('reloads a model replaced under load without failing a request, and keeps the old one when the new file is bad', async () => {
    const modelB = classifier(2)
    const rows = rawRows(8, 5)
    const wantA = expected(modelA, rows)
    const wantB = expected(modelB, rows)
    expect(Math.abs(wantA[0]![0]! - wantB[0]![0]!)).toBeGreaterThan(1e-3)
    const reloadsBefore = server.reloads
    let switched = false
    let failures = 0
    let sent = 0
    const load = (async () => {
      const deadline = Date.now() + 15_000
      while (!switched && Date.now() < deadline) {
        const answers = await Promise.all(rows.map((row) => post(server.url, { rows: [row] })))
        sent += answers.length
        answers.forEach((a, r) => {
          if (a.status !== 200) return void failures++
          const p = a.body.predictions![0]!.probabilities
          const isA = p.every((v, i) => Math.abs(v - wantA[r]![i]!) <= 1e-5)
          const isB = p.every((v, i) => Math.abs(v - wantB[r]![i]!) <= 1e-5)
          if (!isA && !isB) failures++
          if (isB && r === rows.length - 1) switched = true
        })
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 100))
    // model.save writes a temporary file and renames it over the model: an atomic replace.
    await modelB.save(file)
    await load
    expect(failures).toBe(0)
    expect(switched).toBe(true)
    expect(sent).toBeGreaterThan(rows.length)
    expect(server.reloads).toBe(reloadsBefore + 1)

    // A damaged file renamed over the model: logged, and model B keeps answering.
    const bad = temp('bad.tmp')
    fs.writeFileSync(bad, Buffer.from('this is not a safetensors file at all'))
    fs.renameSync(bad, file)
    expect(await server.reload()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const after = await post(server.url, { rows })
    expect(after.status).toBe(200)
    after.body.predictions!.forEach((p, r) => expectProbabilities(p.probabilities, wantB[r]!))
    expect(server.reloads).toBe(reloadsBefore + 1)
  })

  it('sheds load with 503 when the queue is full, and answers queued requests when closing', async () => {
    const path = temp('queue.safetensors')
    await modelA.save(path)
    const slow = await startServer(path, { port: 0, logLevel: 'silent', watch: false, maxBatch: 64, maxDelayMs: 60_000, maxQueue: 3 })
    const rows = rawRows(3, 6)
    const queued = rows.map((row) => post(slow.url, { rows: [row] }))
    while (slow.stats.queued < 3) await new Promise((resolve) => setTimeout(resolve, 5))
    const shed = await post(slow.url, { rows: [rows[0]] })
    expect(shed.status).toBe(503)
    expect(shed.body.message).toMatch(/queue is full/)
    // Closing runs the queued rows at once instead of waiting out the 60 s delay.
    const started = Date.now()
    await slow.close()
    expect(Date.now() - started).toBeLessThan(10_000)
    const answers = await Promise.all(queued)
    answers.forEach((a, r) => {
      expect(a.status).toBe(200)
      expectProbabilities(a.body.predictions![0]!.probabilities, expected(modelA, rows)[r]!)
    })
  })
})

describe('backprop serve (child process)', () => {
  const temp = useTempDir('backprop-serve-cli-')
  let model: Sequential
  let file: string

  beforeAll(async () => {
    requireFreshBuild()
    model = classifier(3)
    file = temp('model.safetensors')
    await model.save(file)
  })

  /** Starts the command; resolves with the child and its URL from the 'serving' log line. */
  async function serve(extra: string[] = []) {
    const child = startCli(['serve', file, '--port', '0', ...extra])
    const lines: Record<string, unknown>[] = []
    let stderr = ''
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no 'serving' log line within 20 s:\n${stderr}`)), 20_000)
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
        const parts = stderr.split('\n')
        stderr = parts.pop()!
        for (const line of parts) {
          const entry = JSON.parse(line) as Record<string, unknown>
          lines.push(entry)
          if (entry.msg === 'serving') {
            clearTimeout(timer)
            resolve(entry.url as string)
          }
        }
      })
      child.on('exit', (code) => reject(new Error(`exited with ${code} before serving: ${stderr}`)))
    })
    return { child, url, lines, exited }
  }

  it('serves requests, logs JSON lines on stderr, and on SIGTERM answers what is in flight and exits 0 promptly', async () => {
    // A long batching delay holds the requests in the server when SIGTERM arrives.
    const { child, url, lines, exited } = await serve(['--max-delay-ms', '20000'])
    const rows = rawRows(5, 7)
    const inFlight = rows.map((row) => post(url, { rows: [row] }))
    const health = await getJson(url, '/health')
    expect(health.body.status).toBe('ok')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const signalled = Date.now()
    child.kill('SIGTERM')
    const answers = await Promise.all(inFlight)
    expect(await exited).toBe(0)
    expect(Date.now() - signalled).toBeLessThan(10_000)
    const want = expected(model, rows)
    answers.forEach((a, r) => {
      expect(a.status).toBe(200)
      expectProbabilities(a.body.predictions![0]!.probabilities, want[r]!)
    })
    expect(lines.some((l) => l.msg === 'shutting down: finishing requests in flight' && l.signal === 'SIGTERM')).toBe(true)
    expect(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(true)
  })

  it('exits 130 on Ctrl-C, and 3 with a message for a file that is not a model', async () => {
    const { child, url, exited } = await serve()
    expect((await post(url, { rows: rawRows(1, 8) })).status).toBe(200)
    child.kill('SIGINT')
    expect(await exited).toBe(130)

    const bad = temp('bad.safetensors')
    fs.writeFileSync(bad, 'not a model')
    const child2 = startCli(['serve', bad, '--port', '0'])
    let err = ''
    child2.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const code = await new Promise<number | null>((resolve) => child2.on('exit', resolve))
    expect(code).toBe(3)
    expect(err).toMatch(/backprop: .*bad\.safetensors/)
  })
})
