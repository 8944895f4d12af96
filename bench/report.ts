/**
 * Turns benchmark results into the markdown tables (bench/results/results.md, and the README's
 * section) and the Vega-Lite charts rendered to SVG by lib/report's renderer.
 */
import type { TopLevelSpec } from 'vega-lite'
import { LIBRARIES, flopsPerSample, library, type LibraryId } from './definitions.js'
import type { KernelRow } from './kernels.bench.js'
import { describePeak, type Peak } from './peak.js'
import { fmt, type LibraryRun, type Sweep, type TrainResults } from './train.bench.js'

export interface Machine {
  cpu: string
  cores: number
  isa: string | null
  node: string
  os: string
  memoryGB: number
  loadAverage: { before: number[]; after: number[] | null }
  /** What the machine can do (bench/peak.ts); absent in results saved before it was measured. */
  peak?: Peak | { unavailable: string } | null
}

export interface BenchResults {
  date: string
  command: string
  durationSeconds: number | null
  machine: Machine
  /** Versions of the benchmark's own tools and of the libraries measured. */
  versions: Record<string, string>
  kernels: KernelRow[] | null
  train: TrainResults | null
}

const short: Record<LibraryId, string> = {
  'native-1t': 'native 1T',
  'native-2t': 'native 2T',
  js: 'JS engine',
  'tfjs-cpu': 'TF.js CPU',
  'tfjs-wasm': 'TF.js WASM',
  brain: 'brain.js',
  'torch-1t': 'PyTorch 1T',
  'torch-2t': 'PyTorch 2T',
}

/** Short names for charts: ours prefixed with the library's name. */
const chartName = (id: LibraryId) => (id === 'js' ? 'backprop JS engine' : id.startsWith('native') ? `backprop ${short[id]}` : short[id])

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
const header = (cells: string[], align: string[] = []) => [row(cells), row(cells.map((_, i) => align[i] ?? (i === 0 ? '---' : '---:')))].join('\n')
const mb = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(0))
const ratio = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v >= 10 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`)

/** The BLAS torch loaded: OpenBLAS or MKL when present (libblas.so.3 is then only their alias). */
function blasName(list: string): string {
  const names = list.split(', ')
  const real = names.filter((n) => /openblas|mkl/i.test(n))
  return (real.length ? real : names).join(', ')
}

export function machineLines(r: BenchResults): string[] {
  const m = r.machine
  const load = `load average ${m.loadAverage.before.map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min) before` +
    (m.loadAverage.after ? `, ${m.loadAverage.after.map((l) => l.toFixed(2)).join(' / ')} after` : '')
  const seen = [...(r.train?.runs.flatMap((x) => x.busyCores) ?? []), ...(r.train?.sweeps.flatMap((s) => s.points.flatMap((p) => (p.busyCores === undefined ? [] : [p.busyCores]))) ?? [])].sort((a, b) => a - b)
  const during = seen.length
    ? `; other processes kept ${seen[seen.length >> 1]!.toFixed(2)} cores busy (median; max ${seen.at(-1)!.toFixed(2)}) just before the training measurements started`
    : ''
  return [
    `- Machine: ${m.cpu}, ${m.cores} cores, native ISA ${m.isa ?? 'n/a'}, ${m.memoryGB.toFixed(0)} GB; ${m.os}; Node ${m.node}`,
    `- Measured peak: ${describePeak(m.peak, m.cores)}`,
    `- Run: ${r.date}${r.durationSeconds ? `, ${(r.durationSeconds / 60).toFixed(1)} min` : ''}; ${load}${during}`,
    `- Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${k === 'BLAS' ? blasName(v) : v}`).join(', ')}`,
    `- Command: \`${r.command}\``,
  ]
}

function runOf(t: TrainResults, w: string, id: LibraryId): LibraryRun | undefined {
  return t.runs.find((r) => r.workload === w && r.library === id)
}

/** The comparison tables: samples/s, ratios, targets, peak memory, and the notes they need. */
export function trainTables(t: TrainResults, options: { linkCharts?: string; peak?: Machine['peak'] } = {}): string[] {
  const libs = LIBRARIES.map((l) => l.id).filter((id) => t.runs.some((r) => r.library === id))
  const names = t.workloads.map((w) => w.name)
  const out: string[] = []
  out.push(`Samples per second (higher is better): median over ${t.settings.rounds} round${t.settings.rounds === 1 ? '' : 's'}; in each, every library runs in its own process: a warm-up, then repetitions for ≥ ${t.settings.timeSeconds} s (≥ ${t.settings.minRepetitions}), their median.`)
  out.push('')
  out.push(header(['workload', ...libs.map((id) => short[id])]))
  for (const w of names) {
    out.push(row([w, ...libs.map((id) => {
      const r = runOf(t, w, id)
      if (!r || r.median === null) return '—'
      return `${fmt(r.median)}${r.deviations.length ? ' ᵃ' : ''}${r.timed !== 'epoch' && r.timed !== 'all samples' ? ' ᵇ' : ''}`
    })]))
  }
  out.push('')
  const subsets = t.runs.filter((r) => r.median !== null && r.timed && r.timed !== 'epoch' && r.timed !== 'all samples')
  const deviating = t.runs.filter((r) => r.deviations.length)
  if (deviating.length) {
    // Each way it differs, with the workloads it applies to (all of them when none are named).
    const where = new Map<string, string[]>()
    for (const r of deviating) for (const d of r.deviations) where.set(d, [...new Set([...(where.get(d) ?? []), r.workload])])
    const all = new Set(deviating.map((r) => r.workload)).size
    const parts = [...where].map(([d, ws]) => (ws.length === all ? d : `${d} [${ws.join(', ')}]`))
    out.push(`ᵃ brain.js cannot express these workloads; it ran the closest network it can build: ${parts.join('; ')}.`)
  }
  if (subsets.length) {
    out.push(`ᵇ Timed on part of an epoch (each repetition sized to ~${(t.settings.timeSeconds / t.settings.minRepetitions).toFixed(2)} s): ${subsets.map((r) => `${short[r.library]} ${r.workload} ${r.timed}`).join(', ')}.`)
  }
  const missing = t.libraries.filter((l) => !l.available)
  for (const l of missing) out.push(`Not run: ${l.label} — ${l.reason}.`)
  const failed = t.runs.filter((r) => r.median === null && r.error && t.libraries.find((l) => l.id === r.library)?.available)
  for (const r of failed) out.push(`Failed: ${short[r.library]} on ${r.workload} — ${r.error}.`)
  out.push('')

  out.push(...shareTable(t, libs, options.peak))

  const peers = libs
  const ours = (['native-1t', 'native-2t', 'js'] as LibraryId[]).filter((id) => libs.includes(id))
  if (ours.length && t.ratios.length) {
    out.push('Ratios of samples per second (ours ÷ theirs), taken within each round, median over rounds:')
    out.push('')
    out.push(header(['workload', 'ours', ...peers.map((id) => `÷ ${short[id]}`)]))
    for (const w of names) {
      for (const num of ours) {
        const cells = peers.map((den) => (den === num ? '' : ratio(t.ratios.find((r) => r.workload === w && r.numerator === num && r.denominator === den)?.median)))
        out.push(row([w, short[num], ...cells]))
      }
    }
    out.push('')
  }
  if (t.targets.length) {
    out.push('Targets (reported, not asserted):')
    out.push('')
    out.push(header(['target', 'measured', 'met'], ['---', '---:', ':---:']))
    for (const target of t.targets) out.push(row([target.text, ratio(target.measured), target.met === null ? '—' : target.met ? 'yes' : 'no']))
    out.push('')
  }
  out.push("Peak memory: the peak RSS of each library's process in MB (in brackets: its growth over the RSS once the data was loaded, before the library built anything).")
  out.push('')
  out.push(header(['workload', ...libs.map((id) => short[id])]))
  for (const w of names) {
    out.push(row([w, ...libs.map((id) => {
      const r = runOf(t, w, id)
      return r?.peakRssMB ? `${mb(r.peakRssMB)} (+${mb(r.peakRssMB - r.baselineRssMB!)})` : '—'
    })]))
  }
  out.push('')
  const details = t.libraries.filter((l) => l.details).map((l) => `${short[l.id]}: ${l.version ?? ''} ${Object.entries(l.details!).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  if (details.length) out.push(`How each ran — ${details.join('; ')}.`, '')
  if (options.linkCharts) out.push(`![Training throughput](${options.linkCharts}comparison.svg)`, '')
  return out
}

/**
 * GFLOP/s of every run (the flops of `flopsPerSample`) and its share of the measured peak of the
 * cores it ran on: one core's for one thread, all cores' for more.
 */
function shareTable(t: TrainResults, libs: LibraryId[], peak: Machine['peak']): string[] {
  const measured = peak && !('unavailable' in peak) ? peak : null
  const out: string[] = []
  out.push(
    measured
      ? `GFLOP/s (share of the measured FMA peak: ${measured.oneCore.toFixed(0)} GFLOP/s for one thread, ${measured.allCores.toFixed(0)} for more), counting 2 flops per multiply-add of the forward pass, the weight gradients and the input gradients but the first layer's, and the update (SGD 2, Adam 12 flops per parameter):`
      : 'GFLOP/s (the share of peak needs the peak probe, which did not run), counting 2 flops per multiply-add of the forward pass, the weight gradients and the input gradients but the first layer\'s, and the update (SGD 2, Adam 12 flops per parameter):',
  )
  out.push('')
  out.push(header(['workload', ...libs.map((id) => short[id])]))
  for (const w of t.workloads) {
    out.push(row([w.name, ...libs.map((id) => {
      const r = runOf(t, w.name, id)
      if (!r || r.median === null) return '—'
      const gflops = (r.median * flopsPerSample(w)) / 1e9
      const of = measured ? (library(id).threads > 1 ? measured.allCores : measured.oneCore) : null
      return of ? `${gflops.toFixed(1)} (${((100 * gflops) / of).toFixed(0)}%)` : gflops.toFixed(1)
    })]))
  }
  out.push('')
  return out
}

function sweepTable(s: Sweep): string[] {
  const libs = [...new Set(s.points.map((p) => p.library))]
  const values = [...new Set(s.points.map((p) => p.value))]
  const cell = (id: LibraryId, v: number, f: (p: Sweep['points'][number]) => string) => {
    const p = s.points.find((p) => p.library === id && p.value === v)
    return p && p.samplesPerSecond !== null ? f(p) : '—'
  }
  const out: string[] = []
  if (s.name === 'dataset') {
    out.push(header([s.variable, ...libs.flatMap((id) => [`${short[id]} epoch (s)`, `${short[id]} samples/s`, `${short[id]} fit() call (s)`])]))
    for (const v of values) {
      out.push(row([v, ...libs.flatMap((id) => [
        cell(id, v, (p) => p.epochSeconds!.toFixed(3)),
        cell(id, v, (p) => fmt(p.samplesPerSecond)),
        cell(id, v, (p) => p.fitCallSeconds!.toFixed(3)),
      ])]))
    }
    return out
  }
  out.push(header([s.variable, ...libs.map((id) => `${short[id]} samples/s (GFLOP/s)`)]))
  for (const v of values) out.push(row([v, ...libs.map((id) => cell(id, v, (p) => `${fmt(p.samplesPerSecond)} (${fmt(p.gflops)})`))]))
  const failed = [...new Set(s.points.filter((p) => p.error).map((p) => `${short[p.library]}: ${p.error}`))]
  if (failed.length) out.push('', ...failed.map((f) => `Not measured — ${f}.`))
  return out
}

/** 2-thread ÷ 1-thread speedups from the comparison and the sweeps. */
export function threadSpeedups(t: TrainResults): { label: string; family: string; speedup: number }[] {
  const out: { label: string; family: string; speedup: number }[] = []
  for (const [family, one, two] of [['backprop native', 'native-1t', 'native-2t'], ['PyTorch', 'torch-1t', 'torch-2t']] as const) {
    for (const w of t.workloads) {
      const a = runOf(t, w.name, one)?.median
      const b = runOf(t, w.name, two)?.median
      if (a && b) out.push({ label: w.name, family, speedup: b / a })
    }
    for (const s of t.sweeps.filter((s) => s.name !== 'dataset')) {
      for (const p of s.points.filter((p) => p.library === one && p.samplesPerSecond)) {
        const q = s.points.find((q) => q.library === two && q.value === p.value)
        if (q?.samplesPerSecond) out.push({ label: `${s.name}=${p.value}`, family, speedup: q.samplesPerSecond / p.samplesPerSecond! })
      }
    }
  }
  return out
}

export function scalingTables(t: TrainResults, chartDir = ''): string[] {
  const out: string[] = []
  for (const s of t.sweeps) {
    out.push(`### ${s.title}`, '')
    out.push(...sweepTable(s), '')
    out.push(`![${s.title}](${chartDir}scaling-${s.name}.svg)`, '')
  }
  const speedups = threadSpeedups(t)
  if (speedups.length) {
    out.push('### 2 threads against 1', '')
    const labels = [...new Set(speedups.map((s) => s.label))]
    const families = [...new Set(speedups.map((s) => s.family))]
    out.push(header(['case', ...families.map((f) => `${f}: 2T ÷ 1T`)]))
    for (const l of labels) out.push(row([l, ...families.map((f) => ratio(speedups.find((s) => s.label === l && s.family === f)?.speedup))]))
    out.push('', `![2 threads against 1](${chartDir}scaling-threads.svg)`, '')
  }
  return out
}

export function kernelTables(rows: KernelRow[]): string[] {
  const out: string[] = []
  const groups = [...new Set(rows.map((r) => r.group))]
  const us = (ns: number | null) => (ns === null ? '—' : ns >= 1e5 ? (ns / 1e3).toFixed(0) : (ns / 1e3).toPrecision(3))
  for (const g of groups) {
    const list = rows.filter((r) => r.group === g)
    const unit = list[0]!.unit
    const rate = unit === 'flop' ? 'GFLOP/s' : unit === 'element' ? 'G elements/s' : 'M params/s'
    const perSecond = (r: KernelRow, ns: number | null) => (ns === null ? '—' : fmt(unit === 'parameter' ? (r.work / ns) * 1e3 : r.work / ns))
    out.push(`### ${g}`, '')
    out.push(header([g === 'matmul' ? 'form m×n×k (case)' : 'case', 'JS µs', 'native 1T µs', 'native 2T µs', 'native 1T ÷ JS', `JS ${rate}`, `native 1T ${rate}`, `native 2T ${rate}`]))
    for (const r of list) {
      out.push(row([r.name, us(r.js), us(r.native1), us(r.native2), r.js && r.native1 ? ratio(r.js / r.native1) : '—', perSecond(r, r.js), perSecond(r, r.native1), perSecond(r, r.native2)]))
    }
    if (g === 'optimizer') {
      const adam = list.find((r) => r.name.endsWith('Adam') && r.name.startsWith('trainBatch'))
      const sgd = list.find((r) => r.name.endsWith('SGD') && r.name.startsWith('trainBatch'))
      if (adam && sgd) {
        const d = (a: number | null, b: number | null) => (a !== null && b !== null ? a - b : null)
        const [js, n1, n2] = [d(adam.js, sgd.js), d(adam.native1, sgd.native1), d(adam.native2, sgd.native2)]
        out.push(row(['Adam − SGD (the extra work of Adam\'s update)', us(js), us(n1), us(n2), js && n1 ? ratio(js / n1) : '—', '', '', '']))
      }
      out.push('', 'The raw binding exports no optimizer, so the native step is measured through `trainBatch` of one row (forward, backward and the update over the 1,001,000 parameters); the JS engine runs the same, and its `optimizerStep` alone for reference.')
    }
    if (g === 'dense backward') out.push('', 'Native `denseBackward` returns new dX, dW and db arrays on every call, so its time includes allocating them; the JS side writes into buffers allocated once.')
    out.push('')
  }
  return out
}

export function resultsMarkdown(r: BenchResults): string {
  const out: string[] = ['# backprop benchmarks', '', ...machineLines(r), '']
  if (r.train && r.train.runs.length) out.push('## Training and inference throughput', '', ...trainTables(r.train, { linkCharts: '', peak: r.machine.peak }))
  if (r.train && r.train.sweeps.length) out.push('## Scaling', '', ...scalingTables(r.train))
  if (r.kernels) out.push('## Kernels: native against the JS engine', '', ...kernelTables(r.kernels))
  return out.join('\n')
}

/** The README's section: machine, command, the comparison tables; details in bench/results/. */
export function readmeSection(r: BenchResults): string {
  const lines = ['**Latest results** (`bench/results/results.md` has the kernel and scaling tables and charts; `results.json` every number):', '', ...machineLines(r), '']
  if (r.train) lines.push(...trainTables(r.train, { linkCharts: 'bench/results/', peak: r.machine.peak }))
  return lines.join('\n')
}

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
}

/** Vega-Lite specs for the charts, by file name. */
export function chartSpecs(t: TrainResults): Record<string, TopLevelSpec> {
  const specs: Record<string, TopLevelSpec> = {}
  const order = LIBRARIES.map((l) => chartName(l.id))
  const bars = t.runs.filter((r) => r.median !== null).map((r) => ({ workload: r.workload, library: chartName(r.library), samplesPerSecond: r.median }))
  if (bars.length) {
    // Bars on a log scale need a baseline other than 0: the power of ten below the smallest.
    const baseline = 10 ** Math.floor(Math.log10(Math.min(...bars.map((b) => b.samplesPerSecond!))))
    specs['comparison.svg'] = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'Samples per second by workload (log scale; higher is better)',
      config: CONFIG,
      data: { values: bars },
      mark: { type: 'bar' },
      encoding: {
        row: { field: 'workload', type: 'nominal', sort: t.workloads.map((w) => w.name), title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontSize: 12 } },
        y: { field: 'library', type: 'nominal', sort: order, title: null, axis: { labelLimit: 220 } },
        x: { field: 'samplesPerSecond', type: 'quantitative', scale: { type: 'log', domainMin: baseline }, title: 'samples/s' },
        x2: { datum: baseline },
        color: { field: 'library', type: 'nominal', sort: order, legend: null },
        tooltip: [{ field: 'library' }, { field: 'samplesPerSecond', format: ',.0f' }],
      },
      width: 420,
    } as TopLevelSpec
  }
  for (const s of t.sweeps) {
    const pts = s.points.filter((p) => p.samplesPerSecond !== null)
    if (!pts.length) continue
    if (s.name === 'dataset') {
      const values = pts.flatMap((p) => [
        { samples: p.value, seconds: p.epochSeconds, series: `${chartName(p.library)}: epoch` },
        { samples: p.value, seconds: p.fitCallSeconds, series: `${chartName(p.library)}: fit() call` },
      ])
      specs['scaling-dataset.svg'] = lineChart({ text: s.title, subtitle: 'a fit() call of one epoch includes its setup: input checks and the copy into native memory' }, values, 'samples', 'samples (log)', 'seconds', 'seconds (log)', true)
      continue
    }
    const y = s.name === 'width' ? 'gflops' : 'samplesPerSecond'
    const values = pts.map((p) => ({ value: p.value, y: p[y], series: chartName(p.library) }))
    specs[`scaling-${s.name}.svg`] = lineChart(s.title, values, 'value', `${s.variable} (log)`, 'y', s.name === 'width' ? 'GFLOP/s achieved (log)' : 'samples/s (log)', true)
  }
  const speedups = threadSpeedups(t)
  if (speedups.length) {
    specs['scaling-threads.svg'] = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'Speed-up of 2 threads over 1',
      config: CONFIG,
      data: { values: speedups },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'label', type: 'nominal', sort: null, title: null },
        yOffset: { field: 'family', type: 'nominal' },
        x: { field: 'speedup', type: 'quantitative', title: 'samples/s with 2 threads ÷ with 1' },
        color: { field: 'family', type: 'nominal', title: null, legend: { orient: 'top' } },
        tooltip: [{ field: 'label' }, { field: 'family' }, { field: 'speedup', format: '.2f' }],
      },
      width: 420,
    } as TopLevelSpec
  }
  return specs
}

function lineChart(title: string | { text: string; subtitle: string }, values: object[], x: string, xTitle: string, y: string, yTitle: string, logY: boolean): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    config: CONFIG,
    width: 440,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: x, type: 'quantitative', scale: { type: 'log', base: 2 }, title: xTitle },
      y: { field: y, type: 'quantitative', scale: logY ? { type: 'log' } : { zero: false }, title: yTitle },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1, labelLimit: 400 } },
      tooltip: [{ field: 'series' }, { field: x }, { field: y, format: ',.3~f' }],
    },
  } as TopLevelSpec
}
