/**
 * An in-memory dataset's epoch as chunks of its rows in the epoch's shuffled order: the order
 * the engine itself would draw (Fisher–Yates from the network's training stream, which then
 * goes on to the epoch's dropout masks exactly as inside the engine), so results are the same
 * bit for bit as a whole-epoch engine call, without the engine holding a copy of the data.
 */
import type { TrainingData, Network } from '../engine/engine.js'
import { targetColumns } from '../plan.js'
import { Rng } from '../rng.js'

/** Bytes of rows per chunk. */
const CHUNK_BYTES = 4 << 20

export async function* gatheredChunks(network: Network, fit: { train: TrainingData; batchSize: number; shuffle: boolean }): AsyncGenerator<TrainingData> {
  const { train, batchSize } = fit
  const rows = train.rows
  const xc = network.plan.inputSize
  const yc = targetColumns(network.plan)
  const order = new Uint32Array(rows)
  for (let i = 0; i < rows; i++) order[i] = i
  if (fit.shuffle) {
    const rng = new Rng(network.readState().rng)
    for (let i = rows - 1; i > 0; i--) {
      const j = rng.nextBelow(i + 1)
      const t = order[i]!
      order[i] = order[j]!
      order[j] = t
    }
    network.writeState({ rng: rng.state })
  }
  const capacity = batchSize * Math.max(1, Math.floor(CHUNK_BYTES / ((xc + yc + 1) * 4 * batchSize)))
  const buffers = [0, 1].map((): TrainingData => ({
    x: new Float32Array(Math.min(capacity, rows) * xc),
    y: new Float32Array(Math.min(capacity, rows) * yc),
    rows: 0,
    ...(train.w && { w: new Float32Array(Math.min(capacity, rows)) }),
  }))
  for (let start = 0, k = 0; start < rows; start += capacity, k ^= 1) {
    const chunk = buffers[k]!
    const n = Math.min(capacity, rows - start)
    for (let r = 0; r < n; r++) {
      const src = order[start + r]!
      chunk.x.set(train.x.subarray(src * xc, (src + 1) * xc), r * xc)
      if (yc === 1) chunk.y[r] = train.y[src]!
      else chunk.y.set(train.y.subarray(src * yc, (src + 1) * yc), r * yc)
      if (chunk.w) chunk.w[r] = train.w![src]!
    }
    chunk.rows = n
    yield chunk
  }
}
