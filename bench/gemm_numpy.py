#!/usr/bin/env python3
"""numpy float32 matmul (OpenBLAS sgemm) on the same cases as crates/kernels/examples/gemm_bench.rs.

  python3 bench/gemm_numpy.py              # numpy only, 1 and 2 threads
  python3 bench/gemm_numpy.py --compare    # also the Rust benchmark, interleaved, ours/numpy

The machine is shared and noisy, so --compare alternates ours and numpy case by case for
--rounds rounds and reports each side's median: a burst of other load then hits both sides
rather than one whole column.

Thread counts are fixed per process through OPENBLAS_NUM_THREADS/OMP_NUM_THREADS (threadpoolctl
is used instead when installed), so without it the script re-runs itself once per count.
Timing matches the Rust side: ~50 ms warm-up, then the median of N samples of >= 2 ms each.
Forms: nn = A·B, tn = Aᵀ·B (A stored k×m), nt = A·Bᵀ (B stored n×k); m×n×k is the product shape.

Note: OpenBLAS may not recognise a new CPU and fall back to an older kernel (on Zen 5 it picks
Haswell, AVX2). Set OPENBLAS_CORETYPE=SkylakeX to force its AVX-512 kernel; the header line
shows the core OpenBLAS reports.
"""
import argparse
import os
import subprocess
import sys
import time

SIZES = [64, 128, 256, 512, 1024, 2048]
FORMS = ["nn", "tn", "nt"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cases(sizes, forms, training):
    out = [(f, s, s, s) for f in forms for s in sizes]
    if training:
        for inp, units in [(784, 256), (256, 128), (128, 10)]:
            b = 128
            out += [("nn", b, units, inp), ("tn", inp, units, b), ("nt", b, inp, units)]
    return out


def time_case(np, form, m, n, k, samples):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if form == "tn" else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if form == "nt" else (k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    av = a.T if form == "tn" else a
    bv = b.T if form == "nt" else b
    call = lambda: np.matmul(av, bv, out=c)  # transposed views go to sgemm as-is (no copy)
    start, warm = time.perf_counter(), 0
    while time.perf_counter() - start < 0.05 or warm < 3:
        call()
        warm += 1
    per_call = (time.perf_counter() - start) / warm
    reps = max(1, int(-(-2e-3 // per_call)))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(reps):
            call()
        times.append((time.perf_counter() - t) / reps)
    times.sort()
    return times[len(times) // 2]


def run_numpy(args, threads):
    """Rows (form, m, n, k, threads, gflops) for one thread count, in this process."""
    import numpy as np
    rows = []
    todo = cases(args.sizes, args.forms, not args.no_training)
    if args.shape:
        m, n, k = (int(x) for x in args.shape.split("x"))
        todo = [(f, m, n, k) for f in args.forms]
    for form, m, n, k in todo:
        secs = time_case(np, form, m, n, k, args.samples)
        rows.append((form, m, n, k, threads, 2.0 * m * n * k / secs / 1e9))
    return rows


def numpy_rows(args):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    rows = []
    for t in args.threads:
        if threadpool_limits is not None:
            with threadpool_limits(limits=t, user_api="blas"):
                rows += run_numpy(args, t)
            continue
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
        cmd = [sys.executable, os.path.abspath(__file__), "--child", str(t)] + passthrough(args)
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        rows += [parse(line) for line in out.splitlines() if line.count(",") == 5]
    return rows


def passthrough(args):
    return ["--sizes", ",".join(map(str, args.sizes)), "--forms", ",".join(args.forms),
            "--samples", str(args.samples)] + (["--no-training"] if args.no_training else [])


def parse(line):
    f, m, n, k, t, g = line.strip().split(",")
    return (f, int(m), int(n), int(k), int(t), float(g))


def build_rust():
    subprocess.run(["cargo", "build", "--quiet", "--release", "--offline", "-p", "backprop-kernels",
                    "--example", "gemm_bench"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "examples", "gemm_bench")


def one_case(cmd, env=None):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [parse(line) for line in out.splitlines() if line.count(",") == 5][0][5]


def compare(args):
    """{(form, m, n, k, threads): (numpy median, ours median)}, interleaved case by case."""
    binary = build_rust()
    me = [sys.executable, os.path.abspath(__file__)]
    runs = {}
    for _ in range(args.rounds):
        for t in args.threads:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
            for form, m, n, k in cases(args.sizes, args.forms, not args.no_training):
                shape = f"{m}x{n}x{k}"
                common = ["--shape", shape, "--forms", form, "--samples", str(args.samples)]
                theirs = one_case(me + ["--child", str(t)] + common, env)
                ours = one_case([binary, "--csv", "--threads", str(t)] + common)
                r = runs.setdefault((form, m, n, k, t), ([], []))
                r[0].append(theirs)
                r[1].append(ours)
    med = lambda v: sorted(v)[len(v) // 2]
    return {key: (med(a), med(b)) for key, (a, b) in runs.items()}


def openblas_core():
    try:
        import numpy as np
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f'{cfg.get("name")} {cfg.get("version")}'
    except Exception:  # older numpy: no dict mode
        name = "blas"
    core = os.environ.get("OPENBLAS_CORETYPE", "auto-detected core")
    return f"{name}, {core}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=SIZES)
    p.add_argument("--forms", type=lambda s: s.split(","), default=FORMS)
    p.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    p.add_argument("--samples", type=int, default=11)
    p.add_argument("--no-training", action="store_true", help="square sizes only")
    p.add_argument("--compare", action="store_true", help="also run the Rust benchmark")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds for --compare")
    p.add_argument("--shape", help="one MxNxK shape instead of the default cases")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.child is not None:
        for row in run_numpy(args, args.child):
            print(",".join(str(x) for x in row[:5]) + f",{row[5]:.3f}")
        return

    if args.compare:
        both = compare(args)
        theirs = {key: v[0] for key, v in both.items()}
        ours = {key: v[1] for key, v in both.items()}
    else:
        theirs, ours = {r[:5]: r[5] for r in numpy_rows(args)}, {}
    print(f"numpy: {openblas_core()}" + (f"; medians of {args.rounds} interleaved rounds" if args.compare else ""))
    head = f'{"form":<5} {"m×n×k":>16} {"threads":>7} {"numpy GF/s":>11}'
    if args.compare:
        head += f' {"ours GF/s":>10} {"ours/numpy":>10}'
    print(head)
    for key, g in theirs.items():
        f, m, n, k, t = key
        line = f"{f:<5} {f'{m}×{n}×{k}':>16} {t:>7} {g:>11.1f}"
        if args.compare and key in ours:
            line += f" {ours[key]:>10.1f} {ours[key] / g:>10.2f}"
        print(line)


if __name__ == "__main__":
    main()
