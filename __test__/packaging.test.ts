/**
 * The published shape works: `npm pack` the package and its per-platform binary package,
 * install both into a fresh project, and check — in child processes, as a user would run it —
 * that `import('backprop-nn')` (ESM) and `require('backprop-nn')` (CommonJS, Node ≥ 20.19) load the
 * native engine and train; and that installed without the platform package, backprop falls
 * back to the JS engine and still trains.
 *
 * Needs the build (`npm run build`: dist/, native/index.js, the .node copied into
 * npm/linux-x64-gnu/); skipped, saying so, when the addon is not built. Installs use the npm
 * cache only (`--offline`, or `--prefer-offline` if npm insists on the registry).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const platformDir = join(root, 'npm', 'linux-x64-gnu')
const required = [
  join(root, 'dist', 'index.js'),
  join(root, 'native', 'index.js'),
  join(platformDir, 'backprop.linux-x64-gnu.node'),
]
const missing = required.filter((f) => !existsSync(f))
const skipReason = missing.length > 0 ? `the package is not built (missing ${missing.map((f) => f.slice(root.length)).join(', ')}; run npm run build)` : ''

/** The environment for child processes: no engine override, no npm script context of ours. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'BACKPROP_BACKEND' || k === 'NODE_OPTIONS' || k.startsWith('VITEST')) continue
    if (k.startsWith('npm_') && k !== 'npm_config_cache' && k !== 'npm_config_userconfig') continue
    env[k] = v
  }
  return env
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, env: childEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Installs tarballs into a fresh project, from the npm cache only. */
function project(name: string, tarballs: string[]): string {
  const dir = join(work, name)
  execFileSync('mkdir', ['-p', dir])
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }))
  const common = ['install', '--no-audit', '--no-fund', '--no-package-lock', ...tarballs]
  try {
    npm([...common, '--offline'], dir)
  } catch {
    npm([...common, '--prefer-offline'], dir)
  }
  return dir
}

/** Runs a script in a project with node and returns the JSON it prints last. */
function run(dir: string, args: string[]): { engine: string; fallbackReason: string | null; isa: string | null; losses: number[] } {
  const child = spawnSync(process.execPath, args, { cwd: dir, env: childEnv(), encoding: 'utf8', timeout: 60_000 })
  expect(child.status, `${child.stdout}\n${child.stderr}`).toBe(0)
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!)
}

/** Trains a tiny model and prints what engine did it. `lib` is the imported package. */
const trainScript = (lib: string) => `
  const { backendInfo, Sequential, Dense, Adam, moons } = ${lib}
  const data = moons({ samples: 64, seed: 1 })
  const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 8, activation: 'tanh' })).add(new Dense({ units: 1, activation: 'sigmoid' }))
  model.compile({ loss: 'binaryCrossEntropy', optimizer: new Adam({ learningRate: 0.05 }) })
  model.fit(data.x, data.y, { epochs: 5, batchSize: 16 }).then((h) => {
    const info = backendInfo()
    if (model.engine !== info.engine) throw new Error('model engine ' + model.engine + ' differs from ' + info.engine)
    console.log(JSON.stringify({ engine: info.engine, fallbackReason: info.fallbackReason, isa: info.isa, losses: h.loss }))
  })
`

let work = ''
let tarballs: { root: string; platform: string } = { root: '', platform: '' }

describe.skipIf(skipReason !== '')(`the installed package${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'backprop-packaging-'))
    const packs = join(work, 'packs')
    execFileSync('mkdir', ['-p', packs])
    npm(['pack', '--pack-destination', packs, root], work)
    npm(['pack', '--pack-destination', packs, platformDir], work)
    const files = readdirSync(packs)
    tarballs = {
      root: join(packs, files.find((f) => /^backprop-nn-\d/.test(f))!),
      platform: join(packs, files.find((f) => f.startsWith('backprop-nn-linux-x64-gnu-'))!),
    }
  }, 120_000)

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('packs the loader and the compiled library, and leaves the binary to the platform package', () => {
    const list = (tgz: string) => execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).split('\n')
    const main = list(tarballs.root)
    expect(main).toContain('package/dist/index.js')
    // The portable core, the browser entry.
    expect(main).toContain('package/dist/core.js')
    expect(main).toContain('package/dist/core.d.ts')
    expect(main).toContain('package/native/index.js')
    expect(main).toContain('package/native/index.d.ts')
    expect(main.filter((f) => f.endsWith('.node'))).toEqual([])
    expect(main.some((f) => f.startsWith('package/crates/') || f.startsWith('package/lib/'))).toBe(false)
    expect(list(tarballs.platform)).toContain('package/backprop.linux-x64-gnu.node')
    expect(main).toContain('package/LICENSE')
    expect(list(tarballs.platform)).toContain('package/LICENSE')
    // No source maps that point at sources the package does not ship.
    expect(main.filter((f) => f.endsWith('.map'))).toEqual([])
  })

  it('the packed manifest names the platform package as an optional dependency; the checkout\'s stays as it was', () => {
    const packed = JSON.parse(execFileSync('tar', ['xzOf', tarballs.root, 'package/package.json'], { encoding: 'utf8' }))
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
    expect(packed.optionalDependencies).toEqual({ 'backprop-nn-linux-x64-gnu': pkg.version })
    expect(packed.sideEffects).toBe(false)
    // Browsers (and bundlers targeting them) get the portable core, by condition or by name.
    expect(Object.keys(packed.exports['.'])[0]).toBe('browser')
    expect(packed.exports['.'].browser).toEqual({ types: './dist/core.d.ts', default: './dist/core.js' })
    expect(packed.exports['./core']).toEqual({ types: './dist/core.d.ts', default: './dist/core.js' })
    expect(pkg.optionalDependencies).toBeUndefined()
    expect(existsSync(join(root, '.package.json.prepack'))).toBe(false)
  })

  it('with the platform package: import() and require() load the native engine and train', () => {
    const dir = project('with-native', [tarballs.root, tarballs.platform])
    const esm = run(dir, ['--input-type=module', '-e', trainScript(`await import('backprop-nn')`)])
    expect(esm.engine).toBe('native')
    expect(esm.fallbackReason).toBeNull()
    expect(['avx512', 'avx2', 'scalar']).toContain(esm.isa)
    expect(esm.losses).toHaveLength(5)
    expect(esm.losses.at(-1)!).toBeLessThan(esm.losses[0]!)
    writeFileSync(join(dir, 'train.cjs'), trainScript(`require('backprop-nn')`))
    const cjs = run(dir, ['train.cjs'])
    expect(cjs.engine).toBe('native')
    expect(cjs.losses).toEqual(esm.losses)
    // A strict TypeScript consumer (NodeNext resolution) type-checks against the packed types,
    // and a mistake in it is caught.
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noUncheckedIndexedAccess: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: [] }, files: ['consumer.ts'] }))
    writeFileSync(join(dir, 'consumer.ts'), [
      "import { Adam, Dense, Sequential, data, type History } from 'backprop-nn'",
      "const model = new Sequential({ seed: 1 }).add(new Dense({ inputSize: 2, units: 2, activation: 'softmax' }))",
      "model.compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ clipNorm: 1 }), metrics: ['accuracy'] })",
      'export const trained: Promise<History> = model.fitDataset(data.array([[0, 1]], [1]).batch(1), { epochs: 1 })',
      '',
    ].join('\n'))
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const checked = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' })
    expect(checked.status, checked.stdout + checked.stderr).toBe(0)
    writeFileSync(join(dir, 'consumer.ts'), "import { Dense } from 'backprop-nn'\nnew Dense({ units: 'many' })\n")
    const wrong = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' })
    expect(wrong.status).not.toBe(0)
    expect(wrong.stdout).toMatch(/consumer\.ts\(2,.*Type 'string' is not assignable to type 'number'/)
    // A streamed CSV file decodes on a worker thread started from the installed files.
    writeFileSync(join(dir, 'd.csv'), 'a,b,y\n' + Array.from({ length: 5000 }, (_, i) => `${i % 7},${i / 3},${i % 2 ? 'odd' : 'even'}`).join('\n') + '\n')
    const streamScript = "const { data } = await import('backprop-nn'); let rows = 0, sum = 0; for await (const b of data.csv('d.csv', { label: 'y' }).blocks({ epoch: 0 })) { rows += b.rows; for (const v of b.y) sum += v } console.log(JSON.stringify({ rows, sum }))"
    const streamed = spawnSync(process.execPath, ['--input-type=module', '-e', streamScript], { cwd: dir, env: childEnv(), encoding: 'utf8', timeout: 60_000 })
    expect(streamed.status, streamed.stderr).toBe(0)
    expect(JSON.parse(streamed.stdout)).toEqual({ rows: 5000, sum: 2500 })
  }, 180_000)

  it('installs without the chart packages (optional peers); --report then says what to install, before training', () => {
    const dir = project('no-charts', [tarballs.root, tarballs.platform])
    expect(existsSync(join(dir, 'node_modules', 'vega'))).toBe(false)
    expect(existsSync(join(dir, 'node_modules', 'vega-lite'))).toBe(false)
    const cli = (args: string[]) => spawnSync(process.execPath, [join(dir, 'node_modules', 'backprop-nn', 'dist', 'cli', 'main.js'), ...args], { cwd: dir, env: childEnv(), encoding: 'utf8', timeout: 60_000 })
    const plain = cli(['train', '--data', 'iris', '--epochs', '2', '--out', 'iris.safetensors'])
    expect(plain.status, plain.stderr).toBe(0)
    expect(existsSync(join(dir, 'iris.safetensors'))).toBe(true)
    const report = cli(['train', '--data', 'iris', '--epochs', '2', '--report', 'iris-report', '--out', 'again.safetensors'])
    expect(report.status).toBe(2)
    expect(report.stderr).toMatch(/--report: charts and reports need the optional packages vega and vega-lite, and '(vega|vega-lite)' is not installed: run npm install vega@\^6\.4\.0 vega-lite@~6\.4\.3/)
    expect(existsSync(join(dir, 'again.safetensors'))).toBe(false)
  }, 180_000)

  it('without it: falls back to the JS engine, says why, and trains the same', () => {
    const dir = project('js-only', [tarballs.root])
    const esm = run(dir, ['--input-type=module', '-e', trainScript(`await import('backprop-nn')`)])
    expect(esm.engine).toBe('js')
    expect(esm.fallbackReason).toMatch(/native addon did not load.*backprop-nn-linux-x64-gnu/)
    expect(esm.isa).toBeNull()
    writeFileSync(join(dir, 'train.cjs'), trainScript(`require('backprop-nn')`))
    const cjs = run(dir, ['train.cjs'])
    expect(cjs.engine).toBe('js')
    expect(cjs.losses).toEqual(esm.losses)
    // Falling back where a native package exists is said once on stderr, and not when JS is chosen.
    const warned = spawnSync(process.execPath, ['train.cjs'], { cwd: dir, env: childEnv(), encoding: 'utf8' })
    expect(warned.stderr.match(/BackpropWarning: backprop-nn is using its JS engine \(25–40× slower\): the native addon did not load/g)).toHaveLength(1)
    const chosen = spawnSync(process.execPath, ['train.cjs'], { cwd: dir, env: { ...childEnv(), BACKPROP_BACKEND: 'js' }, encoding: 'utf8' })
    expect(chosen.status).toBe(0)
    expect(chosen.stderr).not.toMatch(/BackpropWarning/)
    // And forcing native says what is missing.
    const forced = spawnSync(process.execPath, ['--input-type=module', '-e', `const { Sequential, Dense } = await import('backprop-nn'); new Sequential({ backend: 'native' }).add(new Dense({ inputSize: 1, units: 1 })).build()`], {
      cwd: dir,
      env: childEnv(),
      encoding: 'utf8',
    })
    expect(forced.status).not.toBe(0)
    expect(forced.stderr).toMatch(/backend 'native' was requested but the native engine cannot load: the native addon did not load/)
    // A bundler targeting browsers resolves the installed package to the core through the
    // browser condition: it bundles with no Node built-in, and the bundle trains like Node.
    const esbuild = join(root, 'node_modules', '.bin', 'esbuild')
    writeFileSync(join(dir, 'browser-entry.mjs'), `export * from 'backprop-nn'\n`)
    execFileSync(esbuild, ['browser-entry.mjs', '--bundle', '--platform=browser', '--format=esm', '--outfile=browser.mjs', '--log-level=error'], { cwd: dir, env: childEnv() })
    expect(readFileSync(join(dir, 'browser.mjs'), 'utf8')).not.toMatch(/["']node:/)
    const bundled = run(dir, ['--input-type=module', '-e', trainScript(`await import('./browser.mjs')`)])
    expect(bundled.losses).toEqual(esm.losses)
  }, 180_000)
})
