/**
 * `backprop search`: the space from flags and a JSON file, what it prints, the files it writes,
 * and usage errors for bad spaces — on a fresh commander program in this thread (--workers 0),
 * then through the built executable, whose trials run on dist/search/worker.js threads.
 */
import fs from 'node:fs'
import { Command, CommanderError } from 'commander'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { searchCommand } from '../lib/cli/commands/search.js'
import { UsageError } from '../lib/cli/exit-codes.js'
import { Sequential } from '../lib/index.js'
import { cli, requireFreshBuild, score } from './helpers/cli.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-cli-search-')
const small = ['--data', 'moons', '--samples', '200', '--workers', '0', '--no-progress']

let output: string[]
let savedThreads: string | undefined
beforeEach(() => {
  output = []
  savedThreads = process.env.BACKPROP_THREADS
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void output.push(args.join(' ')))
})
afterEach(() => {
  vi.restoreAllMocks()
  // The command caps the native threads for its process; leave the test process as it was.
  if (savedThreads === undefined) delete process.env.BACKPROP_THREADS
  else process.env.BACKPROP_THREADS = savedThreads
  process.exitCode = undefined
})

async function run(...args: string[]): Promise<number> {
  const program = new Command('backprop').exitOverride()
  searchCommand(program)
  program.commands.forEach((c) => c.exitOverride())
  await program.parseAsync(['node', 'backprop', 'search', ...args])
  return process.exitCode as number
}

async function failure(...args: string[]): Promise<Error> {
  const writes = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    await run(...args)
  } catch (error) {
    return error as Error
  } finally {
    writes.mockRestore()
  }
  throw new Error('expected the command to fail')
}

describe('backprop search', () => {
  it('searches, prints the best trials and the test scores, and writes JSON, CSV, the chart and the best model', async () => {
    const out = temp('results')
    const code = await run(...small, '--trials', '3', '--epochs', '6', '--layers', '8;16,8', '--learning-rate', 'log:0.003:0.03', '--out', out)
    expect(code).toBe(0)
    const text = output.join('\n')
    expect(text).toMatch(/^3 trials in [\d.]+ s \(3 completed; stopped: completed\)$/m)
    expect(text).toMatch(/^best: trial \d, validation accuracy 0\.\d{4}: \{/m)
    expect(text).toMatch(/^test accuracy: 0\.\d{4}$/m)

    const json = JSON.parse(fs.readFileSync(`${out}/search.json`, 'utf8'))
    expect(json.trials).toHaveLength(3)
    for (const t of json.trials) {
      expect([[8], [16, 8]]).toContainEqual(t.params.layers)
      expect(t.params.learningRate).toBeGreaterThanOrEqual(0.003)
      expect(t.params.learningRate).toBeLessThan(0.03)
      expect(t.params.epochs).toBe(6)
    }
    expect(fs.readFileSync(`${out}/search.csv`, 'utf8').trimEnd().split('\n')).toHaveLength(4)
    expect(fs.readFileSync(`${out}/search-chart.svg`, 'utf8')).toMatch(/^<svg[^>]*>/)
    expect(JSON.parse(fs.readFileSync(`${out}/search-chart.vl.json`, 'utf8')).concat.length).toBeGreaterThan(0)
    const model = await Sequential.load(`${out}/best-model.safetensors`)
    expect(model.preprocessing?.labelNames).toEqual(['0', '1'])
  })

  it('takes the space from a JSON file, each flag overriding its key in every space of a list', async () => {
    const spaceFile = temp('space.json')
    fs.writeFileSync(spaceFile, JSON.stringify([
      { optimizer: ['sgd'], momentum: [0, 0.9], epochs: [50] },
      { optimizer: ['adam'], epochs: [50] },
    ]))
    const out = temp('grid')
    expect(await run(...small, '--method', 'grid', '--space', spaceFile, '--epochs', '3', '--units', '4', '--out', out)).toBe(0)
    const params = JSON.parse(fs.readFileSync(`${out}/search.json`, 'utf8')).trials.map((t: { index: number; params: unknown }) => [t.index, t.params])
    expect(params.sort((a: [number], b: [number]) => a[0] - b[0]).map((p: [number, unknown]) => p[1])).toEqual([
      { optimizer: 'sgd', momentum: 0, epochs: 3, units: 4 },
      { optimizer: 'sgd', momentum: 0.9, epochs: 3, units: 4 },
      { optimizer: 'adam', epochs: 3, units: 4 },
    ])
  })

  it('refuses a bad space before loading data, as a usage error naming the key', async () => {
    const error = await failure(...small, '--momentum', '0.9')
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toBe(
      "the search space: momentum applies to 'sgd', 'rmsprop', but the space also tries optimizer 'adam' (the default); use a list of spaces, e.g. [{ optimizer: ['sgd'], momentum: [0, 0.9] }, { optimizer: ['adam'] }]",
    )
    const zero = await failure(...small, '--learning-rate', 'log:0:1')
    expect(zero.message).toBe('the search space: learningRate: logUniform needs low > 0, got [0, 1]')
    const broken = temp('broken.json')
    fs.writeFileSync(broken, '{ "units": [4, }')
    expect((await failure(...small, '--space', broken)).message).toMatch(new RegExp(`^--space ${broken} is not valid JSON: `))
  })

  it('refuses malformed axis flags with commander’s usage error', async () => {
    const error = await failure(...small, '--learning-rate', 'log:a:1')
    expect(error).toBeInstanceOf(CommanderError)
    expect(error.message).toBe("error: option '--learning-rate <axis>' argument 'log:a:1' is invalid. Expected log:LO:HI with two numbers.")
    expect((await failure(...small, '--layers', '64;x')).message).toContain('Expected architectures such as "64;128,64"')
  })
})

describe('the built `backprop search`', () => {
  beforeAll(() => requireFreshBuild())
  const args = ['search', '--data', 'moons', '--samples', '200', '--trials', '4', '--epochs', '5', '--layers', '4;8', '--seed', '3', '--no-progress']

  it('runs trials on 2 worker threads with the same trials and scores as in one thread, and tests the best', () => {
    const parallel = cli([...args, '--workers', '2', '--out', temp('built-2')])
    expect(parallel.status, parallel.stderr).toBe(0)
    // Notes on stderr, results on stdout.
    expect(parallel.stderr).toMatch(/^data: moons/m)
    expect(parallel.stderr).toMatch(/^results written to /m)
    expect(parallel.stdout).not.toMatch(/^(data:|space:|results written)/m)
    expect(parallel.stdout).toMatch(/^4 trials in [\d.]+ s \(4 completed; stopped: completed\)$/m)
    expect(score(parallel.stdout, 'accuracy')).toBeGreaterThan(0.5)
    const serial = cli([...args, '--workers', '0', '--out', temp('built-0')])
    expect(serial.status).toBe(0)
    const trials = (dir: string) =>
      JSON.parse(fs.readFileSync(temp(`${dir}/search.json`), 'utf8')).trials.map((t: { index: number; params: unknown; score: number }) => [t.index, t.params, t.score]).sort()
    expect(trials('built-2')).toEqual(trials('built-0'))
  })

  it("--json prints the search (every trial, the best) and the refit's test scores as one JSON document on stdout", () => {
    const run = cli([...args, '--workers', '0', '--json'])
    expect(run.status, run.stderr).toBe(0)
    const doc = JSON.parse(run.stdout)
    expect(doc.search.trials).toHaveLength(4)
    expect(doc.search.trials.every((t: { status: string }) => t.status === 'completed')).toBe(true)
    expect(doc.test.accuracy).toBeGreaterThan(0.5)
    expect(run.stderr).toMatch(/^4 trials in /m)
  })

  it('exits 2 with the reason for a bad space', () => {
    const run = cli(['search', '--momentum', '0.9'])
    expect(run.status).toBe(2)
    expect(run.stderr).toContain("backprop: the search space: momentum applies to 'sgd', 'rmsprop', but the space also tries optimizer 'adam' (the default)")
  })

  it('is listed in the help', () => {
    expect(cli(['--help']).stdout).toMatch(/^\s+search \[options\]\s+search hyper-parameters/m)
  })
})
