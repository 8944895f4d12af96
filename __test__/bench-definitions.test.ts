/**
 * Keeps the benchmark suite (bench/) from rotting: every workload and sweep definition trains
 * (or predicts) one batch on both engines through the adapters the benchmarks use, each peer
 * library that is installed runs a few rows of each workload, and one real child process reports
 * a result through the protocol bench/train.bench.ts reads. Fast: it times nothing.
 */
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { describe, expect, it } from 'vitest'
import { checkAvailability, DataStore, findTorch, runChild, selectLibraries, sweepPlan } from '../bench/train.bench.js'
import { WORKLOADS, checksum, dataSpec, deviations, flopsPerSample, generateData, parameterCount, type Workload } from '../bench/definitions.js'
import { matmulCases } from '../bench/kernels.bench.js'
import type { Adapter } from '../bench/libraries/adapter.js'
import { backpropAdapter } from '../bench/libraries/backprop.js'
import { describePeak, measureRoundTrip, type Peak } from '../bench/peak.js'

/** One batch of `w` (or `rows` rows) on `adapter`, on freshly generated data. */
async function oneBatch(adapter: Adapter, w: Workload, rows = w.batch): Promise<void> {
  const small = { ...w, samples: rows, batch: Math.min(w.batch, rows) }
  const { x, y } = generateData(dataSpec(w, rows))
  const trainer = await adapter.create(small, x, y)
  try {
    const run = await trainer.prepare(rows)
    await run()
  } finally {
    trainer.dispose()
  }
}

const installed = (name: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(name)
    return true
  } catch {
    return false
  }
}

describe('benchmark definitions', () => {
  it('are consistent: data is seeded, work is counted, selections resolve', () => {
    const w = WORKLOADS.find((w) => w.name === 'mnist')!
    const a = generateData(dataSpec(w, 64))
    const b = generateData(dataSpec(w, 64))
    expect(checksum(a.x)).toBe(checksum(b.x))
    expect(a.y.every((c) => Number.isInteger(c) && c >= 0 && c < 10)).toBe(true)
    expect(parameterCount(w.sizes)).toBe(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10)
    // Forward 2·Σ in·out; backward adds the weight gradient of all layers and dX of all but the
    // first; Adam adds 12 flops per parameter over the batch of 128.
    expect(flopsPerSample(w)).toBe(2 * (784 * 256 + 256 * 128 + 128 * 10) * 3 - 2 * 784 * 256 + (12 * parameterCount(w.sizes)) / 128)
    expect(selectLibraries(['native', 'js'])).toEqual(['native-1t', 'native-2t', 'js'])
    expect(() => selectLibraries(['nope'])).toThrow(/unknown library/)
    expect(deviations('brain', w).length).toBeGreaterThan(0)
    expect(deviations('torch-1t', w)).toEqual([])
    // wide's two 1024 → 1024 layers make the same products: each is timed once.
    expect(matmulCases(false).filter((c) => c.label.startsWith('wide')).map((c) => `${c.form} ${c.m}×${c.n}×${c.k}`)).toEqual([
      'nn 256×1024×1024', 'tn 1024×1024×256', 'nt 256×1024×1024', 'nn 256×10×1024', 'tn 1024×10×256', 'nt 256×1024×10',
    ])
  })

  for (const backend of ['native', 'js'] as const) {
    it(`every workload runs one batch on the ${backend} engine`, async () => {
      const adapter = backpropAdapter(backend)
      for (const w of WORKLOADS) await oneBatch(adapter, w)
    })
  }

  it('every sweep case runs one batch on the native engine', async () => {
    const adapter = backpropAdapter('native')
    for (const plan of sweepPlan(false)) {
      for (const c of plan.cases) await oneBatch(adapter, c.workload, Math.min(c.workload.batch, 256))
    }
  })

  for (const [id, name, load] of [
    ['tfjs-cpu', '@tensorflow/tfjs', async () => (await import('../bench/libraries/tfjs.js')).tfjsAdapter('cpu')],
    ['tfjs-wasm', '@tensorflow/tfjs-backend-wasm', async () => (await import('../bench/libraries/tfjs.js')).tfjsAdapter('wasm')],
    ['brain', 'brain.js', async () => (await import('../bench/libraries/brain.js')).brainAdapter()],
  ] as const) {
    it.skipIf(!installed(name))(`every workload runs a few rows on ${id}`, async () => {
      const adapter = await load()
      for (const w of WORKLOADS) await oneBatch(adapter, w, 4)
    })
  }

  it('a child process reports a measurement (native, small workload)', async () => {
    const store = new DataStore()
    try {
      const w = { ...WORKLOADS[0]!, samples: 256 }
      const result = await runChild({ library: 'native-1t', cases: [{ id: 'small', workload: w, data: store.get(dataSpec(w, 256)) }], timeSeconds: 0.01, minRepetitions: 1 })
      expect(result.details.threads).toBe(1)
      expect(result.cases[0]!.samplesPerSecond).toBeGreaterThan(0)
      expect(result.peakRssMB).toBeGreaterThan(result.baselineRssMB * 0.5)
    } finally {
      store.dispose()
    }
  })

  const torch = checkAvailability(['torch-1t']).get('torch-1t')!
  it.skipIf(!torch.available)('the PyTorch script runs every workload (when torch is installed)', async () => {
    const store = new DataStore()
    try {
      const cases = WORKLOADS.map((w) => {
        const small = { ...w, samples: Math.min(w.batch, 256), batch: Math.min(w.batch, 256) }
        return { id: w.name, workload: small, data: store.get(dataSpec(small, small.samples)) }
      })
      const result = await runChild({ library: 'torch-1t', cases, timeSeconds: 0.001, minRepetitions: 1 }, findTorch().python)
      expect(result.cases.map((c) => c.id)).toEqual(WORKLOADS.map((w) => w.name))
      expect(result.cases.every((c) => c.samplesPerSecond > 0)).toBe(true)
    } finally {
      store.dispose()
    }
  })
})

describe('the measured peak', () => {
  const peak: Peak = { tier: 'avx512', oneCore: 229, allCores: 453, caches: [{ level: 1, bytes: 48 << 10, sharedBy: 1 }, { level: 2, bytes: 1 << 20, sharedBy: 1 }], sgemm: { unavailable: 'no numpy' }, roundTripNs: { start: 567, end: 448 } }

  it('reports the round trip between cores at the start and the end of the run', () => {
    expect(describePeak(peak, 2)).toBe("AVX-512 FMA peak 229 GFLOP/s per core, 453 on 2 cores; L1d 48 KB, L2 1 MB; a cache line's round trip between two cores 567 ns at the start, 448 at the end")
    expect(describePeak({ ...peak, roundTripNs: { start: 120, end: null } }, 2)).toMatch(/cores 120 ns at the start$/)
  })

  it('says nothing of a round trip on one core or in results saved before it was measured', () => {
    const { roundTripNs: _, ...older } = peak
    expect(describePeak(older, 2)).not.toMatch(/round trip/)
    expect(describePeak({ ...peak, roundTripNs: { start: null, end: null } }, 1)).not.toMatch(/round trip/)
  })

  it('the probe measures a round trip on this machine when it has two cores', () => {
    const trip = measureRoundTrip()
    if (availableParallelism() > 1) expect(trip).toBeGreaterThan(1)
    else expect(trip).toBeNull()
  }, 300_000)
})
