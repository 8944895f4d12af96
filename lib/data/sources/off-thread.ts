/**
 * Decoding off the training thread. A file source's blocks for one epoch are read and decoded by
 * a worker thread (decoding-worker.ts) and handed over without a copy (their buffers are
 * transferred). At most `ahead` decoded blocks wait, so memory stays bounded while the worker
 * runs that far ahead. The main thread is left to feed the engine: with the native engine
 * training on its own threads, reading, decoding and training overlap, and the JS engine trains
 * while the worker decodes.
 *
 * The file sources (CSV, Parquet, Arrow) do this by themselves when iterated on the main thread;
 * in any other thread (a search worker, this worker) they decode where they are.
 */
import { isMainThread } from 'node:worker_threads'
import { DataFileError } from '../../errors.js'
import { moduleWorker } from '../../module-worker.js'
import type { EpochContext, RowBlock } from './data-source.js'

/** What the worker needs to open the same source: its kind, path and constructor options. */
export interface FileSourceSpec {
  kind: 'csv' | 'parquet' | 'arrow'
  path: string
  /** The constructor's options, with anything a first pass found (class names) filled in. */
  options: object
}

/** Messages from the worker. */
export type FromDecoder = { block: RowBlock } | { done: true } | { error: DecoderError }

/** An error as it crosses from the worker: a DataFileError keeps its path and location. */
export interface DecoderError {
  name: string
  message: string
  path?: string
  location?: { line?: number; byteOffset?: number }
}

/** Decoded blocks the worker may keep waiting: two is enough to hide a block's decoding. */
export const DECODE_AHEAD = 2

/**
 * Decoded blocks alive at once when decoding off-thread: the ones waiting, the one being handed
 * to the consumer and the one the consumer holds. (In-thread, one.) The sources' memory
 * estimates count this many blocks, plus what decoding one takes.
 */
export const blocksInFlight = (): number => (decodesOffThread() ? DECODE_AHEAD + 2 : 1)

/** Whether a file source iterated here should hand its decoding to a worker. */
export const decodesOffThread = (): boolean => isMainThread

export async function* blocksOffThread(spec: FileSourceSpec, context: EpochContext): AsyncGenerator<RowBlock> {
  context.signal?.throwIfAborted()
  const worker = moduleWorker(import.meta.url, 'decoding-worker', { workerData: { spec, epoch: context.epoch, ahead: DECODE_AHEAD } })
  const queue: FromDecoder[] = []
  let failure: Error | null = null
  let exited = false
  let wake: (() => void) | null = null
  const notify = () => wake?.()
  worker.on('message', (m: FromDecoder) => (queue.push(m), notify()))
  worker.on('error', (e: Error) => ((failure ??= e), notify()))
  worker.on('exit', () => ((exited = true), notify()))
  context.signal?.addEventListener('abort', notify)
  try {
    for (;;) {
      while (queue.length === 0) {
        context.signal?.throwIfAborted()
        if (failure) throw new Error(`${spec.path}: the decoding worker failed: ${(failure as Error).message}`, { cause: failure })
        if (exited) throw new Error(`${spec.path}: the decoding worker stopped before the end of the file`)
        await new Promise<void>((resolve) => (wake = resolve))
        wake = null
      }
      const m = queue.shift()!
      if ('done' in m) return
      if ('error' in m) throw rebuilt(m.error)
      worker.postMessage('more')
      yield m.block
    }
  } finally {
    context.signal?.removeEventListener('abort', notify)
    await worker.terminate()
  }
}

/** The worker's error as the same class and message (a DataFileError stays one). */
function rebuilt({ name, message, path, location }: DecoderError): Error {
  if (name === 'DataFileError') return new DataFileError(message, path ?? '', location)
  const Class = name === 'TypeError' ? TypeError : name === 'RangeError' ? RangeError : Error
  return new Class(message)
}
