/**
 * A process (or worker) ends while a native fit runs with an onBatchEnd callback: the native
 * thread waiting for that callback must not keep Node from exiting (it deadlocked forever).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { backendInfo } from '../lib/index.js'
import { requireFreshBuild } from './helpers/cli.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const child = fileURLToPath(new URL('./native-exit.child.mjs', import.meta.url))

function run(args: string[]) {
  const started = performance.now()
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 })
  return { ...r, ms: performance.now() - started }
}

describe.skipIf(!backendInfo().nativeAvailable)('exit during a native fit with onBatchEnd', () => {
  requireFreshBuild()
  it.each([
    ['process.exit(7)', 'exit', 7],
    ['an uncaught exception', 'throw', 1],
    ['an unhandled rejection', 'reject', 1],
  ])('%s ends the process promptly with its status', (_, way, status) => {
    const r = run([child, way])
    expect(r.error, 'the process hung').toBeUndefined()
    expect(r.status).toBe(status)
    expect(r.ms).toBeLessThan(15_000)
  })

  it.each(['terminate', 'exit'])('a worker running one ends on %s', (way) => {
    const script = `
      const { Worker } = require('node:worker_threads')
      const w = new Worker(${JSON.stringify(child)}, { argv: [${JSON.stringify(way === 'exit' ? 'exit' : 'none')}], stdout: true })
      w.on('error', (e) => console.log('worker error ' + e.message))
      w.on('exit', (code) => { console.log('worker exit ' + code); process.exit(0) })
      // Terminate once it trains (its first batch has run).
      w.stdout.on('data', () => ${JSON.stringify(way)} === 'terminate' && setTimeout(() => w.terminate(), 300))`
    const r = run(['-e', script])
    expect(r.error, 'the process hung').toBeUndefined()
    expect(r.stdout).toMatch(way === 'exit' ? /worker exit 7/ : /worker exit 1/)
  })
})
