#!/usr/bin/env python3
"""PyTorch's side of bench/latency.ts: online inference of an MLP, one thread.

  python3 bench/libraries/torch_latency.py '<job as JSON>'   # prints "@@latency-result <JSON>"

The job gives the layer sizes, the batches, the calls per repetition and the repetitions. The
network is nn.Sequential(Linear, ReLU, ..., Linear, Softmax), so it returns probabilities as
backprop's predict does; each call is model(x[i:i+batch]) under torch.no_grad(), cycling over
256 distinct rows. Reported per batch: the median over repetitions of the mean time per call,
and (batch 1) p50/p99 of individually timed calls.
"""
import json
import os
import sys
import time


def main():
    job = json.loads(sys.argv[1])
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    sizes = job["sizes"]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        layers.append(torch.nn.ReLU() if i < len(sizes) - 2 else torch.nn.Softmax(dim=1))
    model = torch.nn.Sequential(*layers).eval()
    pool = 256
    x = torch.rand(pool + max(job["batches"]), sizes[0])
    result = {"version": torch.__version__, "threads": torch.get_num_threads(),
              "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "batches": {}}
    with torch.no_grad():
        for batch in job["batches"]:
            calls = max(job["calls"] // batch, 50)
            for i in range(calls // 4):
                model(x[i % pool:i % pool + batch])
            means = []
            for _ in range(job["repetitions"]):
                t = time.perf_counter()
                for i in range(calls):
                    j = i % pool
                    model(x[j:j + batch])
                means.append((time.perf_counter() - t) / calls)
            means.sort()
            result["batches"][str(batch)] = {"secondsPerCall": means[len(means) // 2]}
        singles = []
        for i in range(job["calls"]):
            j = i % pool
            t = time.perf_counter()
            model(x[j:j + 1])
            singles.append(time.perf_counter() - t)
        singles.sort()
        result["p50"] = singles[len(singles) // 2]
        result["p99"] = singles[int(len(singles) * 0.99)]
    sys.stdout.write("\n@@latency-result " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
