/**
 * The `backprop` command: its subcommands, and how any failure becomes a message on stderr and
 * one of the documented exit codes.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { BackendUnavailableError, DataFileError, ModelFileError, TrainingDivergedError } from '../errors.js'
import { evaluateCommand } from './commands/evaluate.js'
import { exportCommand } from './commands/export.js'
import { infoCommand } from './commands/info.js'
import { predictCommand } from './commands/predict.js'
import { searchCommand } from './commands/search.js'
import { serveCommand } from './commands/serve.js'
import { workerCommand } from './commands/worker.js'
import { trainCommand } from './commands/train.js'
import { EXIT, UsageError } from './exit-codes.js'

/** Each adds one subcommand. */
const COMMANDS: ((program: Command) => void)[] = [trainCommand, evaluateCommand, predictCommand, infoCommand, searchCommand, exportCommand, serveCommand, workerCommand]

export function buildProgram(): Command {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  const program = new Command('backprop')
    .description('Train feedforward neural networks on the CPU: data in, trained models, scores and charts out.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `
Exit codes:
  0    success
  1    runtime failure (training diverged, an output could not be written, …)
  2    usage error (unknown command or option, invalid or missing argument)
  3    bad input file (a data or model file missing, damaged, or not matching the model)
  130  interrupted by Ctrl-C (train still saves the model and report)`)
  for (const add of COMMANDS) add(program)
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)')
  return program
}

/** Runs the command line and resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (error) {
    return exitCodeFor(error)
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed the message (or the help or version asked for).
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
  const message = (error as Error)?.message ?? String(error)
  if (error instanceof UsageError) {
    console.error(`backprop: ${message}\n(run with --help for usage)`)
    return EXIT.usage
  }
  if (error instanceof DataFileError || error instanceof ModelFileError) {
    console.error(`backprop: ${message}`)
    return EXIT.badInput
  }
  if (error instanceof TrainingDivergedError || error instanceof BackendUnavailableError) {
    console.error(`backprop: ${message}`)
    return EXIT.failure
  }
  console.error(`backprop: ${message}`)
  if (process.env.BACKPROP_DEBUG) console.error((error as Error)?.stack)
  return EXIT.failure
}
