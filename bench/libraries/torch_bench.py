#!/usr/bin/env python3
"""PyTorch on the CPU, driven by the same job as bench/child.ts (bench/definitions.ts: Job).

  python3 bench/libraries/torch_bench.py '<Job as JSON>'     # prints "@@bench-result <JSON>"
  python3 bench/libraries/torch_bench.py --check             # can torch load? prints a JSON line

bench/train.bench.ts starts it once per library and job, with the data files it generated, so
PyTorch trains on the same float32 bytes as every other library. Timing follows bench/child.ts:
a probe (two runs of one batch, the second timed) estimates an epoch's time; a repetition is a
whole epoch when one fits in timeSeconds, else the first batches of the data, as many as take
about timeSeconds / minRepetitions. Then one warm-up repetition, then repetitions until both
timeSeconds and minRepetitions are reached; the result is their median.

The network is nn.Sequential of Linear layers with the hidden activation; the output layer gives
logits and CrossEntropyLoss applies the softmax (the fused softmax cross-entropy the others
compute). An epoch is the usual loop: randperm, index the batch, zero_grad, forward, backward,
step. Inference runs under inference_mode and ends with softmax, as the others return
probabilities. torch.set_num_threads sets the thread count (OMP_NUM_THREADS is set to match).
"""
import json
import os
import resource
import sys
import time


def blas_library():
    """The BLAS shared object torch resolved (reference BLAS is ~10x slower than OpenBLAS)."""
    try:
        with open("/proc/self/maps") as f:
            names = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        names = sorted(os.path.basename(n) for n in names if n.startswith("/"))
        return ", ".join(names) or "none found"
    except OSError:
        return "unknown"


def build(torch, w):
    layers = []
    sizes = w["sizes"]
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh() if w["activation"] == "tanh" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = None
    if w["optimizer"]:
        o = w["optimizer"]
        lr = o["learningRate"]
        opt = torch.optim.Adam(model.parameters(), lr=lr) if o["name"] == "adam" else torch.optim.SGD(model.parameters(), lr=lr)
    return model, opt


def make_run(torch, w, model, opt, x, y, rows):
    batch = w["batch"]
    xs, ys = x[:rows], y[:rows]
    if w["kind"] == "infer":
        def run():
            with torch.inference_mode():
                for i in range(0, rows, batch):
                    torch.softmax(model(xs[i:i + batch]), dim=1)
        return run
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        perm = torch.randperm(rows)
        for i in range(0, rows, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
        if not torch.isfinite(loss):
            raise RuntimeError(f'{w["name"]} diverged on PyTorch')
    return run


def checksum(np, a):
    """Same fingerprint as bench/definitions.ts checksum(): FNV-1a over every 61st byte."""
    h = 0x811C9DC5
    for b in a.tobytes()[::61]:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{a.size}:{h:08x}"


def run_job(job):
    threads = 1 if job["library"] == "torch-1t" else 2
    import numpy as np
    files = {}

    def load(path):
        if path not in files:
            files[path] = np.fromfile(path, dtype="<f4")
        return files[path]

    for c in job["cases"]:
        load(c["data"]["x"])
        load(c["data"]["y"])
    baseline = rss_mb()
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    cases = []
    for c in job["cases"]:
        w = c["workload"]
        n, d = w["samples"], w["sizes"][0]
        xa, ya = load(c["data"]["x"]), load(c["data"]["y"])
        x = torch.from_numpy(xa[: n * d].reshape(n, d))
        y = torch.from_numpy(ya[:n].astype(np.int64))
        model, opt = build(torch, w)
        unit = min(w["batch"], n)
        probe = make_run(torch, w, model, opt, x, y, unit)
        probe()
        t = time.perf_counter()
        probe()
        per_unit = max(time.perf_counter() - t, 1e-6)
        units_per_epoch = -(-n // unit)
        full = job.get("fullEpochs", False) or units_per_epoch <= 1 or per_unit * units_per_epoch <= job["timeSeconds"]
        target = job["timeSeconds"] / job["minRepetitions"]
        rows = n if full else min(max(1, round(target / per_unit)), units_per_epoch - 1) * unit
        run = make_run(torch, w, model, opt, x, y, rows)
        run()  # warm-up repetition
        times, total = [], 0.0
        while total < job["timeSeconds"] or len(times) < job["minRepetitions"]:
            t = time.perf_counter()
            run()
            dt = time.perf_counter() - t
            times.append(dt)
            total += dt
        times.sort()
        med = times[len(times) // 2] if len(times) % 2 else (times[len(times) // 2 - 1] + times[len(times) // 2]) / 2
        mad = sorted(abs(v - med) for v in times)[len(times) // 2]
        cases.append({
            "id": c["id"],
            "samplesPerSecond": rows / med,
            "samplesPerRepetition": rows,
            "fullEpoch": full,
            "repetitions": len(times),
            "spreadPercent": 100 * mad / med,
            "data": f"{checksum(np, xa[: n * d])} {checksum(np, ya[:n])}",
            "deviations": [],
        })
    return {
        "library": job["library"],
        "version": torch.__version__,
        "details": {
            "threads": torch.get_num_threads(),
            "blas": blas_library(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "python": sys.version.split()[0],
        },
        "cases": cases,
        "baselineRssMB": baseline,
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    if sys.argv[1:] == ["--check"]:
        try:
            import torch
            print(json.dumps({"torch": torch.__version__, "blas": (torch.ones(2, 2) @ torch.ones(2, 2), blas_library())[1]}))
        except ImportError as e:
            print(json.dumps({"error": str(e)}))
        return
    result = run_job(json.loads(sys.argv[1]))
    sys.stdout.write("\n@@bench-result " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
