/**
 * `backprop serve`: answers predictions for a model file over HTTP until SIGTERM or Ctrl-C,
 * reloading the file when it is replaced. Logs are JSON lines on stderr (Fastify's logger).
 */
import { Command, Option } from 'commander'
import { BACKENDS, type Backend } from '../../engine/select.js'
import { LOG_LEVELS, startServer, type LogLevel } from '../../serving/start-server.js'
import { EXIT } from '../exit-codes.js'
import { integer, number } from '../option-parsers.js'

interface ServeFlags {
  port: number
  host: string
  maxBatch: number
  maxDelayMs: number
  maxQueue: number
  bodyLimit: number
  backend: Backend
  watch: boolean
  shutdownTimeoutMs: number
  logLevel: LogLevel
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a model file over HTTP: POST /predict, GET /health, GET /model')
    .argument('<model>', 'a model file saved by train --out or model.save()')
    .option('--port <n>', 'TCP port (0: any free port, logged at start)', integer(0, 65535), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--max-batch <n>', 'rows per engine call when requests are batched (1: no batching)', integer(1, 65536), 64)
    .option('--max-delay-ms <ms>', 'how long a row waits for others to share its engine call (0: only rows arriving together or while the engine is busy)', number(0, 60_000), 0)
    .option('--max-queue <n>', 'rows that may wait before requests are refused with 503', integer(1), 4096)
    .option('--body-limit <bytes>', 'largest request body (larger: 413)', integer(16), 1 << 20)
    .addOption(new Option('--backend <engine>', 'engine').choices(BACKENDS).default('auto'))
    .option('--no-watch', 'do not reload the model when its file is replaced')
    .option('--shutdown-timeout-ms <ms>', 'how long shutdown waits for requests in flight', number(0, 3_600_000), 10_000)
    .addOption(new Option('--log-level <level>', 'least severe log lines written to stderr').choices(LOG_LEVELS).default('info'))
    .addHelpText('after', `
Requests (JSON):
  POST /predict  {"rows": [[5.1, 3.5, 1.4, 0.2]]}             raw features in the model's input order
                 {"instances": [{"sepal_length": 5.1, ...}]}  features by the names saved with the model
  Both go through the model's saved scaler. Answers: {"classes": [...], "predictions":
  [{"class", "classIndex", "probabilities"}]} for classification, {"predictions": [{"values"}]}
  for regression. Bad input: 400 with a message; body too large: 413; queue full: 503.

Replace the model file atomically (write another file, rename it over the model, as
model.save() does) to reload it without dropping requests; a file that does not load is logged
and the previous model keeps serving. SIGTERM or Ctrl-C: stop accepting, finish requests in
flight (at most --shutdown-timeout-ms), exit; a second signal exits at once.`)
    .action(async (modelPath: string, flags: ServeFlags) => {
      process.exitCode = await serve(modelPath, flags)
    })
}

async function serve(modelPath: string, flags: ServeFlags): Promise<number> {
  const server = await startServer(modelPath, {
    port: flags.port,
    host: flags.host,
    maxBatch: flags.maxBatch,
    maxDelayMs: flags.maxDelayMs,
    maxQueue: flags.maxQueue,
    bodyLimit: flags.bodyLimit,
    backend: flags.backend,
    watch: flags.watch,
    shutdownTimeoutMs: flags.shutdownTimeoutMs,
    logLevel: flags.logLevel,
  })
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  const code = signal === 'SIGINT' ? EXIT.interrupted : EXIT.ok
  // A second signal does not wait for the drain.
  process.once('SIGTERM', () => process.exit(code))
  process.once('SIGINT', () => process.exit(code))
  server.app.log.info({ signal }, 'shutting down: finishing requests in flight')
  await server.close()
  server.app.log.info('stopped')
  // Whatever might still hold the event loop (a native call that never returns) cannot keep
  // the process alive past the shutdown.
  setTimeout(() => process.exit(code), 2000).unref()
  return code
}
