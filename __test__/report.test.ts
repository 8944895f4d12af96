/**
 * Reports open in a real browser (Debian's headless Chromium, driven by playwright-core) and
 * their charts render: every figure holds an SVG whose marks match the data behind it (a line
 * per curve, a cell and a count per confusion-matrix entry, a point per sample), each SVG file
 * parses on its own, and the page logs no errors.
 */
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { chromiumAvailable as available, launchChromium } from './helpers/chromium.js'
import { Adam, Dense, History, Sequential, StandardScaler, confusionMatrix, moons } from '../lib/index.js'
import { writeReport } from '../lib/report/write-report.js'
import { predictedClasses } from '../lib/cli/scores.js'
import { useTempDir } from './helpers/temp-dir.js'

const temp = useTempDir('backprop-report-')

let browser: Browser
beforeAll(async () => {
  if (!available) return
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

/** Opens a file and collects everything the page reports as an error. */
async function open(file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } })
  const errors: string[] = []
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()))
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`file://${file}`)
  return { page, errors }
}

/** Counts of the marks of each kind (line, rect, symbol, text) inside figure `index`. */
async function marks(page: Page, index: number): Promise<Record<string, number>> {
  return page.evaluate((i) => {
    // Runs in the page; the test's own TypeScript has no DOM types.
    const svg = (globalThis as any).document.querySelector(`#chart-${i} svg.marks`)
    if (!svg) return { width: 0, height: 0, line: 0, rect: 0, symbol: 0, text: 0 }
    const box = svg.getBoundingClientRect()
    const count = (kind: string) => svg.querySelectorAll(`g.mark-${kind}.role-mark > *`).length
    return { width: box.width, height: box.height, line: count('line'), rect: count('rect'), symbol: count('symbol'), text: count('text') }
  }, index)
}

describe.skipIf(!available)('reports in headless Chromium', () => {
  it('a classification report: loss, accuracy and learning-rate curves, confusion matrix, decision boundary', async () => {
    const train = moons({ samples: 400, noise: 0.2, seed: 1 })
    const test = moons({ samples: 120, noise: 0.2, seed: 2 })
    const scaler = new StandardScaler().fit(train.x)
    const model = new Sequential({ seed: 3, backend: 'js' })
      .add(new Dense({ inputSize: 2, units: 16, activation: 'relu' }))
      .add(new Dense({ units: 2, activation: 'softmax' }))
      .compile({ loss: 'sparseCategoricalCrossEntropy', optimizer: new Adam({ learningRate: 0.02 }), metrics: ['accuracy'] })
    const history = await model.fit(scaler.transform(train.x), train.y, { epochs: 12, validationSplit: 0.2 })
    history.learningRate.splice(0, 12, ...history.learningRate.map((r, e) => r / (e + 1))) // a varying rate gets its chart
    const predicted = predictedClasses(model.predict(scaler.transform(test.x)))
    const dir = temp('classification')
    const files = await writeReport(dir, {
      title: 'moons <test> & "quotes"',
      facts: [['data', 'moons']],
      history,
      scores: { 'test accuracy': 0.9 },
      classification: { yTrue: test.y, yPred: predicted, labelNames: ['upper', 'lower'] },
      scatter: { x: test.x, y: test.y, labelNames: ['upper', 'lower'], classify: (g) => predictedClasses(model.predict(scaler.transform(g))) },
    })
    expect(files.charts.map((f) => path.basename(f))).toEqual(['loss.svg', 'accuracy.svg', 'learning-rate.svg', 'confusion-matrix.svg', 'decision-boundary.svg'])

    const { page, errors } = await open(files.index)
    expect(await page.title()).toBe('moons <test> & "quotes"')
    expect(await page.locator('figure').count()).toBe(5)
    const [loss, accuracy, rate, confusion, boundary] = await Promise.all([marks(page, 0), marks(page, 1), marks(page, 2), marks(page, 3), marks(page, 4)])
    for (const m of [loss, accuracy, rate, confusion, boundary]) {
      expect(m.width).toBeGreaterThan(200)
      expect(m.height).toBeGreaterThan(150)
    }
    expect(loss.line).toBe(2) // training and validation loss
    expect(accuracy.line).toBe(2)
    expect(rate.line).toBe(1)
    // One cell and one count per entry of the matrix, the counts those of the predictions.
    expect(confusion.rect).toBe(4)
    const counts = await page.evaluate(() => Array.from((globalThis as any).document.querySelectorAll('#chart-3 g.mark-text.role-mark text'), (t: any) => Number(t.textContent)))
    expect(counts.sort((a, b) => a - b)).toEqual(confusionMatrix(test.y, predicted).flat().sort((a, b) => a - b))
    // A point per test sample, over the boundary's cells.
    expect(boundary.symbol).toBe(120)
    expect(boundary.rect).toBeGreaterThan(10)
    const lineLengths = await page.evaluate(() => Array.from((globalThis as any).document.querySelectorAll('#chart-0 g.mark-line path'), (p: any) => p.getTotalLength() as number))
    expect(lineLengths.every((l) => l > 50)).toBe(true)
    expect(await page.locator('table.scores').first().textContent()).toContain('test accuracy')
    expect(errors).toEqual([])
    await page.close()

    for (const file of files.charts) {
      const svg = await open(file)
      expect(await svg.page.evaluate(() => (globalThis as any).document.documentElement.tagName)).toBe('svg')
      expect(svg.errors).toEqual([])
      await svg.page.close()
    }
  })

  it('a regression report: predicted against actual, and a metric curve', async () => {
    const history = new History()
    for (let e = 0; e < 5; e++) history.record({ loss: 1 / (e + 1), meanAbsoluteError: 0.5 / (e + 1) }, 0.001)
    const actual = Array.from({ length: 50 }, (_, i) => i / 10)
    const files = await writeReport(temp('regression'), { history, regression: { yTrue: actual, yPred: actual.map((v) => v + 0.1), targetName: 'price' } })
    const { page, errors } = await open(files.index)
    expect((await marks(page, 0)).line).toBe(1)
    expect((await marks(page, 1)).line).toBe(1)
    const scatter = await marks(page, 2)
    expect(scatter.symbol).toBe(50)
    expect(scatter.line).toBe(1) // the y = x reference
    expect(await page.locator('#chart-2 svg').textContent()).toContain('predicted price')
    expect(errors).toEqual([])
    await page.close()
  })

  it('the report of `backprop train` on 2-D data renders too', async () => {
    const { cli, requireFreshBuild } = await import('./helpers/cli.js')
    requireFreshBuild()
    const dir = temp('cli-report')
    const run = cli(['train', '--data', 'circles', '--epochs', '10', '--report', dir, '--no-progress'])
    expect(run.status, run.stderr).toBe(0)
    const { page, errors } = await open(path.join(dir, 'index.html'))
    const figures = await page.locator('figure').count()
    expect(figures).toBe(5) // loss, accuracy, learning rate, confusion matrix, decision boundary
    const boundary = await marks(page, figures - 1)
    expect(boundary.symbol).toBe(200) // the test set: 20% of 1000 samples
    expect(errors).toEqual([])
    await page.close()
  })
})
