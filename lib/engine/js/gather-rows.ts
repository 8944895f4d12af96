import type { TrainingData } from '../engine.js'
import { targetColumns, type Plan } from '../../plan.js'

/** `Network.gatherRows` for the JS engine: the rows copied into `reuse`'s arrays where they are large enough. */
export function gatherRows(plan: Plan, source: TrainingData, order: Uint32Array, reuse: TrainingData | null): TrainingData {
  const xc = plan.inputSize
  const yc = targetColumns(plan)
  const n = order.length
  const fits = reuse !== null && reuse.x.length >= n * xc && reuse.y.length >= n * yc && (!source.w || (reuse.w?.length ?? 0) >= n)
  const into: TrainingData = fits ? reuse : { x: new Float32Array(n * xc), y: new Float32Array(n * yc), rows: 0, ...(source.w && { w: new Float32Array(n) }) }
  for (let r = 0; r < n; r++) {
    const src = order[r]!
    if (src >= source.rows) throw new RangeError(`order[${r}] is ${src}, but x has ${source.rows} rows`)
    into.x.set(source.x.subarray(src * xc, (src + 1) * xc), r * xc)
    if (yc === 1) into.y[r] = source.y[src]!
    else into.y.set(source.y.subarray(src * yc, (src + 1) * yc), r * yc)
    if (source.w) into.w![r] = source.w[src]!
  }
  into.rows = n
  if (!source.w) delete into.w
  return into
}
