/**
 * Data-parallel training over MPI (Open MPI, loaded by the native addon at run time): the same
 * model trained by several processes started by `mpirun`, each on its part of every batch, their
 * gradients summed before each update so that every process makes the same update. See
 * docs/mpi.md.
 */
import { BackendUnavailableError } from '../errors.js'
import { loadBinding, type NativeBinding } from '../engine/native/binding.js'
import type { Network } from '../engine/engine.js'

/** This process's place in an MPI run. */
export interface DistributedInfo {
  /** 0 … size − 1; rank 0 logs, saves and reports. */
  rank: number
  /** Processes in the run (mpirun -np). */
  size: number
  /** MPI_Get_library_version. */
  library: string
}

let mpi: { binding: NativeBinding; info: DistributedInfo } | null = null

/** Initialises MPI (once) and says where this process stands; a BackendUnavailableError says why it cannot. */
export function distributedInfo(): DistributedInfo {
  return { ...connect().info }
}

function connect(): { binding: NativeBinding; info: DistributedInfo } {
  if (mpi) return mpi
  let binding: NativeBinding
  try {
    binding = loadBinding()
  } catch (error) {
    throw new BackendUnavailableError(`MPI training needs the native addon, which did not load: ${(error as Error).message}`)
  }
  let info: DistributedInfo
  try {
    info = binding.mpi()
  } catch (error) {
    throw new BackendUnavailableError(`MPI is not available: ${(error as Error).message}`)
  }
  // mpirun expects every process to end MPI before it exits.
  process.once('exit', () => binding.mpiFinalize())
  mpi = { binding, info }
  return mpi
}

/**
 * Makes `network` one process of the MPI run for a training call: every process starts from
 * rank 0's weights and optimizer state, then trains its part of each batch with the others.
 * Returns the functions that keep the processes equal between epochs and end the run.
 */
export function joinRun(network: Network): { rank: number; afterEpoch(): void; leave(): void } {
  if (network.engine !== 'native' || !network.setDistributed) {
    throw new BackendUnavailableError("MPI training runs on the native engine; this model uses the JS engine (build it with backend: 'native')")
  }
  const { binding, info } = connect()
  const state = network.readState()
  binding.mpiBroadcast(state.params, 0)
  binding.mpiBroadcast(state.slots, 0)
  binding.mpiBroadcast(state.stats, 0)
  network.writeState({ params: state.params, slots: state.slots, stats: state.stats })
  network.setDistributed(true)
  return {
    rank: info.rank,
    afterEpoch() {
      // BatchNormalization's running statistics come from each process's own rows: average
      // them, so every process validates, stops and saves the same model.
      const { stats } = network.readState()
      if (stats.length === 0) return
      binding.mpiSum(stats)
      for (let i = 0; i < stats.length; i++) stats[i] = stats[i]! / info.size
      network.writeState({ stats })
    },
    leave: () => network.setDistributed!(false),
  }
}
