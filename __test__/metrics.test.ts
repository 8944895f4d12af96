/**
 * Metrics against values computed independently with numpy (golden/data-tools.py, its output in
 * golden/data-tools.json): accuracy, the confusion matrix, precision / recall / F1 per class and
 * averaged, log loss, MSE, MAE and R².
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  Matrix,
  accuracyScore,
  classificationReport,
  confusionMatrix,
  logLoss,
  meanAbsoluteError,
  meanSquaredError,
  precisionRecallF1,
  r2Score,
} from '../lib/index.js'

const golden = JSON.parse(readFileSync(new URL('./golden/data-tools.json', import.meta.url), 'utf8'))

describe('classification metrics match numpy', () => {
  for (const name of ['multiclass', 'neverPredicted'] as const) {
    const c = golden[name]
    it(`${name}: accuracy, confusion matrix, per-class, macro and weighted precision/recall/F1, log loss`, () => {
      expect(accuracyScore(c.yTrue, c.yPred)).toBeCloseTo(c.accuracy, 12)
      expect(confusionMatrix(c.yTrue, c.yPred, { classes: c.classes })).toEqual(c.confusion)
      const s = precisionRecallF1(c.yTrue, c.yPred, { classes: c.classes })
      s.perClass.forEach((k, i) => {
        expect(k.precision).toBeCloseTo(c.precision[i], 12)
        expect(k.recall).toBeCloseTo(c.recall[i], 12)
        expect(k.f1).toBeCloseTo(c.f1[i], 12)
        expect(k.support).toBe(c.support[i])
      })
      for (const avg of ['macro', 'weighted'] as const) {
        expect(s[avg].precision).toBeCloseTo(c[avg].precision, 12)
        expect(s[avg].recall).toBeCloseTo(c[avg].recall, 12)
        expect(s[avg].f1).toBeCloseTo(c[avg].f1, 12)
      }
      expect(logLoss(c.yTrue, c.probabilities)).toBeCloseTo(c.logLoss, 6)
    })
  }

  it('a class never predicted has precision 0 (not NaN), as scikit-learn reports it', () => {
    const s = precisionRecallF1(golden.neverPredicted.yTrue, golden.neverPredicted.yPred, { classes: 3 })
    expect(s.perClass[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: golden.neverPredicted.support[2] })
  })

  it('binary log loss from one probability column, with clipping of 0 and 1', () => {
    const c = golden.binaryLogLoss
    expect(logLoss(c.yTrue, c.p1.map((p: number) => [p]))).toBeCloseTo(c.logLoss, 5)
  })

  it('the classification report shows each class and the averages', () => {
    const c = golden.multiclass
    const report = classificationReport(c.yTrue, c.yPred, ['w', 'x', 'y', 'z'])
    const lines = report.split('\n')
    expect(lines[0]).toMatch(/precision\s+recall\s+f1\s+support/)
    expect(lines[1]).toMatch(new RegExp(`^\\s+w\\s+${c.precision[0].toFixed(4)}\\s+${c.recall[0].toFixed(4)}\\s+${c.f1[0].toFixed(4)}\\s+${c.support[0]}$`))
    expect(report).toMatch(new RegExp(`accuracy\\s+${c.accuracy.toFixed(4)}\\s+${c.yTrue.length}`))
    expect(report).toMatch(new RegExp(`macro avg\\s+${c.macro.precision.toFixed(4)}`))
  })
})

describe('regression metrics match numpy', () => {
  it('one output, as flat arrays', () => {
    const c = golden.regression1
    const t = c.yTrue.map((r: number[]) => r[0])
    const p = c.yPred.map((r: number[]) => r[0])
    expect(meanSquaredError(t, p)).toBeCloseTo(c.mse, 10)
    expect(meanAbsoluteError(t, p)).toBeCloseTo(c.mae, 10)
    expect(r2Score(t, p)).toBeCloseTo(c.r2, 10)
  })

  it('three outputs, as rows and as a Matrix: R² is the mean over outputs', () => {
    const c = golden.regression3
    expect(meanSquaredError(c.yTrue, c.yPred)).toBeCloseTo(c.mse, 10)
    expect(meanAbsoluteError(Matrix.from(c.yTrue), Matrix.from(c.yPred))).toBeCloseTo(c.mae, 10)
    expect(r2Score(c.yTrue, c.yPred)).toBeCloseTo(c.r2, 10)
  })

  it('R² of a perfect fit is 1, of predicting the mean 0', () => {
    expect(r2Score([1, 2, 3], [1, 2, 3])).toBe(1)
    expect(r2Score([1, 2, 3], [2, 2, 2])).toBe(0)
  })
})

describe('metric input errors', () => {
  it('mismatched lengths, bad labels, empty input', () => {
    expect(() => accuracyScore([0, 1], [0])).toThrow(/yTrue has 2 labels but yPred has 1/)
    expect(() => confusionMatrix([0, 1.5], [0, 1])).toThrow(/confusionMatrix yTrue\[1\] is 1.5; class indices must be integers ≥ 0/)
    expect(() => precisionRecallF1([], [])).toThrow(/no samples/)
    expect(() => confusionMatrix([0, 3], [0, 1], { classes: 3 })).toThrow(/a label is 3, but classes is 3/)
    expect(() => logLoss([0, 2], [[0.5, 0.5], [0.5, 0.5]])).toThrow(/a label is 2, but probabilities has 2 columns/)
    expect(() => r2Score([1, 2], [1, NaN])).toThrow(/r2Score yPred holds NaN at row 1/)
  })
})
