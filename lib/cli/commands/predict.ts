/**
 * `backprop predict`: a saved model's predictions for the rows of a CSV file, as CSV — the
 * predicted class name and each class's probability, or the predicted value. Features are read
 * by the names the model was trained with and scaled by its saved scaler.
 */
import { Command, Option } from 'commander'
import { loadCsv, loadCsvFeatures, readCsvHeader } from '../../data/csv.js'
import { applyPreprocessing } from '../../data/preprocessing.js'
import { DataFileError } from '../../errors.js'
import { BACKENDS, type Backend } from '../../engine/select.js'
import { accuracyScore } from '../../metrics/classification.js'
import { Sequential } from '../../model/sequential.js'
import { EXIT, UsageError } from '../exit-codes.js'
import { prepareOutput, writeTextAtomically } from '../output-files.js'
import { predictedClasses } from '../scores.js'

interface PredictFlags {
  data: string
  out?: string
  delimiter: string
  backend: Backend
  json?: boolean
}

export function predictCommand(program: Command): void {
  program
    .command('predict')
    .description('predict the rows of a CSV file with a saved model; write CSV (stdout or --out)')
    .argument('<model>', 'a model file saved by train --out or model.save()')
    .requiredOption('--data <file>', 'a CSV file with a header row holding the feature columns the model was trained on')
    .option('--out <file>', 'write the predictions here instead of to stdout')
    .option('--json', 'with --out: print one JSON document about the predictions (rows, file, accuracy on labelled rows) on stdout')
    .option('--delimiter <char>', 'field delimiter of the input file', ',')
    .addOption(new Option('--backend <engine>', 'engine').choices(BACKENDS).default('auto'))
    .addHelpText('after', `
Output columns: "prediction" (a class name, or a number for regression), then for
classification "probability <class>" for each class. Columns are matched by name; other columns
are ignored. When the file also has the label column, its labels are checked against the
model's classes (an unknown label is an error) and the accuracy is printed to stderr.`)
    .action(async (modelPath: string, flags: PredictFlags) => {
      process.exitCode = await predict(modelPath, flags)
    })
}

async function predict(modelPath: string, flags: PredictFlags): Promise<number> {
  // The predictions are the output: on stdout as CSV, or in --out with a JSON summary on stdout.
  if (flags.json && !flags.out) throw new UsageError('--json describes the predictions written to --out; without --out they are printed as CSV')
  let accuracy: number | undefined
  if (flags.out) await prepareOutput(flags.out, '--out')
  const model = await Sequential.load(modelPath, { backend: flags.backend })
  const plan = model.plan
  const p = model.preprocessing
  const header = await readCsvHeader(flags.data, { delimiter: flags.delimiter })
  const target = p?.targetName ?? null
  const classification = plan.loss !== 'meanSquaredError' && plan.loss !== null
  const exclude = target !== null && header.includes(target) ? [target] : []
  const featureNames = p?.featureNames ?? header.filter((h) => !exclude.includes(h))
  if (featureNames.length !== plan.inputSize) {
    throw new DataFileError(`${flags.data}: line 1: the file has ${featureNames.length} feature columns (${featureNames.join(', ')}), but the model in ${modelPath} takes ${plan.inputSize}`, flags.data, { line: 1 })
  }
  let labels: Int32Array | null = null
  let x
  if (exclude.length > 0 && classification) {
    // The file carries the labels too: read them against the model's classes, so a label the
    // model never saw is reported with its line rather than silently ignored.
    const data = await loadCsv(flags.data, {
      labelColumn: target!,
      featureNames,
      delimiter: flags.delimiter,
      ...(p?.labelNames && { labelNames: p.labelNames }),
    })
    x = data.x
    labels = data.y as Int32Array
  } else {
    x = (await loadCsvFeatures(flags.data, { featureNames, exclude, delimiter: flags.delimiter })).x
  }
  const outputs = model.predict(applyPreprocessing(p, x))
  const names = p?.labelNames ?? Array.from({ length: Math.max(plan.outputSize, 2) }, (_, k) => String(k))
  const rows: string[] = []
  if (classification) {
    const classes = predictedClasses(outputs)
    rows.push(['prediction', ...names.map((n) => `probability ${n}`)].map(csvField).join(','))
    for (let r = 0; r < outputs.rows; r++) {
      const probabilities = outputs.cols === 1 ? [1 - outputs.data[r]!, outputs.data[r]!] : Array.from(outputs.data.subarray(r * outputs.cols, (r + 1) * outputs.cols))
      rows.push([csvField(names[classes[r]!]!), ...probabilities.map((v) => v.toPrecision(6))].join(','))
    }
    if (labels) {
      accuracy = accuracyScore(labels, classes)
      console.error(`accuracy on the ${labels.length} labelled rows of ${flags.data}: ${accuracy.toFixed(4)}`)
    }
  } else {
    rows.push('prediction')
    for (let r = 0; r < outputs.rows; r++) rows.push(Array.from(outputs.data.subarray(r * outputs.cols, (r + 1) * outputs.cols), (v) => v.toPrecision(7)).join(','))
  }
  const text = rows.join('\n') + '\n'
  if (flags.out) {
    await writeTextAtomically(flags.out, text)
    console.error(`${outputs.rows} predictions written to ${flags.out}`)
    if (flags.json) process.stdout.write(`${JSON.stringify({ model: modelPath, data: flags.data, rows: outputs.rows, out: flags.out, ...(accuracy !== undefined && { accuracy }) })}\n`)
  } else {
    process.stdout.write(text)
  }
  return EXIT.ok
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
