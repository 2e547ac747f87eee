"""Where the time of int8 inference goes: each step of a Keras application's inference plan
(a fused conv chain, a pool, the classifier) timed in the float32 model and in the same model
after ``model.quantize("int8")``, summed per block (MobileNetV2's ``block_<i>``, ResNet50's
``conv<s>_block<i>``; the float32 plan fuses a depthwise conv with the 1x1 projection after it,
so blocks, not single layers, are what compare). Random weights, median of --repeats calls,
the two models' calls alternating (so load from other jobs falls on both alike); --cpu-time
times with the process's CPU time instead of the wall clock (steadier on a shared machine, at
1 thread); --all-convs quantizes every convolution (not only where the default rule does).

    PYTHONPATH=python python3 benchmarks/profile_int8_layers.py [--model MobileNetV2]
        [--batch 32] [--threads 1] [--repeats 3] [--top 15] [--cpu-time] [--all-convs]
"""
import argparse
import collections
import re
import statistics
import time
import warnings

import nnfast
import numpy as np


def block_of(name):
    """The block a plan step belongs to, from its (last) layer's name."""
    m = re.match(r"(block_\d+|expanded_conv|conv\d_block\d+)_", name)
    return m.group(1) if m else name


class StepTimer:
    """Times each step of a model's inference plan (wrapping the steps' callables) over calls of
    ``model.predict_on_batch(x)``; ``clock`` is ``time.perf_counter`` or ``time.process_time``."""

    def __init__(self, model, x, clock):
        self.model, self.x, self.clock = model, x, clock
        model.predict_on_batch(x)  # makes the plan
        self.steps = model._inference_plan().steps
        self.per_call, self.totals = [], []

    def call(self):
        clock, per_call = self.clock, self.per_call
        runs = [step.run for step in self.steps]

        def timed(k, fn):
            def run(*args, **kwargs):
                t = clock()
                y = fn(*args, **kwargs)
                per_call[-1][k] += clock() - t
                return y
            return run

        for k, step in enumerate(self.steps):
            step.run = timed(k, runs[k])
        try:
            per_call.append([0.0] * len(runs))
            t = clock()
            self.model.predict_on_batch(self.x)
            self.totals.append(clock() - t)
        finally:
            for step, run in zip(self.steps, runs):
                step.run = run

    def blocks(self):
        """({block: median seconds per call}, median seconds of the whole call)."""
        blocks = collections.defaultdict(float)
        for k, step in enumerate(self.steps):
            blocks[block_of(step.layer.name)] += statistics.median(c[k] for c in self.per_call)
        return blocks, statistics.median(self.totals)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="MobileNetV2")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--cpu-time", action="store_true")
    parser.add_argument("--all-convs", action="store_true")
    args = parser.parse_args()
    nnfast.config.set_num_threads(args.threads)
    nnfast.utils.set_random_seed(0)
    make = getattr(nnfast.applications, args.model)
    float_model = make(weights=None)
    int8_model = make(weights=None)
    int8_model.set_weights(float_model.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # layers without an int8 form stay float32
        if args.all_convs:
            int8_model.quantize("int8", filters=lambda layer: hasattr(layer, "quantize"))
        else:
            int8_model.quantize("int8")
    x = np.random.default_rng(0).uniform(-1, 1, (args.batch, 224, 224, 3)).astype(np.float32)
    clock = time.process_time if args.cpu_time else time.perf_counter
    timers = [StepTimer(float_model, x, clock), StepTimer(int8_model, x, clock)]
    for _ in range(args.repeats):
        for timer in timers:
            timer.call()
    (f_blocks, f_total), (q_blocks, q_total) = (timer.blocks() for timer in timers)
    print(f"{args.model}, batch {args.batch}, {args.threads} thread(s), "
          f"{'CPU' if args.cpu_time else 'wall'} time: float32 "
          f"{f_total * 1e3:.1f} ms, int8 {q_total * 1e3:.1f} ms ({f_total / q_total:.2f}x); "
          f"blocks by int8 time (ms):")
    print(f"{'block':<16}{'float32':>10}{'int8':>10}{'int8 speed':>12}")
    for name in sorted(q_blocks, key=q_blocks.get, reverse=True)[:args.top]:
        f, q = f_blocks.get(name, 0.0), q_blocks[name]
        print(f"{name:<16}{f * 1e3:>10.2f}{q * 1e3:>10.2f}"
              f"{(f / q if q else float('nan')):>11.2f}x")


if __name__ == "__main__":
    main()
