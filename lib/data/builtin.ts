/**
 * The datasets shipped inside the package (in its data/ folder, with their attribution in
 * data/README.md): small, real, classic classification problems that load by name.
 */
import { fileURLToPath } from 'node:url'
import { Rng } from '../rng.js'
import { checkOneOf } from '../validate.js'
import { loadCsv, type CsvOptions } from './csv.js'
import type { ClassificationDataset } from './dataset.js'
import { takeRows } from './rows.js'
import { permutation } from './split.js'

export const BUILTIN_DATASETS = ['iris', 'digits', 'breast-cancer'] as const
export type BuiltinDatasetName = (typeof BUILTIN_DATASETS)[number]

export interface BuiltinDatasetInfo {
  name: BuiltinDatasetName
  /** What the samples are and what is predicted. */
  description: string
  /** Where the data comes from. */
  source: string
  licence: string
  rows: number
  features: number
  classes: number
}

const INFO: Record<BuiltinDatasetName, BuiltinDatasetInfo & { file: string }> = {
  iris: {
    name: 'iris',
    file: 'iris.csv',
    description: 'Iris flowers: 4 measurements (cm) → species (setosa, versicolor, virginica)',
    source: 'R. A. Fisher (1936); UCI Machine Learning Repository, "Iris"',
    licence: 'CC BY 4.0',
    rows: 150,
    features: 4,
    classes: 3,
  },
  digits: {
    name: 'digits',
    file: 'digits.csv.gz',
    description: 'Handwritten digits: 8×8 images, pixels 0–16 → digit 0–9',
    source: 'E. Alpaydin, C. Kaynak (1998); UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits" (its test set)',
    licence: 'CC BY 4.0',
    rows: 1797,
    features: 64,
    classes: 10,
  },
  'breast-cancer': {
    name: 'breast-cancer',
    file: 'breast_cancer.csv',
    description: 'Breast cancer (Wisconsin, diagnostic): 30 features of cell nuclei → benign or malignant',
    source: 'W. H. Wolberg, W. N. Street, O. L. Mangasarian (1995); UCI Machine Learning Repository, "Breast Cancer Wisconsin (Diagnostic)"',
    licence: 'CC BY 4.0',
    rows: 569,
    features: 30,
    classes: 2,
  },
}

/** Facts about a built-in dataset: description, source, licence and size. */
export function builtinDatasetInfo(name: BuiltinDatasetName): BuiltinDatasetInfo {
  const { file: _file, ...info } = INFO[checkOneOf('dataset name', name, BUILTIN_DATASETS)]
  return info
}

/** The path of a built-in dataset's file inside the installed package. */
export function builtinDatasetPath(name: BuiltinDatasetName): string {
  const { file } = INFO[checkOneOf('dataset name', name, BUILTIN_DATASETS)]
  // lib/data/ in the sources and dist/data/ in the package both sit two levels below data/.
  return fileURLToPath(new URL(`../../data/${file}`, import.meta.url))
}

/** The seed of the fixed order in which built-in datasets load (see loadDataset). */
export const BUILTIN_ORDER_SEED = 20261203

/**
 * Loads a built-in dataset by name: 'iris', 'digits' or 'breast-cancer'. Features are the raw
 * measurements (scale them, e.g. with StandardScaler); labels are class indices into labelNames.
 *
 * Rows come in one fixed shuffled order (a permutation of the file's rows drawn from
 * BUILTIN_ORDER_SEED), the same on every call and machine: the files are sorted by class (iris
 * is 50 setosa, then 50 versicolor, then 50 virginica), so Keras's `validationSplit` (the last
 * rows) would otherwise validate on one class only.
 */
export async function loadDataset(name: BuiltinDatasetName): Promise<ClassificationDataset> {
  return readBuiltin(name)
}

/** @internal A built-in dataset in its fixed shuffled order, read with the given CSV options. */
export async function readBuiltin(name: BuiltinDatasetName, options: CsvOptions = {}): Promise<ClassificationDataset> {
  const data = (await loadCsv(builtinDatasetPath(name), options)) as ClassificationDataset
  const order = permutation(data.x.rows, Rng.seeded(BUILTIN_ORDER_SEED, 0))
  return { ...data, x: takeRows(data.x, order), y: takeRows(data.y, order) }
}
