/**
 * What the machine can do, measured at the start of a bench run, so that every speed can be read
 * as a share of it: the float32 FMA peak of one core and of all cores
 * (crates/kernels/examples/peak.rs: independent FMA chains on registers, no memory traffic), the
 * data caches, and as a second yardstick the best single-threaded sgemm a tuned BLAS reaches here
 * (numpy's OpenBLAS on 2048³): a GEMM reads its operands from memory, and on some cores that alone
 * keeps it well below the register-only peak, whoever wrote the kernel.
 */
import { spawnSync } from 'node:child_process'
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
  /** A tuned BLAS's single-threaded sgemm, or why it was not measured. */
  sgemm: { library: string; oneCore: number } | { unavailable: string }
}

/** Runs the peak probe (needs cargo, as building the addon does) and the sgemm reference. */
export function measurePeak(): Peak | { unavailable: string } {
  const probe = spawnSync('cargo', ['run', '--release', '--offline', '-q', '-p', 'backprop-kernels', '--example', 'peak'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').slice(-3).join(' ')
    return { unavailable: `the peak probe did not run (cargo run --example peak): ${why}` }
  }
  let parsed: { gflops: Record<string, { oneCore: number; allCores: number }>; caches: Peak['caches'] }
  try {
    parsed = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as typeof parsed
  } catch {
    return { unavailable: `the peak probe printed no JSON: ${probe.stdout.slice(0, 200)}` }
  }
  const tier = ['avx512', 'avx2'].find((t) => parsed.gflops[t])
  if (!tier) return { unavailable: 'the peak probe found no FMA tier on this CPU' }
  return { tier, ...parsed.gflops[tier]!, caches: parsed.caches, sgemm: blasSgemm() }
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
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' }
  const run = spawnSync(process.env.BACKPROP_BENCH_PYTHON ?? 'python3', ['-c', script], { encoding: 'utf8', env, timeout: 120_000 })
  if (run.error || run.status !== 0) return { unavailable: `numpy did not run: ${run.error?.message ?? run.stderr.trim().split('\n').at(-1)}` }
  const [rate, ...library] = run.stdout.trim().split(' ')
  return { library: `numpy ${library.join(' ')}`, oneCore: Number(rate) }
}

/** "AVX-512 peak 245 GFLOP/s per core, 490 on 2 cores; L1d 48 KB, L2 2 MB; numpy … sgemm 194 on one core" */
export function describePeak(p: Peak | { unavailable: string } | null | undefined, cores: number): string {
  if (!p) return 'peak not measured'
  if ('unavailable' in p) return `peak not measured (${p.unavailable})`
  const size = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(b % 2 ** 20 ? 1 : 0)} MB` : `${(b / 1024).toFixed(0)} KB`)
  const caches = p.caches.map((c) => `L${c.level}${c.level === 1 ? 'd' : ''} ${size(c.bytes)}`).join(', ')
  const sgemm = 'unavailable' in p.sgemm ? '' : `; ${p.sgemm.library} sgemm ${p.sgemm.oneCore.toFixed(0)} GFLOP/s on one core (${((100 * p.sgemm.oneCore) / p.oneCore).toFixed(0)}% of the peak)`
  return `${p.tier === 'avx512' ? 'AVX-512' : 'AVX2'} FMA peak ${p.oneCore.toFixed(0)} GFLOP/s per core, ${p.allCores.toFixed(0)} on ${cores} cores; ${caches}${sgemm}`
}
