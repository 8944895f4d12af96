import { BackendUnavailableError } from '../errors.js'
import type { Engine } from './engine.js'
import { jsEngine } from './js/index.js'
import { loadNativeEngine, type NativeEngine } from './native/engine.js'
import { checkOneOf } from '../validate.js'

export const BACKENDS = ['auto', 'native', 'js'] as const
/** Which engine a model uses: 'auto' prefers native and falls back to JS. */
export type Backend = (typeof BACKENDS)[number]

export interface BackendInfo {
  /** The engine 'auto' resolves to. */
  engine: 'js' | 'native'
  /** Whether the native addon loaded. */
  nativeAvailable: boolean
  /** Why the native engine is not in use, when it is not. */
  fallbackReason: string | null
  /** The native core's SIMD tier ('avx512', 'avx2', 'scalar'; capped by BACKPROP_ISA), when it loaded. */
  isa: string | null
  /**
   * The tier the native matrix products run on: `isa`, or 'avx2' on an AVX-512 CPU where the
   * AVX2 kernel measured faster at start-up (half-rate 512-bit FMAs); results are the same bits.
   */
  gemmIsa: string | null
  /** Threads the native kernels use (capped by BACKPROP_THREADS), when it loaded. */
  threads: number | null
}

let native: { engine: NativeEngine | null; error: Error | null } | null = null

/** The native engine, loaded on first use (so importing backprop never fails because of it). */
function nativeEngine(): { engine: NativeEngine | null; error: Error | null } {
  if (native === null) {
    try {
      native = { engine: loadNativeEngine(), error: null }
    } catch (error) {
      native = { engine: null, error: error as Error }
    }
  }
  return native
}

/** The backend asked for by BACKPROP_BACKEND, or 'auto'. */
function environmentBackend(): Backend {
  // globalThis: browsers have no process (and there 'auto' is the JS engine).
  const value = globalThis.process?.env?.BACKPROP_BACKEND
  if (value === undefined || value === '') return 'auto'
  return checkOneOf('the environment variable BACKPROP_BACKEND', value, BACKENDS)
}

/**
 * The engine for a model. An explicit 'native' or 'js' wins; 'auto' follows BACKPROP_BACKEND
 * and otherwise prefers the native engine when it loads. Forcing native when it cannot load
 * throws with the loader's real cause.
 */
export function selectEngine(requested: Backend): Engine {
  const backend = requested === 'auto' ? environmentBackend() : requested
  if (backend === 'js') return jsEngine
  const { engine, error } = nativeEngine()
  if (engine !== null) return engine
  if (backend === 'native') {
    throw new BackendUnavailableError(`backend 'native' was requested but the native engine cannot load: ${error!.message}`, { cause: error })
  }
  warnFallback(error!)
  return jsEngine
}

/** Platforms (`${platform}-${arch}`) for which a native package is published. */
const NATIVE_PLATFORMS = ['linux-x64']
let fallbackWarned = false

/**
 * Once per process, on stderr: 'auto' fell back to the 25–40× slower JS engine where a native
 * package should have loaded (usually an install that skipped optional dependencies). Node's
 * warning channel, so `--no-warnings` or NODE_NO_WARNINGS=1 silence it, as does
 * BACKPROP_BACKEND=js (choosing JS on purpose).
 */
function warnFallback(error: Error): void {
  const nodeProcess = globalThis.process
  if (fallbackWarned || typeof nodeProcess?.emitWarning !== 'function' || !NATIVE_PLATFORMS.includes(`${nodeProcess.platform}-${nodeProcess.arch}`)) return
  fallbackWarned = true
  nodeProcess.emitWarning(`backprop-nn is using its JS engine (25–40× slower): ${error.message}. Set BACKPROP_BACKEND=js to choose it on purpose and silence this.`, {
    type: 'BackpropWarning',
    code: 'BACKPROP_NATIVE_FALLBACK',
  })
}

/** Which engine 'auto' uses here, and why not native when it falls back. */
export function backendInfo(): BackendInfo {
  const { engine, error } = nativeEngine()
  const chosen = selectEngine('auto')
  const info = engine?.info()
  return {
    engine: chosen.name,
    nativeAvailable: engine !== null,
    fallbackReason: chosen.name === 'native' ? null : error ? error.message : 'BACKPROP_BACKEND=js',
    isa: info?.isa ?? null,
    gemmIsa: info?.gemmIsa ?? null,
    threads: info?.threads ?? null,
  }
}
