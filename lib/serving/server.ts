/**
 * The prediction server behind `backprop serve`: a model file answered over HTTP with Fastify,
 * rows micro-batched through `createPredictor`, and the file reloaded when it is replaced.
 *
 *   POST /predict  { "rows": [[…], …] } or { "instances": [{ "feature": value, … }, …] }
 *   GET  /health   liveness and what is loaded
 *   GET  /model    architecture, features, classes
 */
import { watch, type FSWatcher } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { applyPreprocessing } from '../data/preprocessing.js'
import { BACKENDS, type Backend } from '../engine/select.js'
import { ModelStateError, QueueFullError } from '../errors.js'
import { Matrix } from '../matrix.js'
import { Sequential } from '../model/sequential.js'
import { outputActivation, type Plan } from '../plan.js'
import { checkInteger, checkNumber, checkOneOf, checkOptions, describe, optional } from '../validate.js'
import { createPredictor, type Predictor, type PredictorStats } from './predictor.js'
import { LOG_LEVELS, type LogLevel } from './start-server.js'


export interface ServerOptions {
  /** TCP port (default 8080; 0 picks a free one, see `PredictionServer.port`). */
  port?: number
  /** Address to listen on (default 127.0.0.1: this machine only). */
  host?: string
  /** Rows per engine call when requests are batched together (default 64; 1: no batching). */
  maxBatch?: number
  /** How long a row waits for others to share its engine call, in ms (default 0: rows arriving together or while the engine is busy share a call, and a lone request waits for nothing). */
  maxDelayMs?: number
  /** Rows that may wait for the engine before requests are refused with 503 (default 4096). */
  maxQueue?: number
  /** Largest request body in bytes (default 1 MiB); a larger one is refused with 413. */
  bodyLimit?: number
  /** Most rows (or instances) in one request (default 1024). */
  maxRowsPerRequest?: number
  /** Engine that runs the model (default 'auto'). */
  backend?: Backend
  /**
   * Reload the model when its file is replaced (default true). Replace it atomically (write a
   * temporary file, then rename it over the model, as `model.save` does): the new model is
   * loaded fully before it takes over; a file that does not load is logged and the previous
   * model keeps serving.
   */
  watch?: boolean
  /** How long shutdown waits for requests in flight before closing their connections (default 10 s). */
  shutdownTimeoutMs?: number
  /** Structured JSON log lines on stderr from this level up (default 'info'; 'silent': none). */
  logLevel?: LogLevel
}

/** A running server (see `startServer`). */
export interface PredictionServer {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  readonly url: string
  readonly port: number
  /** The Fastify instance, for adding routes or hooks. */
  readonly app: FastifyInstance
  /** The model answering now. */
  readonly model: Sequential
  /** Successful reloads since it started. */
  readonly reloads: number
  /** What the current model's predictor has done (engine calls, rows, queue). */
  readonly stats: PredictorStats
  /**
   * Loads the model file again now (the watcher calls this when the file is replaced). Resolves
   * true when the new model took over, false when the file was unchanged or did not load (then
   * the previous model keeps serving; the failure is logged).
   */
  reload(): Promise<boolean>
  /**
   * Graceful shutdown: stops accepting connections, lets requests in flight finish (up to
   * `shutdownTimeoutMs`, then closes their connections), and frees the model. Idempotent.
   */
  close(): Promise<void>
}

/** The largest finite float32: JSON numbers beyond it would become Infinity in the model. */
const FLOAT32_MAX = 3.4028234663852886e38

/** What answers requests: swapped whole on reload, so a request sees one model throughout. */
interface Serving {
  model: Sequential
  predictor: Predictor
  task: 'classification' | 'regression'
  classes: string[] | null
  features: string[] | null
  featureIndex: Map<string, number> | null
  loadedAt: string
  /** Identity of the file it was loaded from, to skip reloading an unchanged file. */
  version: string
}

interface PredictBody {
  rows?: number[][]
  instances?: Record<string, number>[]
}

/** A request the server refuses with a status code and a message saying why. */
class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Loads the model file and serves it until `close()`. Throws what `Sequential.load` throws for
 * a bad file (a ModelFileError), and the listen error (e.g. EADDRINUSE) if the port is taken.
 */
export async function startServer(modelPath: string, options: ServerOptions = {}): Promise<PredictionServer> {
  if (typeof modelPath !== 'string' || modelPath === '') throw new TypeError(`startServer needs a model file path, got ${describe(modelPath)}`)
  const o = checkOptions('startServer options', options, [
    'port', 'host', 'maxBatch', 'maxDelayMs', 'maxQueue', 'bodyLimit', 'maxRowsPerRequest', 'backend', 'watch', 'shutdownTimeoutMs', 'logLevel',
  ])
  const port = optional(o.port, 8080, (v) => checkInteger('startServer port', v, { min: 0, max: 65535 }))
  const host = optional(o.host, '127.0.0.1', (v) => {
    if (typeof v !== 'string' || v === '') throw new TypeError(`startServer host must be an address such as 127.0.0.1, got ${describe(v)}`)
    return v
  })
  const batching = {
    maxBatch: optional(o.maxBatch, 64, (v) => checkInteger('startServer maxBatch', v, { min: 1, max: 65536 })),
    maxDelayMs: optional(o.maxDelayMs, 0, (v) => checkNumber('startServer maxDelayMs', v, { min: 0, max: 60_000 })),
    maxQueue: optional(o.maxQueue, 4096, (v) => checkInteger('startServer maxQueue', v, { min: 1 })),
  }
  const bodyLimit = optional(o.bodyLimit, 1 << 20, (v) => checkInteger('startServer bodyLimit', v, { min: 16 }))
  const maxRows = optional(o.maxRowsPerRequest, 1024, (v) => checkInteger('startServer maxRowsPerRequest', v, { min: 1 }))
  const backend = optional(o.backend, 'auto' as Backend, (v) => checkOneOf('startServer backend', v, BACKENDS))
  const watching = optional(o.watch, true, (v) => {
    if (typeof v !== 'boolean') throw new TypeError(`startServer watch must be true or false, got ${describe(v)}`)
    return v
  })
  const shutdownTimeoutMs = optional(o.shutdownTimeoutMs, 10_000, (v) => checkNumber('startServer shutdownTimeoutMs', v, { min: 0 }))
  const logLevel = optional(o.logLevel, 'info' as LogLevel, (v) => checkOneOf('startServer logLevel', v, LOG_LEVELS))

  const path = resolve(modelPath)
  const load = async (): Promise<Serving> => {
    // Before loading: if the file is replaced meanwhile, the next event sees a newer version.
    const version = await fileVersion(path).catch(() => '')
    const model = await Sequential.load(path, { backend })
    return serving(model, createPredictor(model, batching), version)
  }
  let current = await load()

  const app = Fastify({
    bodyLimit,
    logger: logLevel === 'silent' ? false : { level: logLevel, stream: process.stderr },
    // Types must be what the schema says: no "5" taken as 5, no fields silently dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Keep-alive connections that are idle are closed at shutdown; busy ones finish first.
    forceCloseConnections: 'idle',
  })
  // A body sent without a JSON content type (curl -d sends form encoding) is still read as JSON.
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))

  app.get('/health', async () => ({ status: 'ok', model: path, loadedAt: current.loadedAt, reloads, queued: current.predictor.stats.queued }))
  app.get('/model', async () => describeModel(current, path))
  app.post<{ Body: PredictBody }>('/predict', { schema: { body: bodySchema(maxRows) } }, async (request, reply) => {
    const state = current
    try {
      return await predict(state, request.body)
    } catch (error) {
      return refuse(reply, error)
    }
  })

  let reloads = 0
  let reloading: Promise<boolean> = Promise.resolve(false)
  const reload = (): Promise<boolean> => {
    reloading = reloading.then(async () => {
      if (closing) return false
      try {
        if ((await fileVersion(path)) === current.version) return false
        const next = await load()
        const previous = current
        current = next
        reloads++
        app.log.info({ model: path, reloads }, 'model reloaded')
        // Requests already holding the previous model finish on it; then it is freed.
        void previous.predictor.close({ timeoutMs: shutdownTimeoutMs })
        return true
      } catch (error) {
        app.log.error({ err: error, model: path }, 'reload failed; the previous model keeps serving')
        return false
      }
    })
    return reloading
  }

  let watcher: FSWatcher | null = null
  let debounce: NodeJS.Timeout | null = null
  if (watching) {
    // The directory, not the file: an atomic replace renames a new file over the name, and a
    // watch on the old file would see only its deletion.
    watcher = watch(dirname(path), (_event, name) => {
      if (name !== basename(path)) return
      if (debounce !== null) clearTimeout(debounce)
      // Writes come in bursts (a temporary file, a rename): load once they settle.
      debounce = setTimeout(() => {
        debounce = null
        void reload()
      }, 50)
    })
    watcher.on('error', (error) => app.log.error({ err: error }, 'watching the model file failed; hot reload is off'))
  }

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= (async () => {
      watcher?.close()
      if (debounce !== null) clearTimeout(debounce)
      await reloading
      // Bounded: requests still running at the deadline lose their connections.
      const force = setTimeout(() => app.server.closeAllConnections(), shutdownTimeoutMs)
      // Keep-alive connections go idle as their last response is sent; close them then, or
      // the server would wait for their clients to hang up.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 25)
      const stopped = app.close()
      // Rows waiting for batch partners run now: the requests in flight wait on them.
      await current.predictor.close({ timeoutMs: shutdownTimeoutMs })
      await Promise.race([stopped, delay(shutdownTimeoutMs + 1000)])
      clearTimeout(force)
      clearInterval(sweep)
    })()
    return closing
  }

  await app.listen({ port, host })
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address !== null ? address.port : port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`
  app.log.info({ url, model: path, engine: current.model.engine, maxBatch: batching.maxBatch, maxDelayMs: batching.maxDelayMs }, 'serving')
  return {
    url,
    port: actualPort,
    app,
    get model() {
      return current.model
    },
    get reloads() {
      return reloads
    },
    get stats() {
      return current.predictor.stats
    },
    reload,
    close,
  }
}

function serving(model: Sequential, predictor: Predictor, version: string): Serving {
  const plan = model.plan
  const p = model.preprocessing
  const task = isClassifier(plan) ? 'classification' : 'regression'
  const outputs = plan.outputSize
  const classes = task === 'classification' ? (p?.labelNames ?? Array.from({ length: outputs === 1 ? 2 : outputs }, (_, i) => String(i))) : null
  const features = p?.featureNames ?? null
  return {
    model,
    predictor,
    task,
    classes,
    features,
    featureIndex: features ? new Map(features.map((f, i) => [f, i])) : null,
    loadedAt: new Date().toISOString(),
    version,
  }
}

/** Probabilities out: a cross-entropy loss, or (uncompiled) a softmax or sigmoid output. */
function isClassifier(plan: Plan): boolean {
  if (plan.loss !== null) return plan.loss !== 'meanSquaredError'
  const act = outputActivation(plan)
  return act === 'softmax' || act === 'sigmoid'
}

function bodySchema(maxRows: number): object {
  const value = { type: 'number', minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX }
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      rows: { type: 'array', minItems: 1, maxItems: maxRows, items: { type: 'array', items: value } },
      instances: { type: 'array', minItems: 1, maxItems: maxRows, items: { type: 'object', additionalProperties: value } },
    },
  }
}

async function predict(state: Serving, body: PredictBody): Promise<object> {
  const x = inputs(state, body)
  const scaled = applyPreprocessing(state.model.preprocessing, x)
  const width = scaled.cols
  const answers = await Promise.all(Array.from({ length: scaled.rows }, (_, r) => state.predictor.predict(scaled.data.subarray(r * width, (r + 1) * width))))
  if (state.task === 'regression') return { predictions: answers.map((a) => ({ values: Array.from(a) })) }
  const classes = state.classes!
  return {
    classes,
    predictions: answers.map((a) => {
      const probabilities = a.length === 1 ? [1 - a[0]!, a[0]!] : Array.from(a)
      let best = 0
      for (let c = 1; c < probabilities.length; c++) if (probabilities[c]! > probabilities[best]!) best = c
      return { class: classes[best], classIndex: best, probabilities }
    }),
  }
}

/** The request's rows as a matrix of raw features in the model's input order. */
function inputs(state: Serving, body: PredictBody): Matrix {
  const width = state.model.plan.inputSize
  const { rows, instances } = body
  if ((rows === undefined) === (instances === undefined)) {
    throw new RequestError(400, `the body must have either "rows" (arrays of ${width} numbers) or "instances" (objects of feature values by name)${rows ? ', not both' : ''}`)
  }
  const x = new Float32Array((rows ?? instances!).length * width)
  if (rows !== undefined) {
    rows.forEach((row, r) => {
      if (row.length !== width) throw new RequestError(400, `rows[${r}] has ${row.length} values; the model takes ${width}${state.features ? ` (${abbreviate(state.features)})` : ''}`)
      x.set(row, r * width)
    })
    return new Matrix(rows.length, width, x)
  }
  const index = state.featureIndex
  if (index === null) throw new RequestError(400, 'this model was saved without feature names, so "instances" cannot be matched to its inputs; send "rows" instead')
  instances!.forEach((instance, r) => {
    const seen = Object.keys(instance)
    for (const name of seen) {
      const i = index.get(name)
      if (i === undefined) throw new RequestError(400, `instances[${r}] has an unknown feature "${name}"; the model's features are ${abbreviate(state.features!)}`)
      x[r * width + i] = instance[name]!
    }
    if (seen.length !== width) {
      const missing = state.features!.filter((f) => !Object.hasOwn(instance, f))
      throw new RequestError(400, `instances[${r}] lacks feature${missing.length > 1 ? 's' : ''} ${missing.map((f) => `"${f}"`).join(', ')}`)
    }
  })
  return new Matrix(instances!.length, width, x)
}

function refuse(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof QueueFullError) {
    return reply.code(503).header('retry-after', '1').send({ statusCode: 503, error: 'Service Unavailable', message: error.message })
  }
  if (error instanceof ModelStateError) {
    // The predictor closed under this request: the server is shutting down.
    return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'the server is shutting down' })
  }
  if (error instanceof RequestError) return reply.code(error.statusCode).send({ statusCode: error.statusCode, error: 'Bad Request', message: error.message })
  // The predictor's own row checks (e.g. a value the scaler turned infinite).
  if (error instanceof RangeError || error instanceof TypeError) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: error.message })
  throw error
}

function describeModel(state: Serving, path: string): object {
  const { model } = state
  const plan = model.plan
  const p = model.preprocessing
  return {
    file: path,
    loadedAt: state.loadedAt,
    engine: model.engine,
    task: state.task,
    inputSize: plan.inputSize,
    outputSize: plan.outputSize,
    features: state.features,
    classes: state.classes,
    target: p?.targetName ?? null,
    scaler: p?.scaler ? p.scaler.toJSON().kind : null,
    parameters: plan.paramCount,
    layers: plan.layers.map((l) => {
      switch (l.kind) {
        case 'dense':
          return { kind: l.kind, units: l.units, activation: l.activation.name, bias: l.biasOffset >= 0 }
        case 'activation':
          return { kind: l.kind, units: l.units, activation: l.activation.name }
        case 'dropout':
          return { kind: l.kind, units: l.units, rate: l.rate }
        case 'batchNormalization':
          return { kind: l.kind, units: l.units }
      }
    }),
  }
}

/** Changes when the file is replaced or rewritten. */
async function fileVersion(path: string): Promise<string> {
  const s = await stat(path)
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`
}

function abbreviate(names: string[]): string {
  return names.length <= 12 ? names.join(', ') : `${names.slice(0, 6).join(', ')}, … ${names.slice(-3).join(', ')} (${names.length})`
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
