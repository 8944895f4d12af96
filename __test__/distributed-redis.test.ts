/**
 * Distributed search on a real Redis server (started here) with real workers: in this process
 * (startWorker) and as `backprop worker` child processes. The local search of the same seed is
 * the reference: the same trials with the same scores, whatever the workers and their faults.
 */
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomSearch, startWorker, type SearchResult, type SearchSpace } from '../lib/index.js'
import { followReference } from '../lib/distributed/data-reference.js'
import { checkReference } from '../lib/distributed/distributed-options.js'
import { cli, requireFreshBuild, startCli } from './helpers/cli.js'
import { REDIS_SERVER, startRedis, type RedisServer } from './helpers/redis.js'

const reference = checkReference('test', { data: 'moons', samples: 400, seed: 5 })
const space: SearchSpace = { layers: [[4], [8], [8, 8]], learningRate: { logUniform: [1e-3, 1e-1] }, epochs: [6], batchSize: [16, 32] }

let redis: RedisServer
let queueNumber = 0
/** A queue of its own for each test, so that no test sees another's jobs. */
const freshQueue = () => `q${++queueNumber}`

beforeAll(async () => {
  if (REDIS_SERVER) redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

async function searchData() {
  const { x, y } = await followReference(reference, 'sparseCategoricalCrossEntropy')
  return { x, y }
}

/** Runs the CLI without blocking this process (its workers run here, in-process). */
async function cliAsync(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = startCli(args)
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c))
  child.stdout.resume()
  const [status] = (await once(child, 'exit')) as [number | null]
  return { status, stderr }
}

function scores(result: SearchResult): string[] {
  return [...result.trials].sort((a, b) => a.index - b.index).map((t) => `${t.index} ${t.status} ${t.score} ${t.epochsTrained}`)
}

describe.skipIf(REDIS_SERVER === null)('distributed search on Redis (BullMQ)', () => {
  it('two worker processes give the trials and scores of the local search, with the same seed', async () => {
    requireFreshBuild()
    const { x, y } = await searchData()
    const options = { loss: 'sparseCategoricalCrossEntropy' as const, seed: 11, trials: 8, folds: 2, refit: false as const }
    const local = await randomSearch(x, y, space, { ...options, workers: 0 })
    const queue = freshQueue()
    const workers = [startCli(['worker', '--redis', redis.url, '--queue', queue]), startCli(['worker', '--redis', redis.url, '--queue', queue, '--concurrency', '2'])]
    const logs = workers.map((w) => {
      const log = { text: '' }
      w.stderr.on('data', (c: Buffer) => (log.text += c))
      return log
    })
    try {
      const distributed = await randomSearch(x, y, space, { ...options, distributed: { redis: redis.url, queue, data: reference } })
      expect(scores(distributed)).toEqual(scores(local))
      expect(distributed.trials.every((t) => t.status === 'completed')).toBe(true)
      // Every trial ran once, in one of the processes.
      const started = logs.flatMap((l) => [...l.text.matchAll(/trial \S+\/(\d+) started/g)].map((m) => Number(m[1])))
      expect(started.sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    } finally {
      for (const w of workers) w.kill('SIGTERM')
      await Promise.all(workers.map((w) => (w.exitCode === null ? once(w, 'exit') : null)))
    }
  }, 60_000)

  it('a password-protected Redis (redis://:password@host) works for workers and the coordinator', async () => {
    const locked = await startRedis({ password: 'p@ss:word' })
    try {
      expect(locked.url).toContain(':p%40ss%3Aword@')
      const { x, y } = await searchData()
      const worker = startWorker({ connection: locked.url })
      try {
        const result = await randomSearch(x, y, space, { loss: 'sparseCategoricalCrossEntropy', seed: 2, trials: 2, refit: false, distributed: { redis: locked.url, data: reference } })
        expect(result.trials.map((t) => t.status)).toEqual(['completed', 'completed'])
      } finally {
        await worker.close()
      }
      // The server really asks for it: without the password it refuses, with it it answers.
      expect(spawnSync('redis-cli', ['-p', String(locked.port), 'ping'], { encoding: 'utf8' }).stdout).toContain('NOAUTH')
      expect(locked.cli('ping')).toBe('PONG')
    } finally {
      await locked.stop()
    }
  }, 60_000)

  it('median pruning decides in trial order as locally: the same trials are pruned at the same epochs', async () => {
    const { x, y } = await searchData()
    const prunable: SearchSpace = { ...space, epochs: [12] }
    const options = { loss: 'sparseCategoricalCrossEntropy' as const, seed: 4, trials: 8, pruning: { afterEpochs: 2, minTrials: 2 }, refit: false as const }
    const local = await randomSearch(x, y, prunable, { ...options, workers: 0 })
    expect(local.trials.some((t) => t.status === 'pruned')).toBe(true)
    const queue = freshQueue()
    const workers = [startWorker({ connection: redis.url, queue }), startWorker({ connection: redis.url, queue })]
    try {
      const distributed = await randomSearch(x, y, prunable, { ...options, distributed: { redis: redis.url, queue, data: reference } })
      expect(scores(distributed)).toEqual(scores(local))
    } finally {
      await Promise.all(workers.map((w) => w.close()))
    }
  }, 60_000)

  it('a coordinator restarted with the same search id takes finished trials from Redis instead of running them again', async () => {
    const { x, y } = await searchData()
    const queue = freshQueue()
    const searchId = 'restart-test'
    const options = { loss: 'sparseCategoricalCrossEntropy' as const, seed: 8, trials: 6, refit: false as const }
    const worker = startWorker({ connection: redis.url, queue })
    try {
      // The first coordinator stops (as if killed) once three trials are in.
      const controller = new AbortController()
      const first = await randomSearch(x, y, space, {
        ...options,
        distributed: { redis: redis.url, queue, searchId, data: reference, inFlight: 2 },
        progress: (e) => e.done === 3 && controller.abort(),
        signal: controller.signal,
      })
      expect(first.stopReason).toBe('aborted')
      const ranBefore = worker.completed
      expect(ranBefore).toBeGreaterThanOrEqual(3)
      const again = await randomSearch(x, y, space, { ...options, distributed: { redis: redis.url, queue, searchId, data: reference } })
      const local = await randomSearch(x, y, space, { ...options, workers: 0 })
      expect(scores(again)).toEqual(scores(local))
      // Each trial ran once in all: the restart ran only those the first coordinator had not finished.
      expect(worker.completed).toBe(6)
    } finally {
      await worker.close()
    }
  }, 60_000)

  it('a worker killed with SIGKILL mid-trial loses no trial: it is run again elsewhere and counted once', async () => {
    requireFreshBuild()
    const { x, y } = await searchData()
    const queue = freshQueue()
    // Slow trials (many epochs) so that the kill lands mid-trial; short locks so the retry is quick.
    const slow: SearchSpace = { layers: [[64, 64]], learningRate: [0.01], epochs: [3000], batchSize: [8] }
    const flags = ['worker', '--redis', redis.url, '--queue', queue, '--lock-duration-ms', '1500', '--stalled-interval-ms', '500']
    const doomed = startCli(flags)
    let log = ''
    doomed.stderr.on('data', (chunk: Buffer) => (log += chunk))
    const searching = randomSearch(x, y, slow, { loss: 'sparseCategoricalCrossEntropy', seed: 2, trials: 2, refit: false, distributed: { redis: redis.url, queue, data: reference } })
    while (!/started \(attempt 1\)/.test(log)) await new Promise((r) => setTimeout(r, 50))
    doomed.kill('SIGKILL')
    await once(doomed, 'exit')
    const rescuer = startWorker({ connection: redis.url, queue, lockDurationMs: 1500, stalledIntervalMs: 500 })
    try {
      const result = await searching
      expect(result.trials.map((t) => t.status)).toEqual(['completed', 'completed'])
      expect(new Set(result.trials.map((t) => t.index))).toEqual(new Set([0, 1]))
      const local = await randomSearch(x, y, slow, { loss: 'sparseCategoricalCrossEntropy', seed: 2, trials: 2, refit: false, workers: 0 })
      expect(scores(result)).toEqual(scores(local))
      // The killed worker's trial was attempted again.
      const jobs = new Queue(queue, { connection: { url: redis.url } })
      const attempts = (await jobs.getJobs(['completed'])).map((j) => j.attemptsMade)
      await jobs.close()
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(1)
    } finally {
      await rescuer.close()
    }
  }, 120_000)

  it('a malformed or hostile job fails with the reason and the worker keeps serving', async () => {
    const queue = freshQueue()
    const worker = startWorker({ connection: redis.url, queue })
    const jobs = new Queue(queue, { connection: { url: redis.url } })
    try {
      const { x, y } = await searchData()
      // A valid job's payload, taken from a real search, then spoiled in each way.
      const good = await (async () => {
        const searching = randomSearch(x, y, space, { loss: 'sparseCategoricalCrossEntropy', seed: 1, trials: 1, refit: false, distributed: { redis: redis.url, queue, data: reference } })
        const result = await searching
        expect(result.trials[0]!.status).toBe('completed')
        return (await jobs.getJobs(['completed']))[0]!.data as Record<string, any>
      })()
      const cases: [string, string, unknown, RegExp][] = [
        ['an unknown kind', 'mine-bitcoin', good, /unknown job kind 'mine-bitcoin'/],
        ['not an object', 'trial', 42, /trial job must be an options object, got 42/],
        ['a prototype key', 'trial', JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(good).slice(1)}`), /unknown option '__proto__'/],
        ['a wrong type', 'trial', { ...good, searchSeed: 'forty-two' }, /trial job searchSeed must be an integer/],
        ['huge params', 'trial', { ...good, task: { ...good.task, params: { layers: [[4]], pad: 'x'.repeat(100_000) } } }, /params are larger than 65536 bytes/],
        ['an unreadable path', 'trial', { ...good, data: { ...good.data, data: '/nonexistent/data.csv' } }, /cannot load --data \/nonexistent\/data.csv/],
        ['other data than the coordinator’s', 'trial', { ...good, digest: '0'.repeat(64) }, /is not the coordinator's \(SHA-256/],
      ]
      for (const [what, name, data, reason] of cases) {
        const job = await jobs.add(name, data, { attempts: 3 })
        const failed = await new Promise<string>((resolve) => {
          const poll = setInterval(async () => {
            const state = await jobs.getJobState(job.id!)
            if (state === 'failed') {
              clearInterval(poll)
              resolve((await jobs.getJob(job.id!))!.failedReason)
            }
          }, 50)
        })
        expect(failed, what).toMatch(reason)
        // Failed for good at once: no retries of a job that cannot succeed.
        expect((await jobs.getJob(job.id!))!.attemptsMade, what).toBe(1)
      }
      const after = await randomSearch(x, y, space, { loss: 'sparseCategoricalCrossEntropy', seed: 3, trials: 2, refit: false, distributed: { redis: redis.url, queue, data: reference } })
      expect(after.trials.every((t) => t.status === 'completed')).toBe(true)
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    } finally {
      await jobs.close()
      await worker.close()
    }
  }, 60_000)

  it('backprop predict --redis writes the bytes a local backprop predict writes, from chunks scored by workers', async () => {
    requireFreshBuild()
    const dir = mkdtempSync(join(tmpdir(), 'backprop-predict-'))
    try {
      // A model with class names and a scaler, and a CSV whose quoted field spans two lines.
      const csv = join(dir, 'rows.csv')
      const rows = Array.from({ length: 1000 }, (_, i) => `${Math.sin(i).toFixed(4)},${(i % 17) / 3},${i === 7 ? '"a\nnote"' : 'x'}`)
      writeFileSync(csv, `u,v,comment\n${rows.join('\n')}\n`)
      const model = join(dir, 'model.safetensors')
      const train = cli(['train', '--data', 'moons', '--samples', '300', '--epochs', '3', '--out', model])
      expect(train.status, train.stderr).toBe(0)
      // moons' features are x1, x2: rename the CSV's columns to match.
      writeFileSync(csv, `x1,x2,comment\n${rows.join('\n')}\n`)
      const local = cli(['predict', model, '--data', csv, '--out', join(dir, 'local.csv')])
      expect(local.status, local.stderr).toBe(0)
      const queue = freshQueue()
      const workers = [startWorker({ connection: redis.url, queue }), startWorker({ connection: redis.url, queue })]
      try {
        const remote = await cliAsync(['predict', model, '--data', csv, '--redis', redis.url, '--queue', queue, '--chunk-rows', '128', '--out', join(dir, 'remote.csv')])
        expect(remote.status, remote.stderr).toBe(0)
        expect(remote.stderr).toContain('chunk 8/8 done')
        expect(readFileSync(join(dir, 'remote.csv'))).toEqual(readFileSync(join(dir, 'local.csv')))
        expect(workers.every((w) => w.completed > 0)).toBe(true)
      } finally {
        await Promise.all(workers.map((w) => w.close()))
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('backprop worker exits 0 promptly on SIGTERM, and search --redis refuses what cannot be distributed', async () => {
    requireFreshBuild()
    const child = startCli(['worker', '--redis', redis.url, '--queue', freshQueue()])
    let log = ''
    child.stderr.on('data', (chunk: Buffer) => (log += chunk))
    while (!/ready: pulling trials/.test(log)) await new Promise((r) => setTimeout(r, 50))
    const started = performance.now()
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    expect(code).toBe(0)
    expect(performance.now() - started).toBeLessThan(5000)
    expect(log).toMatch(/stopped after 0 trials/)
    const { x, y } = await searchData()
    await expect(randomSearch(x, y, space, { loss: 'sparseCategoricalCrossEntropy', validationData: [x, y], distributed: { redis: redis.url, data: reference } })).rejects.toThrow(
      'randomSearch validationData cannot be distributed',
    )
    await expect(randomSearch(x, y, space, { loss: 'sparseCategoricalCrossEntropy', distributed: { redis: 'http://x', data: reference } })).rejects.toThrow(
      "randomSearch distributed redis must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379), got 'http://x'",
    )
  }, 30_000)
})
