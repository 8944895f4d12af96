/**
 * Runs the built command line (dist/cli/main.js, as `npx backprop` would) in a child process.
 * CI builds before testing; locally, a dist older than lib/ is refused with a hint to rebuild,
 * so the tests never pass or fail on stale code.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))))
export const CLI = path.join(ROOT, 'dist/cli/main.js')

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Throws unless dist/ holds a build at least as new as every file in lib/. */
export function requireFreshBuild(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before these tests`)
  const built = fs.statSync(CLI).mtimeMs
  const newest = newestSource(path.join(ROOT, 'lib'))
  if (newest.mtime > built) throw new Error(`dist/ is older than ${path.relative(ROOT, newest.file)}: run 'npm run build' before these tests`)
}

function newestSource(dir: string): { file: string; mtime: number } {
  let best = { file: dir, mtime: 0 }
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    const found = entry.isDirectory() ? newestSource(full) : entry.name.endsWith('.ts') ? { file: full, mtime: fs.statSync(full).mtimeMs } : best
    if (found.mtime > best.mtime) best = found
  }
  return best
}

/** Runs `backprop ...args` to completion. */
export function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}): CliResult {
  const run = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeout ?? 60_000,
  })
  return { status: run.status, stdout: run.stdout, stderr: run.stderr }
}

/** Starts `backprop ...args` and returns the child, for tests that talk to it while it runs. */
export function startCli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } })
}

/** The number after "test <name>:" in the output. */
export function score(stdout: string, name: string): number {
  const match = new RegExp(`^test ${name.replace(/[()]/g, '\\$&')}: (-?[0-9.]+)$`, 'm').exec(stdout)
  if (!match) throw new Error(`no 'test ${name}:' line in:\n${stdout}`)
  return Number(match[1])
}
