/**
 * What the columnar file sources (Arrow, Parquet) share: choosing the feature and label columns
 * by name, and turning a group of columns (a record batch, a row group) into a block of rows —
 * numbers of any width become float32 features; labels are class indices (string labels
 * numbered as loadCsv numbers them, in a first pass unless `labelNames` fixes them) or, for
 * regression, numbers.
 */
import { DataFileError } from '../../errors.js'
import { TASKS, sortedLabelNames, type Task } from '../dataset.js'
import { checkStrings } from '../csv.js'
import { checkOneOf, checkOptions, checkString, describe, optional } from '../../validate.js'
import type { RowBlock } from './data-source.js'

export interface ColumnarOptions {
  /** The label column's name (default: the last column). */
  label?: string
  /** 'classification' (default) or 'regression'. */
  task?: Task
  /** The feature columns, in this order (default: every column but the label). */
  featureNames?: string[]
  /** The class names in index order (default: the file's labels, found in a first pass). */
  labelNames?: string[]
}

export interface CheckedColumnar {
  label: string | null
  task: Task
  featureNames: string[] | null
  labelNames: string[] | null
}

export function checkColumnar(what: string, path: unknown, options: unknown): CheckedColumnar {
  checkString(`${what} path`, path)
  const o = checkOptions(`${what} options`, options, ['label', 'task', 'featureNames', 'labelNames'])
  const task = optional(o.task, 'classification' as Task, (v) => checkOneOf(`${what} task`, v, TASKS))
  const labelNames = optional(o.labelNames, null, (v) => checkStrings(`${what} labelNames`, v))
  if (labelNames !== null && task === 'regression') throw new TypeError(`${what} labelNames applies to classification, not regression`)
  return {
    label: optional(o.label, null, (v) => checkString(`${what} label`, v)),
    task,
    featureNames: optional(o.featureNames, null, (v) => checkStrings(`${what} featureNames`, v)),
    labelNames,
  }
}

/** The options that open the same columns again with the classes fixed (for a decoding worker). */
export function reopenOptions(o: CheckedColumnar, layout: ColumnLayout, labelNames: string[] | null): ColumnarOptions {
  return { label: layout.label, task: o.task, featureNames: layout.features, ...(labelNames && { labelNames }) }
}

/** The columns a source reads, by name, and the label mapping once known. */
export interface ColumnLayout {
  features: string[]
  label: string
  /** Class index by label text (classification), or null for regression. */
  classes: Map<string, number> | null
}

/** Picks the columns from the file's column names; `where` names the file in errors. */
export function layoutOf(where: string, path: string, names: string[], o: CheckedColumnar): ColumnLayout {
  const missing = (name: string, what: string) => new DataFileError(`${path}: no ${what} named '${name}'; the ${where} has: ${names.join(', ')}`, path)
  const label = o.label ?? names.at(-1)
  if (label === undefined || names.length < 2) throw new DataFileError(`${path}: the ${where} has ${names.length} column; expected feature columns and a label column`, path)
  if (!names.includes(label)) throw missing(label, 'label column')
  const features = o.featureNames ?? names.filter((n) => n !== label)
  for (const f of features) if (!names.includes(f)) throw missing(f, 'feature column')
  if (features.includes(label)) throw new DataFileError(`${path}: column '${label}' is both the label column and a feature column`, path)
  return { features, label, classes: o.labelNames ? new Map(o.labelNames.map((n, i) => [n, i])) : null }
}

/** Numbered classes from the distinct labels a first pass found. */
export function classesOf(seen: Iterable<string>): { labelNames: string[]; classes: Map<string, number> } {
  const labelNames = sortedLabelNames([...seen])
  return { labelNames, classes: new Map(labelNames.map((n, i) => [n, i])) }
}

/** A label value as text, as classes are keyed (numbers as numbers: 1 and 1.0 are one class). */
export function labelText(value: unknown): string {
  if (typeof value === 'bigint') return String(value)
  if (typeof value === 'number') return String(value)
  return String(value)
}

/** A column's values as read from a file: a typed array, or an array of values (strings, nulls, bigints). */
export type ColumnValues = ArrayLike<unknown>

/**
 * A block of `rows` rows from columns read in one group: features as float32 (a null, NaN or
 * non-number is a DataFileError naming the column and row), labels mapped as the layout says.
 * `firstRow` is the group's first row in the file, for messages.
 */
export function blockOf(path: string, layout: ColumnLayout, column: (name: string) => ColumnValues, rows: number, firstRow: number): RowBlock {
  const xc = layout.features.length
  const checked = layout.features.map((name) => numberColumn(path, name, column(name), rows, firstRow))
  // Transposed eight columns at a time: each row gets 32 contiguous bytes per pass and the eight
  // columns are read in step. (Column by column, every write missed the cache: it was the
  // source's largest cost; measured faster than square tiles too.)
  const x = new Float32Array(rows * xc)
  let j = 0
  for (; j + 8 <= xc; j += 8) {
    const [c0, c1, c2, c3, c4, c5, c6, c7] = checked.slice(j, j + 8) as [NumberArray, NumberArray, NumberArray, NumberArray, NumberArray, NumberArray, NumberArray, NumberArray]
    for (let r = 0, at = j; r < rows; r++, at += xc) {
      x[at] = c0[r]!
      x[at + 1] = c1[r]!
      x[at + 2] = c2[r]!
      x[at + 3] = c3[r]!
      x[at + 4] = c4[r]!
      x[at + 5] = c5[r]!
      x[at + 6] = c6[r]!
      x[at + 7] = c7[r]!
    }
  }
  for (; j < xc; j++) {
    const values = checked[j]!
    for (let r = 0, at = j; r < rows; r++, at += xc) x[at] = values[r]!
  }
  const y = new Float32Array(rows)
  const labels = column(layout.label)
  for (let r = 0; r < rows; r++) {
    const v = labels[r]
    if (layout.classes === null) {
      const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN
      if (!Number.isFinite(n)) throw new DataFileError(`${path}: row ${firstRow + r + 1}, column '${layout.label}' (the target): expected a finite number, found ${describe(v)}`, path)
      y[r] = n
      continue
    }
    const k = v === null || v === undefined ? undefined : layout.classes.get(labelText(v))
    if (k === undefined) {
      throw new DataFileError(`${path}: row ${firstRow + r + 1}, column '${layout.label}': unknown label ${describe(v)}; expected one of: ${[...layout.classes.keys()].join(', ')}`, path)
    }
    y[r] = k
  }
  return { x, y, rows }
}

type NumberArray = Float32Array | Float64Array | Int32Array

/**
 * A feature column whose every value is a finite number in float32 range: typed columns as they
 * are once checked, others converted. A null, NaN or non-number is a DataFileError naming the
 * column and row.
 */
function numberColumn(path: string, name: string, values: ColumnValues, rows: number, firstRow: number): NumberArray {
  if (values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array) {
    let r = 0
    while (r < rows && Math.abs(values[r]!) <= 3.4028234663852886e38) r++
    if (r === rows) return values
  }
  const out = new Float64Array(rows)
  for (let r = 0; r < rows; r++) {
    const v = values[r]
    const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN
    if (!Number.isFinite(n) || Math.abs(n) > 3.4028234663852886e38) {
      throw new DataFileError(`${path}: row ${firstRow + r + 1}, column '${name}': expected a finite number in float32 range, found ${describe(v)}`, path)
    }
    out[r] = n
  }
  return out
}
