/**
 * The browser entry (lib/core.ts) really runs in a browser: esbuild bundles it for the browser
 * platform (it fails on any Node built-in), the bundle holds no `node:` specifier and no bare
 * `process.` access, and in headless Chromium (playwright-core, served from 127.0.0.1) it
 * trains two moons — on the page's main thread and in a Web Worker (examples/browser/worker.js)
 * — to a good accuracy, with per-epoch losses equal to Node's JS engine on the same seed (bit
 * for bit where the two V8s' Math.exp/log agree; see mathSample), the worker's bit for bit equal
 * to the main thread's, while the page keeps running its timers as the worker trains.
 */
import fs from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { chromiumAvailable as available, launchChromium } from './helpers/chromium.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as backprop from '../lib/index.js'
// @ts-expect-error: the example is plain JavaScript, without types.
import { trainMoons } from '../examples/browser/train-moons.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const example = path.join(root, 'examples', 'browser')

const DATA = { samples: 400, noise: 0.15, seed: 1 }
const SEED = 7
const EPOCHS = 40

/** Float64 bit patterns, as hex: equal strings mean bit-identical numbers. */
function bits(values: number[]): string[] {
  return values.map((v) => Buffer.from(new Float64Array([v]).buffer).toString('hex'))
}

/**
 * Math.exp and Math.log on a spread of inputs. ECMAScript leaves their last bit to the
 * implementation, and V8 versions differ (Node 20's V8 11.3 and a current Chromium disagree on
 * about 1 exp in 10), so the losses can be bit-identical only where these agree.
 */
function mathSample(): number[] {
  const out: number[] = []
  for (let i = 1; i <= 2000; i++) out.push(Math.exp((i - 1000) / 97), Math.log(i / 101), Math.log1p(i / 113), Math.tanh((i - 1000) / 211))
  return out
}

/**
 * The browser's losses against Node's: bit for bit where both runtimes' Math agree; else the
 * arithmetic is still the same and only those last bits may differ (1 ulp, observed).
 */
function expectSameLosses(browser: number[], node: number[], sameMath: boolean): void {
  expect(browser).toHaveLength(node.length)
  if (sameMath) return void expect(bits(browser)).toEqual(bits(node))
  for (let i = 0; i < node.length; i++) expect(Math.abs(browser[i]! - node[i]!)).toBeLessThanOrEqual(1e-13 * Math.abs(node[i]!))
}

let bundle = ''
let server: Server
let origin = ''
let browser: Browser

beforeAll(async () => {
  // Throws on errors, e.g. 'Could not resolve "node:fs"' for a Node built-in reached from the core.
  const result = await build({
    entryPoints: [path.join(root, 'lib', 'core.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  })
  bundle = result.outputFiles[0]!.text
  const files: Record<string, string> = {
    '/backprop-nn.js': bundle,
    '/worker.js': fs.readFileSync(path.join(example, 'worker.js'), 'utf8'),
    '/train-moons.js': fs.readFileSync(path.join(example, 'train-moons.js'), 'utf8'),
    '/test.html': `<!doctype html><link rel="icon" href="data:,"><script type="module">
      import * as backprop from './backprop-nn.js'
      import { trainMoons } from './train-moons.js'
      globalThis.backprop = backprop
      globalThis.trainMoons = trainMoons
      globalThis.ready = true
    </script>`,
  }
  server = createServer((request, response) => {
    const body = files[request.url ?? '']
    if (body === undefined) return void response.writeHead(404).end()
    response.writeHead(200, { 'content-type': request.url!.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  if (!available) return
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => server?.close(resolve))
})

describe('the browser bundle of lib/core.ts', () => {
  it('builds with no Node built-in, no node: specifier and no unguarded process access', () => {
    expect(bundle.length).toBeGreaterThan(10_000)
    expect(bundle).not.toMatch(/["']node:/)
    // `globalThis.process?.…` is the guard; a bare `process.` throws where there is no process.
    expect(bundle.match(/(?<![\w$.])process\s*\./g)).toBeNull()
    expect(bundle).not.toMatch(/\bsetImmediate\(resolve\)|\bBuffer\./)
    // It exports what the issue lists.
    for (const name of ['Sequential', 'Dense', 'Adam', 'moons', 'StandardScaler', 'Matrix', 'History', 'ShapeError', 'earlyStopping', 'backendInfo']) {
      expect(bundle).toMatch(new RegExp(`\\b${name}\\b`))
    }
  })
})

describe.skipIf(!available)('training in headless Chromium', () => {
  let page: Page
  let sameMath = false
  const errors: string[] = []
  beforeAll(async () => {
    page = await browser.newPage()
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
    await page.goto(`${origin}/test.html`)
    await page.waitForFunction(() => (globalThis as any).ready === true)
    sameMath = JSON.stringify(bits(await page.evaluate(`(${mathSample.toString()})()`))) === JSON.stringify(bits(mathSample()))
  })

  /** Node's JS engine, same recipe, same data, same seed. */
  async function nodeReference(): Promise<{ losses: number[]; accuracy: number }> {
    const data = backprop.moons(DATA)
    return trainMoons(backprop, { ...data, seed: SEED, epochs: EPOCHS, backend: 'js' })
  }

  it("'auto' is the JS engine there, and backendInfo says why", async () => {
    const info = await page.evaluate(() => (globalThis as any).backprop.backendInfo())
    expect(info).toMatchObject({ engine: 'js', nativeAvailable: false, isa: null, threads: null })
    expect(info.fallbackReason).toMatch(/needs Node\.js/)
  })

  it('toBytes/fromBytes work there, and file methods say what to use instead', async () => {
    const result = await page.evaluate(async () => {
      const { Sequential, Dense } = (globalThis as any).backprop
      const model = new Sequential({ seed: 3 }).add(new Dense({ inputSize: 2, units: 3, activation: 'softmax' }))
      model.build()
      const copy = Sequential.fromBytes(model.toBytes())
      const fails = async (run: () => Promise<unknown>) => run().then(() => 'no error', (e: Error) => e.message)
      return {
        prediction: model.predict([[0.5, -1]]).toArray(),
        same: JSON.stringify(copy.predict([[0.5, -1]]).toArray()) === JSON.stringify(model.predict([[0.5, -1]]).toArray()),
        save: await fails(() => model.save('model.safetensors')),
        load: await fails(() => Sequential.load('model.safetensors')),
        onnx: await fails(() => model.exportOnnx('model.onnx')),
      }
    })
    expect(result.prediction[0]).toHaveLength(3)
    expect(result.same).toBe(true)
    expect(result.save).toBe('save reads or writes files, which needs Node.js; here use toBytes()')
    expect(result.load).toMatch(/^Sequential\.load reads or writes files, which needs Node\.js; here use Sequential\.fromBytes\(\)/)
    expect(result.onnx).toMatch(/exportOnnx function, which returns the bytes/)
  })

  it("on the main thread: accurate, and the loss curve equals Node's JS engine (bit for bit where their Math agrees)", async () => {
    const reference = await nodeReference()
    const result = await page.evaluate(
      async ({ data, seed, epochs }) => {
        const { backprop, trainMoons } = globalThis as any
        return trainMoons(backprop, { ...backprop.moons(data), seed, epochs })
      },
      { data: DATA, seed: SEED, epochs: EPOCHS },
    )
    expect(result.engine).toBe('js')
    expect(result.losses).toHaveLength(EPOCHS)
    expect(result.accuracy).toBeGreaterThan(0.95)
    expectSameLosses(result.losses, reference.losses, sameMath)
    expect(errors).toEqual([])
  })

  it('in a Web Worker: progress per epoch, the same bits, and the page keeps ticking', async () => {
    const reference = await nodeReference()
    const result = await page.evaluate(
      ({ data, seed, epochs }) =>
        new Promise<any>((resolve) => {
          const { backprop } = globalThis as any
          const moons = backprop.moons(data)
          // Timestamps of a 4 ms timer on the page while the worker trains.
          const ticks: number[] = []
          const timer = setInterval(() => ticks.push(performance.now()), 4)
          const progress: number[] = []
          const start = performance.now()
          const worker = new (globalThis as any).Worker('./worker.js', { type: 'module' })
          worker.onerror = (event: any) => resolve({ error: String(event.message) })
          worker.onmessage = ({ data: message }: any) => {
            if (message.type === 'epoch') progress.push(message.loss)
            else {
              clearInterval(timer)
              worker.terminate()
              const gaps = ticks.slice(1).map((t, i) => t - ticks[i]!)
              resolve({ ...message, progress, ticks: ticks.length, maxGap: Math.max(...gaps), duration: performance.now() - start })
            }
          }
          worker.postMessage({ x: moons.x, y: moons.y, seed, epochs })
        }),
      { data: DATA, seed: SEED, epochs: EPOCHS * 3 },
    )
    expect(result.error).toBeUndefined()
    expect(result.type).toBe('done')
    expect(result.engine).toBe('js')
    expect(result.accuracy).toBeGreaterThan(0.95)
    // Per-epoch progress carried the same numbers as the final history.
    expect(bits(result.progress)).toEqual(bits(result.losses))
    const longer = await trainMoons(backprop, { ...backprop.moons(DATA), seed: SEED, epochs: EPOCHS * 3, backend: 'js' })
    expectSameLosses(result.losses, longer.losses, sameMath)
    expectSameLosses(result.losses.slice(0, EPOCHS), reference.losses, sameMath)
    // In the same browser the worker and the main thread agree bit for bit, whatever its Math.
    const main = await page.evaluate(
      async ({ data, seed, epochs }) => {
        const { backprop, trainMoons } = globalThis as any
        return trainMoons(backprop, { ...backprop.moons(data), seed, epochs })
      },
      { data: DATA, seed: SEED, epochs: EPOCHS * 3 },
    )
    expect(bits(result.losses)).toEqual(bits(main.losses))
    // The main thread was free: its timer fired throughout (a blocked page would show one long gap).
    expect(result.ticks).toBeGreaterThan(result.duration / 50)
    expect(result.maxGap).toBeLessThan(100)
    expect(errors).toEqual([])
  })
})
