/**
 * Asking for more memory than there is gives an Error that says what needed how much — never
 * an abort (Rust's allocation failure, V8's fatal out-of-memory). Each case runs in a child
 * process under an address-space limit (prlimit --as), so the allocation really fails.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { backendInfo } from '../lib/index.js'
import { requireFreshBuild } from './helpers/cli.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0

/** Runs `body` (with Sequential, Dense, Matrix in scope) under a 2.5 GB address-space limit; prints what it caught. */
function underLimit(body: string) {
  const script = `import('${root}dist/index.js').then(async ({ Sequential, Dense, Matrix }) => {
    try { ${body}; console.log('no error') } catch (e) { console.log(e.constructor.name + ': ' + e.message) }
  })`
  return spawnSync('prlimit', ['--as=2500000000', process.execPath, '-e', script], { encoding: 'utf8', timeout: 60_000 })
}

describe.skipIf(!hasPrlimit)('allocation failures under a memory limit', () => {
  requireFreshBuild()
  const engines = backendInfo().nativeAvailable ? ['js', 'native'] : ['js']

  it.each(engines)('a model too large to hold (%s engine): a RangeError naming the size', (engine) => {
    const r = underLimit(`new Sequential({ backend: '${engine}' }).add(new Dense({ inputSize: 4, units: 3e8 })).build()`)
    expect(r.signal).toBeNull()
    expect(r.stdout).toMatch(/^RangeError: out of memory: the model's 1,500,000,000 parameters: 6\.00 GB \(1500000000 float32 values\) could not be allocated/)
  })

  it.runIf(backendInfo().nativeAvailable)('a native prediction whose batch workspace cannot be had: a RangeError, and the model still predicts', () => {
    const r = underLimit(`
      const m = new Sequential({ backend: 'native' }).add(new Dense({ inputSize: 4, units: 4096 })).add(new Dense({ units: 10 }))
      try { m.predict(new Matrix(60000, 4, new Float32Array(240000)), { batchSize: 60000 }) } catch (e) { console.log(e.constructor.name + ': ' + e.message) }
      console.log('then ' + m.predict(new Matrix(3, 4, new Float32Array(12))).rows + ' rows')`)
    expect(r.signal).toBeNull()
    expect(r.stdout).toMatch(/^RangeError: out of memory: the batch workspace: 984 MB \(245760000 float32 values\) could not be allocated/m)
    expect(r.stdout).toMatch(/^then 3 rows$/m)
  })

  it.runIf(backendInfo().nativeAvailable)('a native output array that cannot be had: a RangeError, not V8\'s fatal error', () => {
    const r = underLimit(`
      const m = new Sequential({ backend: 'native' }).add(new Dense({ inputSize: 1, units: 20000 }))
      m.predict(new Matrix(40000, 1, new Float32Array(40000)), { batchSize: 1 })`)
    expect(r.signal).toBeNull()
    expect(r.stdout).toMatch(/^RangeError: out of memory: the prediction: 3\.20 GB could not be allocated/)
  })
})
