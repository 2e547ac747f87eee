"""int8 inference of a Keras application with its fused int8 chains on and off, beside float32,
in one process: calls of the float32 model, of a ``quantize("int8")`` copy whose plan runs each
int8 layer on its own (``fusion.FUSE_INT8_CHAINS`` off when planned) and of one with the fused
chains (int8 depthwise -> pointwise, whole inverted residual blocks) alternate round by round,
timed with the process's CPU time (steadier than wall time on a shared machine, at 1 thread).
Random weights; prints medians and the speed over float32.

    PYTHONPATH=python python3 benchmarks/bench_int8_fusion.py [--model MobileNetV2]
        [--batch 1 32] [--rounds 5] [--threads 1] [--all-convs]
"""
import argparse
import statistics
import time
import warnings

import nnfast
import numpy as np
from nnfast.models import fusion


def int8_copy(make, weights, fused, all_convs):
    """A quantized copy of the model, planned with the fused int8 chains on or off."""
    model = make(weights=None)
    model.set_weights(weights)
    fusion.FUSE_INT8_CHAINS = fused
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the convolutions kept float32
            if all_convs:
                model.quantize("int8", filters=lambda layer: hasattr(layer, "quantize"))
            else:
                model.quantize("int8")
        model.predict_on_batch(np.zeros((1, 224, 224, 3), np.float32))  # plans, switch read
        return model
    finally:
        fusion.FUSE_INT8_CHAINS = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="MobileNetV2")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--all-convs", action="store_true",
                        help="quantize every convolution, not only where the default rule does")
    args = parser.parse_args()
    nnfast.config.set_num_threads(args.threads)
    nnfast.utils.set_random_seed(0)
    make = getattr(nnfast.applications, args.model)
    float_model = make(weights=None)
    weights = float_model.get_weights()
    models = {"float32": float_model,
              "int8, layer by layer": int8_copy(make, weights, False, args.all_convs),
              "int8, fused chains": int8_copy(make, weights, True, args.all_convs)}
    print(f"{args.model}, {args.threads} thread(s), CPU time, median of {args.rounds} rounds"
          f"{', every convolution int8' if args.all_convs else ''}")
    for batch in args.batch:
        x = np.random.default_rng(batch).uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
        times = {label: [] for label in models}
        for model in models.values():
            model.predict_on_batch(x)  # makes the plans
        for _ in range(args.rounds):
            for label, model in models.items():
                t = time.process_time()
                model.predict_on_batch(x)
                times[label].append(time.process_time() - t)
        base = statistics.median(times["float32"])
        for label, ts in times.items():
            m = statistics.median(ts)
            print(f"batch {batch:>3}  {label:<22}{m * 1e3:>9.1f} ms  {base / m:>5.2f}x")


if __name__ == "__main__":
    main()
