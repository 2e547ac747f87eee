"""Convolution passes by registry route: times conv2d forward, backward-data and
backward-weights through
``_core`` on ResNet/VGG-like 3x3 layers and an RGB first layer, and prints which
implementation each pass selected (``_core.selected_kernels()``). Run it under an ISA cap to
see the AVX2 routes, and against another build (PYTHONPATH) to compare builds side by side:

    OMP_NUM_THREADS=1 NNFAST_MAX_ISA=avx2 PYTHONPATH=python python3 benchmarks/bench_conv_routes.py
    OMP_NUM_THREADS=1 NNFAST_MAX_ISA=avx2 PYTHONPATH=/path/to/other/python python3 \\
        benchmarks/bench_conv_routes.py

Medians of --repeats calls, milliseconds; the thread count is printed. ``--cpu-time`` times
the calling thread's CPU time instead of the wall clock (steadier on a loaded machine; one
thread only).
"""
import argparse
import statistics
import time

import numpy as np

from nnfast import _core

CASES = [  # (batch, h, w, in_c, out_c, kernel, stride, pad)
    (8, 56, 56, 64, 64, 3, 1, 1),
    (8, 28, 28, 128, 128, 3, 1, 1),
    (8, 56, 56, 64, 128, 3, 2, 1),
    (32, 32, 32, 3, 32, 3, 1, 1),
    (32, 26, 26, 32, 64, 3, 1, 0),
    (32, 13, 13, 32, 64, 3, 1, 0),  # the tutorial CNN's second conv
    (8, 14, 14, 256, 256, 3, 1, 1),
]


def median_seconds(fn, repeats, clock=time.perf_counter):
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the thread's CPU time, not the wall clock")
    args = parser.parse_args()
    clock = time.thread_time if args.cpu_time else time.perf_counter
    selected = getattr(_core, "selected_kernels", lambda: {})
    print(f"# {_core.num_threads()} thread(s), active ISA {_core.active_isa()}, "
          f"median of {args.repeats}, {'thread CPU time' if args.cpu_time else 'wall clock'}")
    rng = np.random.default_rng(0)
    for b, h, w, ci, co, k, st, pd in CASES:
        oh, ow = (h + 2 * pd - k) // st + 1, (w + 2 * pd - k) // st + 1
        x = rng.standard_normal((b, h, w, ci)).astype(np.float32)
        kern = (0.1 * rng.standard_normal((k, k, ci, co))).astype(np.float32)
        y = np.empty((b, oh, ow, co), np.float32)
        dx, dkern = np.empty_like(x), np.empty_like(kern)
        fwd = median_seconds(lambda: _core.conv2d_forward(x, kern, None, y, (st, st), (pd, pd),
                                                          (1, 1)), args.repeats, clock)
        fwd_route = selected().get("conv2d_forward", "?")
        bwd = median_seconds(lambda: _core.conv2d_backward_data(y, kern, dx, (st, st), (pd, pd),
                                                                (1, 1)), args.repeats, clock)
        bwd_route = selected().get("conv2d_backward_data", "?")
        bww = median_seconds(lambda: _core.conv2d_backward_weights(
            x, y, dkern, None, (st, st), (pd, pd), (1, 1)), args.repeats, clock)
        bww_route = selected().get("conv2d_backward_weights", "?")
        print(f"{b}x{h}x{w}x{ci} -> {co} k{k} s{st}: forward {fwd * 1e3:8.2f} ms "
              f"({fwd_route})  backward-data {bwd * 1e3:8.2f} ms ({bwd_route})  "
              f"backward-weights {bww * 1e3:8.2f} ms ({bww_route})", flush=True)


if __name__ == "__main__":
    main()
