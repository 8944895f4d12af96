/**
 * The worker thread of off-thread.ts: opens the file source it is given, decodes one epoch's
 * blocks and posts each with its buffers transferred, waiting while `ahead` blocks are unread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { ArrowSource } from './arrow-source.js'
import { CsvSource } from './csv-source.js'
import type { RowBlock } from './data-source.js'
import type { DecoderError, FileSourceSpec, FromDecoder } from './off-thread.js'
import { ParquetSource } from './parquet-source.js'

const { spec, epoch, ahead } = workerData as { spec: FileSourceSpec; epoch: number; ahead: number }
const port = parentPort!
let credits = ahead
let wake: (() => void) | null = null
port.on('message', () => {
  credits++
  wake?.()
})

const post = (message: FromDecoder, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

/** The block with buffers of its own: a view into a larger buffer is copied, not transferred with it. */
function owned(block: RowBlock): { block: RowBlock; buffers: ArrayBuffer[] } {
  const own = <T extends Float32Array>(a: T): T => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T))
  const out: RowBlock = { x: own(block.x), y: own(block.y), rows: block.rows }
  if (block.w) out.w = own(block.w)
  return { block: out, buffers: [out.x, out.y, ...(out.w ? [out.w] : [])].map((a) => a.buffer as ArrayBuffer) }
}

try {
  const source = spec.kind === 'csv' ? new CsvSource(spec.path, spec.options) : spec.kind === 'parquet' ? new ParquetSource(spec.path, spec.options) : new ArrowSource(spec.path, spec.options)
  for await (const block of source.blocks({ epoch })) {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve))
    credits--
    const { block: out, buffers } = owned(block)
    post({ block: out }, buffers)
  }
  post({ done: true })
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error))
  const { path, location } = e as { path?: string; location?: DecoderError['location'] }
  post({ error: { name: e.name, message: e.message, ...(path !== undefined && { path }), ...(location !== undefined && { location }) } })
}
