/** `backprop info`: what a model file holds — architecture, preprocessing, training state and history. */
import { Command, Option } from 'commander'
import { BACKENDS, type Backend } from '../../engine/select.js'
import { preprocessingToJSON } from '../../data/preprocessing.js'
import { Sequential } from '../../model/sequential.js'
import { EXIT } from '../exit-codes.js'
import { formatLogs } from '../progress.js'

interface InfoFlags {
  json?: boolean
  backend: Backend
}

/** Epoch rows shown at most; longer histories show their first and last epochs. */
const MAX_ROWS = 30

export function infoCommand(program: Command): void {
  program
    .command('info')
    .description("show a model file's architecture, parameter count, preprocessing and training history")
    .argument('<model>', 'a model file saved by train --out or model.save()')
    .option('--json', 'print everything as JSON instead')
    .addOption(new Option('--backend <engine>', 'engine used to load it').choices(BACKENDS).default('auto'))
    .action(async (modelPath: string, flags: InfoFlags) => {
      process.exitCode = await info(modelPath, flags)
    })
}

async function info(modelPath: string, flags: InfoFlags): Promise<number> {
  const model = await Sequential.load(modelPath, { backend: flags.backend })
  const plan = model.plan
  const state = model.network.readState()
  const history = model.trainingHistory
  const p = model.preprocessing
  if (flags.json) {
    console.log(JSON.stringify({
      file: modelPath,
      parameters: { trainable: plan.paramCount, nonTrainable: plan.statCount },
      plan,
      training: { seed: model.seed, epochsTrained: model.epochsTrained, steps: state.step, learningRate: model.compiled ? model.learningRate : null },
      preprocessing: p ? preprocessingToJSON(p) : null,
      history: history.epochs > 0 ? history.toJSON() : null,
    }, null, 2))
    return EXIT.ok
  }
  console.log(`model: ${modelPath}\n`)
  console.log(model.summary())
  console.log('')
  console.log(`preprocessing: ${p ? describePreprocessing(p) : 'none saved'}`)
  console.log(`training: ${model.epochsTrained} epochs, ${state.step} updates, seed ${model.seed}${model.compiled ? `, learning rate ${model.learningRate}` : ''}`)
  if (history.epochs === 0) {
    console.log('history: none saved')
    return EXIT.ok
  }
  console.log(`history (${history.epochs} epochs; last stop: ${history.stopReason}):`)
  const width = String(history.epochs).length
  const shown = history.epochs <= MAX_ROWS ? [...Array(history.epochs).keys()] : [...Array(10).keys(), -1, ...Array.from({ length: MAX_ROWS - 11 }, (_, i) => history.epochs - (MAX_ROWS - 11) + i)]
  for (const e of shown) {
    if (e === -1) {
      console.log(`  ${'…'.padStart(width)}`)
      continue
    }
    const logs: Record<string, number> = { loss: history.loss[e]! }
    for (const [key, values] of Object.entries(history.metrics)) if (!key.startsWith('val')) logs[key] = values[e]!
    if (history.valLoss.length) logs.valLoss = history.valLoss[e]!
    for (const [key, values] of Object.entries(history.metrics)) if (key.startsWith('val')) logs[key] = values[e]!
    console.log(`  epoch ${String(e + 1).padStart(width)}  ${formatLogs(logs)}  lr ${Number(history.learningRate[e]!.toPrecision(4))}`)
  }
  return EXIT.ok
}

function describePreprocessing(p: NonNullable<Sequential['preprocessing']>): string {
  const parts = [p.scaler ? `${p.scaler.toJSON().kind === 'standard' ? 'standard' : 'min-max'} scaler` : 'no scaler']
  if (p.featureNames) parts.push(`features ${abbreviate(p.featureNames)}`)
  if (p.labelNames) parts.push(`classes ${abbreviate(p.labelNames)}`)
  if (p.targetName) parts.push(`label column '${p.targetName}'`)
  return parts.join('; ')
}

function abbreviate(names: string[]): string {
  return names.length <= 12 ? names.join(', ') : `${names.slice(0, 6).join(', ')}, … ${names.slice(-3).join(', ')} (${names.length})`
}
