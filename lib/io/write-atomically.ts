/** Writing a file so that readers see the old content or the new, never a part of it. */
import { randomBytes } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'

/**
 * Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames it over
 * `path`. On failure the temporary file is removed and the error names `path` (and `what`).
 */
export async function writeAtomically(path: string, bytes: Uint8Array | string, what = 'the file'): Promise<void> {
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
    const { code } = error as NodeJS.ErrnoException
    throw Object.assign(new Error(`cannot write ${what} to ${path}: ${(error as Error).message}`, { cause: error }), code && { code })
  }
}
