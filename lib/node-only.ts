import type * as Mpi from './distributed/mpi.js'
import type * as ExportFiles from './export/files.js'
import type * as ModelFile from './io/model-file.js'
import type * as ModelCheckpoint from './training/model-checkpoint.js'

/** This package's modules that read or write files or load MPI: they need Node's built-ins. */
interface NodeOnlyModules {
  './io/model-file.js': typeof ModelFile
  './export/files.js': typeof ExportFiles
  './training/model-checkpoint.js': typeof ModelCheckpoint
  './distributed/mpi.js': typeof Mpi
}

/**
 * Loads a Node-only module of this package on first use, so that the portable core (lib/core.ts)
 * can reach the methods that need it (`save`, `load`, `exportOnnx`, ...) without a bundler pulling
 * Node built-ins into a browser bundle. The specifier goes through a variable so bundlers leave
 * the import() alone; outside Node the method says what to use instead.
 */
export async function importNodeOnly<K extends keyof NodeOnlyModules>(specifier: K, method: string, instead: string): Promise<NodeOnlyModules[K]> {
  if (typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== 'string') {
    throw new Error(`${method} reads or writes files, which needs Node.js; here use ${instead}`)
  }
  const resolved: string = specifier
  return (await import(resolved)) as NodeOnlyModules[K]
}
