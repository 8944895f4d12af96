/**
 * No input crashes the process: native-no-crash.child.ts calls every native export with wrong
 * types, wrong lengths, NaN, empty, detached, shared and aliased buffers, huge sizes and garbage
 * plans, and detaches or mutates buffers while asynchronous training runs — in a child process,
 * so that a crash (a segfault, an abort from an unwinding panic) fails this test instead of
 * killing the runner. The export list the loader is generated from is checked here too.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { backendInfo } from '../lib/index.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const binary = `${root}native/backprop.linux-x64-gnu.node`
const built = backendInfo().nativeAvailable && existsSync(binary)

describe.skipIf(!built)('the native addon (not built: run npm run build)', () => {
  it('exports exactly the names in native/exports.json, which the loader is generated from', () => {
    const listed = JSON.parse(readFileSync(`${root}native/exports.json`, 'utf8')) as string[]
    const raw = createRequire(import.meta.url)(binary) as Record<string, unknown>
    expect(Object.keys(raw).sort()).toEqual([...listed].sort())
    const loader = readFileSync(`${root}native/index.js`, 'utf8')
    for (const name of listed) expect(loader).toContain(`export { ${name} }`)
  })

  it('gives an Error or a correct result for every abuse, and never crashes', () => {
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${root}__test__/native-no-crash.child.ts`], {
      cwd: root,
      encoding: 'utf8',
      timeout: 240_000,
    })
    const output = `${child.stdout}\n${child.stderr}`
    expect(child.signal, output).toBeNull()
    expect(child.status, output).toBe(0)
    expect(child.stdout.trim().split('\n').at(-1)).toBe('ok')
    expect(child.stderr).not.toMatch(/panicked|internal error/)
  }, 300_000)
})
