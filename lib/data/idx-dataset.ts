/**
 * A directory of IDX files in the MNIST layout — train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or gzip-compressed (.gz) — loaded as
 * a training and a test set.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { DataFileError } from '../errors.js'
import { Matrix } from '../matrix.js'
import type { ClassificationDataset } from './dataset.js'
import { readIdx } from './idx.js'

export interface IdxSplit {
  train: ClassificationDataset
  test: ClassificationDataset
}

/** The four files of an MNIST-style directory, by role. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const

export interface IdxDirectoryOptions {
  /** Class names by index (default '0', '1', … up to the largest label). */
  labelNames?: string[]
}

/**
 * Loads the training and test sets of an MNIST-style directory. Images become rows of pixel
 * values (28×28 → 784 columns, raw 0–255); labels become class indices. Throws a DataFileError
 * naming the directory and the missing file, or the file and byte offset of any damage.
 */
export async function loadIdxDirectory(directory: string, options: IdxDirectoryOptions = {}): Promise<IdxSplit> {
  const files = await findIdxFiles(directory)
  const [train, test] = await Promise.all([
    loadImagesAndLabels(files.trainImages, files.trainLabels),
    loadImagesAndLabels(files.testImages, files.testLabels),
  ])
  const classes = Math.max(train.maxLabel, test.maxLabel) + 1
  const labelNames = options.labelNames ?? Array.from({ length: classes }, (_, i) => String(i))
  for (const [set, path] of [[train, files.trainLabels], [test, files.testLabels]] as const) {
    if (set.maxLabel >= labelNames.length) {
      throw new DataFileError(`${path}: holds label ${set.maxLabel}, but only ${labelNames.length} class names are known (${labelNames.join(', ')})`, path)
    }
  }
  const named = (set: typeof train): ClassificationDataset => ({
    task: 'classification',
    x: set.x,
    y: set.y,
    featureNames: set.featureNames,
    labelNames,
    targetName: 'label',
  })
  return { train: named(train), test: named(test) }
}

/** The paths of the four files (each raw or .gz); a DataFileError names what is missing. */
export async function findIdxFiles(directory: string): Promise<Record<keyof typeof IDX_FILES, string>> {
  let names: string[]
  try {
    if (!(await stat(directory)).isDirectory()) throw new DataFileError(`${directory} is not a directory; expected a directory of IDX files`, directory)
    names = await readdir(directory)
  } catch (error) {
    if (error instanceof DataFileError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new DataFileError(code === 'ENOENT' ? `${directory}: no such directory` : `${directory}: cannot read the directory: ${(error as Error).message}`, directory)
  }
  const found = {} as Record<keyof typeof IDX_FILES, string>
  const missing: string[] = []
  for (const [role, base] of Object.entries(IDX_FILES) as [keyof typeof IDX_FILES, string][]) {
    const name = [base, `${base}.gz`].find((n) => names.includes(n))
    if (name === undefined) missing.push(`${base}[.gz]`)
    else found[role] = join(directory, name)
  }
  if (missing.length > 0) {
    throw new DataFileError(
      `${directory}: missing ${missing.join(', ')}; an IDX dataset directory holds ${Object.values(IDX_FILES).join(', ')} (each raw or .gz)`,
      directory,
    )
  }
  return found
}

async function loadImagesAndLabels(imagesPath: string, labelsPath: string) {
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)])
  const rows = images.shape[0]!
  if (labels.shape.length !== 1) {
    throw new DataFileError(`${labelsPath}: expected a 1-dimensional IDX file of labels, found dimensions ${labels.shape.join(' × ')}`, labelsPath, { byteOffset: 3 })
  }
  if (labels.shape[0] !== rows) {
    throw new DataFileError(`${labelsPath}: holds ${labels.shape[0]} labels, but ${imagesPath} holds ${rows} images; expected one label per image`, labelsPath, { byteOffset: 4 })
  }
  const y = new Int32Array(rows)
  let maxLabel = 0
  const header = 4 + 4 * labels.shape.length
  for (let i = 0; i < rows; i++) {
    const v = labels.data[i]!
    // A class index below the number of samples: more classes than samples cannot be learned,
    // and a label of 2e9 would otherwise ask for 2e9 class names.
    if (!Number.isInteger(v) || v < 0 || v >= Math.max(rows, 2)) {
      const at = header + i * bytesPer(labels.type)
      throw new DataFileError(`${labelsPath}: at byte ${at}: label ${v} of sample ${i}; expected a class index (an integer from 0 to ${Math.max(rows, 2) - 1}: no more classes than samples)`, labelsPath, { byteOffset: at })
    }
    y[i] = v
    if (v > maxLabel) maxLabel = v
  }
  const cols = images.shape.slice(1).reduce((a, b) => a * b, 1)
  const featureNames = images.shape.length === 3
    ? Array.from({ length: cols }, (_, i) => `pixel_${Math.floor(i / images.shape[2]!)}_${i % images.shape[2]!}`)
    : Array.from({ length: cols }, (_, i) => `x${i}`)
  return { x: new Matrix(rows, cols, images.data), y, maxLabel, featureNames }
}

function bytesPer(type: string): number {
  return type === 'float64' ? 8 : type === 'int32' || type === 'float32' ? 4 : type === 'int16' ? 2 : 1
}
