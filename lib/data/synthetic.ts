/**
 * Seeded synthetic datasets in the spirit of scikit-learn's make_* functions. Each returns
 * features as rows of numbers and labels (class indices) or real targets, so the same seed
 * always gives the same data.
 */
import { Rng } from '../rng.js'
import { checkInteger, checkNumber, checkOptions, optional } from '../validate.js'

export interface ClassificationData {
  x: number[][]
  /** Class index per sample. */
  y: number[]
}

export interface RegressionData {
  x: number[][]
  /** One target per sample. */
  y: number[]
}

export interface SyntheticOptions {
  /** Number of samples (default 200). */
  samples?: number
  /** Standard deviation of the Gaussian noise added to each feature (default varies). */
  noise?: number
  /** Seed of the generator (default 0). */
  seed?: number
}

function read(name: string, options: unknown, noise: number, extra: string[] = []) {
  const o = checkOptions(`${name} options`, options, ['samples', 'noise', 'seed', ...extra])
  return {
    o,
    samples: optional(o.samples, 200, (v) => checkInteger(`${name} samples`, v, { min: 1 })),
    noise: optional(o.noise, noise, (v) => checkNumber(`${name} noise`, v, { min: 0 })),
    rng: Rng.seeded(optional(o.seed, 0, (v) => checkInteger(`${name} seed`, v, { min: 0, max: 0xffffffff })), 0),
  }
}

/** XOR: points around the four corners of the unit square; label = x₁ XOR x₂. */
export function xor(options: SyntheticOptions = {}): ClassificationData {
  const { samples, noise, rng } = read('xor', options, 0.1)
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const a = i % 2
    const b = (i >> 1) % 2
    x.push([a + noise * rng.nextNormal(), b + noise * rng.nextNormal()])
    y.push(a ^ b)
  }
  return { x, y }
}

/** Two interleaving half circles (make_moons). */
export function moons(options: SyntheticOptions = {}): ClassificationData {
  const { samples, noise, rng } = read('moons', options, 0.1)
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const label = i % 2
    const t = Math.PI * rng.nextFloat()
    const px = label === 0 ? Math.cos(t) : 1 - Math.cos(t)
    const py = label === 0 ? Math.sin(t) : 0.5 - Math.sin(t)
    x.push([px + noise * rng.nextNormal(), py + noise * rng.nextNormal()])
    y.push(label)
  }
  return { x, y }
}

/** A small circle inside a large one (make_circles); `factor` is the inner radius (default 0.5). */
export function circles(options: SyntheticOptions & { factor?: number } = {}): ClassificationData {
  const { o, samples, noise, rng } = read('circles', options, 0.05, ['factor'])
  const factor = optional(o.factor, 0.5, (v) => checkNumber('circles factor', v, { min: 0, max: 1, minInclusive: false, maxInclusive: false }))
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const label = i % 2
    const t = 2 * Math.PI * rng.nextFloat()
    const r = label === 0 ? 1 : factor
    x.push([r * Math.cos(t) + noise * rng.nextNormal(), r * Math.sin(t) + noise * rng.nextNormal()])
    y.push(label)
  }
  return { x, y }
}

/** Interleaved spiral arms, one per class (default 2 classes, 1.5 turns). */
export function spirals(options: SyntheticOptions & { classes?: number; turns?: number } = {}): ClassificationData {
  const { o, samples, noise, rng } = read('spirals', options, 0.05, ['classes', 'turns'])
  const classes = optional(o.classes, 2, (v) => checkInteger('spirals classes', v, { min: 2 }))
  const turns = optional(o.turns, 1.5, (v) => checkNumber('spirals turns', v, { min: 0, minInclusive: false }))
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const label = i % classes
    const r = rng.nextFloat()
    const t = 2 * Math.PI * (turns * r + label / classes)
    x.push([r * Math.cos(t) + noise * rng.nextNormal(), r * Math.sin(t) + noise * rng.nextNormal()])
    y.push(label)
  }
  return { x, y }
}

/** Gaussian clusters (make_blobs) with centres drawn in [−10, 10]^features. */
export function blobs(options: SyntheticOptions & { centers?: number; features?: number } = {}): ClassificationData {
  const { o, samples, noise, rng } = read('blobs', options, 1, ['centers', 'features'])
  const centers = optional(o.centers, 3, (v) => checkInteger('blobs centers', v, { min: 1 }))
  const features = optional(o.features, 2, (v) => checkInteger('blobs features', v, { min: 1 }))
  const means = Array.from({ length: centers }, () => Array.from({ length: features }, () => 20 * rng.nextFloat() - 10))
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const label = i % centers
    x.push(means[label]!.map((m) => m + noise * rng.nextNormal()))
    y.push(label)
  }
  return { x, y }
}

/** y = w·x + b + noise with x uniform in [−1, 1]^features and fixed random w, b. */
export function linearRegression(options: SyntheticOptions & { features?: number } = {}): RegressionData {
  const { o, samples, noise, rng } = read('linearRegression', options, 0.1, ['features'])
  const features = optional(o.features, 1, (v) => checkInteger('linearRegression features', v, { min: 1 }))
  const w = Array.from({ length: features }, () => 2 * rng.nextFloat() - 1)
  const b = 2 * rng.nextFloat() - 1
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const row = Array.from({ length: features }, () => 2 * rng.nextFloat() - 1)
    x.push(row)
    y.push(row.reduce((s, v, j) => s + v * w[j]!, b) + noise * rng.nextNormal())
  }
  return { x, y }
}

/** y = sin(x) + noise with x uniform in [−π, π]: a 1-D curve a network must bend to fit. */
export function sineRegression(options: SyntheticOptions = {}): RegressionData {
  const { samples, noise, rng } = read('sineRegression', options, 0.1)
  const x: number[][] = []
  const y: number[] = []
  for (let i = 0; i < samples; i++) {
    const v = Math.PI * (2 * rng.nextFloat() - 1)
    x.push([v])
    y.push(Math.sin(v) + noise * rng.nextNormal())
  }
  return { x, y }
}
