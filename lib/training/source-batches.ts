/**
 * From a DataSource's row blocks to what the engine trains on: labels converted to the compiled
 * loss's targets and checked, features checked finite, and consecutive batches gathered into a
 * reused buffer ("a chunk") that the engine trains in one call — one copy of each row, and one
 * engine call per chunk rather than per batch (an async hop per small batch costs more than the
 * batch).
 */
import type { TrainingData } from '../engine/engine.js'
import { ShapeError } from '../errors.js'
import { allFinite } from '../inputs.js'
import { targetColumns, type Plan } from '../plan.js'
import type { RowBlock } from '../data/sources/data-source.js'

/** Where a row came from, for error messages. */
export interface RowPlace {
  epoch: number
  /** 0-based row within the epoch. */
  row: number
}

/**
 * Writes `rows` rows of labels (`yCols` per row, as the source holds them) as targets of the
 * plan's loss into `out` from row `at`: class indices stay for sparse cross-entropy, become
 * one-hot rows for categorical cross-entropy, and are copied for the other losses.
 */
export function writeTargets(plan: Plan, y: Float32Array, yCols: number, rows: number, out: Float32Array, at: number, place: RowPlace): void {
  const loss = plan.loss!
  const outputs = plan.outputSize
  const cols = targetColumns(plan)
  const where = (r: number) => `row ${place.row + r} of epoch ${place.epoch + 1}`
  const classIndex = (r: number): number => {
    const v = y[r]!
    if (!Number.isInteger(v) || v < 0 || v >= outputs) {
      throw new RangeError(`the label of ${where(r)} is ${v}; class indices must be integers in [0, ${outputs - 1}] (the model has ${outputs} outputs)`)
    }
    return v
  }
  if (loss === 'sparseCategoricalCrossEntropy' || (loss === 'categoricalCrossEntropy' && yCols === 1 && outputs > 1)) {
    if (yCols !== 1) throw new ShapeError(`the data has ${yCols} label columns; ${loss} with class indices needs one`)
    if (cols === 1) {
      for (let r = 0; r < rows; r++) out[at + r] = classIndex(r)
    } else {
      out.fill(0, at * cols, (at + rows) * cols)
      for (let r = 0; r < rows; r++) out[(at + r) * cols + classIndex(r)] = 1
    }
    return
  }
  if (yCols !== cols) {
    throw new ShapeError(`the data has ${yCols} label column${yCols === 1 ? '' : 's'} per row; the model's ${loss} needs ${cols} (its output size)`)
  }
  const values = y.subarray(0, rows * cols)
  if (!allFinite(values)) {
    const i = values.findIndex((v) => !Number.isFinite(v))
    throw new RangeError(`the target of ${where(Math.floor(i / cols))} is ${values[i]}; targets must be finite`)
  }
  if (loss === 'binaryCrossEntropy' || loss === 'categoricalCrossEntropy') {
    const i = values.findIndex((v) => v < 0 || v > 1)
    if (i >= 0) throw new RangeError(`the target of ${where(Math.floor(i / cols))} is ${values[i]}; ${loss} needs targets in [0, 1]`)
  }
  out.set(values, at * cols)
}

/** A reused buffer of whole batches, filled from blocks and handed to the engine as one TrainingData. */
export class Chunk {
  readonly data: TrainingData
  /** Rows the buffer holds at most: whole batches. */
  readonly capacity: number
  private weighted = false

  constructor(
    private readonly plan: Plan,
    rows: number,
  ) {
    this.capacity = rows
    this.data = { x: new Float32Array(rows * plan.inputSize), y: new Float32Array(rows * targetColumns(plan)), rows: 0 }
  }

  get rows(): number {
    return this.data.rows
  }

  clear(): void {
    this.data.rows = 0
  }

  /**
   * Appends rows [from, from + count) of `block` (whose labels have `yCols` columns); returns how
   * many fitted. `place` is the block's first row in the epoch.
   */
  append(block: RowBlock, from: number, count: number, yCols: number, place: RowPlace): number {
    const n = Math.min(count, this.capacity - this.data.rows)
    const xc = this.plan.inputSize
    const at = this.data.rows
    const x = block.x.subarray(from * xc, (from + n) * xc)
    if (!allFinite(x)) {
      const i = x.findIndex((v) => !Number.isFinite(v))
      throw new RangeError(`feature ${i % xc} of row ${place.row + from + Math.floor(i / xc)} of epoch ${place.epoch + 1} is ${x[i]}; features must be finite`)
    }
    this.data.x.set(x, at * xc)
    writeTargets(this.plan, block.y.subarray(from * yCols, (from + n) * yCols), yCols, n, this.data.y, at, { epoch: place.epoch, row: place.row + from })
    if (block.w) {
      if (!this.weighted) {
        this.data.w = new Float32Array(this.capacity).fill(1)
        this.weighted = true
      }
      this.data.w!.set(block.w.subarray(from, from + n), at)
    }
    this.data.rows += n
    return n
  }
}
