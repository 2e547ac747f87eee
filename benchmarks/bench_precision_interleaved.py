"""mixed_bfloat16 against float32 training in one process, epochs interleaved: the ratio of
issue 18's training target on a machine other jobs load (``bench_precision.py`` runs each
configuration in its own process, one after another, so load that changes between them moves
its ratio; here both policies see the same load, epoch by epoch).

    python benchmarks/bench_precision_interleaved.py [--workloads mlp,cnn] [--threads 1]
        [--rounds 7] [--cnn-samples 4000]

The models, data and batch sizes are bench_precision.py's (MNIST MLP at batch 128 on 48,000
images, the Keras mnist_convnet CNN at batch 32); each round times one epoch of each policy.
Prints the CPU, the thread count, median samples/s per policy and the ratio of medians.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_precision as bp  # noqa: E402
from _common import cpu_name  # noqa: E402


def interleaved(workload, rounds, cnn_samples):
    """{policy: median seconds per epoch}, samples per epoch."""
    import nnfast

    batch, samples = bp.WORKLOADS[workload]
    x, y, _, _ = bp.data_for(workload)
    n = samples if workload == "mlp" else min(samples, cnn_samples)
    x, y = x[:n], y[:n]
    models = {}
    for policy in ("float32", "mixed_bfloat16"):
        nnfast.mixed_precision.set_global_policy(policy)
        nnfast.utils.set_random_seed(0)
        model = bp.nnfast_model(workload)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x[:batch * 20], y[:batch * 20], batch_size=batch, epochs=1, verbose=0)
        models[policy] = model
    nnfast.mixed_precision.set_global_policy("float32")
    times = {policy: [] for policy in models}
    for _ in range(rounds):
        for policy, model in models.items():
            t = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            times[policy].append(time.perf_counter() - t)
    return {p: statistics.median(v) for p, v in times.items()}, n


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="mlp,cnn")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--cnn-samples", type=int, default=4000)
    args = p.parse_args()
    import nnfast

    nnfast.config.set_num_threads(args.threads)
    print(f"{cpu_name()}; {args.threads} thread(s); bf16 GEMM: "
          f"{nnfast._core.gemm_bf16_kernel_name()}; median of {args.rounds} interleaved epochs")
    for workload in [w for w in args.workloads.split(",") if w]:
        med, n = interleaved(workload, args.rounds, args.cnn_samples)
        batch = bp.WORKLOADS[workload][0]
        for policy, seconds in med.items():
            print(f"{workload} batch {batch}, {n} samples, {policy}: {n / seconds:.0f} samples/s "
                  f"({seconds / (n / batch) * 1e6:.0f} us/step)")
        print(f"{workload} mixed_bfloat16 vs float32: "
              f"{med['float32'] / med['mixed_bfloat16']:.2f}x")


if __name__ == "__main__":
    main()
