/**
 * How `backprop predict` writes predictions as CSV: "prediction" (the class name, or the value)
 * then, for classification, "probability <class>" for each class. One formatting for the local
 * command and for workers scoring chunks of a file, so their outputs are the same bytes.
 */
import type { Matrix } from '../matrix.js'
import type { Sequential } from '../model/sequential.js'
import { predictedClasses } from './scores.js'

/** Whether the model predicts classes (it was compiled with a classification loss). */
export function isClassifier(model: Sequential): boolean {
  return model.plan.loss !== 'meanSquaredError' && model.plan.loss !== null
}

/** The class names the output columns stand for. */
export function classNames(model: Sequential): string[] {
  return model.preprocessing?.labelNames ?? Array.from({ length: Math.max(model.plan.outputSize, 2) }, (_, k) => String(k))
}

/** The header line of the predictions' CSV. */
export function predictionHeader(model: Sequential): string {
  return isClassifier(model) ? ['prediction', ...classNames(model).map((n) => `probability ${n}`)].map(csvField).join(',') : 'prediction'
}

/** One CSV line per row of outputs, and (classification) each row's class index. */
export function predictionLines(model: Sequential, outputs: Matrix): { lines: string[]; classes: Int32Array | null } {
  const lines: string[] = []
  if (!isClassifier(model)) {
    for (let r = 0; r < outputs.rows; r++) lines.push(Array.from(outputs.data.subarray(r * outputs.cols, (r + 1) * outputs.cols), (v) => v.toPrecision(7)).join(','))
    return { lines, classes: null }
  }
  const names = classNames(model)
  const classes = predictedClasses(outputs)
  for (let r = 0; r < outputs.rows; r++) {
    const probabilities = outputs.cols === 1 ? [1 - outputs.data[r]!, outputs.data[r]!] : Array.from(outputs.data.subarray(r * outputs.cols, (r + 1) * outputs.cols))
    lines.push([csvField(names[classes[r]!]!), ...probabilities.map((v) => v.toPrecision(6))].join(','))
  }
  return { lines, classes }
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
