"""CPU time per lowered training step of bench_precision.py's tutorial CNN (batch 32, output
Dense in float32) under float32 and mixed_bfloat16, with the kernel time split by program op
(``Program.instruction_seconds``), for builds given as python/ folders, alternated round by
round so that load from other processes falls on both alike. Medians over the rounds; the
thread count is printed.

Usage: python benchmarks/bench_bf16_cnn_split.py [--trees /work/main/python python]
       [--rounds 3] [--steps 100] [--threads 1]
Each (tree, policy) runs in a fresh process (PYTHONPATH=tree): one warm-up fit, then 3 fits
of --steps steps through bench_step_overhead.worker_keras_api.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
POLICIES = ("float32", "mixed_bfloat16")


def worker(policy, steps):
    sys.path.insert(0, HERE)
    import bench_precision
    import bench_step_overhead
    import nnfast

    nnfast.mixed_precision.set_global_policy(policy)

    def build(_keras, _workload):
        model = bench_precision.nnfast_model("cnn")
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        return model

    bench_step_overhead.build = build
    out = bench_step_overhead.worker_keras_api("lowered", "cnn", 32, steps, 3)
    print(json.dumps({"cpu_s": out["cpu_s"], "lowered": out["lowered"], "split": out["split"]}))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trees", nargs="+", default=["/work/main/python", "python"])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker[0], int(args.worker[1]))
    results = {}
    for _ in range(args.rounds):
        for tree in args.trees:
            for policy in POLICIES:
                env = dict(os.environ, PYTHONPATH=os.path.abspath(tree),
                           OMP_NUM_THREADS=str(args.threads))
                line = subprocess.run([sys.executable, __file__, "--worker", policy,
                                       str(args.steps)], env=env, check=True,
                                      capture_output=True, text=True).stdout.splitlines()[-1]
                results.setdefault((tree, policy), []).append(json.loads(line))
    print(f"threads: {args.threads}, rounds: {args.rounds}, medians of CPU time per step; "
          "under each, the wall time inside its largest kernel ops")
    for tree in args.trees:
        fp32 = statistics.median(r["cpu_s"] for r in results[(tree, "float32")])
        for policy in POLICIES:
            runs = results[(tree, policy)]
            cpu = statistics.median(r["cpu_s"] for r in runs)
            lowered = "" if all(r["lowered"] for r in runs) else " (not lowered)"
            print(f"{tree:28s} {policy:15s} {cpu * 1e3:7.3f} ms  {fp32 / cpu:5.2f}x float32"
                  f"{lowered}")
            ops = {op: statistics.median(r["split"].get(op, 0.0) for r in runs)
                   for op in runs[0]["split"]}
            for op, sec in sorted(ops.items(), key=lambda kv: -kv[1])[:6]:
                print(f"    {op:40s} {sec * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
