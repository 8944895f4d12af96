/**
 * What `--data` names, loaded: a built-in dataset, a synthetic one, Fashion-MNIST, an
 * MNIST-style directory of IDX files, or a CSV file. Sources with their own test set (the IDX
 * ones) return it; the others are split by the caller.
 */
import { stat } from 'node:fs/promises'
import { DataFileError } from '../errors.js'
import { BUILTIN_DATASETS, builtinDatasetInfo, readBuiltin, type BuiltinDatasetName } from '../data/builtin.js'
import { loadCsv } from '../data/csv.js'
import { fromArrays, type LabeledDataset, type Task } from '../data/dataset.js'
import { FASHION_MNIST_DIRECTORY, FASHION_MNIST_LABELS, loadFashionMnist } from '../data/fashion-mnist.js'
import { loadIdxDirectory } from '../data/idx-dataset.js'
import type { Preprocessing } from '../data/preprocessing.js'
import type { Scaler } from '../data/scaler.js'
import { trainTestSplit } from '../data/split.js'
import { blobs, circles, linearRegression, moons, sineRegression, spirals, xor } from '../data/synthetic.js'
import { UsageError } from './exit-codes.js'

export const SYNTHETIC_DATASETS = {
  moons: { task: 'classification', make: moons, about: 'two interleaving half circles (2 features, 2 classes)' },
  circles: { task: 'classification', make: circles, about: 'a circle inside a circle (2 features, 2 classes)' },
  xor: { task: 'classification', make: xor, about: 'points around the corners of a square, labelled by XOR (2 features, 2 classes)' },
  spirals: { task: 'classification', make: spirals, about: 'two interleaved spiral arms (2 features, 2 classes)' },
  blobs: { task: 'classification', make: blobs, about: 'three Gaussian clusters (2 features, 3 classes)' },
  linear: { task: 'regression', make: linearRegression, about: 'a noisy linear function of 1 feature' },
  sine: { task: 'regression', make: sineRegression, about: 'a noisy sine curve of 1 feature' },
} as const
type SyntheticName = keyof typeof SYNTHETIC_DATASETS

/** Every name --data accepts besides paths, for help texts. */
export const DATA_NAMES = [...BUILTIN_DATASETS, 'fashion-mnist', ...Object.keys(SYNTHETIC_DATASETS)]

export interface LoadedData {
  /** How to refer to the data in output, e.g. 'digits' or the CSV path. */
  name: string
  /** One line about it. */
  description: string
  task: Task
  /** All samples, or the training samples when the source has its own test set. */
  data: LabeledDataset
  /** The source's own test set, or null when the caller should split one off. */
  test: LabeledDataset | null
}

export interface SourceOptions {
  /** CSV: the label column by name or 0-based index (default: the last). */
  label?: string | number
  /** CSV: whether labels are classes or real targets (default classification). */
  task?: Task
  /** Synthetic data: how many samples (default 1000). */
  samples?: number
  /** Synthetic data: the generator's seed. */
  seed?: number
  /** Fix the class names (e.g. those a model was trained with): any other label is an error. */
  labelNames?: string[]
  /** Read these feature columns (e.g. those a model was trained with). */
  featureNames?: string[]
}

export async function loadSource(spec: string, options: SourceOptions = {}): Promise<LoadedData> {
  if ((BUILTIN_DATASETS as readonly string[]).includes(spec)) {
    const name = spec as BuiltinDatasetName
    const data = await readBuiltin(name, {
      ...(options.labelNames && { labelNames: options.labelNames }),
      ...(options.featureNames && { featureNames: options.featureNames }),
    })
    return { name, description: builtinDatasetInfo(name).description, task: 'classification', data, test: null }
  }
  if (spec in SYNTHETIC_DATASETS) {
    const { task, make, about } = SYNTHETIC_DATASETS[spec as SyntheticName]
    const { x, y } = make({ samples: options.samples ?? 1000, seed: options.seed ?? 0 })
    const names = x[0]!.length === 2 ? ['x1', 'x2'] : ['x']
    const data = task === 'regression'
      ? fromArrays(x, y, { task, featureNames: names, targetName: 'y' })
      : fromArrays(x, y, { featureNames: names, labelNames: options.labelNames ?? Array.from({ length: Math.max(...y) + 1 }, (_, k) => String(k)) })
    return { name: spec, description: `synthetic: ${about}`, task, data, test: null }
  }
  if (spec === 'fashion-mnist') {
    const { train, test } = await loadFashionMnist()
    return { name: spec, description: `Fashion-MNIST (${FASHION_MNIST_DIRECTORY}): 28×28 images of clothing → ${FASHION_MNIST_LABELS.length} classes`, task: 'classification', data: train, test }
  }
  let info
  try {
    info = await stat(spec)
  } catch {
    if (/[./\\]/.test(spec)) throw new DataFileError(`${spec}: no such file or directory`, spec)
    throw new UsageError(`--data '${spec}' is neither a dataset name nor an existing file or directory; names: ${DATA_NAMES.join(', ')}; or give a CSV file or a directory of IDX files`)
  }
  if (info.isDirectory()) {
    const { train, test } = await loadIdxDirectory(spec, options.labelNames ? { labelNames: options.labelNames } : {})
    return { name: spec, description: `IDX directory ${spec}`, task: 'classification', data: train, test }
  }
  const task = options.task ?? 'classification'
  const data = await loadCsv(spec, {
    task,
    ...(options.label !== undefined && { labelColumn: options.label }),
    ...(options.labelNames && { labelNames: options.labelNames }),
    ...(options.featureNames && { featureNames: options.featureNames }),
  })
  return { name: spec, description: `CSV file ${spec}`, task, data, test: null }
}

/** A --label value: a 0-based column index when it is a number, else a column name. */
export function labelColumn(value: string | undefined): string | number | undefined {
  if (value === undefined) return undefined
  return /^\d+$/.test(value) ? Number(value) : value
}

/**
 * The source's training rows and test rows: its own test set when it has one (IDX data), or
 * a seeded split of `testSplit` of its rows (stratified by class for classification).
 */
export function trainAndTest(source: LoadedData, testSplit: number, seed: number): { train: LabeledDataset; test: LabeledDataset } {
  const { data, test } = source
  if (test) return { train: data, test }
  const s = trainTestSplit(data.x, data.y as Int32Array | Float32Array, { testSize: testSplit, seed, stratify: data.task === 'classification' })
  return {
    train: { ...data, x: s.xTrain, y: s.yTrain } as LabeledDataset,
    test: { ...data, x: s.xTest, y: s.yTest } as LabeledDataset,
  }
}

/** What a model trained on `train` keeps to predict on raw rows: the scaler and the names. */
export function preprocessingOf(train: LabeledDataset, scaler: Scaler | null): Preprocessing {
  return {
    scaler,
    featureNames: train.featureNames,
    labelNames: train.task === 'classification' ? train.labelNames : null,
    targetName: train.targetName,
  }
}
