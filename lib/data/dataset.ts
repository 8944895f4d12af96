/**
 * A loaded dataset: features as one row-major Matrix, labels or targets as one typed array,
 * and the names that give them meaning (feature columns, class names). Every loader — CSV,
 * IDX, the built-in datasets, `fromArrays` for data already in memory — returns one of these.
 */
import { ShapeError } from '../errors.js'
import type { Features } from '../inputs.js'
import { toFeatures } from '../inputs.js'
import { Matrix } from '../matrix.js'
import { checkOneOf, checkOptions, describe, optional } from '../validate.js'

/** Samples with a class label each. */
export interface ClassificationDataset {
  task: 'classification'
  /** rows = samples, cols = features. */
  x: Matrix
  /** The class index of each sample: an index into `labelNames`. */
  y: Int32Array
  /** The name of each feature column, in column order. */
  featureNames: string[]
  /** The name of each class, by class index. */
  labelNames: string[]
  /** The name of the label column (e.g. 'species'). */
  targetName: string
}

/** Samples with a real-valued target each. */
export interface RegressionDataset {
  task: 'regression'
  x: Matrix
  /** The target value of each sample. */
  y: Float32Array
  featureNames: string[]
  /** The name of the target column. */
  targetName: string
}

export type LabeledDataset = ClassificationDataset | RegressionDataset

export type Task = LabeledDataset['task']
export const TASKS: readonly Task[] = ['classification', 'regression']

export interface FromArraysOptions {
  /** 'classification' (the default): labels are classes; 'regression': real targets. */
  task?: Task
  /**
   * The class names in index order. Labels that are strings are looked up here; numbers are
   * taken as class indices. Without it, the distinct labels are sorted (numerically when they
   * all are numbers) and numbered in that order.
   */
  labelNames?: string[]
  /** Feature names (default x0, x1, …). */
  featureNames?: string[]
  /** The label column's name (default 'label' or 'target'). */
  targetName?: string
}

/**
 * A dataset from data already in memory: features as rows of numbers or a Matrix, labels as
 * class names or numbers.
 *
 *   fromArrays([[5.1, 3.5], [6.2, 2.9]], ['setosa', 'versicolor'])
 */
export function fromArrays(x: Features, labels: ArrayLike<string | number>, options: FromArraysOptions = {}): LabeledDataset {
  const o = checkOptions('fromArrays options', options, ['task', 'labelNames', 'featureNames', 'targetName'])
  const task = optional(o.task, 'classification' as Task, (v) => checkOneOf('fromArrays task', v, TASKS))
  const cols = x instanceof Matrix ? x.cols : Array.isArray(x) && Array.isArray(x[0]) ? x[0].length : 0
  const features = toFeatures('fromArrays x', x, cols)
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new TypeError(`fromArrays labels must be an array of class names or numbers, got ${describe(labels)}`)
  }
  if (labels.length !== features.rows) throw new ShapeError(`fromArrays labels has ${labels.length} entries but x has ${features.rows} rows; they must match`)
  const featureNames = optional(o.featureNames, defaultFeatureNames(features.cols), (v) => checkNames('fromArrays featureNames', v, features.cols))
  if (task === 'regression') {
    const y = new Float32Array(labels.length)
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`fromArrays labels[${i}] must be a finite number for regression, got ${describe(v)}`)
      y[i] = v
    }
    return { task, x: features, y, featureNames, targetName: optional(o.targetName, 'target', (v) => checkName('fromArrays targetName', v)) }
  }
  const given = optional(o.labelNames, null as string[] | null, (v) => checkNames('fromArrays labelNames', v))
  const labelNames = given ?? sortedLabelNames(Array.from(new Set(Array.from(labels, (l) => String(l)))))
  const index = new Map(labelNames.map((name, i) => [name, i]))
  const y = new Int32Array(labels.length)
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]
    if (typeof v === 'number' && given !== null) {
      if (!Number.isInteger(v) || v < 0 || v >= labelNames.length) {
        throw new RangeError(`fromArrays labels[${i}] is ${v}; class indices must be integers in [0, ${labelNames.length - 1}]`)
      }
      y[i] = v
      continue
    }
    if (typeof v !== 'string' && typeof v !== 'number') throw new TypeError(`fromArrays labels[${i}] must be a class name or number, got ${describe(v)}`)
    const k = index.get(String(v))
    if (k === undefined) throw new RangeError(`fromArrays labels[${i}] is '${String(v)}', which is not one of the labelNames (${labelNames.join(', ')})`)
    y[i] = k
  }
  return { task, x: features, y, featureNames, labelNames, targetName: optional(o.targetName, 'label', (v) => checkName('fromArrays targetName', v)) }
}

/** Class names in a stable order: numerically when all are numbers, else by code point. */
export function sortedLabelNames(names: string[]): string[] {
  const numeric = names.every((n) => n.trim() !== '' && Number.isFinite(Number(n)))
  return [...names].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

export function defaultFeatureNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `x${i}`)
}

function checkName(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`)
  return value
}

function checkNames(name: string, value: unknown, count?: number): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${name} must be an array of strings, got ${describe(value)}`)
  if (count !== undefined && value.length !== count) throw new ShapeError(`${name} must have ${count} names (one per column), got ${value.length}`)
  if (new Set(value).size !== value.length) throw new TypeError(`${name} must not repeat a name, got ${value.join(', ')}`)
  return value as string[]
}
