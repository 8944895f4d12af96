/**
 * Named errors. Wrong types throw the built-in `TypeError`, out-of-range values `RangeError`;
 * the classes below mark the failures a caller may want to catch by kind, each with a stable
 * `code` ('ERR_BACKPROP_…', as Node's own errors have) that survives bundling and serialisation
 * across worker threads, where `instanceof` does not.
 */

/** Data whose shape does not fit the model or the other arguments. */
export class ShapeError extends RangeError {
  override name = 'ShapeError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_SHAPE' as const
}

/** `fit`, `evaluate` or `trainOnBatch` called before `compile`. */
export class NotCompiledError extends Error {
  override name = 'NotCompiledError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_NOT_COMPILED' as const
}

/**
 * The loss or the gradients became NaN or infinite. Training stops before applying the update
 * that would have spoiled the weights, so the model keeps its last finite weights.
 */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_DIVERGED' as const
  constructor(
    message: string,
    /** Zero-based epoch in which training diverged. */
    readonly epoch: number,
    /** Zero-based batch within that epoch. */
    readonly batch: number,
  ) {
    super(message)
  }
}

/** A model file that is missing, truncated, corrupted or of an unsupported version. */
export class ModelFileError extends Error {
  override name = 'ModelFileError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_MODEL_FILE' as const
  constructor(
    message: string,
    /** The file (or `'<buffer>'`) that could not be read. */
    readonly path: string,
  ) {
    super(message)
  }
}

/**
 * A data file (CSV, IDX, a dataset directory) that is missing, truncated or malformed. The
 * message names the file, where in it the problem is, and what was expected there.
 */
export class DataFileError extends Error {
  override name = 'DataFileError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_DATA_FILE' as const
  constructor(
    message: string,
    /** The file or directory that could not be read. */
    readonly path: string,
    /** Where in the file: a 1-based line (text files) or a 0-based byte offset (binary files), when known. */
    readonly location: { line?: number; byteOffset?: number } = {},
  ) {
    super(message)
  }
}

/** A call the model cannot take in its current state (e.g. adding layers after it is built). */
export class ModelStateError extends Error {
  override name = 'ModelStateError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_MODEL_STATE' as const
}

/** The requested engine cannot run here (e.g. 'native' when the addon cannot load). */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_BACKEND_UNAVAILABLE' as const
}

/**
 * A predictor's queue is full (see `createPredictor`'s `maxQueue`): the caller should shed the
 * request (a server answers 503) rather than wait, so the queue never grows without bound.
 */
export class QueueFullError extends Error {
  override name = 'QueueFullError'
  /** Stable across releases, unlike the message: compare this, or use instanceof. */
  readonly code = 'ERR_BACKPROP_QUEUE_FULL' as const
}
