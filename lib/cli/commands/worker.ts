/**
 * `backprop worker`: pulls search trials from a Redis queue (BullMQ) and runs them until SIGTERM
 * or Ctrl-C, then finishes the trials in flight (at most --shutdown-timeout-ms; after that, or on
 * a second signal, it leaves them to be retried by another worker) and exits 0.
 */
import { Command } from 'commander'
import { startWorker } from '../../distributed/worker.js'
import { EXIT } from '../exit-codes.js'
import { integer, number } from '../option-parsers.js'

interface WorkerFlags {
  redis: string
  queue: string
  concurrency: number
  threadsPerTrial?: number
  shutdownTimeoutMs: number
  lockDurationMs: number
  stalledIntervalMs: number
}

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run search trials from a Redis queue (for search --redis) until SIGTERM')
    .requiredOption('--redis <url>', 'the Redis server: redis://[:password@]host:6379[/db], or rediss:// for TLS')
    .option('--queue <name>', 'the queue to pull from (search --queue)', 'backprop')
    .option('--concurrency <n>', 'trials run at once (on the native engine, one core each)', integer(1, 256), 1)
    .option('--threads-per-trial <n>', "native engine: threads each trial may use (default: the search's, else 1)", integer(1))
    .option('--shutdown-timeout-ms <ms>', 'on SIGTERM, how long to let trials in flight finish before leaving them to other workers', number(0, 3_600_000), 30_000)
    .option('--lock-duration-ms <ms>', "how long a trial stays this worker's without a heartbeat: a killed worker's trial is retried after about this long", number(100, 3_600_000), 30_000)
    .option('--stalled-interval-ms <ms>', 'how often to look for trials of killed workers', number(100, 3_600_000), 30_000)
    .addHelpText('after', `
Every worker must read the search's data as the coordinator does: a built-in dataset name, or a
path on a disk they share (the same file: each trial carries a SHA-256 of the rows, and a worker
with other data fails the trial saying so). See docs/distributed.md.

Example:
  backprop worker --redis redis://10.0.0.5:6379 --concurrency 4      # on each machine
  backprop search --data digits --trials 200 --redis redis://10.0.0.5:6379   # once`)
    .action(async (flags: WorkerFlags) => {
      process.exitCode = await work(flags)
    })
}

async function work(flags: WorkerFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  const worker = startWorker({
    connection: flags.redis,
    queue: flags.queue,
    concurrency: flags.concurrency,
    ...(flags.threadsPerTrial !== undefined && { threadsPerTrial: flags.threadsPerTrial }),
    lockDurationMs: flags.lockDurationMs,
    stalledIntervalMs: flags.stalledIntervalMs,
    log: say,
  })
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  // Ready, or a signal first (Redis unreachable: ioredis keeps retrying until told to stop).
  const first = await Promise.race([worker.ready().then(() => null), signal])
  if (first === null) say(`ready: pulling trials from queue '${flags.queue}' with concurrency ${flags.concurrency}`)
  const received = first ?? (await signal)
  say(`${received}: finishing the trials in flight (at most ${flags.shutdownTimeoutMs} ms; again to leave them to other workers)`)
  const force = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve())
    process.once('SIGINT', () => resolve())
    setTimeout(resolve, flags.shutdownTimeoutMs).unref()
  })
  // Forced, the trials in flight are simply dropped: their locks lapse and other workers run them.
  const forced = await Promise.race([worker.close().then(() => false), force.then(() => true)])
  say(forced ? `left the trials in flight to other workers after ${worker.completed} trials` : `stopped after ${worker.completed} trials`)
  // Whatever might still hold the event loop (a native epoch in flight) cannot keep it alive.
  setTimeout(() => process.exit(EXIT.ok), forced ? 0 : 2000).unref()
  return EXIT.ok
}
