/**
 * The built-in datasets load by name with the sizes, classes and values of their files (counts
 * from Python's csv module over the same files), and fromArrays builds a dataset from memory.
 */
import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BUILTIN_DATASETS, Matrix, builtinDatasetInfo, fromArrays, loadCsv, loadDataset, type ClassificationDataset, type RegressionDataset } from '../lib/index.js'
import { builtinDatasetPath } from '../lib/data/builtin.js'

const counts = (d: ClassificationDataset) => d.labelNames.map((_, k) => d.y.filter((v) => v === k).length)

describe('built-in datasets', () => {
  it('iris: 150 × 4, three species of 50', async () => {
    const d = await loadDataset('iris')
    expect([d.x.rows, d.x.cols]).toEqual([150, 4])
    expect(d.labelNames).toEqual(['setosa', 'versicolor', 'virginica'])
    expect(counts(d)).toEqual([50, 50, 50])
    expect(d.featureNames).toEqual(['sepal_length_cm', 'sepal_width_cm', 'petal_length_cm', 'petal_width_cm'])
  })

  it('digits: 1797 × 64 pixels in 0–16, ten digits with the files\' class counts', async () => {
    const d = await loadDataset('digits')
    expect([d.x.rows, d.x.cols]).toEqual([1797, 64])
    expect(d.labelNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(counts(d)).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    expect(Math.max(...d.x.data)).toBe(16)
    expect(d.targetName).toBe('digit')
  })

  it('breast-cancer: 569 × 30, 357 benign and 212 malignant', async () => {
    const d = await loadDataset('breast-cancer')
    expect([d.x.rows, d.x.cols]).toEqual([569, 30])
    expect(d.labelNames).toEqual(['benign', 'malignant'])
    expect(counts(d)).toEqual([357, 212])
  })

  it.each(BUILTIN_DATASETS)('%s loads in one fixed shuffled order: a permutation of the file\'s rows, classes mixed to the end', async (name) => {
    const file = (await loadCsv(builtinDatasetPath(name))) as ClassificationDataset
    const d = await loadDataset(name)
    const again = await loadDataset(name)
    expect(Array.from(again.x.data)).toEqual(Array.from(d.x.data))
    const key = (x: Matrix, y: ArrayLike<number>, i: number) => `${Array.from(x.row(i)).join(',')}|${y[i]}`
    const rowsOf = (x: Matrix, y: ArrayLike<number>) => Array.from({ length: x.rows }, (_, i) => key(x, y, i)).sort()
    expect(rowsOf(d.x, d.y)).toEqual(rowsOf(file.x, file.y))
    expect(key(d.x, d.y, 0)).not.toBe(key(file.x, file.y, 0))
    // Keras's validationSplit takes the last rows: with 20% held out, every class is in them.
    const tail = new Set(d.y.slice(Math.floor(d.x.rows * 0.8)))
    expect(tail.size).toBe(d.labelNames.length)
  })

  it('every name has its facts, and its file with attribution ships in data/', () => {
    const readme = fs.readFileSync(new URL('../data/README.md', import.meta.url), 'utf8')
    for (const name of BUILTIN_DATASETS) {
      const info = builtinDatasetInfo(name)
      expect(info.licence).toBe('CC BY 4.0')
      expect(readme).toContain(`\`${name}\``)
    }
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(pkg.files).toContain('data')
  })

  it('an unknown name is refused with the valid ones', async () => {
    await expect(loadDataset('mnist' as never)).rejects.toThrow(/must be one of 'iris', 'digits', 'breast-cancer'/)
  })
})

describe('fromArrays', () => {
  it('maps class names to indices in sorted order', () => {
    const d = fromArrays([[1, 2], [3, 4], [5, 6]], ['b', 'a', 'b']) as ClassificationDataset
    expect(d.labelNames).toEqual(['a', 'b'])
    expect(Array.from(d.y)).toEqual([1, 0, 1])
    expect(d.x).toBeInstanceOf(Matrix)
    expect(d.featureNames).toEqual(['x0', 'x1'])
  })

  it('takes numbers as class indices into given label names, and real targets for regression', () => {
    const d = fromArrays(Matrix.from([[1], [2]]), [1, 0], { labelNames: ['no', 'yes'] }) as ClassificationDataset
    expect(Array.from(d.y)).toEqual([1, 0])
    const r = fromArrays([[1], [2]], [0.5, -2], { task: 'regression', featureNames: ['t'] }) as RegressionDataset
    expect(Array.from(r.y)).toEqual([0.5, -2])
    expect(r.featureNames).toEqual(['t'])
  })

  it('refuses mismatched lengths, unknown labels and non-numeric targets', () => {
    expect(() => fromArrays([[1]], ['a', 'b'])).toThrow(/labels has 2 entries but x has 1 rows/)
    expect(() => fromArrays([[1]], ['c'], { labelNames: ['a', 'b'] })).toThrow(/labels\[0\] is 'c', which is not one of the labelNames \(a, b\)/)
    expect(() => fromArrays([[1]], ['c'], { task: 'regression' })).toThrow(/must be a finite number for regression/)
  })
})
