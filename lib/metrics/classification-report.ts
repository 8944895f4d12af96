/** A text table of precision, recall, F1 and support per class, as scikit-learn's classification_report. */
import { accuracyScore, precisionRecallF1 } from './classification.js'

/** The table, one row per class (named by `labelNames`), then accuracy and the averages. */
export function classificationReport(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labelNames?: readonly string[]): string {
  const scores = precisionRecallF1(yTrue, yPred, labelNames ? { classes: labelNames.length } : {})
  const names = scores.perClass.map((_, k) => labelNames?.[k] ?? String(k))
  const width = Math.max(12, ...names.map((n) => n.length))
  const f = (v: number) => v.toFixed(4).padStart(10)
  const line = (name: string, s: { precision: number; recall: number; f1: number }, support: number) =>
    `${name.padStart(width)}${f(s.precision)}${f(s.recall)}${f(s.f1)}${String(support).padStart(10)}`
  const total = yTrue.length
  return [
    `${''.padStart(width)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1'.padStart(10)}${'support'.padStart(10)}`,
    ...scores.perClass.map((c, k) => line(names[k]!, c, c.support)),
    '',
    `${'accuracy'.padStart(width)}${''.padStart(20)}${f(accuracyScore(yTrue, yPred))}${String(total).padStart(10)}`,
    line('macro avg', scores.macro, total),
    line('weighted avg', scores.weighted, total),
  ].join('\n')
}
