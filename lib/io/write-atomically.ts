/**
 * Writing a file so that readers see the old content or the new, never a part of it — the one
 * way every file of this package is written (models, checkpoints, exports, CLI outputs).
 *
 * The bytes go to a temporary file beside the target, named `.<name>.<pid>.<random>.backprop-tmp`
 * so it is recognisable, flushed to disk, then renamed over the target. A process killed
 * mid-write leaves its temporary behind; the next write to the same target removes the ones
 * whose process is gone, so repeated crashes do not fill the disk.
 */
import { randomBytes } from 'node:crypto'
import { open, readdir, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

const SUFFIX = '.backprop-tmp'

/** The temporaries of `path` left by processes that are no longer running. */
async function staleTemporaries(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`
  const names = await readdir(dirname(path)).catch(() => [] as string[])
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith(SUFFIX))
    .filter((n) => {
      const pid = Number(n.slice(prefix.length).split('.')[0])
      return Number.isInteger(pid) && pid !== process.pid && !alive(pid)
    })
    .map((n) => join(dirname(path), n))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Writes `bytes` to `path` atomically. On failure the temporary file is removed and the error
 * says what could not be done (`action`, e.g. 'save the model') and names `path`.
 */
export async function writeAtomically(path: string, bytes: Uint8Array | string, action = 'write the file'): Promise<void> {
  for (const stale of await staleTemporaries(path)) await unlink(stale).catch(() => {})
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}${SUFFIX}`)
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
    throw Object.assign(new Error(`cannot ${action} to ${path}: ${(error as Error).message}`, { cause: error }), code && { code })
  }
}
