"""Multi-hot MLPs of the Keras tutorials (Reuters, IMDB): nnfast vs PyTorch vs Keras 3.

The inputs are what ``vectorize_sequences`` makes: 10,000 columns of 0/1, ~1-2% ones, as a
dense float32 NumPy array (the tutorials' code, unchanged). nnfast finds each batch mostly
zeros and runs its first Dense layer as a gather-sum / scatter-add of kernel rows; Keras
(TensorFlow) and PyTorch multiply the dense matrices.

- Reuters: Dense(64, relu) -> Dense(64, relu) -> Dense(46, softmax), RMSprop, categorical
  crossentropy on one-hot labels, batch 512, the tutorial's 7,982 training newswires.
- IMDB: Dense(16, relu) -> Dense(16, relu) -> Dense(1, sigmoid), RMSprop, binary
  crossentropy, batch 512, the tutorial's 15,000 training reviews.

Each framework runs in a fresh process (Keras through the Keras venv's python, as
bench_text_vectorization.py does); a process runs one warm-up epoch, then one ``fit`` of
``--repeats`` epochs (a loop of as many epochs for PyTorch) and reports the median epoch and
the whole fit's time per epoch. PyTorch is the idiomatic loop (TensorDataset + DataLoader
with shuffle, nn.Sequential, RMSprop with Keras's rho/epsilon, loss on logits).

Rows: ``nnfast`` (the tutorial's dense array), ``nnfast-scipy`` (the same rows as a SciPy
CSR matrix), ``nnfast-dense`` (the sparse path turned off: the dense GEMMs), ``torch``,
``keras``.

Usage: python benchmarks/bench_sparse.py [--tasks reuters imdb] [--threads 1] [--repeats 5]
       [--keras-python /work/kerasvenv/bin/python] [--no-scipy] [--no-dense]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import have_torch, print_table  # noqa: E402

TASKS = {
    # name: (hidden units, outputs, training samples)
    "reuters": (64, 46, 7982),
    "imdb": (16, 1, 15000),
}
BATCH = 512
WORDS = 10000


def prepare(task, path):
    """Loads the dataset with nnfast (Keras's loader semantics) and stores the training
    rows as word ids, so every worker builds the same multi-hot matrix."""
    import nnfast

    loader = nnfast.datasets.reuters if task == "reuters" else nnfast.datasets.imdb
    (x, y), _ = loader.load_data(num_words=WORDS)
    n = TASKS[task][2]
    # The tutorials hold out the first samples for validation and train on the rest.
    held = len(x) - n
    seqs, labels = x[held:], np.asarray(y[held:], np.int64)
    lengths = np.array([len(s) for s in seqs], np.int64)
    np.savez(path, ids=np.concatenate([np.asarray(s, np.int64) for s in seqs]),
             lengths=lengths, labels=labels)


def vectorize(path):
    """The tutorial's vectorize_sequences: one row of 10,000 zeros per sample, 1.0 at each
    word id that occurs."""
    d = np.load(path)
    x = np.zeros((len(d["lengths"]), WORDS), np.float32)
    rows = np.repeat(np.arange(len(d["lengths"])), d["lengths"])
    x[rows, d["ids"]] = 1.0
    return x, d["labels"]


def targets(task, labels):
    if task == "reuters":
        return np.eye(46, dtype=np.float32)[labels]
    return labels.astype(np.float32)[:, None]


def epochs_timed(run_epoch, repeats):
    """(median wall s, median CPU s of this process, whole wall s per epoch) of ``repeats``
    epochs after a warm-up one."""
    run_epoch()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        run_epoch()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu), sum(wall) / repeats


def fit_timed(keras, model, x, y, repeats):
    """One warm-up epoch, then one fit of ``repeats`` epochs (as a tutorial runs it): the
    median epoch by wall and by CPU clock (callback clocks) and the fit's whole wall time per
    epoch (setup included)."""
    wall, cpu = [], []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t, self.c = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            wall.append(time.perf_counter() - self.t)
            cpu.append(time.process_time() - self.c)

    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    t = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=repeats, verbose=0, callbacks=[EpochClock()])
    return statistics.median(wall), statistics.median(cpu), (time.perf_counter() - t) / repeats


def keras_like_worker(keras, task, path, repeats, sparse_input=False):
    hidden, out, _ = TASKS[task]
    x, labels = vectorize(path)
    y = targets(task, labels)
    if sparse_input:
        import scipy.sparse

        x = scipy.sparse.csr_matrix(x)
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([keras.Input((WORDS,)), layers.Dense(hidden, activation="relu"),
                              layers.Dense(hidden, activation="relu"),
                              layers.Dense(out, activation="softmax" if out > 1 else "sigmoid")])
    model.compile(optimizer="rmsprop", metrics=["accuracy"],
                  loss="categorical_crossentropy" if out > 1 else "binary_crossentropy")
    sec, cpu, whole = fit_timed(keras, model, x, y, repeats)
    loss = float(model.evaluate(x, y, batch_size=BATCH, verbose=0)[0])
    return {"samples_per_s": len(y) / sec, "epoch_s": sec, "cpu_epoch_s": cpu,
            "fit_epoch_s": whole, "loss": loss}


def torch_worker(task, path, repeats, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    hidden, out, _ = TASKS[task]
    x, labels = vectorize(path)
    yt = torch.from_numpy(labels) if out > 1 else torch.from_numpy(labels.astype(np.float32)[:, None])
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), yt)
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True)
    model = nn.Sequential(nn.Linear(WORDS, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                          nn.ReLU(), nn.Linear(hidden, out))
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss() if out > 1 else nn.BCEWithLogitsLoss()

    def epoch():
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    sec, cpu, whole = epochs_timed(epoch, repeats)
    with torch.no_grad():
        loss = float(loss_fn(model(torch.from_numpy(x)), yt))
    return {"samples_per_s": len(x) / sec, "epoch_s": sec, "cpu_epoch_s": cpu,
            "fit_epoch_s": whole, "loss": loss}


def worker(kind, task, path, repeats, threads):
    if kind in ("nnfast", "nnfast-scipy", "nnfast-dense"):
        import nnfast

        nnfast.config.set_num_threads(threads)
        if kind == "nnfast-dense":  # the dense GEMM path, for comparison
            from nnfast.ops import sparse_dense

            sparse_dense.MAX_DENSITY = 0.0
        return keras_like_worker(nnfast, task, path, repeats, sparse_input=kind == "nnfast-scipy")
    if kind == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        import keras

        return keras_like_worker(keras, task, path, repeats)
    return torch_worker(task, path, repeats, threads)


def run(python, kind, task, path, repeats, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), TF_CPP_MIN_LOG_LEVEL="2")
    if kind == "keras":  # the venv must not import this checkout's nnfast
        env.pop("PYTHONPATH", None)
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", kind, task, path,
                          str(repeats), str(threads)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=["reuters", "imdb"], choices=sorted(TASKS))
    p.add_argument("--threads", type=int, nargs="+", default=[1])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--keras-python", default=os.environ.get("NNFAST_KERAS_PYTHON",
                                                             "/work/kerasvenv/bin/python"))
    p.add_argument("--no-scipy", action="store_true", help="skip the SciPy-input nnfast row")
    p.add_argument("--no-dense", action="store_true",
                   help="skip the nnfast row with the sparse path turned off")
    p.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        kind, task, path, repeats, threads = args.worker
        print(json.dumps(worker(kind, task, path, int(repeats), int(threads))))
        return

    kinds = [("nnfast", sys.executable)]
    if not args.no_scipy:
        kinds.append(("nnfast-scipy", sys.executable))
    if not args.no_dense:
        kinds.append(("nnfast-dense", sys.executable))
    if have_torch():
        kinds.append(("torch", sys.executable))
    if os.path.exists(args.keras_python):
        kinds.append(("keras", args.keras_python))
    else:
        print(f"No Keras python at {args.keras_python}: skipping Keras/TensorFlow.")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks:
            path = os.path.join(tmp, f"{task}.npz")
            prepare(task, path)
            for threads in args.threads:
                res = {k: run(py, k, task, path, args.repeats, threads) for k, py in kinds}
                peers = [k for k in ("torch", "keras") if k in res]
                best_wall = min((res[k]["epoch_s"] for k in peers), default=None)
                best_cpu = min((res[k]["cpu_epoch_s"] for k in peers), default=None)
                for k, _ in kinds:
                    r = res[k]
                    rows.append([task, threads, k, f"{r['samples_per_s']:.0f}",
                                 f"{r['epoch_s'] * 1000:.1f}", f"{r['cpu_epoch_s'] * 1000:.1f}",
                                 f"{r['fit_epoch_s'] * 1000:.1f}", f"{r['loss']:.4f}",
                                 f"{best_wall / r['epoch_s']:.2f}x" if peers else "",
                                 f"{best_cpu / r['cpu_epoch_s']:.2f}x" if peers else ""])
    print(f"Multi-hot MLPs, batch {BATCH}, median of {args.repeats} epochs after a warm-up "
          f"epoch, one fresh process per framework. 'cpu ms/epoch': the process's CPU time "
          f"(all its threads; steadier than wall time on a busy machine). 'fit ms/epoch': the "
          f"whole fit of {args.repeats} epochs per epoch (setup included). Speed relative to "
          f"the faster of PyTorch and Keras, by wall and by CPU time.")
    print_table(["task", "threads", "framework", "samples/s", "ms/epoch", "cpu ms/epoch",
                 "fit ms/epoch", "final loss", "vs best peer", "vs best (cpu)"], rows)


if __name__ == "__main__":
    main()
