/**
 * What the training benchmarks measure: the workloads, the libraries that run them, and the
 * seeded synthetic data every library trains on. Plain data, shared by bench/train.bench.ts (the
 * orchestrator), bench/child.ts (one library in one process), bench/libraries/torch_bench.py
 * (the same definitions as JSON) and __test__/bench-definitions.test.ts.
 */
import { Rng } from '../lib/rng.js'

export type Activation = 'tanh' | 'relu'

/** One benchmark workload: a network, how it trains, and on how much data. */
export interface Workload {
  name: string
  /** Layer widths from input to output, e.g. [784, 256, 128, 10]. */
  sizes: number[]
  /** Activation of every hidden layer; the output layer is softmax. */
  activation: Activation
  /** 'train': softmax cross-entropy on class indices; 'infer': forward passes only. */
  kind: 'train' | 'infer'
  optimizer: { name: 'adam' | 'sgd'; learningRate: number } | null
  batch: number
  samples: number
}

/** The comparison workloads (issue 4). */
export const WORKLOADS: readonly Workload[] = [
  { name: 'small', sizes: [2, 16, 16, 2], activation: 'tanh', kind: 'train', optimizer: { name: 'adam', learningRate: 1e-3 }, batch: 32, samples: 8192 },
  { name: 'mnist', sizes: [784, 256, 128, 10], activation: 'relu', kind: 'train', optimizer: { name: 'adam', learningRate: 1e-3 }, batch: 128, samples: 16384 },
  { name: 'wide', sizes: [1024, 1024, 1024, 10], activation: 'relu', kind: 'train', optimizer: { name: 'sgd', learningRate: 0.01 }, batch: 256, samples: 8192 },
  { name: 'infer', sizes: [784, 256, 128, 10], activation: 'relu', kind: 'infer', optimizer: null, batch: 1024, samples: 16384 },
]

export function workload(name: string): Workload {
  const w = WORKLOADS.find((w) => w.name === name)
  if (!w) throw new Error(`unknown workload '${name}': one of ${WORKLOADS.map((w) => w.name).join(', ')}`)
  return w
}

/**
 * Floating-point operations per sample: 2 per multiply-add of the forward pass, for training also
 * of the backward (the weight gradient of every layer, the input gradient of all but the first),
 * plus the optimizer's update spread over the batch (`UPDATE_FLOPS` per parameter).
 */
export function flopsPerSample(w: Pick<Workload, 'sizes' | 'kind' | 'optimizer' | 'batch'>): number {
  let forward = 0
  for (let l = 0; l + 1 < w.sizes.length; l++) forward += 2 * w.sizes[l]! * w.sizes[l + 1]!
  if (w.kind === 'infer') return forward
  const firstLayer = 2 * w.sizes[0]! * w.sizes[1]!
  const update = w.optimizer ? (UPDATE_FLOPS[w.optimizer.name] * parameterCount(w.sizes)) / w.batch : 0
  return forward + forward + (forward - firstLayer) + update
}

/**
 * Flops per parameter of one update, counted from the rule: SGD w − lr·g is 2; Adam is 12
 * (m: 3, v: 4, then √v + ε, the division, the step's product and the subtraction: 5).
 */
export const UPDATE_FLOPS = { sgd: 2, adam: 12 } as const

export function parameterCount(sizes: readonly number[]): number {
  let n = 0
  for (let l = 0; l + 1 < sizes.length; l++) n += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!
  return n
}

export type LibraryId = 'native-1t' | 'native-2t' | 'js' | 'tfjs-cpu' | 'tfjs-wasm' | 'brain' | 'torch-1t' | 'torch-2t'

export interface Library {
  id: LibraryId
  /** Column heading in the results. */
  label: string
  /** Which process runs it: bench/child.ts under Node, or bench/libraries/torch_bench.py. */
  runtime: 'node' | 'python'
  /** Threads it may use (BACKPROP_THREADS, torch.set_num_threads). */
  threads: number
}

export const LIBRARIES: readonly Library[] = [
  { id: 'native-1t', label: 'backprop native, 1 thread', runtime: 'node', threads: 1 },
  { id: 'native-2t', label: 'backprop native, 2 threads', runtime: 'node', threads: 2 },
  { id: 'js', label: 'backprop JS engine', runtime: 'node', threads: 1 },
  { id: 'tfjs-cpu', label: 'TF.js CPU (pure JS)', runtime: 'node', threads: 1 },
  { id: 'tfjs-wasm', label: 'TF.js WASM (SIMD)', runtime: 'node', threads: 1 },
  { id: 'brain', label: 'brain.js', runtime: 'node', threads: 1 },
  { id: 'torch-1t', label: 'PyTorch CPU, 1 thread', runtime: 'python', threads: 1 },
  { id: 'torch-2t', label: 'PyTorch CPU, 2 threads', runtime: 'python', threads: 2 },
]

export function library(id: string): Library {
  const l = LIBRARIES.find((l) => l.id === id)
  if (!l) throw new Error(`unknown library '${id}': one of ${LIBRARIES.map((l) => l.id).join(', ')}`)
  return l
}

/**
 * How a library's run of a workload differs from the definition, when it cannot express it
 * exactly. brain.js's NeuralNetwork has no softmax output or cross-entropy loss (it trains
 * every layer with the one activation on mean squared error against one-hot targets) and no
 * mini-batches (it updates after every sample), so its numbers are for the closest network it
 * can build, not for the same computation.
 */
export function deviations(lib: LibraryId, w: Workload): string[] {
  if (lib !== 'brain') return []
  const out = ['the hidden activation on the output layer too, instead of softmax (brain.js applies one activation to every layer)']
  if (w.kind === 'train') {
    out.push('mean squared error on one-hot targets instead of softmax cross-entropy (brain.js has no other loss)')
    out.push('updates after every sample (batch 1): brain.js has no mini-batches')
    if (w.optimizer?.name === 'sgd') out.push('SGD with momentum 0.1 (brain.js requires momentum > 0; its default)')
  } else {
    out.push('one sample per call (brain.js runs no batches)')
  }
  return out
}

/** The data files of a run: one per distinct input width, class count and size. */
export interface DataSpec {
  inputs: number
  classes: number
  rows: number
  seed: number
}

/** Seed of the synthetic data: fixed, so every run (and every library) sees the same numbers. */
export const DATA_SEED = 20240917

export function dataSpec(w: Pick<Workload, 'sizes'>, rows: number): DataSpec {
  return { inputs: w.sizes[0]!, classes: w.sizes.at(-1)!, rows, seed: DATA_SEED }
}

export function dataKey(spec: DataSpec): string {
  return `${spec.inputs}x${spec.rows}-c${spec.classes}-s${spec.seed}`
}

/**
 * Gaussian blobs: a centre per class, uniform in [−1, 1] in every feature, plus N(0, 1) noise,
 * so the data is learnable (losses fall) yet nothing is trivially sparse or constant. Labels are
 * class indices stored as float32. Generated with backprop's own xoshiro128** stream and a
 * Box–Muller transform: the same spec gives the same bytes everywhere.
 */
export function generateData(spec: DataSpec): { x: Float32Array; y: Float32Array } {
  const rng = Rng.seeded(spec.seed, 0)
  const centres = new Float32Array(spec.classes * spec.inputs)
  for (let i = 0; i < centres.length; i++) centres[i] = 2 * rng.nextFloat() - 1
  const x = new Float32Array(spec.rows * spec.inputs)
  const y = new Float32Array(spec.rows)
  let spare = NaN
  const gauss = (): number => {
    if (!Number.isNaN(spare)) {
      const s = spare
      spare = NaN
      return s
    }
    const u = 1 - rng.nextFloat() // (0, 1]
    const v = rng.nextFloat()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  for (let r = 0; r < spec.rows; r++) {
    const c = rng.nextU32() % spec.classes
    y[r] = c
    const row = r * spec.inputs
    const centre = c * spec.inputs
    for (let j = 0; j < spec.inputs; j++) x[row + j] = centres[centre + j]! + gauss()
  }
  return { x, y }
}

/** A cheap fingerprint of the data, so each library's result records what it trained on. */
export function checksum(a: Float32Array): string {
  let h = 0x811c9dc5
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  // Every 61st byte is enough to tell data sets apart, and fast on hundreds of megabytes.
  for (let i = 0; i < bytes.length; i += 61) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0
  return `${a.length}:${h.toString(16).padStart(8, '0')}`
}

/** One measurement a child process makes: a workload (possibly resized) on a subset of its data. */
export interface Case {
  /** Name in the results, e.g. 'mnist' or 'batch=64'. */
  id: string
  workload: Workload
  /** The data file to read, with its spec (rows may exceed workload.samples). */
  data: { x: string; y: string; spec: DataSpec }
}

/** What the orchestrator asks a child process to do. */
export interface Job {
  library: LibraryId
  cases: Case[]
  /** Seconds of timed work per case (after warm-up), and the fewest timed repetitions. */
  timeSeconds: number
  minRepetitions: number
  /** Time whole epochs however long they take (else a repetition may be fewer batches). */
  fullEpochs?: boolean
  /** Also time one whole fit() call (setup included), for the dataset-size sweep. */
  timeFitCall?: boolean
}

/** What a child reports for one case. */
export interface CaseResult {
  id: string
  samplesPerSecond: number
  /** Samples in one timed repetition, and whether that was a whole epoch. */
  samplesPerRepetition: number
  fullEpoch: boolean
  repetitions: number
  /** Relative spread of the repetitions: median absolute deviation / median, in %. */
  spreadPercent: number
  /** Checksum of the data it read. */
  data: string
  /** For timeFitCall: seconds of one fit() call with one epoch, including its setup. */
  fitCallSeconds?: number
  /** Median seconds of one epoch on the same data, to compare with fitCallSeconds. */
  epochSeconds?: number
  deviations: string[]
}

export interface JobResult {
  library: LibraryId
  version: string
  /** Facts about how the library ran (backend, ISA, BLAS, thread count). */
  details: Record<string, string | number | boolean | null>
  cases: CaseResult[]
  /** RSS right after the data was loaded, before the library built a model, and the peak. */
  baselineRssMB: number
  peakRssMB: number
}
