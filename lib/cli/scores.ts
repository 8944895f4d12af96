/**
 * Test-set scores for the command line: the model's loss, then accuracy, precision, recall, F1
 * and log loss for classification or R², MSE and MAE for regression — each printed on a line of
 * its own ("test accuracy: 0.9123") that scripts can read — and a per-class table.
 */
import type { LabeledDataset } from '../data/dataset.js'
import type { Matrix } from '../matrix.js'
import { accuracyScore, precisionRecallF1 } from '../metrics/classification.js'
import { classificationReport } from '../metrics/classification-report.js'
import { logLoss } from '../metrics/log-loss.js'
import { meanAbsoluteError, meanSquaredError, r2Score } from '../metrics/regression.js'
import type { Sequential } from '../model/sequential.js'
import type { ReportInput } from '../report/write-report.js'
import type { LossName } from '../plan.js'
import { targetsFor } from './network.js'

export interface TestScores {
  /** Named scores, e.g. { accuracy: 0.97, ... }, in print order. */
  scores: Record<string, number>
  /** The lines to print. */
  lines: string[]
  /** What the report needs to draw the test results. */
  report: Pick<ReportInput, 'classification' | 'regression'>
}

/** Scores `model` on `data`, whose features `x` are already preprocessed. */
export function scoreModel(model: Sequential, loss: LossName, x: Matrix, data: LabeledDataset, prefix = 'test'): TestScores {
  const outputs = model.predict(x)
  const scores: Record<string, number> = {}
  let table: string | null = null
  let report: TestScores['report']
  if (data.task === 'classification') {
    const classes = data.labelNames.length
    scores.loss = model.evaluate(x, targetsFor(loss, data.y, classes)).loss
    const predicted = predictedClasses(outputs)
    const s = precisionRecallF1(data.y, predicted, { classes })
    scores.accuracy = accuracyScore(data.y, predicted)
    scores['precision (macro)'] = s.macro.precision
    scores['recall (macro)'] = s.macro.recall
    scores['f1 (macro)'] = s.macro.f1
    scores['log loss'] = logLoss(data.y, outputs)
    table = classificationReport(data.y, predicted, data.labelNames)
    report = { classification: { yTrue: data.y, yPred: predicted, labelNames: data.labelNames } }
  } else {
    scores.loss = model.evaluate(x, data.y).loss
    scores.r2 = r2Score(data.y, outputs.data)
    scores.mse = meanSquaredError(data.y, outputs.data)
    scores.mae = meanAbsoluteError(data.y, outputs.data)
    report = { regression: { yTrue: data.y, yPred: outputs.data, targetName: data.targetName } }
  }
  const lines = Object.entries(scores).map(([name, value]) => `${prefix} ${name}: ${value.toFixed(4)}`)
  if (table) lines.push('', table)
  return { scores, lines, report }
}

/** Argmax per row, or probability > 0.5 for a single sigmoid output. */
export function predictedClasses(outputs: Matrix): Int32Array {
  const out = new Int32Array(outputs.rows)
  for (let r = 0; r < outputs.rows; r++) {
    if (outputs.cols === 1) {
      out[r] = outputs.data[r]! > 0.5 ? 1 : 0
      continue
    }
    let best = 0
    for (let c = 1; c < outputs.cols; c++) if (outputs.data[r * outputs.cols + c]! > outputs.data[r * outputs.cols + best]!) best = c
    out[r] = best
  }
  return out
}
