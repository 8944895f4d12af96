import type { SearchData } from './search-data.js'
import type { TrialResult, TrialTask } from './trial.js'

/** Messages from the main thread to a search worker. */
export type ToWorker =
  | { type: 'init'; data: SearchData }
  | { type: 'trial'; task: TrialTask }
  | { type: 'verdict'; id: number; prune: boolean }
  | { type: 'abort' }

/** Messages from a search worker to the main thread. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'report'; id: number; index: number; epoch: number; value: number }
  | { type: 'result'; result: TrialResult }
