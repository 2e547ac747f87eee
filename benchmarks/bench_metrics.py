"""Per-batch cost of the loss-based metrics (``update_state`` on one batch), in microseconds.

Metrics run on every batch of ``fit``/``evaluate``; this times each loss-based metric class
on a (batch, classes) float32 batch, median of repeats. Run it against two checkouts to
compare (PYTHONPATH picks the nnfast that is timed).

Usage: OMP_NUM_THREADS=1 PYTHONPATH=python python benchmarks/bench_metrics.py [--batch 128]
       [--classes 10] [--repeats 7]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import median_time, print_table  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    from nnfast import metrics

    rng = np.random.default_rng(0)
    n, c = args.batch, args.classes
    probs = rng.dirichlet(np.ones(c), n).astype(np.float32)
    labels = rng.integers(0, c, n)
    onehot = np.eye(c, dtype=np.float32)[labels]
    reg_t = rng.standard_normal((n, c)).astype(np.float32)
    reg_p = rng.standard_normal((n, c)).astype(np.float32)
    cases = [("MeanSquaredError", reg_t, reg_p), ("MeanAbsoluteError", reg_t, reg_p),
             ("MeanAbsolutePercentageError", reg_t, reg_p),
             ("MeanSquaredLogarithmicError", np.abs(reg_t), np.abs(reg_p)),
             ("LogCoshError", reg_t, reg_p), ("CosineSimilarity", reg_t, reg_p),
             ("Hinge", onehot, reg_p), ("SquaredHinge", onehot, reg_p),
             ("CategoricalHinge", onehot, probs), ("KLDivergence", onehot, probs),
             ("Poisson", np.abs(reg_t), np.abs(reg_p)),
             ("CategoricalCrossentropy", onehot, probs),
             ("SparseCategoricalCrossentropy", labels, probs),
             ("BinaryCrossentropy", onehot, probs), ("CategoricalAccuracy", onehot, probs)]
    rows, total = [], 0.0
    loops = 200
    for name, t, y in cases:
        m = getattr(metrics, name)()

        def run():
            for _ in range(loops):
                m.update_state(t, y)

        us = median_time(run, repeats=args.repeats) / loops * 1e6
        total += us
        rows.append([name, f"{us:.1f}"])
    rows.append(["(sum)", f"{total:.1f}"])
    print(f"update_state on a ({n}, {c}) batch, microseconds, median of {args.repeats} x "
          f"{loops} calls, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print_table(["metric", "us/batch"], rows)


if __name__ == "__main__":
    main()
