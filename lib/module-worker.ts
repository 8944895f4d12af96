import { Worker, type WorkerOptions } from 'node:worker_threads'

/**
 * A worker thread running the module `name` beside the calling module (`base` is its
 * import.meta.url): `name`.js from the build; from the TypeScript sources (tests, tsx) `name`.ts
 * through tsx's loader, because Node 20 cannot run .ts files and `--import tsx` in a worker's
 * execArgv does not reach the worker's own entry module.
 */
export function moduleWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  // A worker inherits the process's Node flags, but one that only applies to the main script
  // (`node --input-type=module -e …`) keeps it from starting.
  options = { execArgv: process.execArgv.filter((flag) => !flag.startsWith('--input-type')), ...options }
  const fromSource = base.endsWith('.ts')
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, base)
  if (!fromSource) return new Worker(url, options)
  // Resolved here, from this module, so it does not depend on the worker's working directory.
  const tsx = import.meta.resolve('tsx/esm/api')
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { ...options, eval: true })
}
