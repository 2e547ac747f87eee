"""bfloat16 convolution passes by route, builds side by side: CPU time of
``_core.conv2d_{forward,backward_data,backward_weights}_bf16`` ('best' route, named under each
figure) and of the float32 pass, on stride-1 3x3/5x5 layers with 16-512 channels (the AMX
direct convolution's shapes) and the tutorial CNN's second conv, for each build given as a
python/ folder, alternated round by round so that load from other processes falls on both
alike. Medians over rounds of the per-call medians; the thread count is printed.

Usage: OMP_NUM_THREADS=1 python3 benchmarks/bench_bf16_conv_routes.py \\
           --trees /path/to/old/python python [--rounds 3] [--repeats 9]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = [  # (batch, h, w, in_c, out_c, kernel, pad)
    (32, 13, 13, 32, 64, 3, 0),  # the tutorial CNN's second conv
    (32, 16, 16, 32, 32, 3, 1),
    (8, 64, 64, 16, 16, 3, 1),
    (4, 56, 56, 64, 64, 3, 1),
    (32, 7, 7, 128, 128, 3, 1),
    (32, 4, 4, 256, 256, 3, 1),
    (16, 28, 28, 32, 32, 5, 2),
    (32, 7, 7, 512, 512, 3, 1),  # a 4.7 MB kernel: column slices
    (32, 3, 3, 512, 512, 3, 1),
    (32, 2, 2, 512, 512, 3, 1),
]
PASSES = ("conv2d_forward", "conv2d_backward_data", "conv2d_backward_weights")


def worker(repeats):
    import numpy as np
    from nnfast import _core

    out = []
    for b, h, w, c, oc, k, pad in CASES:
        oh, ow = h - k + 1 + 2 * pad, w - k + 1 + 2 * pad
        rng = np.random.default_rng(0)
        x = rng.standard_normal((b, h, w, c)).astype(np.float32)
        kern = rng.standard_normal((k, k, c, oc)).astype(np.float32)
        bias = np.zeros(oc, np.float32)
        y = np.empty((b, oh, ow, oc), np.float32)
        g = rng.standard_normal(y.shape).astype(np.float32)
        dx, dk, db = np.empty_like(x), np.empty_like(kern), np.empty(oc, np.float32)
        geo = ((1, 1), (pad, pad), (1, 1), 1)
        arguments = {"conv2d_forward": (x, kern, bias, y, *geo, 1),
                     "conv2d_backward_data": (g, kern, dx, *geo),
                     "conv2d_backward_weights": (x, g, dk, db, *geo)}
        row = {}
        for name in PASSES:
            for suffix in ("_bf16", ""):
                call, args = getattr(_core, name + suffix), arguments[name]
                call(*args)
                times = []
                for _ in range(repeats):
                    start = time.process_time()
                    call(*args)
                    times.append(time.process_time() - start)
                route = _core.selected_kernels()[name + "_bf16"] if suffix else "float32"
                row[name + suffix] = (statistics.median(times), route)
        out.append(row)
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trees", nargs="+", default=["python"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker)
    results = {}
    for _ in range(args.rounds):
        for tree in args.trees:
            env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
            line = subprocess.run([sys.executable, __file__, "--worker", str(args.repeats)],
                                  env=env, check=True, capture_output=True,
                                  text=True).stdout.splitlines()[-1]
            results.setdefault(tree, []).append(json.loads(line))
    print(f"threads: {os.environ.get('OMP_NUM_THREADS', 'default')}, rounds: {args.rounds}; "
          "ms of CPU time per call (median), the bf16 route under each; float32 for scale")
    for i, (b, h, w, c, oc, k, pad) in enumerate(CASES):
        print(f"{b}x{h}x{w}x{c} -> {oc}, {k}x{k} pad {pad}")
        for tree in args.trees:
            cells = []
            for name in PASSES:
                bf16 = statistics.median(r[i][name + "_bf16"][0] for r in results[tree])
                fp32 = statistics.median(r[i][name][0] for r in results[tree])
                route = results[tree][-1][i][name + "_bf16"][1].replace("bf16_conv_", "")
                cells.append(f"{name[7:]:16s} {bf16 * 1e3:6.3f} ({route}; f32 {fp32 * 1e3:.3f})")
            print(f"  {tree[-24:]:24s} " + "  ".join(cells))


if __name__ == "__main__":
    main()
