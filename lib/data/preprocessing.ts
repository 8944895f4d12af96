/**
 * What turns raw data into a model's input and its outputs back into names: a fitted scaler,
 * the feature (column) names and the class names. Attached to a model as `model.preprocessing`
 * and saved with it, so a loaded model predicts on raw data and answers with class names.
 */
import { ShapeError } from '../errors.js'
import type { Features } from '../inputs.js'
import type { Matrix } from '../matrix.js'
import { describe, isPlainObject } from '../validate.js'
import { MinMaxScaler } from './min-max-scaler.js'
import { scalerFromJSON, type Scaler, type ScalerJSON } from './scaler.js'
import { columnsOf } from './scaler-common.js'
import { StandardScaler } from './standard-scaler.js'

export interface Preprocessing {
  /** A fitted scaler applied to raw features before the network (none: features go in as they are). */
  scaler?: Scaler | null
  /** The name of each input feature, in input order (e.g. CSV column names). */
  featureNames?: string[] | null
  /** The name of each class, by class index. */
  labelNames?: string[] | null
  /** The name of the label or target column. */
  targetName?: string | null
}

/** The saved form, as JSON in the model file's metadata. */
export interface PreprocessingJSON {
  scaler: ScalerJSON | null
  featureNames: string[] | null
  labelNames: string[] | null
  targetName: string | null
}

/**
 * Checks a preprocessing description against a model of `inputs` inputs and `outputs` outputs:
 * a fitted scaler of that width, one feature name per input, one class name per output (two for
 * a single sigmoid output). Returns a copy with every field present.
 */
export function checkPreprocessing(value: unknown, inputs: number, outputs: number): Required<Preprocessing> {
  if (!isPlainObject(value)) throw new TypeError(`preprocessing must be an object such as { scaler, featureNames, labelNames }, got ${describe(value)}`)
  const known = ['scaler', 'featureNames', 'labelNames', 'targetName']
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TypeError(`preprocessing has an unknown key '${key}'; valid keys are: ${known.join(', ')}`)
  }
  const scaler = value.scaler ?? null
  if (scaler !== null) {
    if (!(scaler instanceof StandardScaler || scaler instanceof MinMaxScaler)) {
      throw new TypeError(`preprocessing scaler must be a StandardScaler or MinMaxScaler, got ${describe(scaler)}`)
    }
    const width = scaler.toJSON().scale.length // toJSON throws if it is not fitted
    if (width !== inputs) throw new ShapeError(`preprocessing scaler was fitted on ${width} features, but the model has ${inputs} inputs`)
  }
  const classes = outputs === 1 ? 2 : outputs
  return {
    scaler,
    featureNames: names('preprocessing featureNames', value.featureNames, inputs, 'the model has that many inputs'),
    labelNames: names('preprocessing labelNames', value.labelNames, classes, outputs === 1 ? 'a single sigmoid output tells 2 classes' : 'the model has that many outputs'),
    targetName: value.targetName == null ? null : nonEmpty('preprocessing targetName', value.targetName),
  }
}

export function preprocessingToJSON(p: Required<Preprocessing>): PreprocessingJSON {
  return {
    scaler: p.scaler ? p.scaler.toJSON() : null,
    featureNames: p.featureNames,
    labelNames: p.labelNames,
    targetName: p.targetName,
  }
}

/** Rebuilds and checks a saved description; throws a TypeError or ShapeError saying what is wrong. */
export function preprocessingFromJSON(json: unknown, inputs: number, outputs: number): Required<Preprocessing> {
  if (!isPlainObject(json)) throw new TypeError(`expected an object, got ${describe(json)}`)
  return checkPreprocessing({ ...json, scaler: json.scaler == null ? null : scalerFromJSON(json.scaler) }, inputs, outputs)
}

/** Raw features as the model's input: through the scaler when there is one. */
export function applyPreprocessing(preprocessing: Preprocessing | null, x: Features): Matrix {
  const scaler = preprocessing?.scaler
  return scaler ? scaler.transform(x) : columnsOf('x', x)
}

function names(name: string, value: unknown, count: number, why: string): string[] | null {
  if (value == null) return null
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${name} must be an array of strings, got ${describe(value)}`)
  if (value.length !== count) throw new ShapeError(`${name} must have ${count} names (${why}), got ${value.length}`)
  if (new Set(value).size !== value.length) throw new TypeError(`${name} must not repeat a name, got ${value.join(', ')}`)
  return [...value] as string[]
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`)
  return value
}
