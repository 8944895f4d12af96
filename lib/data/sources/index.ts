/**
 * `data`: streaming data sources, in the manner of tf.data.
 *
 *   const train = data.npy('x.npy', 'y.npy').shuffle(65536, { seed: 1 }).batch(128)
 *   await model.fitDataset(train, { epochs: 5 })
 */
import type { Features, Targets } from '../../inputs.js'
import { ArraySource } from './array-source.js'
import { ArrowSource } from './arrow-source.js'
import type { ColumnarOptions } from './columnar.js'
import { CsvSource, type CsvSourceOptions } from './csv-source.js'
import { ParquetSource } from './parquet-source.js'
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
  /** An Arrow IPC file (file or stream format), a record batch at a time (apache-arrow). */
  arrow: (path: string, options?: ColumnarOptions): DataSource => new ArrowSource(path, options),
  /** A Parquet file, a row group at a time (hyparquet). */
  parquet: (path: string, options?: ColumnarOptions): DataSource => new ParquetSource(path, options),
  /** A directory of shards: x-*.npy with y-*.npy of the same suffix, or *.parquet or *.arrow files, in name order. */
  directory: (path: string, options?: ColumnarOptions): Promise<DataSource> => npyDirectory(path, options),
  /** Rows from code: `fn()` returns a fresh iterable of samples `{ x, y }` (or blocks) per epoch. */
  generator: (fn: GeneratorFunction): DataSource => new GeneratorSource(fn),
}

export { DataSource } from './data-source.js'
export type { DataSourceLike, EpochContext, RowBlock, SourceShape } from './data-source.js'
export type { GeneratorFunction } from './generator-source.js'
export type { CsvSourceOptions } from './csv-source.js'
export type { ColumnarOptions } from './columnar.js'
