"""The time of a model call spent outside the C++ calls, per kind of plan step: what Python
and NumPy cost around ``_core`` (argument conversion, folded-weight checks, geometry, output
allocation) when the steps run in sequence, as they do in ``model(x)`` (a step timed alone,
again and again, runs its Python with warm caches and looks about half as dear).

Every ``nnfast._core`` function is wrapped by a timer, and so is each plan step; a step's
Python time is its time less the ``_core`` time inside it. The timers add ~0.5 us per wrapped
call (two clock reads), charged to the Python side. Times are the process's CPU time (1
thread), medians over --rounds rounds of --calls calls.

    PYTHONPATH=python python3 benchmarks/profile_plan_overhead.py [--model MobileNetV2]
        [--batch 1] [--int8] [--rounds 5] [--calls 100]
"""
import argparse
import collections
import statistics
import time
import warnings

import numpy as np

import nnfast
from nnfast import _core


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="MobileNetV2")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--int8", action="store_true", help='after model.quantize("int8")')
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()

    model = getattr(nnfast.applications, args.model)(weights=None)
    if args.int8:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the convolutions kept float32
            model.quantize("int8")
    x = np.random.default_rng(0).uniform(-1, 1, (args.batch, 224, 224, 3)).astype(np.float32)
    model(x, training=False)  # the plan is made here

    clock = time.process_time_ns
    in_core = [0]

    def timed_core(fn):
        def call(*a, **k):
            t = clock()
            try:
                return fn(*a, **k)
            finally:
                in_core[0] += clock() - t
        return call

    for name in dir(_core):
        fn = getattr(_core, name)
        if type(fn).__name__ == "builtin_function_or_method":
            setattr(_core, name, timed_core(fn))

    per_kind = collections.defaultdict(lambda: [0, 0, 0])  # kind -> [steps, total, core]
    for step in model._inference_plan().steps:
        kind = type(step.run).__name__
        if kind in ("function", "method"):
            kind = type(step.layer).__name__

        def run(*a, _run=step.run, _kind=kind, **k):
            core0, t = in_core[0], clock()
            out = _run(*a, **k)
            entry = per_kind[_kind]
            entry[1] += clock() - t
            entry[2] += in_core[0] - core0
            return out

        object.__setattr__(step, "run", run)
        per_kind[kind][0] += 1

    for _ in range(5):
        model(x, training=False)
    totals, cores, kinds = [], [], collections.defaultdict(list)
    for _ in range(args.rounds):
        for entry in per_kind.values():
            entry[1] = entry[2] = 0
        in_core[0], t = 0, clock()
        for _ in range(args.calls):
            model(x, training=False)
        totals.append((clock() - t) / args.calls / 1e3)
        cores.append(in_core[0] / args.calls / 1e3)
        for kind, (_, total, core) in per_kind.items():
            kinds[kind].append((total - core) / args.calls / 1e3)

    total, core = statistics.median(totals), statistics.median(cores)
    print(f"{args.model}{' int8' if args.int8 else ''}, batch {args.batch}, 1 thread, CPU "
          f"time, medians of {args.rounds} x {args.calls} calls")
    print(f"per call {total:.0f} us: inside _core {core:.0f} us, outside {total - core:.0f} us "
          f"({(total - core) / total:.1%})")
    print(f"{'step kind':<28}{'steps':>6}{'outside _core, us':>20}{'per step':>10}")
    for kind, values in sorted(kinds.items(), key=lambda kv: -statistics.median(kv[1])):
        outside = statistics.median(values)
        steps = per_kind[kind][0]
        print(f"{kind:<28}{steps:>6}{outside:>20.0f}{outside / steps:>10.1f}")


if __name__ == "__main__":
    main()
