/**
 * What the machine can do, measured at the start of a bench run, so that every speed can be read
 * as a share of it: the float32 FMA peak of one core and of all cores
 * (crates/kernels/examples/peak.rs: independent FMA chains on registers, no memory traffic), the
 * data caches, and as a second yardstick the best single-threaded sgemm a tuned BLAS reaches here
 * (numpy's OpenBLAS on 2048³): a GEMM reads its operands from memory, and on some cores that alone
 * keeps it well below the register-only peak, whoever wrote the kernel.
 *
 * With two cores or more, also a cache line's round trip between two of them: on a virtual
 * machine the host may place the vCPUs on one die or on two, and move them while the bench runs,
 * which changes how two threads scale (mnist 1.70× against 1.21× on the same EPYC guest). The run
 * measures it at its start and again at its end.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface Peak {
  /** The widest tier measured: avx512 or avx2. */
  tier: string
  /** GFLOP/s of one core and of every core together. */
  oneCore: number
  allCores: number
  caches: { level: number; bytes: number; sharedBy: number }[]
  /** ns for a cache line to go from one core to another and back, at the run's start and end. */
  roundTripNs?: { start: number | null; end: number | null }
  /** A tuned BLAS's single-threaded sgemm, or why it was not measured. */
  sgemm: { library: string; oneCore: number } | { unavailable: string }
}

/** Runs the peak probe (needs cargo, as building the addon does) and the sgemm reference. */
export function measurePeak(): Peak | { unavailable: string } {
  const probe = runProbe([])
  if ('unavailable' in probe) return probe
  const parsed = probe as { gflops: Record<string, { oneCore: number; allCores: number }>; caches: Peak['caches']; roundTripNs?: number }
  const tier = ['avx512', 'avx2'].find((t) => parsed.gflops[t])
  if (!tier) return { unavailable: 'the peak probe found no FMA tier on this CPU' }
  return { tier, ...parsed.gflops[tier]!, caches: parsed.caches, roundTripNs: { start: parsed.roundTripNs ?? null, end: null }, sgemm: blasSgemm() }
}

/** The round trip between two cores now (null on one core or when the probe does not run). */
export function measureRoundTrip(): number | null {
  const probe = runProbe(['--round-trip'])
  return 'unavailable' in probe ? null : ((probe as { roundTripNs: number | null }).roundTripNs ?? null)
}

/** The probe's JSON, or why there is none. */
function runProbe(args: string[]): object | { unavailable: string } {
  const probe = spawnSync('cargo', ['run', '--release', '--offline', '-q', '-p', 'backprop-kernels', '--example', 'peak', '--', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').slice(-3).join(' ')
    return { unavailable: `the peak probe did not run (cargo run --example peak): ${why}` }
  }
  try {
    return JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as object
  } catch {
    return { unavailable: `the peak probe printed no JSON: ${probe.stdout.slice(0, 200)}` }
  }
}

/** numpy's float32 matmul on one thread, best of five 2048³ products after a warm-up. */
function blasSgemm(): Peak['sgemm'] {
  const script = [
    'import time, numpy as np',
    'n = 2048',
    'a = np.random.rand(n, n).astype(np.float32); b = np.random.rand(n, n).astype(np.float32)',
    'a @ b',
    'times = []',
    'for _ in range(5):',
    '    t = time.perf_counter(); a @ b; times.append(time.perf_counter() - t)',
    'best = min(times)',
    'cfg = np.show_config(mode="dicts") if "mode" in np.show_config.__code__.co_varnames else {}',
    'lib = cfg.get("Build Dependencies", {}).get("blas", {})',
    'print(2 * n ** 3 / best / 1e9, (lib.get("name", "BLAS") + " " + str(lib.get("version", ""))).strip())',
  ].join('\n')
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' }
  const core = openblasCoretype(env)
  if (core) env.OPENBLAS_CORETYPE = core
  const run = spawnSync(process.env.BACKPROP_BENCH_PYTHON ?? 'python3', ['-c', script], { encoding: 'utf8', env, timeout: 120_000 })
  if (run.error || run.status !== 0) return { unavailable: `numpy did not run: ${run.error?.message ?? run.stderr.trim().split('\n').at(-1)}` }
  const [rate, ...library] = run.stdout.trim().split(' ')
  return { library: `numpy ${library.join(' ')}${core ? ` (OPENBLAS_CORETYPE ${core})` : ''}`, oneCore: Number(rate) }
}

/**
 * The OpenBLAS kernels the Python libraries of the bench get: its AVX-512 (SkylakeX) ones on a
 * CPU with AVX-512, or BACKPROP_BENCH_OPENBLAS_CORETYPE. OpenBLAS 0.3.21 (Debian's) and 0.3.31
 * (numpy's) do not know Zen 5 and pick AVX2 kernels there: numpy's single-threaded sgemm ran at
 * 110 GFLOP/s that way on an EPYC guest, and at 208 on its SkylakeX kernel.
 */
export function openblasCoretype(env: NodeJS.ProcessEnv): string | undefined {
  return env.BACKPROP_BENCH_OPENBLAS_CORETYPE ?? (cpuFlags().has('avx512f') ? 'SkylakeX' : env.OPENBLAS_CORETYPE)
}

let flagsCache: Set<string> | null = null
function cpuFlags(): Set<string> {
  if (!flagsCache) {
    try {
      const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'))
      flagsCache = new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? [])
    } catch {
      flagsCache = new Set()
    }
  }
  return flagsCache
}

/** "AVX-512 peak 245 GFLOP/s per core, 490 on 2 cores; L1d 48 KB, L2 2 MB; numpy … sgemm 194 on one core; …round trip …" */
export function describePeak(p: Peak | { unavailable: string } | null | undefined, cores: number): string {
  if (!p) return 'peak not measured'
  if ('unavailable' in p) return `peak not measured (${p.unavailable})`
  const size = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(b % 2 ** 20 ? 1 : 0)} MB` : `${(b / 1024).toFixed(0)} KB`)
  const caches = p.caches.map((c) => `L${c.level}${c.level === 1 ? 'd' : ''} ${size(c.bytes)}`).join(', ')
  const sgemm = 'unavailable' in p.sgemm ? '' : `; ${p.sgemm.library} sgemm ${p.sgemm.oneCore.toFixed(0)} GFLOP/s on one core (${((100 * p.sgemm.oneCore) / p.oneCore).toFixed(0)}% of the peak)`
  const ns = (v: number | null | undefined) => (v == null ? '?' : v.toFixed(0))
  const trip = p.roundTripNs?.start != null ? `; a cache line's round trip between two cores ${ns(p.roundTripNs.start)} ns at the start${p.roundTripNs.end !== null ? `, ${ns(p.roundTripNs.end)} at the end` : ''}` : ''
  return `${p.tier === 'avx512' ? 'AVX-512' : 'AVX2'} FMA peak ${p.oneCore.toFixed(0)} GFLOP/s per core, ${p.allCores.toFixed(0)} on ${cores} cores; ${caches}${sgemm}${trip}`
}
