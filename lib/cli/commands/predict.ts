/**
 * `backprop predict`: a saved model's predictions for the rows of a CSV file, as CSV — the
 * predicted class name and each class's probability, or the predicted value. Features are read
 * by the names the model was trained with and scaled by its saved scaler.
 */
import { resolve } from 'node:path'
import { Command, Option } from 'commander'
import { loadCsv, loadCsvFeatures, readCsvHeader } from '../../data/csv.js'
import { applyPreprocessing } from '../../data/preprocessing.js'
import { DataFileError } from '../../errors.js'
import { BACKENDS, type Backend } from '../../engine/select.js'
import { accuracyScore } from '../../metrics/classification.js'
import { Sequential } from '../../model/sequential.js'
import { EXIT, UsageError } from '../exit-codes.js'
import { prepareOutput, writeTextAtomically } from '../output-files.js'
import { integer } from '../option-parsers.js'
import { predictionHeader, predictionLines } from '../prediction-csv.js'

interface PredictFlags {
  data: string
  out?: string
  delimiter: string
  backend: Backend
  json?: boolean
  redis?: string
  queue: string
  chunkRows: number
  runId?: string
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
    .option('--redis <url>', 'score the file on `backprop worker` processes pulling from this Redis, in chunks (the model and the file at paths every worker reads)')
    .option('--queue <name>', 'with --redis: the queue the workers pull from', 'backprop')
    .option('--chunk-rows <n>', 'with --redis: rows per chunk', integer(1), 100_000)
    .option('--run-id <id>', 'with --redis: names the run in Redis; give an interrupted run\'s id to reuse the chunks it finished')
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
  if (flags.redis !== undefined) return predictOnRedis(model, modelPath, featureNames, flags)
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
  const { lines, classes } = predictionLines(model, outputs)
  if (labels && classes) {
    accuracy = accuracyScore(labels, classes)
    console.error(`accuracy on the ${labels.length} labelled rows of ${flags.data}: ${accuracy.toFixed(4)}`)
  }
  const text = [predictionHeader(model), ...lines].join('\n') + '\n'
  if (flags.out) {
    await writeTextAtomically(flags.out, text)
    console.error(`${outputs.rows} predictions written to ${flags.out}`)
    if (flags.json) process.stdout.write(`${JSON.stringify({ model: modelPath, data: flags.data, rows: outputs.rows, out: flags.out, ...(accuracy !== undefined && { accuracy }) })}\n`)
  } else {
    process.stdout.write(text)
  }
  return EXIT.ok
}

/** --redis: the file scored in chunks by the workers, written in order (no accuracy: labels stay unread). */
async function predictOnRedis(model: Sequential, modelPath: string, featureNames: string[], flags: PredictFlags): Promise<number> {
  const { predictOnWorkers } = await import('../../distributed/predict-coordinator.js')
  const { checkRedisUrl, checkQueueName, newSearchId, checkSearchId } = await import('../../distributed/distributed-options.js')
  const runId = flags.runId !== undefined ? checkSearchId('--run-id', flags.runId) : newSearchId()
  console.error(`distributed: predicting ${flags.data} in chunks of ${flags.chunkRows} rows on ${flags.redis} (run ${runId})`)
  const { text, rows } = await predictOnWorkers(model, {
    redis: checkRedisUrl('--redis', flags.redis),
    queue: checkQueueName('--queue', flags.queue),
    runId,
    modelPath: resolve(modelPath),
    dataPath: resolve(flags.data),
    delimiter: flags.delimiter,
    featureNames,
    chunkRows: flags.chunkRows,
    attempts: 3,
    progress: (done, total) => console.error(`chunk ${done}/${total} done`),
  })
  if (flags.out) {
    await writeTextAtomically(flags.out, text)
    console.error(`${rows} predictions written to ${flags.out}`)
    if (flags.json) process.stdout.write(`${JSON.stringify({ model: modelPath, data: flags.data, rows, out: flags.out })}\n`)
  } else {
    process.stdout.write(text)
  }
  return EXIT.ok
}
