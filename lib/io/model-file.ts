import { randomBytes } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { ModelFileError } from '../errors.js'
import type { Backend } from '../engine/select.js'
import type { Sequential } from '../model/sequential.js'
import { modelFromBytes, modelToBytes } from './model-bytes.js'

/** Writes the model atomically: to a temporary file beside `path`, flushed, then renamed over it. */
export async function saveModel(model: Sequential, path: string): Promise<void> {
  const bytes = modelToBytes(model)
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const file = await open(temp, 'w')
    try {
      await file.writeFile(bytes)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    // The system error names the temporary file; say which file the caller asked for.
    const { code } = error as NodeJS.ErrnoException
    throw Object.assign(new Error(`cannot save the model to ${path}: ${(error as Error).message}`, { cause: error }), code && { code })
  }
}

export async function loadModel(path: string, backend: Backend = 'auto'): Promise<Sequential> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ModelFileError(code === 'ENOENT' ? `no model file at ${path}` : `cannot read ${path}: ${(error as Error).message}`, path)
  }
  return modelFromBytes(bytes, path, backend)
}
