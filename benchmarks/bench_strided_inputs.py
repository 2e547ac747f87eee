"""``fit`` on NumPy inputs that are not C-contiguous: strided views, Fortran order, a
transposed copy-free view. Each trains the tutorial MLP (784 -> 128 relu -> 10 softmax, Adam,
batch 32, shuffled) for one epoch on the same values; the ratio to the contiguous array is
what the user pays for handing ``fit`` a view. Issue 21's target: within 1.2x.

Usage: python benchmarks/bench_strided_inputs.py [--samples 20000] [--repeats 5] [--threads 1]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import print_table  # noqa: E402


def layouts(n, rng):
    wide = rng.random((n, 2 * 784), dtype=np.float32)
    contiguous = np.ascontiguousarray(wide[:, ::2])
    return {
        "C-contiguous": contiguous,
        "strided view x[:, ::2]": wide[:, ::2],
        "Fortran order": np.asfortranarray(contiguous),
        "transposed view x.T.T of F": np.asfortranarray(contiguous).T.copy().T,
        "column slice x[:, :784]": np.concatenate([contiguous, contiguous[:, :16]], 1)[:, :784],
    }


def epoch_seconds(nnfast, x, y):
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([nnfast.Input((784,)), nnfast.layers.Dense(128, activation="relu"),
                               nnfast.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import nnfast

    nnfast.config.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    arrays = layouts(args.samples, rng)
    y = rng.integers(0, 10, args.samples)
    times = {name: [] for name in arrays}
    for _ in range(args.repeats):  # interleaved, so machine noise hits every layout alike
        for name, x in arrays.items():
            times[name].append(epoch_seconds(nnfast, x, y))
    base = statistics.median(times["C-contiguous"])
    print(f"nnfast {nnfast.__version__}, ISA {nnfast.config.active_isa()}, "
          f"{args.threads} thread(s), {args.samples} samples, median of {args.repeats}")
    rows = [[name, f"{statistics.median(t) * 1e3:.0f}", f"{args.samples / statistics.median(t):,.0f}",
             f"{statistics.median(t) / base:.2f}x"] for name, t in times.items()]
    print_table(["input layout", "epoch ms", "samples/s", "vs contiguous"], rows)


if __name__ == "__main__":
    main()
