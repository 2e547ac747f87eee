"""Recurrent layers and the IMDB sentiment model: nnfast vs PyTorch CPU, same threads.

Measures (both frameworks in this process; each repeat times nnfast then PyTorch back to
back, so a busy machine slows both alike; medians over the repeats):
  * LSTM / GRU layer forward+backward (batch 32, 100 steps, 128 features, 64 units),
  * the IMDB tutorial model (Embedding(10000, 128) -> LSTM(64) / GRU(64) -> Dense(1,
    sigmoid), Adam, binary crossentropy): training samples/s at batch 32 and prediction
    samples/s at batch 1024, on uniform random ids (default) or real reviews (--data imdb:
    words repeat, so nnfast's fused Embedding -> RNN projects fewer distinct rows).
Prints samples/s and the ratio nnfast / PyTorch (> 1: nnfast is faster).

    PYTHONPATH=python python3 benchmarks/bench_rnn.py [--threads N] [--repeats R]
        [--cells lstm,gru] [--data random|imdb]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

import nnfast
from nnfast import GradientTape, layers, ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RatioChart, cpu_name  # noqa: E402

B, T, F, U, VOCAB = 32, 100, 128, 64, 10000


def paired_times(fn_a, fn_b, repeats, inner):
    """Median seconds per call of fn_a and fn_b, timed alternately (a, b, a, b, ...)."""
    fn_a(), fn_b()  # warm-up
    times = ([], [])
    for _ in range(repeats):
        for fn, out in ((fn_a, times[0]), (fn_b, times[1])):
            t = time.perf_counter()
            for _ in range(inner):
                fn()
            out.append((time.perf_counter() - t) / inner)
    return statistics.median(times[0]), statistics.median(times[1])


def layer_bench(kind, repeats):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, F)).astype(np.float32)
    layer = (layers.LSTM if kind == "lstm" else layers.GRU)(U)
    layer.build((B, T, F))
    xt = nnfast.Variable(x, name="x")

    def nn_step():
        with GradientTape() as tape:
            loss = ops.sum(layer(xt))
        tape.gradient(loss, [xt] + layer.trainable_weights)

    tl = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(F, U, batch_first=True)
    xq = torch.tensor(x, requires_grad=True)

    def torch_step():
        out, _ = tl(xq)
        out[:, -1].sum().backward()

    return paired_times(nn_step, torch_step, repeats, 5)


class TorchModel(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, F)
        self.rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(F, U, batch_first=True)
        self.fc = torch.nn.Linear(U, 1)

    def forward(self, ids):
        out, _ = self.rnn(self.emb(ids))
        return self.fc(out[:, -1]).squeeze(1)


def model_data(source):
    """(ids (1024, T), labels): uniform random ids, or the first 1024 IMDB training reviews
    (num_words=10000, padded/truncated to T as the tutorial does; NNFAST_DATASETS names the
    folder holding imdb.npz), whose word ids repeat as real text does."""
    if source == "imdb":
        from nnfast.datasets import imdb
        from nnfast.preprocessing.sequence import pad_sequences

        (x, y), _ = imdb.load_data(num_words=VOCAB)
        return pad_sequences(x[:1024], maxlen=T).astype(np.int64), np.asarray(y[:1024])
    rng = np.random.default_rng(1)
    return rng.integers(1, VOCAB, size=(1024, T)), rng.integers(0, 2, size=1024)


def model_bench(kind, repeats, source):
    ids, y = model_data(source)
    rnn = layers.LSTM(U) if kind == "lstm" else layers.GRU(U)
    model = nnfast.Sequential([layers.Embedding(VOCAB, F), rnn, layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.build((None, T))
    state = {"i": 0}

    def nn_train():
        s = (state["i"] % 32) * B
        state["i"] += 1
        model.train_on_batch(ids[s:s + B], y[s:s + B])

    def nn_predict():
        model.predict_on_batch(ids)

    tm = TorchModel(kind)
    opt = torch.optim.Adam(tm.parameters(), lr=1e-3, eps=1e-7)
    lossf = torch.nn.BCEWithLogitsLoss()
    ids_t = torch.tensor(ids)
    y_t = torch.tensor(y, dtype=torch.float32)

    def torch_train():
        s = (state["i"] % 32) * B
        state["i"] += 1
        opt.zero_grad()
        lossf(tm(ids_t[s:s + B]), y_t[s:s + B]).backward()
        opt.step()

    def torch_predict():
        with torch.no_grad():
            torch.sigmoid(tm(ids_t))

    train = paired_times(nn_train, torch_train, repeats, 10)
    pred = paired_times(nn_predict, torch_predict, repeats, 1)
    return train, pred


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--cells", default="lstm,gru", help="comma-separated: lstm, gru")
    p.add_argument("--data", default="random", choices=["random", "imdb"],
                   help="IMDB model inputs: uniform random ids or real reviews")
    p.add_argument("--chart", help="also write a PNG chart of the ratios to this path")
    args = p.parse_args()
    chart = RatioChart(f"Recurrent layers, {args.threads} thread(s), {args.data} ids")
    torch.set_num_threads(args.threads)
    nnfast.config.set_num_threads(args.threads)
    print(f"threads={args.threads} data={args.data}  nnfast rnn kernel: "
          f"{nnfast.config.kernel_info()}")
    print(f"{'benchmark':<44}{'nnfast':>12}{'pytorch':>12}{'ratio':>8}")
    for kind in args.cells.split(","):
        a, b = layer_bench(kind, args.repeats)
        print(f"{kind.upper() + ' layer fwd+bwd (32x100x128 -> 64), ms':<44}"
              f"{a * 1e3:>12.2f}{b * 1e3:>12.2f}{b / a:>8.2f}")
        chart.add(f"{kind.upper()} layer fwd+bwd", "PyTorch", b / a)
        (ta, tb), (pa, pb) = model_bench(kind, args.repeats, args.data)
        chart.add(f"IMDB {kind.upper()} train, batch 32", "PyTorch", tb / ta)
        chart.add(f"IMDB {kind.upper()} predict, batch 1024", "PyTorch", pb / pa)
        print(f"{'IMDB ' + kind.upper() + ' train, batch 32, samples/s':<44}"
              f"{B / ta:>12.0f}{B / tb:>12.0f}{tb / ta:>8.2f}")
        print(f"{'IMDB ' + kind.upper() + ' predict, batch 1024, samples/s':<44}"
              f"{1024 / pa:>12.0f}{1024 / pb:>12.0f}{pb / pa:>8.2f}")
    if args.chart:
        chart.save(args.chart, f"{cpu_name()}; median of {args.repeats}")


if __name__ == "__main__":
    main()
