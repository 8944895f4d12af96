/**
 * Streaming holds a bounded amount of the data: a 200 MB .npy file read through shuffle(4096)
 * and batch(128) grows a process's resident memory by far less than the file (a whole-file
 * read would grow it by ≥ 200 MB). Measured in a child process over the built package.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { requireFreshBuild, ROOT } from './helpers/cli.js'
import { npyBytes } from './helpers/npy.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-sources-memory-')

describe('streaming memory', () => {
  it('a 200 MB .npy through shuffle(4096) grows RSS by a bounded amount, not the file', () => {
    requireFreshBuild()
    const rows = 64_000
    const cols = 784
    const x = temp('x.npy')
    // Header from the test's own writer, then the rows in chunks (no 200 MB array here either).
    const header = npyBytes(new Float32Array(0), [rows, cols])
    const fd = openSync(x, 'w')
    writeSync(fd, header)
    const chunk = new Float32Array(1000 * cols).map((_, i) => (i % 255) / 255)
    for (let r = 0; r < rows; r += 1000) writeSync(fd, new Uint8Array(chunk.buffer))
    closeSync(fd)
    const y = temp('y.npy')
    const labels = npyBytes(Array.from({ length: rows }, (_, i) => i % 10), [rows], '<i4')
    const yfd = openSync(y, 'w')
    writeSync(yfd, labels)
    closeSync(yfd)
    const script = `
      const { data } = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))})
      const source = data.npy(${JSON.stringify(x)}, ${JSON.stringify(y)}).shuffle(4096, { seed: 1 }).batch(128)
      const before = process.memoryUsage().rss
      let peak = before, seen = 0
      for await (const b of source.blocks({ epoch: 0 })) { seen += b.rows; peak = Math.max(peak, process.memoryUsage().rss) }
      console.log(JSON.stringify({ seen, growthMB: (peak - before) / 2 ** 20, estimateMB: (await source.memoryEstimate()) / 2 ** 20 }))`
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 })
    expect(run.status, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
    expect(result.seen).toBe(rows)
    expect(result.estimateMB).toBeLessThan(60)
    expect(result.growthMB).toBeLessThan(150)
  }, 150_000)
})
