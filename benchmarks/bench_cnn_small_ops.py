"""The tutorial CNN's small kernels, one by one, through ``_core``: the first layer's fused
conv + relu + max-pool (28x28x1 -> 26x26x32 -> 13x13x32) forward and weight gradient, the
Dropout(0.5) forward and backward on (32, 1600), the second max-pool (11x11x64 -> 5x5x64)
forward and backward, and the second conv's relu gradient on the pooled maps (alone, or
folded into the pool's backward). Batch 32, as in the
tutorial's training step (`bench_step_overhead.py --workloads cnn` shows them inside the step).

Medians of --repeats blocks of --calls calls, microseconds per call; the thread count and the
ISA are printed. ``--cpu-time`` times the process's CPU time instead of the wall clock
(steadier on a shared machine). Compare two builds by running it under each PYTHONPATH in
turn, alternating, e.g.:

    for i in 1 2 3; do for p in /old/python python; do
      OMP_NUM_THREADS=1 PYTHONPATH=$p python3 benchmarks/bench_cnn_small_ops.py --cpu-time
    done; done

``--step`` also times whole training steps of the tutorial CNN (`fit` on synthetic data,
the lowered program; process CPU time per step, min and median of --repeats fits of 60
steps): the figure to alternate between builds for the step as a whole.

Ops a build lacks (the stored dropout mask, the pool backward with the relu mask) print "-";
the lowered program runs "dropout forward + mask", "dropout backward (mask)" and "max_pool2d
backward + relu mask" where older builds ran the hashed dropout twice and the relu pass then
the pool backward.
"""
import argparse
import statistics
import time

import numpy as np
from nnfast import _core


def median_us(fn, repeats, calls, clock):
    for _ in range(max(1, calls // 4)):
        fn()
    times = []
    for _ in range(repeats):
        start = clock()
        for _ in range(calls):
            fn()
        times.append((clock() - start) / calls * 1e6)
    return statistics.median(times)


def cases(rng):
    """(name, callable or None) for each op of the tutorial CNN step this benchmark times."""
    b = 32
    x = rng.random((b, 28, 28, 1), dtype=np.float32)
    kern = (0.3 * rng.standard_normal((3, 3, 1, 32))).astype(np.float32)
    bias = (0.1 * rng.standard_normal(32)).astype(np.float32)
    pooled = np.empty((b, 13, 13, 32), np.float32)
    argidx = np.empty(pooled.shape, np.uint8)
    geom = ((1, 1), (0, 0), (1, 1), (26, 26), (2, 2), (0, 0))
    _core.conv2d_relu_maxpool_forward(x, kern, bias, pooled, argidx, *geom)
    dpooled = rng.standard_normal(pooled.shape).astype(np.float32)
    dkern, dbias = np.empty_like(kern), np.empty_like(bias)
    out = [
        ("conv1 fused forward", lambda: _core.conv2d_relu_maxpool_forward(
            x, kern, bias, pooled, argidx, *geom)),
        ("conv1 fused backward_weights", lambda: _core.conv2d_relu_maxpool_backward_weights(
            x, dpooled, pooled, argidx, dkern, dbias, *geom)),
    ]
    h = rng.standard_normal((b, 1600)).astype(np.float32)
    hd = np.empty_like(h)
    out.append(("dropout forward (hash)", lambda: _core.dropout_apply(h, hd, 0.5, 7, 0)))
    if hasattr(_core, "dropout_forward_mask"):
        mask = np.empty((h.size + 7) // 8, np.uint8)
        out.append(("dropout forward + mask", lambda: _core.dropout_forward_mask(
            h, hd, mask, 0.5, 7, 0)))
        out.append(("dropout backward (mask)", lambda: _core.dropout_backward_mask(
            h, mask, hd, 0.5)))
    else:
        out += [("dropout forward + mask", None), ("dropout backward (mask)", None)]
    z = np.maximum(rng.standard_normal((b, 11, 11, 64)), 0).astype(np.float32)
    p2 = np.empty((b, 5, 5, 64), np.float32)
    am = np.empty(p2.shape, np.int32)
    _core.max_pool2d_forward(z, p2, am, (2, 2), (2, 2), (0, 0))
    dp2 = rng.standard_normal(p2.shape).astype(np.float32)
    dz = np.empty_like(z)
    out.append(("max_pool2d forward", lambda: _core.max_pool2d_forward(
        z, p2, am, (2, 2), (2, 2), (0, 0))))
    out.append(("max_pool2d backward", lambda: _core.max_pool2d_backward(
        dp2, am, dz, (2, 2), (2, 2), (0, 0))))
    masked = np.empty_like(dp2)
    out.append(("relu_backward_from_output (pooled)", lambda: _core.relu_backward_from_output(
        p2, dp2, masked)))
    try:  # builds before the relu_y argument: "-"
        _core.max_pool2d_backward(dp2, am, dz, (2, 2), (2, 2), (0, 0), relu_y=p2)
        out.append(("max_pool2d backward + relu mask", lambda: _core.max_pool2d_backward(
            dp2, am, dz, (2, 2), (2, 2), (0, 0), relu_y=p2)))
    except TypeError:
        out.append(("max_pool2d backward + relu mask", None))
    return out


def step_cpu_us(repeats, steps=60, batch=32):
    """(min, median) process CPU time per training step of the tutorial CNN, us."""
    import nnfast as keras

    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((steps * batch, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, steps * batch)]
    model.fit(x[:10 * batch], y[:10 * batch], batch_size=batch, epochs=1, verbose=0)
    times = []
    for _ in range(repeats):
        start = time.process_time()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        times.append((time.process_time() - start) / steps * 1e6)
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time the process's CPU time, not the wall clock")
    parser.add_argument("--step", action="store_true",
                        help="also time whole training steps (process CPU time)")
    args = parser.parse_args()
    clock = time.process_time if args.cpu_time else time.perf_counter
    print(f"# {_core.num_threads()} thread(s), active ISA {_core.active_isa()}, median of "
          f"{args.repeats} x {args.calls} calls, "
          f"{'process CPU time' if args.cpu_time else 'wall clock'}, us per call")
    for name, fn in cases(np.random.default_rng(0)):
        got = "-" if fn is None else f"{median_us(fn, args.repeats, args.calls, clock):.1f}"
        print(f"{name:>34}  {got}")
    if args.step:
        low, mid = step_cpu_us(args.repeats)
        print(f"{'training step (CPU, min / median)':>34}  {low:.0f} / {mid:.0f}")


if __name__ == "__main__":
    main()
