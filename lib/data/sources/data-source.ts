/**
 * The contract of streaming data (release 2, DESIGN.md "Servers and beyond one machine").
 *
 * A DataSource is a lazy, re-iterable description of labelled rows: a file or a set of shards
 * (npy, csv, arrow, parquet), a generator, or arrays in memory, followed by transformations
 * (shuffle, batch, map, take, skip, shard, prefetch). Nothing is read until an epoch is
 * iterated; memory stays bounded by the shuffle buffer and the read-ahead, whatever the size of
 * the data. It is named DataSource (not Dataset) so that it cannot be confused with the loaded,
 * in-memory datasets of lib/data/dataset.ts or the engine's training data.
 *
 * Everything a source yields is a RowBlock: several rows at once, never one row per object, so
 * that a pipeline over millions of rows costs a few calls per thousand rows. After `.batch(n)`
 * every block is one batch of exactly n rows (the last one shorter unless dropRemainder).
 */

/** Rows of features and labels, row-major. */
export interface RowBlock {
  /** rows × xColumns features. */
  x: Float32Array
  /**
   * rows × yColumns labels as the file holds them: for classification usually one class index
   * per row, for regression the target value(s). The trainer converts them to what the
   * compiled loss needs (e.g. one-hot) and checks them.
   */
  y: Float32Array
  /** Optional per-row loss weights (≥ 0). */
  w?: Float32Array
  rows: number
}

/** Where an epoch's iteration starts; the same values always give the same rows in the same order. */
export interface EpochContext {
  /**
   * The 0-based epoch. Shuffling draws from a stream seeded by (shuffle seed, epoch), so epoch
   * e's order does not depend on the epochs before it: a resumed run can start at any epoch.
   */
  epoch: number
  /** Stops reading (and releases files and workers) when aborted. */
  signal?: AbortSignal
}

/** What a source knows about its rows before reading them. */
export interface SourceShape {
  /** Features per row. */
  xColumns: number
  /** Label values per row. */
  yColumns: number
  /** Rows per epoch when known (files with a row count), else null (generators, filters). */
  rows: number | null
  /** Feature names when the file has them (CSV header, Parquet/Arrow schema), else null. */
  featureNames: string[] | null
  /** Class names when labels were strings (CSV) or given, else null. */
  labelNames: string[] | null
}

export interface DataSourceLike {
  /** Opens the source enough to know its shape (reads headers only). */
  shape(): Promise<SourceShape>
  /** One epoch's blocks, in order. Every call starts a fresh pass; blocks may be reused after the next pull. */
  blocks(context: EpochContext): AsyncIterable<RowBlock>
  /** The most bytes this pipeline holds at once (shuffle buffer + read-ahead + batch buffers). */
  memoryEstimate(): number
}
