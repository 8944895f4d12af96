/** Writing exports to disk (Node-only; the bytes come from ./onnx.ts and ./tfjs.ts, which are portable). */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { writeAtomically } from '../io/write-atomically.js'
import type { Sequential } from '../model/sequential.js'
import { exportOnnx, type OnnxExportOptions } from './onnx.js'
import { exportTfjs, TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE, type TfjsExportOptions } from './tfjs.js'

/** Writes the ONNX file atomically (a temporary file renamed over `path`). */
export async function writeOnnx(model: Sequential, path: string, options?: OnnxExportOptions): Promise<void> {
  const bytes = exportOnnx(model, options)
  await writeAtomically(path, bytes, 'write the ONNX model')
}

/**
 * Writes `dir/model.json` and `dir/weights.bin` (creating `dir`), each atomically; weights.bin
 * first, so a first export never leaves a model.json without its weights.
 */
export async function writeTfjs(model: Sequential, dir: string, options?: TfjsExportOptions): Promise<void> {
  const { modelJson, weights } = exportTfjs(model, options)
  try {
    await mkdir(dir, { recursive: true })
  } catch (error) {
    throw new Error(`cannot create the TF.js model directory ${dir}: ${(error as Error).message}`, { cause: error })
  }
  await writeAtomically(join(dir, TFJS_WEIGHTS_FILE), weights, 'write the TF.js weights')
  await writeAtomically(join(dir, TFJS_MODEL_FILE), JSON.stringify(modelJson), 'write the TF.js model')
}
