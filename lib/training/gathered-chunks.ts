/**
 * An in-memory dataset's epoch as chunks of its rows in the epoch's shuffled order: the order
 * the engine itself would draw (Fisher–Yates from the network's training stream, which then
 * goes on to the epoch's dropout masks exactly as inside the engine), so results are the same
 * bit for bit as a whole-epoch engine call, without the engine holding a copy of the data.
 */
import type { TrainingData, Network } from '../engine/engine.js'
import { targetColumns } from '../plan.js'
import { Rng } from '../rng.js'
import { chunkRows } from './chunked-epoch.js'

/**
 * The epoch's chunks, gathered in turn into the two of `chunks` (null at first; keep them for
 * the next epoch: fresh memory costs a page fault every 4 KB, 12 ms a 4 MB chunk on this machine's VM).
 */
export async function* gatheredChunks(
  network: Network,
  fit: { train: TrainingData; batchSize: number; shuffle: boolean },
  chunks: (TrainingData | null)[],
): AsyncGenerator<TrainingData> {
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
  const capacity = chunkRows((xc + yc + 1) * 4, batchSize)
  // Two chunks in turn: one is gathered while the engine trains the other.
  for (let start = 0, k = 0; start < rows; start += capacity, k ^= 1) {
    const chunk = network.gatherRows(train, order.subarray(start, Math.min(start + capacity, rows)), chunks[k] ?? null)
    chunks[k] = chunk
    yield chunk
  }
}
