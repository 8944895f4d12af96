/** `backprop export`: a saved model as an ONNX file or a TF.js Layers model, for other runtimes. */
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { writeOnnx, writeTfjs } from '../../export/files.js'
import { Sequential } from '../../model/sequential.js'
import { EXIT, UsageError } from '../exit-codes.js'
import { prepareOutput } from '../output-files.js'

const FORMATS = ['onnx', 'tfjs'] as const

interface ExportFlags {
  format: (typeof FORMATS)[number]
  out: string
  includePreprocessing?: boolean
  json?: boolean
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('export a saved model for inference in another runtime: ONNX (onnxruntime, …) or TensorFlow.js')
    .argument('<model>', 'a model file saved by train --out or model.save()')
    .addOption(new Option('--format <format>', 'what to write').choices(FORMATS).makeOptionMandatory())
    .requiredOption('--out <path>', 'the .onnx file to write (onnx), or the directory for model.json and weights.bin (tfjs)')
    .option('--include-preprocessing', "put the model's saved scaler in front, so the exported model takes raw features")
    .option('--json', 'print one JSON document about what was written (format, files) on stdout')
    .addHelpText('after', `
onnx: opset 13, input "input" and output "output" (float32, [batch, features]). Dense → Gemm,
  activations → Relu/LeakyRelu/Sigmoid/Tanh/Softmax, BatchNormalization → BatchNormalization
  (running statistics), Dropout removed. Feature and class names go in the metadata.
tfjs: a Layers model (tf.loadLayersModel): Dense, BatchNormalization, Dropout, Activation and
  LeakyReLU layers. Feature and class names go in userDefinedMetadata.
Every layer of a backprop model can be exported in both formats; see docs/export.md.

Examples:
  backprop export model.safetensors --format onnx --out model.onnx
  backprop export model.safetensors --format tfjs --out web-model/ --include-preprocessing`)
    .action(async (modelPath: string, flags: ExportFlags) => {
      process.exitCode = await exportModel(modelPath, flags)
    })
}

async function exportModel(modelPath: string, flags: ExportFlags): Promise<number> {
  await prepareOutput(flags.out, '--out', { directory: flags.format === 'tfjs' })
  const model = await Sequential.load(modelPath)
  const includePreprocessing = flags.includePreprocessing === true
  if (includePreprocessing && !model.preprocessing?.scaler) {
    throw new UsageError(`--include-preprocessing: ${modelPath} has no saved scaler (train with --scale standard or --scale minmax to record one)`)
  }
  if (flags.format === 'onnx') await writeOnnx(model, flags.out, { includePreprocessing })
  else await writeTfjs(model, flags.out, { includePreprocessing })
  const files = flags.format === 'onnx' ? [flags.out] : [join(flags.out, 'model.json'), join(flags.out, 'weights.bin')]
  console.error(`wrote ${files.join(' and ')}`)
  if (flags.json) process.stdout.write(`${JSON.stringify({ model: modelPath, format: flags.format, files, includePreprocessing })}\n`)
  return EXIT.ok
}
