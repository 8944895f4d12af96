/** A fitted feature scaler of either kind, and rebuilding one from its saved JSON. */
import { describe, isPlainObject } from '../validate.js'
import { MinMaxScaler, type MinMaxScalerJSON } from './min-max-scaler.js'
import { StandardScaler, type StandardScalerJSON } from './standard-scaler.js'

export type Scaler = StandardScaler | MinMaxScaler
export type ScalerJSON = StandardScalerJSON | MinMaxScalerJSON

/** The scaler a `toJSON()` result describes; throws a TypeError for anything else. */
export function scalerFromJSON(json: unknown): Scaler {
  if (isPlainObject(json) && json.kind === 'standard') return StandardScaler.fromJSON(json)
  if (isPlainObject(json) && json.kind === 'minMax') return MinMaxScaler.fromJSON(json)
  throw new TypeError(`expected a saved scaler ({ kind: 'standard' | 'minMax', … }), got ${describe(json)}`)
}
