/**
 * Data-parallel scaling over MPI on this machine: the mnist (784-256-128-10, Adam, batch 128 per
 * process) and wide (1024-1024-1024-10, SGD, batch 256 per process) workloads trained with
 * fit({ distributed: 'mpi' }) by 1 and by 2 processes of one thread each (bench/
 * mpi-scaling.child.mjs under mpirun), with the time of one all-reduce of the gradient; then a
 * paper estimate for 8 and 64 machines from those numbers (a ring all-reduce moves
 * 2·(N−1)/N × the gradient's bytes per process, plus 2·(N−1) message latencies), printed as an
 * estimate. Needs Open MPI (mpirun) and a build:
 *
 *   npm run build && npx tsx bench/mpi-scaling.ts
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CHILD = fileURLToPath(new URL('./mpi-scaling.child.mjs', import.meta.url))
// One machine: shared memory between the processes (vader), loopback otherwise, no ssh.
const env = { ...process.env, OMPI_MCA_btl: 'self,vader,tcp', OMPI_MCA_btl_tcp_if_include: 'lo', OMPI_MCA_oob_tcp_if_include: 'lo', OMPI_MCA_plm_rsh_agent: '' }

interface Measured {
  name: string
  ranks: number
  samplesPerSecond: number
  stepsPerEpoch: number
  gradientBytes: number
  allreduceMs: number
}

function measure(name: string, ranks: number): Measured {
  const out = execFileSync('mpirun', ['--allow-run-as-root', '--oversubscribe', '-np', String(ranks), process.execPath, CHILD, name, '3'], { env, encoding: 'utf8', timeout: 600_000 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as Measured
}

const LATENCY_S = 5e-6 // per message on a data-centre network, an assumption of the estimate
const rows: string[] = []
const estimates: string[] = []
for (const [name, batch] of [['mnist', 128], ['wide', 256]] as const) {
  const one = measure(name, 1)
  const two = measure(name, 2)
  const speedUp = two.samplesPerSecond / one.samplesPerSecond
  const stepMs = (1000 * batch * 2) / two.samplesPerSecond
  rows.push(
    `| ${name} | ${Math.round(one.samplesPerSecond).toLocaleString('en-US')} | ${Math.round(two.samplesPerSecond).toLocaleString('en-US')} | ${speedUp.toFixed(2)}× | ${((100 * speedUp) / 2).toFixed(0)}% | ${(two.gradientBytes / 2 ** 20).toFixed(2)} MB | ${two.allreduceMs.toFixed(2)} ms of ${stepMs.toFixed(1)} ms |`,
  )
  // Each process computes `batch` rows per step as fast as one process alone does.
  const computeS = batch / one.samplesPerSecond
  for (const machines of [8, 64]) {
    for (const gbps of [10, 100]) {
      const commS = (2 * (machines - 1) / machines) * (two.gradientBytes / ((gbps * 1e9) / 8)) + 2 * (machines - 1) * LATENCY_S
      const efficiency = computeS / (computeS + commS)
      estimates.push(`| ${name} | ${machines} | ${gbps} Gb/s | ${(1000 * commS).toFixed(2)} ms | ${(1000 * computeS).toFixed(2)} ms | ${(100 * efficiency).toFixed(0)}% | ${Math.round(machines * efficiency * one.samplesPerSecond).toLocaleString('en-US')} |`)
    }
  }
}
console.log('| workload | 1 process, samples/s | 2 processes, samples/s | speed-up | efficiency | gradient | all-reduce per step (2 processes) |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const r of rows) console.log(r)
console.log('\nEstimate (not measured): ring all-reduce without overlap, 1 thread per machine, 5 µs per message')
console.log('| workload | machines | link | all-reduce per step | compute per step | efficiency | samples/s |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const e of estimates) console.log(e)
