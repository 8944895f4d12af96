/**
 * A search worker thread: receives the data once, then runs one trial at a time and posts its
 * result. Pruning reports go to the main thread, which answers once it can decide
 * deterministically (see MedianPruner).
 */
import { parentPort } from 'node:worker_threads'
import { runEpochsInCallingThread } from '../engine/native/network.js'
import { runTrial, type TrialTask } from './trial.js'
import type { SearchData } from './search-data.js'
import type { FromWorker, ToWorker } from './worker-protocol.js'

const port = parentPort!
// This thread only runs trials: let native epochs block it rather than hop to the libuv pool.
runEpochsInCallingThread(true)
let data: SearchData | null = null
let abort: AbortController | null = null
const verdicts = new Map<number, (prune: boolean) => void>()
let nextReport = 0

function post(message: FromWorker): void {
  port.postMessage(message)
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      data = message.data
      post({ type: 'ready' })
      return
    case 'trial':
      void run(message.task)
      return
    case 'verdict':
      verdicts.get(message.id)?.(message.prune)
      verdicts.delete(message.id)
      return
    case 'abort':
      abort?.abort()
      return
  }
})

async function run(task: TrialTask): Promise<void> {
  abort = new AbortController()
  const result = await runTrial(task, data!, {
    signal: abort.signal,
    report: (epoch, value) =>
      new Promise<boolean>((resolve) => {
        const id = nextReport++
        verdicts.set(id, resolve)
        post({ type: 'report', id, index: task.index, epoch, value })
      }),
  })
  abort = null
  post({ type: 'result', result })
}
