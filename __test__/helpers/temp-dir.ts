/** A temporary directory per test file, removed afterwards. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll } from 'vitest'

export function useTempDir(prefix = 'backprop-'): (name: string) => string {
  let dir = ''
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  })
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return (name: string) => path.join(dir, name)
}
