/** Output paths for the command line: checked before long work starts, written atomically. */
import { randomBytes } from 'node:crypto'
import { access, constants, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Makes sure `path`'s directory exists and is writable (creating it if needed), so a mistake
 * shows before training rather than after. `what` names the option in the error.
 */
export async function prepareOutput(path: string, what: string, { directory = false } = {}): Promise<void> {
  const dir = directory ? path : dirname(path)
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK)
    if (!directory) {
      const info = await stat(path).catch(() => null)
      if (info?.isDirectory()) throw new Error(`${path} is a directory; expected a file path`)
    }
  } catch (error) {
    throw new Error(`cannot write ${what} ${path}: ${(error as Error).message}`)
  }
}

/** Writes text to a temporary file beside `path`, then renames it over `path`. */
export async function writeTextAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(temp, text)
    await rename(temp, path)
  } catch (error) {
    await unlink(temp).catch(() => {})
    throw new Error(`cannot write ${path}: ${(error as Error).message}`)
  }
}
