/**
 * Batch prediction of a large CSV file on the workers: the coordinator cuts the file into chunks
 * of whole records (byte ranges found in one pass) and queues one job per chunk; a worker reads
 * its byte range with the header, predicts its rows with the model, and returns the CSV lines of
 * `backprop predict`. Model and data travel by reference (paths every worker can read), each
 * with a SHA-256 the worker checks before it predicts.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { csvRecords, readFeatures, type CsvRange } from '../data/csv.js'
import { applyPreprocessing } from '../data/preprocessing.js'
import { Matrix } from '../matrix.js'
import { Sequential } from '../model/sequential.js'
import { predictionLines } from '../cli/prediction-csv.js'
import { checkInteger, checkOptions, checkString, describe } from '../validate.js'

/** The job name of a chunk to predict. */
export const PREDICT_JOB = 'predict'

export interface PredictJob {
  /** Names the prediction run: job ids start with it. */
  runId: string
  /** Chunk number, from 0, in file order. */
  index: number
  model: { path: string; sha256: string }
  data: { path: string; delimiter: string; featureNames: string[] }
  range: CsvRange
  /** Records in the range. */
  rows: number
  /** SHA-256 of the range's bytes. */
  sha256: string
}

const checkHash = (name: string, v: unknown): string => {
  const h = checkString(name, v, 64)
  if (!/^[0-9a-f]{64}$/.test(h)) throw new TypeError(`${name} must be 64 hex digits, got '${h}'`)
  return h
}

export function checkPredictJob(value: unknown): PredictJob {
  const o = checkOptions('predict job', value, ['runId', 'index', 'model', 'data', 'range', 'rows', 'sha256'])
  const model = checkOptions('predict job model', o.model, ['path', 'sha256'])
  const data = checkOptions('predict job data', o.data, ['path', 'delimiter', 'featureNames'])
  const range = checkOptions('predict job range', o.range, ['headerEnd', 'start', 'end', 'firstLine'])
  const offset = (name: string, v: unknown) => checkInteger(`predict job range ${name}`, v, { min: 0 })
  if (!Array.isArray(data.featureNames) || data.featureNames.length === 0 || data.featureNames.length > 1_000_000 || data.featureNames.some((n) => typeof n !== 'string')) {
    throw new TypeError(`predict job data featureNames must be a non-empty array of column names, got ${describe(data.featureNames)}`)
  }
  const checked = {
    runId: checkString('predict job runId', o.runId, 64),
    index: checkInteger('predict job index', o.index, { min: 0 }),
    model: { path: checkString('predict job model path', model.path), sha256: checkHash('predict job model sha256', model.sha256) },
    data: { path: checkString('predict job data path', data.path), delimiter: checkString('predict job data delimiter', data.delimiter, 1), featureNames: data.featureNames as string[] },
    range: { headerEnd: offset('headerEnd', range.headerEnd), start: offset('start', range.start), end: offset('end', range.end), firstLine: checkInteger('predict job range firstLine', range.firstLine, { min: 2 }) },
    rows: checkInteger('predict job rows', o.rows, { min: 1 }),
    sha256: checkHash('predict job sha256', o.sha256),
  }
  if (!(checked.range.headerEnd <= checked.range.start && checked.range.start < checked.range.end)) {
    throw new RangeError(`predict job range must have headerEnd ≤ start < end, got ${JSON.stringify(checked.range)}`)
  }
  return checked
}

/** SHA-256 of bytes [start, end) of a file (the whole file without a range). */
export async function fileDigest(path: string, start = 0, end?: number): Promise<string> {
  const hash = createHash('sha256')
  if (end === undefined || end > start) {
    for await (const chunk of createReadStream(path, { start, ...(end !== undefined && { end: end - 1 }) })) hash.update(chunk as Buffer)
  }
  return hash.digest('hex')
}

/** Models this process has loaded for prediction jobs, by file digest. */
const models = new Map<string, Promise<Sequential>>()

/**
 * Predicts a chunk: checks the model's and the range's digests, reads the range's records with
 * the header, and returns the CSV lines `backprop predict` writes for them (newline-terminated).
 * Throws `refuse(message)` for what no retry can fix (another file under the path).
 */
export async function runPredictJob(job: PredictJob, refuse: (message: string) => Error): Promise<string> {
  let model = models.get(job.model.sha256)
  if (!model) {
    model = (async () => {
      const bytes = await readFile(job.model.path)
      const digest = createHash('sha256').update(bytes).digest('hex')
      if (digest !== job.model.sha256) throw refuse(`the model this worker reads at ${job.model.path} is not the coordinator's (SHA-256 ${digest.slice(0, 12)}… here, ${job.model.sha256.slice(0, 12)}… there)`)
      return Sequential.fromBytes(bytes)
    })()
    models.set(job.model.sha256, model)
    model.catch(() => models.delete(job.model.sha256))
    if (models.size > 4) models.delete(models.keys().next().value!)
  }
  const loaded = await model
  const digest = await fileDigest(job.data.path, job.range.start, job.range.end)
  if (digest !== job.sha256) throw refuse(`the data this worker reads at ${job.data.path} (bytes ${job.range.start}–${job.range.end}) is not the coordinator's: every worker must read the same file`)
  const cols = job.data.featureNames.length
  const x = new Float32Array(job.rows * cols)
  let rows = 0
  let columns: number[] | null = null
  for await (const record of csvRecords(job.data.path, job.data.delimiter, job.range)) {
    if (rows === job.rows) throw refuse(`${job.data.path}: bytes ${job.range.start}–${job.range.end} hold more than the ${job.rows} records the coordinator counted`)
    columns ??= job.data.featureNames.map((name) => {
      const c = record.header.indexOf(name)
      if (c < 0) throw refuse(`${job.data.path}: no feature column named '${name}'`)
      return c
    })
    readFeatures(job.data.path, record, columns, x, rows * cols)
    rows++
  }
  if (rows !== job.rows) throw refuse(`${job.data.path}: bytes ${job.range.start}–${job.range.end} hold ${rows} records, the coordinator counted ${job.rows}`)
  const outputs = loaded.predict(applyPreprocessing(loaded.preprocessing, new Matrix(rows, cols, x)))
  return predictionLines(loaded, outputs).lines.join('\n') + '\n'
}
