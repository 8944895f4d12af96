/**
 * `backprop evaluate`: a saved model's scores on a dataset, read with the model's own feature
 * columns, class names and scaler.
 */
import { Command, Option } from 'commander'
import { applyPreprocessing } from '../../data/preprocessing.js'
import { DataFileError } from '../../errors.js'
import { BACKENDS, type Backend } from '../../engine/select.js'
import { TASKS, type Task } from '../../data/dataset.js'
import { Sequential } from '../../model/sequential.js'
import { writeReport } from '../../report/write-report.js'
import { requireChartPackages } from '../chart-packages.js'
import { DATA_NAMES, labelColumn, loadSource } from '../loaded-data.js'
import { withJsonOutput } from '../json-output.js'
import { EXIT } from '../exit-codes.js'
import { prepareOutput } from '../output-files.js'
import { scoreModel } from '../scores.js'

interface EvaluateFlags {
  data: string
  label?: string
  task?: Task
  report?: string
  backend: Backend
  json?: boolean
}

export function evaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description("score a saved model on a dataset (through the model's saved scaler and class names)")
    .argument('<model>', 'a model file saved by train --out or model.save()')
    .requiredOption('--data <source>', `a dataset name (${DATA_NAMES.join(', ')}), a CSV file, or a directory of IDX files (its test files are used)`)
    .option('--label <column>', 'CSV: the label column, by name or 0-based index (default: the one the model was trained with, else the last)')
    .addOption(new Option('--task <task>', 'CSV without a saved model task: classification or regression').choices(TASKS))
    .option('--report <dir>', 'write an HTML report (confusion matrix or predicted against actual) into this directory')
    .addOption(new Option('--backend <engine>', 'engine').choices(BACKENDS).default('auto'))
    .option('--json', 'print one JSON document with the scores on stdout (other text goes to stderr)')
    .addHelpText('after', `
Prints "test <score>: <value>" lines, e.g. "test accuracy: 0.9722". Built-in and CSV data are
scored whole; IDX directories (and fashion-mnist) on their test files.`)
    .action(async (modelPath: string, flags: EvaluateFlags) => {
      process.exitCode = await withJsonOutput(flags.json, () => evaluate(modelPath, flags))
    })
}

async function evaluate(modelPath: string, flags: EvaluateFlags): Promise<{ status: number; document: Record<string, unknown> }> {
  if (flags.report) {
    await requireChartPackages('--report')
    await prepareOutput(flags.report, '--report', { directory: true })
  }
  const model = await Sequential.load(modelPath, { backend: flags.backend })
  const plan = model.plan
  if (plan.loss === null) throw new DataFileError(`${modelPath} holds a model that was never compiled; it has no loss to evaluate`, modelPath)
  const task: Task = plan.loss === 'meanSquaredError' ? 'regression' : 'classification'
  const p = model.preprocessing
  const source = await loadSource(flags.data, {
    task: flags.task ?? task,
    ...((flags.label ?? p?.targetName) && { label: labelColumn(flags.label) ?? p!.targetName! }),
    ...(p?.labelNames && { labelNames: p.labelNames }),
    ...(p?.featureNames && { featureNames: p.featureNames }),
  })
  const data = source.test ?? source.data
  if (data.task !== task) throw new DataFileError(`${source.name} is read as ${data.task} data, but ${modelPath} holds a ${task} model`, source.name)
  if (data.x.cols !== plan.inputSize) {
    throw new DataFileError(`${source.name} has ${data.x.cols} feature columns, but the model in ${modelPath} takes ${plan.inputSize}`, source.name)
  }
  if (data.task === 'classification' && data.labelNames.length !== Math.max(plan.outputSize, 2)) {
    throw new DataFileError(`${source.name} has ${data.labelNames.length} classes (${data.labelNames.join(', ')}), but the model in ${modelPath} tells ${Math.max(plan.outputSize, 2)}`, source.name)
  }
  console.error(`model: ${modelPath}; data: ${source.name} (${data.x.rows} samples)`)
  const result = scoreModel(model, plan.loss, applyPreprocessing(p, data.x), data)
  console.log(result.lines.join('\n'))
  if (flags.report) {
    const files = await writeReport(flags.report, {
      title: `backprop evaluate: ${modelPath} on ${source.name}`,
      facts: [['model', modelPath], ['data', `${source.name}: ${source.description}; ${data.x.rows} samples`]],
      history: model.trainingHistory,
      scores: Object.fromEntries(Object.entries(result.scores).map(([k, v]) => [`test ${k}`, v])),
      ...result.report,
    })
    console.error(`report written to ${files.index}`)
  }
  return {
    status: EXIT.ok,
    document: { model: modelPath, data: source.name, samples: data.x.rows, scores: result.scores, ...(flags.report && { report: flags.report }) },
  }
}
