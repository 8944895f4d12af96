/**
 * The file sources decode on a worker thread when iterated on the main thread (off-thread.ts):
 * the worker really runs and really stops — when the epoch ends, when the consumer stops early,
 * and on abort — and an error in it arrives as the same DataFileError, with its location. (That
 * the rows are the file's rows is what every source test checks, through this same worker.)
 */
import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DataFileError, data } from '../lib/index.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-off-thread-')

/** This process's OS threads: a worker is one while it runs. */
const threads = () => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1])

async function settledThreads(expected: number): Promise<number> {
  for (let i = 0; i < 100 && threads() > expected; i++) await new Promise((r) => setTimeout(r, 20))
  return threads()
}

function writeCsv(name: string, rows: number, badAt = -1): string {
  const lines = ['a,b,label']
  for (let i = 0; i < rows; i++) lines.push(`${i === badAt ? 'x1' : i % 13},${i / 4},${i % 3 === 0 ? 'yes' : 'no'}`)
  fs.writeFileSync(temp(name), lines.join('\n') + '\n')
  return temp(name)
}

describe.runIf(process.platform === 'linux')('decoding on a worker thread', () => {
  it('a worker runs while the epoch is read and is gone when the consumer stops early', async () => {
    const source = data.csv(writeCsv('big.csv', 200_000))
    await source.shape() // the first pass runs here, on this thread
    const before = threads()
    let during = 0
    let rows = 0
    for await (const block of source.blocks({ epoch: 0 })) {
      during = Math.max(during, threads())
      rows += block.rows
      if (rows >= 10_000) break
    }
    expect(during).toBeGreaterThan(before)
    expect(await settledThreads(before)).toBe(before)
  })

  it('an abort stops the worker and rejects with the reason', async () => {
    const source = data.csv(writeCsv('abort.csv', 200_000))
    await source.shape()
    const before = threads()
    const controller = new AbortController()
    const reason = new Error('stop here')
    const read = (async () => {
      for await (const _ of source.blocks({ epoch: 0, signal: controller.signal })) controller.abort(reason)
    })()
    await expect(read).rejects.toBe(reason)
    expect(await settledThreads(before)).toBe(before)
  })

  it("the worker's DataFileError arrives as one, with its file and line", async () => {
    const path = writeCsv('bad.csv', 50_000, 40_000)
    const source = data.csv(path, { task: 'classification', labelNames: ['no', 'yes'] })
    const error = await (async () => {
      for await (const _ of source.blocks({ epoch: 0 }));
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DataFileError)
    expect(error).toMatchObject({ path, location: { line: 40_002 } })
    expect((error as Error).message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: line 40002: column 1 \\('a'\\)`))
  })
})
