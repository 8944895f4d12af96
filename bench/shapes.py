#!/usr/bin/env python3
"""Training speed on networks, optimizers and batch sizes the main bench does not run, against
PyTorch on the same shapes, to show whether the speed is general or tuned to four workloads.

  python3 bench/shapes.py                      # the default shapes, 1 and 2 threads
  python3 bench/shapes.py --threads 1 784-300-100-10/tanh/momentum/32 256-512-512-10/relu/adam/64/bn
  python3 bench/shapes.py --rounds 3           # more interleaved rounds on a noisy machine

A shape is sizes/activation/optimizer/batch[/bn] (crates/kernels/examples/train_bench.rs):
activations sigmoid, tanh, relu, leaky (0.01), linear; optimizers sgd, momentum (0.9),
nesterov, adagrad, rmsprop, adam, adamw; /bn puts BatchNorm, the activation and Dropout(0.1)
after each hidden layer. The output layer is softmax with sparse cross-entropy.

Our side is the Plan executor without Node (train_bench, built here with cargo), so the table
shows the engine, not the binding. PyTorch runs the usual loop (randperm, index the batch,
zero_grad, forward, backward, step) with torch.set_num_threads. Both train about 25 GFLOP of
random data per epoch and report their best epoch after a warm-up; the rounds alternate the two
sides so that a burst of load on this shared machine hits both. The share of peak is of the
one-core FMA peak (crates/kernels/examples/peak.rs) times the threads.

PyTorch is looked for in this interpreter, then in Debian's /usr/bin/python3 (python3-torch);
without it the table has our side only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = [
    "784-256-128-10/relu/adam/32",
    "784-256-128-10/relu/adam/64",
    "784-256-128-10/relu/adam/512",
    "784-300-100-10/tanh/momentum/32",
    "784-300-100-10/sigmoid/sgd/64",
    "64-128-128-2/relu/adam/32",
    "20-64-32-2/relu/rmsprop/32",
    "512-512-512-10/relu/adagrad/64",
    "784-1000-1000-10/relu/nesterov/128",
    "300-500-10/leaky/rmsprop/256",
    "2048-2048-10/relu/adamw/512",
    "256-512-512-10/relu/adam/64/bn",
]


def torch_python():
    """An interpreter that imports torch: this one, else Debian's."""
    for python in [sys.executable, "/usr/bin/python3"]:
        if subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0:
            return python
    return None


def ours(binary, shape, threads, peak):
    """(samples/s, share of peak) of our best epoch."""
    env = dict(os.environ, BACKPROP_THREADS=str(threads), EPOCHS="3")
    out = subprocess.run([binary, shape, str(peak * threads)], capture_output=True, text=True, env=env, check=True).stdout
    best = max(re.findall(r": (\d+) samples/s.*?, (\d+)% of peak", out), key=lambda m: int(m[0]))
    return int(best[0]), int(best[1])


def rows_for(sizes, batch):
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return int(min(max(25e9 / (6 * macs), batch), 1e6)) // batch * batch


def torch_run(shape, threads):
    """Our best epoch's samples/s in PyTorch (runs inside the torch interpreter)."""
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    parts = shape.split("/")
    sizes, act, opt, batch = [int(s) for s in parts[0].split("-")], parts[1], parts[2], int(parts[3])
    normalised = parts[4:] == ["bn"]
    activation = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity, "leaky": lambda: nn.LeakyReLU(0.01)}[act]
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(sizes):
            layers += [nn.BatchNorm1d(b, eps=1e-3, momentum=0.01), activation(), nn.Dropout(0.1)] if normalised else [activation()]
    model = nn.Sequential(*layers)
    p = model.parameters()
    optimizer = {
        "sgd": lambda: torch.optim.SGD(p, lr=0.01),
        "momentum": lambda: torch.optim.SGD(p, lr=0.01, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        "adagrad": lambda: torch.optim.Adagrad(p, lr=0.01, initial_accumulator_value=0.1, eps=1e-7),
        "rmsprop": lambda: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7),
        "adam": lambda: torch.optim.Adam(p, lr=1e-3, eps=1e-7),
        "adamw": lambda: torch.optim.AdamW(p, lr=1e-3, eps=1e-7, weight_decay=0.004),
    }[opt]()
    rows = rows_for(sizes, batch)
    x, y = torch.rand(rows, sizes[0]), torch.randint(0, sizes[-1], (rows,))
    loss_fn = nn.CrossEntropyLoss()
    best = 0.0
    for epoch in range(3):
        start = time.perf_counter()
        order = torch.randperm(rows)
        for s in range(0, rows, batch):
            idx = order[s:s + batch]
            optimizer.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            optimizer.step()
        if epoch > 0:
            best = max(best, rows / (time.perf_counter() - start))
    return best


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--torch-child":
        print(json.dumps(torch_run(sys.argv[2], int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shapes", nargs="*", default=SHAPES)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    cargo = ["cargo", "run", "--release", "--offline", "-q", "-p", "backprop-kernels", "--example"]
    peak = json.loads(subprocess.run(cargo + ["peak"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    tier = "avx512" if "avx512" in peak["gflops"] else "avx2"
    one_core = peak["gflops"][tier]["oneCore"]
    subprocess.run(["cargo", "build", "--release", "--offline", "-q", "-p", "backprop-kernels", "--example", "train_bench"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "examples", "train_bench")
    python = torch_python()
    print(f"peak {one_core:.0f} GFLOP/s per core ({tier}); PyTorch: {'via ' + python if python else 'not found'}; best of {args.rounds} interleaved rounds\n")
    print("| shape | threads | ours, samples/s | share of peak | PyTorch, samples/s | ours ÷ PyTorch |")
    print("|---|---:|---:|---:|---:|---:|")
    for threads in args.threads:
        for shape in args.shapes:
            best, share, theirs = 0, 0, 0.0
            for _ in range(args.rounds):
                rate, pct = ours(binary, shape, threads, one_core)
                if rate > best:
                    best, share = rate, pct
                if python:
                    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
                    out = subprocess.run([python, __file__, "--torch-child", shape, str(threads)], capture_output=True, text=True, env=env, check=True).stdout
                    theirs = max(theirs, float(out.strip().splitlines()[-1]))
            ratio = f"{best / theirs:.2f}×" if theirs else "—"
            torch_cell = f"{theirs:,.0f}" if theirs else "—"
            print(f"| {shape} | {threads} | {best:,} | {share}% | {torch_cell} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
