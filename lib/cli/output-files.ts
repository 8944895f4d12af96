/** Output paths for the command line: checked before long work starts, written atomically. */
import { access, constants, mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { writeAtomically } from '../io/write-atomically.js'

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

/** Writes text atomically (see write-atomically.ts). */
export async function writeTextAtomically(path: string, text: string): Promise<void> {
  await writeAtomically(path, text)
}
