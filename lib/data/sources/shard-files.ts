/**
 * A directory of Parquet or Arrow files read as one sequence of rows, file after file in name
 * order (part-000.parquet, part-001.parquet, …). The files must agree on their columns; class
 * labels are numbered over all of them (each file's first pass finds its labels, and the union,
 * sorted, fixes the numbers), so a name means one class in every file.
 */
import { DataFileError } from '../../errors.js'
import type { ColumnarOptions } from './columnar.js'
import { sortedLabelNames } from '../dataset.js'
import { DataSource, type EpochContext, type RowBlock, type SourceShape } from './data-source.js'

export class ShardFiles extends DataSource {
  private resolved: Promise<{ sources: DataSource[]; shape: SourceShape }> | null = null

  constructor(
    private readonly paths: string[],
    private readonly open: (path: string, options: ColumnarOptions) => DataSource,
    private readonly options: ColumnarOptions = {},
  ) {
    super()
  }

  async shape(): Promise<SourceShape> {
    return (await this.resolve()).shape
  }

  async memoryEstimate(): Promise<number> {
    const { sources } = await this.resolve()
    return Math.max(...(await Promise.all(sources.map((s) => s.memoryEstimate()))))
  }

  async *blocks(context: EpochContext): AsyncGenerator<RowBlock> {
    for (const source of (await this.resolve()).sources) yield* source.blocks(context)
  }

  private resolve() {
    this.resolved ??= (async () => {
      let sources = this.paths.map((p) => this.open(p, this.options))
      const shapes = await Promise.all(sources.map((s) => s.shape()))
      const first = shapes[0]!
      shapes.forEach((s, i) => {
        if (JSON.stringify(s.featureNames) !== JSON.stringify(first.featureNames)) {
          throw new DataFileError(`${this.paths[i]} has the feature columns ${s.featureNames?.join(', ')}, but ${this.paths[0]} has ${first.featureNames?.join(', ')}; the files of a directory must agree`, this.paths[i]!)
        }
      })
      let labelNames = first.labelNames
      if (labelNames !== null && this.options.labelNames === undefined) {
        // Each file numbered its own labels: number them over all the files, and read again.
        labelNames = sortedLabelNames([...new Set(shapes.flatMap((s) => s.labelNames ?? []))])
        const fixed = labelNames
        sources = this.paths.map((p) => this.open(p, { ...this.options, labelNames: fixed }))
      }
      const rows = shapes.every((s) => s.rows !== null) ? shapes.reduce((n, s) => n + s.rows!, 0) : null
      return { sources, shape: { ...first, rows, labelNames } }
    })()
    this.resolved.catch(() => (this.resolved = null))
    return this.resolved
  }
}
