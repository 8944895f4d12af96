/**
 * `data`: streaming data sources, in the manner of tf.data.
 *
 *   const train = data.npy('x.npy', 'y.npy').shuffle(65536, { seed: 1 }).batch(128)
 *   await model.fitDataset(train, { epochs: 5 })
 */
import type { Features, Targets } from '../../inputs.js'
import { ArraySource } from './array-source.js'
import { CsvSource, type CsvSourceOptions } from './csv-source.js'
import type { DataSource } from './data-source.js'
import { GeneratorSource, type GeneratorFunction } from './generator-source.js'
import { NpySource, npyDirectory } from './npy-source.js'

export const data = {
  /** Arrays in memory (as fit takes them): x rows and labels or targets. Views, no copies. */
  array: (x: Features, y: Targets): DataSource => new ArraySource(x, y),
  /** .npy files: features and labels, or lists of shard files read as one sequence of rows. */
  npy: (x: string | string[], y: string | string[]): DataSource => new NpySource(x, y),
  /** A CSV file with a header row, streamed with loadCsv's rules (labels found in a first pass unless labelNames are given). */
  csv: (path: string, options?: CsvSourceOptions): DataSource => new CsvSource(path, options),
  /** A directory of shards: x-*.npy with y-*.npy of the same suffix, in name order. */
  directory: (path: string): Promise<DataSource> => npyDirectory(path),
  /** Rows from code: `fn()` returns a fresh iterable of samples `{ x, y }` (or blocks) per epoch. */
  generator: (fn: GeneratorFunction): DataSource => new GeneratorSource(fn),
}

export { DataSource } from './data-source.js'
export type { DataSourceLike, EpochContext, RowBlock, SourceShape } from './data-source.js'
export type { GeneratorFunction } from './generator-source.js'
export type { CsvSourceOptions } from './csv-source.js'
