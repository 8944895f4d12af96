/** Model files: written atomically, read only as far as they are regular files (Node-only; the bytes are model-bytes.ts). */
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { ModelFileError } from '../errors.js'
import type { Backend } from '../engine/select.js'
import type { Sequential } from '../model/sequential.js'
import { modelFromBytes, modelToBytes, type CheckpointPosition } from './model-bytes.js'
import { writeAtomically } from './write-atomically.js'

/** Writes the model atomically (see write-atomically.ts). */
export async function saveModel(model: Sequential, path: string, checkpoint?: CheckpointPosition): Promise<void> {
  await writeAtomically(path, modelToBytes(model, checkpoint), 'save the model')
}

export async function loadModel(path: string, backend: Backend = 'auto'): Promise<Sequential> {
  let bytes: Uint8Array
  try {
    // Non-blocking: opening a pipe for reading would otherwise wait for a writer, forever.
    const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
    try {
      // Only a regular file has a size to trust: /dev/zero or a pipe would be read without end.
      const info = await file.stat()
      if (!info.isFile()) throw new ModelFileError(`${path} is not a regular file (a model is a .safetensors file)`, path)
      bytes = new Uint8Array(info.size)
      for (let done = 0; done < info.size; ) {
        const { bytesRead } = await file.read(bytes, done, Math.min(info.size - done, 1 << 30), done)
        if (bytesRead === 0) throw new ModelFileError(`${path} shrank while being read (${done} of ${info.size} bytes)`, path)
        done += bytesRead
      }
    } finally {
      await file.close()
    }
  } catch (error) {
    if (error instanceof ModelFileError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new ModelFileError(code === 'ENOENT' ? `no model file at ${path}` : `cannot read ${path}: ${(error as Error).message}`, path)
  }
  return modelFromBytes(bytes, path, backend)
}
