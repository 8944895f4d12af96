/** A source's rows over one epoch, flattened: what the source tests compare with references. */
import type { DataSourceLike } from '../../lib/index.js'

export async function collect(source: DataSourceLike, epoch = 0): Promise<{ x: number[]; y: number[] }> {
  const x: number[] = []
  const y: number[] = []
  for await (const block of source.blocks({ epoch })) {
    x.push(...block.x)
    y.push(...block.y)
  }
  return { x, y }
}
