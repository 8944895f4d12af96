/**
 * The exit codes of the `backprop` command, which scripts can rely on, and the error that marks
 * a usage mistake (a bad flag value or combination).
 */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** A runtime failure: training diverged, an output could not be written, an unexpected error. */
  failure: 1,
  /** A usage error: an unknown command or option, a missing or invalid argument. */
  usage: 2,
  /** Bad input: a data or model file that is missing, damaged or does not fit (e.g. an unknown label). */
  badInput: 3,
  /** Stopped by Ctrl-C (SIGINT) after the current batch; the model and report were still saved. */
  interrupted: 130,
} as const

/** A mistake in how the command was called; exits with EXIT.usage. */
export class UsageError extends Error {
  override name = 'UsageError'
}
