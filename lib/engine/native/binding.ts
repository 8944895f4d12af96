import type * as Binding from '../../../native/index.js'

/** The raw addon: the kernels and the Network class (typed in native/index.d.ts). */
export type NativeBinding = typeof Binding

/**
 * Loads the addon through native/index.js, the loader `npm run build` generates (it finds
 * native/backprop.<platform>.node in a checkout, or the backprop-nn-<platform> package when
 * installed). Synchronous — require() of an ES module works unflagged from Node 20.19 — so
 * choosing an engine stays synchronous, and only on first use: importing backprop never loads
 * (or fails to load) the addon. Throws an Error saying why it cannot load. `node:module` comes
 * through process.getBuiltinModule, not an import, so the portable core (lib/core.ts) bundles
 * for browsers, where this says there is no Node.
 */
export function loadBinding(): NativeBinding {
  const nodeProcess = (globalThis as { process?: NodeJS.Process }).process
  if (typeof nodeProcess?.getBuiltinModule !== 'function') throw new Error('the native addon needs Node.js, and this is not Node')
  const require = nodeProcess.getBuiltinModule('module').createRequire(import.meta.url)
  try {
    // Same depth from lib/engine/native/ and dist/engine/native/: the package root's native/.
    const binding = require('../../../native/index.js') as NativeBinding
    // Exiting with native training under way (process.exit, an uncaught exception): Node joins
    // the libuv pool's threads, which must not wait for a JavaScript thread that is gone.
    if (nodeProcess.getBuiltinModule('worker_threads').isMainThread) nodeProcess.once('exit', () => binding.shutdown())
    return binding
  } catch (error) {
    throw new Error(loadFailure(error), { cause: error })
  }
}

/** One line from the loader's error and the chain of causes it collected (one per candidate). */
function loadFailure(error: unknown): string {
  const messages: string[] = []
  for (let e = error as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 20; e = e.cause as typeof e, depth++) {
    const first = String(e.message ?? e).split('\n')[0]!
    // The loader also tries WebAssembly fallbacks this package does not ship: not the cause.
    if (!first.includes('wasm32-wasi') && !first.includes('.wasi.') && !messages.includes(first)) messages.push(first)
  }
  const code = (error as { code?: unknown })?.code
  if (code === 'MODULE_NOT_FOUND' && messages[0]?.includes('native/index.js')) {
    return 'the native addon is not built in this checkout (native/index.js is missing; run npm run build)'
  }
  const [top, ...causes] = messages
  if (top?.startsWith('Cannot find native binding') && causes.length > 0) {
    // The loader's own headline blames an npm bug; the causes say what was really tried.
    return `the native addon did not load: no binary for ${globalThis.process?.platform}-${globalThis.process?.arch} was found (${causes.join('; ')}); install the optional package that matches this platform, or run npm run build in a checkout`
  }
  return `the native addon did not load: ${messages.join('; ')}`
}
