import type { PredictionServer, ServerOptions } from './server.js'

/** Log levels of the server's structured logs, most verbose last ('silent': none). */
export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/**
 * Serves a model file over HTTP (Fastify) until `close()`; see ServerOptions and
 * PredictionServer. The server module (and Fastify) load on the first call, so importing
 * backprop costs nothing for programs that never serve.
 */
export async function startServer(modelPath: string, options: ServerOptions = {}): Promise<PredictionServer> {
  const server = await import('./server.js')
  return server.startServer(modelPath, options)
}
