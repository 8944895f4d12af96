/**
 * yieldToEventLoop lets other work run: a timer and I/O callbacks that are due get their turn
 * between yields, so a long fit does not starve them. (Its MessageChannel path, for browsers
 * without setImmediate, runs in __test__/browser.test.ts's Web Worker.)
 */
import { describe, expect, it } from 'vitest'
import { yieldToEventLoop } from '../lib/yield-to-event-loop.js'

describe('yieldToEventLoop', () => {
  it('lets a due timer run between yields', async () => {
    let fired = false
    setTimeout(() => (fired = true), 0)
    const start = performance.now()
    // Spin without other awaits: only the yields give the timer a turn.
    while (!fired && performance.now() - start < 2000) {
      const until = performance.now() + 1
      while (performance.now() < until) {
        // busy for 1 ms, as a training step would be
      }
      await yieldToEventLoop()
    }
    expect(fired).toBe(true)
    expect(performance.now() - start).toBeLessThan(500)
  })

  it('resolves every pending yield, in order', async () => {
    const order: number[] = []
    await Promise.all([0, 1, 2, 3].map((i) => yieldToEventLoop().then(() => order.push(i))))
    expect(order).toEqual([0, 1, 2, 3])
  })
})
