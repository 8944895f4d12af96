/**
 * The coordinator of a distributed batch prediction (`backprop predict --redis`): one pass over
 * the CSV file finds the byte ranges of chunks of whole records, each chunk is queued once (job id:
 * the run id and the chunk number; attempts for workers that die), and the workers' lines are
 * written in file order after the header — the same bytes as a local `backprop predict`.
 */
import { Queue, QueueEvents } from 'bullmq'
import { open } from 'node:fs/promises'
import { csvRecords, type CsvRange } from '../data/csv.js'
import { DataFileError } from '../errors.js'
import type { Sequential } from '../model/sequential.js'
import { predictionHeader } from '../cli/prediction-csv.js'
import { connect } from './redis-connection.js'
import { fileDigest, PREDICT_JOB, type PredictJob } from './predict-job.js'

export interface DistributedPredictOptions {
  redis: string
  queue: string
  runId: string
  modelPath: string
  dataPath: string
  delimiter: string
  featureNames: string[]
  chunkRows: number
  /** Runs of a chunk whose worker died, in all. */
  attempts: number
  /** Called as chunks finish (done, total). */
  progress?: (done: number, total: number) => void
}

/** The predictions' CSV text (header and every row's line), from the workers. */
export async function predictOnWorkers(model: Sequential, o: DistributedPredictOptions): Promise<{ text: string; rows: number }> {
  await refuseGzip(o.dataPath)
  const chunks: { range: CsvRange; rows: number }[] = []
  let current: { range: CsvRange; rows: number } | null = null
  let lastEnd = 0
  let lastLine = 1
  for await (const record of csvRecords(o.dataPath, o.delimiter)) {
    if (current === null) {
      const start = chunks.length === 0 ? record.headerEnd : lastEnd
      current = { range: { headerEnd: record.headerEnd, start, end: start, firstLine: lastLine + 1 }, rows: 0 }
    }
    current.rows++
    current.range.end = record.end
    lastEnd = record.end
    lastLine = record.line
    if (current.rows === o.chunkRows) {
      chunks.push(current)
      current = null
    }
  }
  if (current) chunks.push(current)
  const modelSha = await fileDigest(o.modelPath)
  const connections = [connect(o.redis), connect(o.redis)]
  const queue = new Queue(o.queue, { connection: connections[0]! })
  const events = new QueueEvents(o.queue, { connection: connections[1]! })
  queue.on('error', () => {})
  events.on('error', () => {})
  events.setMaxListeners(chunks.length + 16)
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
    let done = 0
    const texts = await Promise.all(
      chunks.map(async (chunk, index) => {
        const payload: PredictJob = {
          runId: o.runId,
          index,
          model: { path: o.modelPath, sha256: modelSha },
          data: { path: o.dataPath, delimiter: o.delimiter, featureNames: o.featureNames },
          range: chunk.range,
          rows: chunk.rows,
          sha256: await fileDigest(o.dataPath, chunk.range.start, chunk.range.end),
        }
        const job = await queue.add(PREDICT_JOB, payload, { jobId: `${o.runId}-${index}`, attempts: o.attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false })
        let result: { text?: unknown }
        try {
          result = (await job.waitUntilFinished(events)) as { text?: unknown }
        } catch (error) {
          throw new Error(`chunk ${index + 1} of ${chunks.length} (lines ${chunk.range.firstLine}–) failed on the workers: ${(error as Error).message}`)
        }
        if (typeof result?.text !== 'string') throw new Error(`chunk ${index + 1}: the worker returned no predictions`)
        o.progress?.(++done, chunks.length)
        return result.text
      }),
    )
    return { text: `${predictionHeader(model)}\n${texts.join('')}`, rows: chunks.reduce((n, c) => n + c.rows, 0) }
  } finally {
    await Promise.allSettled([queue.close(), events.close()])
    await Promise.allSettled(connections.map((c) => c.quit()))
  }
}

/** Chunks are byte ranges of the file: a gzip stream cannot be entered in the middle. */
async function refuseGzip(path: string): Promise<void> {
  const file = await open(path, 'r').catch((error: Error) => {
    throw new DataFileError(`${path}: cannot read the file: ${error.message}`, path)
  })
  try {
    const head = Buffer.alloc(2)
    await file.read(head, 0, 2, 0)
    if (head[0] === 0x1f && head[1] === 0x8b) throw new DataFileError(`${path} is gzip-compressed: prediction on workers reads byte ranges of a plain CSV file; decompress it first`, path)
  } finally {
    await file.close()
  }
}
