"""One epoch of the Keras tutorial's MNIST MLP: nnfast vs PyTorch CPU, side by side.

Model: Flatten(28,28) -> Dense(128, relu) -> Dropout(0.2) -> Dense(10, softmax), Adam,
categorical crossentropy, trained on the tutorial's 48,000 training images (the first 80%,
as validation_split=0.2 leaves them). Each run is a fresh process, so the peak resident
memory printed is that framework's own. PyTorch is written the idiomatic way (DataLoader
with shuffle, nn.Sequential, CrossEntropyLoss on logits); variants: default Adam
(foreach), fused Adam, and torch.compile (with --compile).

Usage: python benchmarks/bench_mnist_mlp.py [--batch 32 128] [--threads 1 2] [--repeats 3]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import RatioChart, cpu_name, have_torch, peak_rss_mb, print_table, run_worker  # noqa: E402

N_TRAIN = 48000


def load_mnist():
    """Real MNIST when NNFAST_DATASETS (or the cache) has it, else same-shaped random data."""
    try:
        import nnfast

        (x, y), _ = nnfast.datasets.mnist.load_data()
        source = "mnist"
    except Exception:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(60000, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=60000).astype(np.uint8)
        source = "synthetic"
    x = (x[:N_TRAIN] / 255.0).astype(np.float32)
    return x, y[:N_TRAIN].astype(np.int64), source


def worker_nnfast(batch, threads):
    import nnfast
    from nnfast.layers import Dense, Dropout, Flatten

    nnfast.config.set_num_threads(threads)
    x, y, source = load_mnist()
    y1 = nnfast.utils.to_categorical(y, 10).astype(np.float32)
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                               Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:batch * 20], y1[:batch * 20], batch_size=batch, epochs=1, verbose=0)  # warm up
    t = time.perf_counter()
    hist = model.fit(x, y1, batch_size=batch, epochs=1, verbose=0)
    dt = time.perf_counter() - t
    return {"samples_per_s": len(x) / dt, "peak_rss_mb": peak_rss_mb(), "source": source,
            "accuracy": hist.history["accuracy"][-1]}


def worker_torch(batch, threads, variant):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y, source = load_mnist()
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=(variant == "fused"))
    loss_fn = nn.CrossEntropyLoss()
    step = model
    if variant == "compile":
        step = torch.compile(model)

    def epoch(limit=None):
        model.train()
        correct = seen = 0
        for i, (xb, yb) in enumerate(loader):
            if limit is not None and i >= limit:
                break
            opt.zero_grad()
            logits = step(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        return correct / max(seen, 1)

    epoch(limit=20)  # warm up (and compile)
    t = time.perf_counter()
    acc = epoch()
    dt = time.perf_counter() - t
    return {"samples_per_s": len(x) / dt, "peak_rss_mb": peak_rss_mb(), "source": source,
            "accuracy": acc}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--compile", action="store_true", help="also time torch.compile")
    p.add_argument("--chart", help="also write a PNG chart of the ratios to this path")
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        kind, batch, threads = args.worker[0], int(args.worker[1]), int(args.worker[2])
        res = worker_nnfast(batch, threads) if kind == "nnfast" else worker_torch(batch, threads, kind)
        print(json.dumps(res))
        return

    variants = ["nnfast"]
    if have_torch():
        variants += ["eager", "fused"] + (["compile"] if args.compile else [])
    else:
        print("PyTorch not installed: timing nnfast only.")
    rows = []
    chart = RatioChart("Tutorial MNIST MLP training, samples/s")
    for threads in args.threads:
        for batch in args.batch:
            results = {}
            for v in variants:
                runs = [run_worker(__file__, [v, str(batch), str(threads)], threads)
                        for _ in range(args.repeats)]
                results[v] = {"sps": statistics.median(r["samples_per_s"] for r in runs),
                              "rss": max(r["peak_rss_mb"] for r in runs),
                              "source": runs[0]["source"]}
            base = results["nnfast"]
            best_torch = max((results[v]["sps"] for v in variants if v != "nnfast"), default=None)
            for v in variants:
                r = results[v]
                name = "nnfast" if v == "nnfast" else f"torch-{v}"
                ratio = "" if v == "nnfast" else f"{base['sps'] / r['sps']:.2f}x"
                if v != "nnfast":
                    chart.add(f"{threads} thread(s), batch {batch}", name, base["sps"] / r["sps"])
                rows.append([threads, batch, name, f"{r['sps']:.0f}", f"{r['rss']:.0f}", ratio])
            if best_torch:
                rows.append([threads, batch, "nnfast / best torch", "", "",
                             f"{base['sps'] / best_torch:.2f}x"])
    print(f"MNIST MLP, one epoch of {N_TRAIN} samples ({results['nnfast']['source']} data), "
          f"median of {args.repeats} fresh processes")
    print_table(["threads", "batch", "framework", "samples/s", "peak RSS MiB", "nnfast speedup"], rows)
    if args.chart:
        chart.save(args.chart, f"{cpu_name()}; median of {args.repeats} processes")


if __name__ == "__main__":
    main()
