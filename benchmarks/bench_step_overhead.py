"""Time per training step of the four tutorial models, split into kernels and the rest:
nnfast with the lowered program, nnfast interpreted (the tape path, NNFAST_LOWERED=0),
PyTorch eager, and Keras 3 on TensorFlow running the same Keras script.

Workloads (Keras's tutorial models, synthetic data of the tutorials' shapes):
  mlp      Flatten(28,28) -> Dense(128, relu) -> Dropout(0.2) -> Dense(10, softmax); Adam
  cnn      Conv2D(32,3,relu) -> MaxPool(2) -> Conv2D(64,3,relu) -> MaxPool(2) -> Flatten ->
           Dropout(0.5) -> Dense(10, softmax); Adam
  imdb     Embedding(20000, 128) -> LSTM(64) -> Dense(1, sigmoid); Adam, binary crossentropy
  reuters  multi-hot(1000) -> Dense(512, relu) -> Dropout(0.5) -> Dense(46, softmax); Adam
All but imdb use categorical crossentropy on one-hot targets and the accuracy metric.

Each (framework, workload, threads, batch) runs in a fresh process: one warm-up fit, then
`--repeats` timed fits of `--steps` steps; the median per-step time is printed. "kernels" is
the time inside the lowered program's kernel calls (the same calls, in the same order, that
the interpreted path makes), measured with the program's timer; "rest" is the step time
minus it. "CPU us" is the process's CPU time per step (all its threads): steadier than the
wall clock when other processes share the cores, and the column to compare there. The
lowered rows are followed by their kernel time split by program op. Rows a workload does not lower say so (then both nnfast rows run the tape path).

Usage: python benchmarks/bench_step_overhead.py [--workloads mlp cnn imdb reuters]
       [--threads 1 2] [--batch 32] [--repeats 5] [--steps 200]
       [--keras-python /work/kerasvenv/bin/python] [--no-torch] [--no-keras]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import cpu_name, have_torch, print_table  # noqa: E402

STEP_SCALE = {"mlp": 1.0, "cnn": 0.15, "imdb": 0.1, "reuters": 0.5}


def data(workload, n):
    """Synthetic data of the tutorial's shapes (the step time does not depend on values)."""
    rng = np.random.default_rng(0)
    if workload in ("mlp", "cnn"):
        x = rng.random((n, 28, 28) if workload == "mlp" else (n, 28, 28, 1)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    elif workload == "imdb":
        x = rng.integers(1, 20000, (n, 80)).astype(np.int32)
        y = rng.integers(0, 2, (n, 1)).astype(np.float32)
    else:
        x = (rng.random((n, 1000)) < 0.08).astype(np.float32)  # multi-hot word sets
        y = np.eye(46, dtype=np.float32)[rng.integers(0, 46, n)]
    return x, y


def build(keras, workload):
    """The tutorial model, written once against the Keras API (nnfast or Keras 3)."""
    layers = keras.layers
    if workload == "mlp":
        model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(),
                                  layers.Dense(128, activation="relu"), layers.Dropout(0.2),
                                  layers.Dense(10, activation="softmax")])
        loss = "categorical_crossentropy"
    elif workload == "cnn":
        model = keras.Sequential([keras.Input((28, 28, 1)),
                                  layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                                  layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                                  layers.Flatten(), layers.Dropout(0.5),
                                  layers.Dense(10, activation="softmax")])
        loss = "categorical_crossentropy"
    elif workload == "imdb":
        model = keras.Sequential([keras.Input((80,), dtype="int32"),
                                  layers.Embedding(20000, 128), layers.LSTM(64),
                                  layers.Dense(1, activation="sigmoid")])
        loss = "binary_crossentropy"
    else:
        model = keras.Sequential([keras.Input((1000,)), layers.Dense(512, activation="relu"),
                                  layers.Dropout(0.5), layers.Dense(46, activation="softmax")])
        loss = "categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def worker_keras_api(kind, workload, batch, steps, repeats):
    """nnfast (lowered / interpreted) or Keras 3: the same script."""
    kernels = []
    if kind == "keras":
        import keras
    else:
        import nnfast as keras
        from nnfast.models import lowered

        lowered.ENABLED = kind == "lowered"
        plain = lowered.lower_training

        def timed(*args):  # the program's kernel timer, for the split
            out = plain(*args)
            if out is not None:
                out.program.set_timing(True)
                kernels.append(out)
            return out

        lowered.lower_training = timed
        import nnfast.models.trainer as trainer

        trainer.lower_training = timed
    keras.utils.set_random_seed(0)
    x, y = data(workload, batch * steps)
    model = build(keras, workload)
    warm = max(2, steps // 5) * batch
    model.fit(x[:warm], y[:warm], batch_size=batch, epochs=1, verbose=0, shuffle=True)
    times, kernel_times, cpu_times, splits = [], [], [], []
    for _ in range(repeats):
        kernels.clear()
        t, cpu = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        times.append((time.perf_counter() - t) / steps)
        cpu_times.append((time.process_time() - cpu) / steps)
        if kernels:
            kernel_times.append(sum(k.program.kernel_seconds for k in kernels) / steps)
            splits.append(_kernel_split(kernels, steps))
    split = {op: statistics.median(s.get(op, 0.0) for s in splits)
             for op in (splits[0] if splits else {})}
    return {"step_s": statistics.median(times), "cpu_s": statistics.median(cpu_times),
            "kernel_s": statistics.median(kernel_times) if kernel_times else None,
            "lowered": bool(kernel_times), "split": split}


def _kernel_split(lowered_runs, steps):
    """Seconds per step inside each kind of kernel call (the program's per-instruction timer,
    summed by op; convolution and GEMM ops also by their role), largest first."""
    split = {}
    for run in lowered_runs:
        seconds = getattr(run.program._program, "instruction_seconds", ())  # older builds: none
        for ins, sec in zip(run.description.instructions, seconds):
            split[ins.op] = split.get(ins.op, 0.0) + sec / steps
    return dict(sorted(split.items(), key=lambda kv: -kv[1]))


def worker_torch(workload, batch, steps, repeats):
    import torch
    from torch import nn

    torch.manual_seed(0)
    x, y = data(workload, batch * steps)
    if workload == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(128, 10))
    elif workload == "cnn":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Dropout(0.5), nn.Linear(1600, 10))
    elif workload == "imdb":
        class Imdb(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(20000, 128)
                self.lstm = nn.LSTM(128, 64, batch_first=True)
                self.dense = nn.Linear(64, 1)

            def forward(self, t):
                _, (h, _) = self.lstm(self.embedding(t))
                return self.dense(h[-1])

        model = Imdb()
        x = x.astype(np.int64)
    else:
        model = nn.Sequential(nn.Linear(1000, 512), nn.ReLU(), nn.Dropout(0.5),
                              nn.Linear(512, 46))
    binary = workload == "imdb"
    loss_fn = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    target = torch.from_numpy(y if binary else y.argmax(1).astype(np.int64))
    data_set = torch.utils.data.TensorDataset(torch.from_numpy(x), target)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch(limit):
        loader = torch.utils.data.DataLoader(data_set, batch_size=batch, shuffle=True)
        correct = 0
        for i, (xb, yb) in enumerate(loader):
            if i >= limit:
                break
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            # The accuracy metric, as the Keras script computes it.
            correct += ((out > 0).float() == yb).sum().item() if binary else \
                (out.argmax(1) == yb).sum().item()
        return correct

    model.train()
    epoch(max(2, steps // 5))
    times, cpu_times = [], []
    for _ in range(repeats):
        t, cpu = time.perf_counter(), time.process_time()
        epoch(steps)
        times.append((time.perf_counter() - t) / steps)
        cpu_times.append((time.process_time() - cpu) / steps)
    return {"step_s": statistics.median(times), "cpu_s": statistics.median(cpu_times),
            "kernel_s": None, "lowered": False}


def run(python, args, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    if args[0] != "keras":  # nnfast's own package, whatever interpreter runs this script
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", *args], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=["mlp", "cnn", "imdb", "reuters"])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch", type=int, nargs="+", default=[32])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=200, help="steps per timed fit (mlp; the "
                   "others scale it down)")
    p.add_argument("--keras-python", default=os.environ.get("NNFAST_KERAS_PYTHON",
                                                             "/work/kerasvenv/bin/python"))
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-keras", action="store_true")
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        kind, workload, batch, steps, repeats = args.worker
        batch, steps, repeats = int(batch), int(steps), int(repeats)
        if kind == "torch":
            import torch

            torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
            res = worker_torch(workload, batch, steps, repeats)
        else:
            if kind != "keras":
                import nnfast

                nnfast.config.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
            res = worker_keras_api(kind, workload, batch, steps, repeats)
        print(json.dumps(res))
        return

    peers = []
    if not args.no_torch and have_torch():
        peers.append(("torch", sys.executable, "PyTorch eager"))
    if not args.no_keras and os.path.exists(args.keras_python):
        peers.append(("keras", args.keras_python, "Keras 3 / TF"))
    rows, splits = [], []
    print(f"Time per training step (us), median of {args.repeats} timed fits per process; "
          f"{cpu_name()}; threads as listed", flush=True)
    for threads in args.threads:
        for batch in args.batch:
            for workload in args.workloads:
                steps = max(10, int(args.steps * STEP_SCALE[workload]))
                wargs = lambda kind: [kind, workload, str(batch), str(steps), str(args.repeats)]  # noqa: E731
                results = {"lowered": run(sys.executable, wargs("lowered"), threads),
                           "interpreted": run(sys.executable, wargs("interpreted"), threads)}
                for kind, python, _ in peers:
                    results[kind] = run(python, wargs(kind), threads)
                kernel = results["lowered"]["kernel_s"]
                if results["lowered"].get("split"):
                    splits.append((threads, batch, workload, results["lowered"]["split"],
                                   results["lowered"]["cpu_s"]))
                best_peer = min((results[k]["step_s"] for k, _, _ in peers), default=None)
                best_cpu = min((results[k]["cpu_s"] for k, _, _ in peers), default=None)
                names = {"lowered": "nnfast lowered", "interpreted": "nnfast interpreted"}
                names.update({k: label for k, _, label in peers})
                for kind, r in results.items():
                    name = names[kind]
                    if kind == "lowered" and not r["lowered"]:
                        name += " (not lowered: tape path)"
                    k_us = kernel * 1e6 if kernel is not None and kind != "torch" and \
                        kind != "keras" else None
                    rows.append([threads, batch, workload, name, f"{r['step_s'] * 1e6:.0f}",
                                 "" if k_us is None else f"{k_us:.0f}",
                                 "" if k_us is None else f"{r['step_s'] * 1e6 - k_us:.0f}",
                                 "" if kind in ("torch", "keras") or best_peer is None
                                 else f"{best_peer / r['step_s']:.2f}x",
                                 f"{r['cpu_s'] * 1e6:.0f}",
                                 "" if kind in ("torch", "keras") or best_cpu is None
                                 else f"{best_cpu / r['cpu_s']:.2f}x"])
                    print("  ", rows[-1], flush=True)  # progress: the table follows at the end
    print_table(["threads", "batch", "workload", "framework", "step us", "kernels us",
                 "rest us", "vs faster peer", "CPU us", "CPU vs faster peer"], rows)
    for threads, batch, workload, split, cpu_s in splits:
        print(f"\nnnfast lowered, {workload}, batch {batch}, {threads} thread(s): kernel time per "
              f"step by op (us; process CPU time per step {cpu_s * 1e6:.0f} us)")
        print_table(["op", "us/step"], [[op, f"{sec * 1e6:.0f}"] for op, sec in split.items()
                                         if sec * 1e6 >= 1])


if __name__ == "__main__":
    main()
