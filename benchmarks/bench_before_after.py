"""The same nnfast workloads timed on two source trees, interleaved round by round.

For a refactor that must not cost speed: each round runs every workload once in a fresh
process per tree (tree A, then tree B, then the next workload), so a loaded machine disturbs
both alike. Printed: the median and best time of each workload on each tree, and B/A.

Workloads (1 thread unless --threads), ``name:batch``: ``mlp`` (the tutorial MLP's ``fit``:
time per step), ``mlp_call`` (one ``model(x)`` of that MLP: the plan's per-call overhead),
``mlp_train`` (one ``train_on_batch``), ``mobilenet_v2`` and ``resnet50`` inference
(``model(x, training=False)``: time per call), ``mobilenet_v2_int8`` and ``resnet50_int8``
(the same after ``model.quantize("int8")``). Times are the process's CPU time (at one
thread, less disturbed by other processes than wall time; ``--wall`` for wall time).

Usage (tree A: a checkout of the base commit with the built extension copied in):
    git worktree add /tmp/base <commit>; cp python/nnfast/_core*.so /tmp/base/python/nnfast/
    cp python/nnfast/preprocessing/*.so /tmp/base/python/nnfast/preprocessing/
    python3 benchmarks/bench_before_after.py /tmp/base/python python --rounds 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKER = r"""
import json, sys, time
import numpy as np
import nnfast
what, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
nnfast.config.set_num_threads(threads)
rng = np.random.default_rng(0)
if what == "mlp":
    from nnfast.layers import Dense, Dropout, Flatten
    n = batch * 600
    x = rng.random((n, 28, 28), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                               Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:batch * 50], y[:batch * 50], batch_size=batch, epochs=1, verbose=0)
    t, c = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    wall, cpu = wall / (n // batch), cpu / (n // batch)
elif what in ("mlp_call", "mlp_train"):
    from nnfast.layers import Dense, Dropout, Flatten
    x = rng.random((batch, 28, 28), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                               Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    fn = (lambda: model(x)) if what == "mlp_call" else (lambda: model.train_on_batch(x, y))
    for _ in range(20):
        fn()
    calls, t, c = 0, time.perf_counter(), time.process_time()
    while time.process_time() - c < 1.0:
        fn()
        calls += 1
    wall, cpu = (time.perf_counter() - t) / calls, (time.process_time() - c) / calls
else:
    import warnings
    build = {"mobilenet_v2": nnfast.applications.MobileNetV2,
             "resnet50": nnfast.applications.ResNet50}[what.removesuffix("_int8")]
    model = build(weights=None)
    if what.endswith("_int8"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the convolutions kept float32
            model.quantize("int8")
    x = rng.uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
    model(x, training=False)
    calls, t, c = 0, time.perf_counter(), time.process_time()
    while time.process_time() - c < 0.5:
        model(x, training=False)
        calls += 1
    wall, cpu = (time.perf_counter() - t) / calls, (time.process_time() - c) / calls
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def run(tree, what, batch, threads, clock):
    env = dict(os.environ, PYTHONPATH=tree, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", WORKER, what, str(batch), str(threads)],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])[clock]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tree_a", help="PYTHONPATH of the first tree (the baseline)")
    p.add_argument("tree_b", help="PYTHONPATH of the second tree")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    p.add_argument("--workloads", nargs="+", default=["mlp:32", "mlp_call:32", "mlp_train:32",
                                                      "mobilenet_v2:1", "mobilenet_v2:32",
                                                      "resnet50:1"],
                   help="name:batch pairs")
    args = p.parse_args()
    jobs = [(w.split(":")[0], int(w.split(":")[1])) for w in args.workloads]
    times = {(j, t): [] for j in jobs for t in "AB"}
    for r in range(args.rounds):
        for job in jobs:
            for label, tree in (("A", args.tree_a), ("B", args.tree_b)):
                times[(job, label)].append(run(tree, job[0], job[1], args.threads,
                                               "wall" if args.wall else "cpu"))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{args.threads} thread(s), {args.rounds} interleaved rounds, "
          f"{'wall' if args.wall else 'CPU'} time; A={args.tree_a} B={args.tree_b}; per step "
          f"(mlp) or per call")
    print(f"{'workload':<20}{'A median':>12}{'B median':>12}{'A best':>12}{'B best':>12}"
          f"{'B/A median':>12}")
    for job in jobs:
        a, b = times[(job, "A")], times[(job, "B")]
        ma, mb = statistics.median(a), statistics.median(b)
        unit, scale = ("us", 1e6) if job[0].startswith("mlp") else ("ms", 1e3)
        print(f"{job[0] + ':' + str(job[1]):<20}{ma * scale:>10.1f}{unit}{mb * scale:>10.1f}"
              f"{unit}{min(a) * scale:>10.1f}{unit}{min(b) * scale:>10.1f}{unit}"
              f"{mb / ma:>12.3f}")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"({time.perf_counter() - t0:.0f} s)")
