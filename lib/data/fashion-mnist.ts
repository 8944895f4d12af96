/**
 * Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, 2017; MIT licence): 60 000 training and 10 000
 * test images of clothing, 28×28 grey levels, 10 classes. Too large to ship in the package;
 * Debian's package dataset-fashion-mnist installs it as four gzipped IDX files.
 */
import { access } from 'node:fs/promises'
import { DataFileError } from '../errors.js'
import { checkOptions, describe, optional } from '../validate.js'
import { loadIdxDirectory, IDX_FILES, type IdxSplit } from './idx-dataset.js'

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const FASHION_MNIST_DIRECTORY = '/usr/share/datasets/fashion-mnist'

/** The class names, by label. */
export const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']

/** How to get the data, for error messages. */
export const FASHION_MNIST_INSTALL_HINT =
  `install it with 'sudo apt install dataset-fashion-mnist' (Debian/Ubuntu; it puts the files in ${FASHION_MNIST_DIRECTORY}), ` +
  `or download the four files ${Object.values(IDX_FILES).map((f) => `${f}.gz`).join(', ')} from the Fashion-MNIST project ` +
  `(github.com/zalandoresearch/fashion-mnist) into a directory and pass it`

export interface FashionMnistOptions {
  /** The directory holding the four IDX files (default /usr/share/datasets/fashion-mnist). */
  directory?: string
}

/**
 * Loads Fashion-MNIST's training and test sets: 784 raw pixel values (0–255) per image and the
 * class indices, with the class names. When the files are missing, the DataFileError says how to
 * install them.
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<IdxSplit> {
  const o = checkOptions('loadFashionMnist options', options, ['directory'])
  const directory = optional(o.directory, FASHION_MNIST_DIRECTORY, (v) => {
    if (typeof v !== 'string' || v === '') throw new TypeError(`loadFashionMnist directory must be a path, got ${describe(v)}`)
    return v
  })
  try {
    await access(directory)
  } catch {
    throw new DataFileError(`Fashion-MNIST is not installed: ${directory} does not exist; ${FASHION_MNIST_INSTALL_HINT}`, directory)
  }
  try {
    return await loadIdxDirectory(directory, { labelNames: FASHION_MNIST_LABELS })
  } catch (error) {
    if (error instanceof DataFileError && error.path === directory) {
      throw new DataFileError(`Fashion-MNIST is incomplete: ${error.message}; ${FASHION_MNIST_INSTALL_HINT}`, directory)
    }
    throw error
  }
}
