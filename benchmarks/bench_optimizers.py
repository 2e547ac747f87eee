"""One optimizer update of a 10M-parameter model: nnfast vs PyTorch (CPU), side by side.

PyTorch runs its fastest CPU path: ``fused=True`` where it has one (SGD, Adam, AdamW,
Adagrad), else ``foreach=True``. Both libraries use the same thread count. Prints the
median time per update over several runs and the ratio torch / nnfast (> 1: nnfast faster).

    PYTHONPATH=python python3 benchmarks/bench_optimizers.py [--threads N] [--repeats R]
"""
import argparse
import statistics
import time

import numpy as np
import torch

import nnfast
from nnfast import optimizers
from nnfast.backend.tensor import Variable

# About 10M parameters (10,007,001) in MLP-like kernels and biases.
SHAPES = [(1000, 4000), (4000,), (4000, 1500), (1500,), (1500, 1), (1,)]

CASES = [
    # name, nnfast factory, torch factory, torch path
    ("SGD", lambda: optimizers.SGD(0.01),
     lambda p: torch.optim.SGD(p, lr=0.01, fused=True), "fused"),
    ("SGD momentum", lambda: optimizers.SGD(0.01, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, fused=True), "fused"),
    ("Adam", lambda: optimizers.Adam(1e-3),
     lambda p: torch.optim.Adam(p, lr=1e-3, eps=1e-7, fused=True), "fused"),
    ("AdamW", lambda: optimizers.AdamW(1e-3),
     lambda p: torch.optim.AdamW(p, lr=1e-3, eps=1e-7, weight_decay=0.004, fused=True), "fused"),
    ("RMSprop", lambda: optimizers.RMSprop(1e-3),
     lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7, foreach=True), "foreach"),
    ("RMSprop centered+mom", lambda: optimizers.RMSprop(1e-3, momentum=0.9, centered=True),
     lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7, momentum=0.9,
                                   centered=True, foreach=True), "foreach"),
    ("Adagrad", lambda: optimizers.Adagrad(1e-3),
     lambda p: torch.optim.Adagrad(p, lr=1e-3, initial_accumulator_value=0.1, fused=True), "fused"),
    ("Adadelta", lambda: optimizers.Adadelta(1e-3),
     lambda p: torch.optim.Adadelta(p, lr=1e-3, rho=0.95, eps=1e-7, foreach=True), "foreach"),
    ("Adamax", lambda: optimizers.Adamax(1e-3),
     lambda p: torch.optim.Adamax(p, lr=1e-3, eps=1e-7, foreach=True), "foreach"),
    ("Nadam", lambda: optimizers.Nadam(1e-3),
     lambda p: torch.optim.NAdam(p, lr=1e-3, eps=1e-7, foreach=True), "foreach"),
    ("Ftrl", lambda: optimizers.Ftrl(1e-3), None, "-"),
    ("Lion", lambda: optimizers.Lion(1e-4), None, "-"),
]


def median_time(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=nnfast.config.get_num_threads())
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nnfast.config.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in SHAPES]
    n_params = sum(w.size for w in weights)
    print(f"{n_params:,} parameters in {len(SHAPES)} tensors, {args.threads} threads, "
          f"ISA {nnfast.config.active_isa()}, torch {torch.__version__}; median of "
          f"{args.repeats} updates")
    print(f"{'optimizer':<22}{'nnfast ms':>11}{'torch ms':>11}{'torch path':>12}{'ratio':>8}")
    for name, make_nn, make_torch, path in CASES:
        nn_vars = [Variable(w.copy()) for w in weights]
        opt = make_nn()
        t_nn = median_time(lambda: opt.apply(grads, nn_vars), args.repeats)
        t_torch = None
        if make_torch is not None:
            params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in weights]
            for p, g in zip(params, grads):
                p.grad = torch.from_numpy(g.copy())
            topt = make_torch(params)
            with torch.no_grad():
                t_torch = median_time(topt.step, args.repeats)
        ratio = f"{t_torch / t_nn:7.2f}x" if t_torch else "      -"
        torch_ms = f"{t_torch * 1e3:11.2f}" if t_torch else f"{'-':>11}"
        print(f"{name:<22}{t_nn * 1e3:11.2f}{torch_ms}{path:>12}{ratio}")


if __name__ == "__main__":
    main()
