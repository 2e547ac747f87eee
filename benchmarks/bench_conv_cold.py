"""The tutorial CNN's second conv (32x13x13x32 -> 64, 3x3 valid, relu) alone, with warm caches
and with L2 flushed before each call: forward, input gradient and kernel gradient (with the
bias gradient), through ``_core``, printing the route each pass took.

Inside the training step a pass finds its inputs written several ops before and no longer in
L2 (the kernel gradient's input is the first pool's output, written in the forward); timing
it in a warm loop hides that. "L2-flushed" writes --flush-mb of another array before each
timed call (outside the timing). Process CPU time per call in microseconds, median of
--repeats blocks of --calls calls; the thread count and ISA are printed. Compare builds by
alternating PYTHONPATH, e.g.:

    for i in 1 2 3; do for p in /old/python python; do
      OMP_NUM_THREADS=1 PYTHONPATH=$p python3 benchmarks/bench_conv_cold.py
    done; done

Other shapes: --shape BATCH SIZE IN_C OUT_C (square input, 3x3 valid).
"""
import argparse
import statistics
import time

import numpy as np
from nnfast import _core

RELU = 1


def median_us(fn, repeats, calls, flush):
    fn()
    blocks = []
    for _ in range(repeats):
        total = 0.0
        for _ in range(calls):
            if flush is not None:
                flush += 1.0  # evicts the pass's operands from L2 (untimed)
            start = time.process_time()
            fn()
            total += time.process_time() - start
        blocks.append(total / calls * 1e6)
    return statistics.median(blocks)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", type=int, nargs=4, default=[32, 13, 32, 64],
                   metavar=("BATCH", "SIZE", "IN_C", "OUT_C"))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--calls", type=int, default=30)
    p.add_argument("--flush-mb", type=float, default=4.0)
    args = p.parse_args()
    batch, size, cin, cout = args.shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, cin)).astype(np.float32)
    k = (rng.standard_normal((3, 3, cin, cout)) / np.sqrt(9 * cin)).astype(np.float32)
    bias = np.zeros(cout, np.float32)
    y = np.empty((batch, size - 2, size - 2, cout), np.float32)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dk, db = np.empty_like(x), np.empty_like(k), np.empty_like(bias)
    geometry = ((1, 1), (0, 0), (1, 1))
    passes = {
        "conv2d_forward": lambda: _core.conv2d_forward(x, k, bias, y, *geometry, 1, RELU),
        "conv2d_backward_data": lambda: _core.conv2d_backward_data(dy, k, dx, *geometry),
        "conv2d_backward_weights": lambda: _core.conv2d_backward_weights(x, dy, dk, db,
                                                                         *geometry),
    }
    flush = np.ones(int(args.flush_mb * (1 << 20)) // 4, np.float32)
    print(f"threads {_core.num_threads()}, ISA {_core.active_isa()}, shape {batch}x{size}x"
          f"{size}x{cin} -> {cout}; process CPU us per call, median of {args.repeats}x"
          f"{args.calls}")
    for name, fn in passes.items():
        warm = median_us(fn, args.repeats, args.calls, None)
        cold = median_us(fn, args.repeats, args.calls, flush)
        print(f"{name:24s} {_core.selected_kernels()[name]:28s} warm {warm:7.0f}  "
              f"L2-flushed {cold:7.0f}")


if __name__ == "__main__":
    main()
