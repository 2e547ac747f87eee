"""Lower precision side by side: the bfloat16 GEMM against the float32 one, int8 inference,
and training under mixed_bfloat16 against float32, nnfast and PyTorch
(torch.autocast("cpu", dtype=torch.bfloat16)) in the same run.

    python benchmarks/bench_precision.py [--threads 1] [--repeats 3] [--epochs 2]
        [--train mlp,cnn,lstm] [--skip-gemm] [--skip-rnn] [--skip-int8]

GEMM: GFLOP/s of _core.gemm at float32 and at precision="bfloat16" for each bf16
implementation this CPU runs (AMX tiles, AVX512_BF16, rounding + fp32), median of 7.
Recurrences: ms per forward (training) and backward pass of _core.rnn_forward/rnn_backward
for the IMDB LSTM's and a GRU's shapes (batch 32, 100 steps, 128 features, 64 units) at
float32 and at precision="bfloat16" for each bf16 implementation, median of 7 (--skip-rnn
leaves this out).
int8: GOPS of _core.gemm_int8 (exact int32 products of int8 matrices, B packed once) for each
int8 implementation this CPU runs (AMX-INT8, AVX512_VNNI, scalar reference on the small
shapes only) against float32 GFLOP/s on the same shapes; then inference of an MLP
784-512-512-10 (relu) at batch 1 and 128, float32 against model.quantize("int8") on the int8
units and on the float32-GEMM route it replaced, median of 7 (--skip-int8 leaves this out).
Training (part (a) of issue 18), each configuration in a fresh process: samples/s of the last
timed epoch and the test accuracy after the timed epochs, for the MNIST MLP (Flatten ->
Dense(128, relu) -> Dropout(0.2) -> Dense(10, softmax), batch 128, 48,000 images), the MNIST
CNN of Keras's mnist_convnet example (batch 32, the first 12,000 images) and the IMDB LSTM
(Embedding(10000, 128) -> LSTM(64) -> Dense(1, sigmoid), 100 tokens, batch 32, the first
6,400 reviews; all 25,000 test reviews), Adam; the output layer stays float32 as Keras's
mixed-precision guide says.
int8 applications (part (b)): MobileNetV2 and ResNet50 (random weights, batch normalizations
calibrated on one batch so activations keep their scale) at batch 1 and 32, float32 against
model.quantize("int8"), beside PyTorch running the same weights (torch_applications.py) in
float32 and after torch.ao int8 static quantization; each int8 model's top-1 agreement with its
float32 one on --agreement-inputs random images (--apps "" leaves this out). Prints the CPU it
ran on.
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_name, have_torch, print_table, run_worker  # noqa: E402



def median_seconds(fn, repeats=7):
    """Median seconds per call of fn (calls batched to ~50 ms)."""
    fn()
    t0 = time.perf_counter()
    fn()
    reps = max(1, int(0.05 / max(time.perf_counter() - t0, 1e-7)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def int8_gemm_table(repeats=7):
    from nnfast import _core

    rng = np.random.default_rng(0)
    rows = []
    for m, n, k in [(1024, 1024, 1024), (128, 512, 784), (128, 512, 512), (1, 512, 784)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        f32 = 2.0 * m * n * k / median_seconds(lambda: _core.gemm(a, b, c), repeats) / 1e9
        rows.append([f"{m}x{n}x{k}", "float32 GFLOP/s", f"{f32:.1f}", "1.00x"])
        aq = rng.integers(-127, 128, (m, k), dtype=np.int8)
        packed = _core.int8_pack_kernel(rng.integers(-127, 128, (k, n), dtype=np.int8))
        ci = np.empty((m, n), np.int32)
        for v in _core.gemm_int8_variants():
            if v == "ref" and m * n * k > 2**24:
                continue  # the scalar reference takes seconds here
            ops = 2.0 * m * n * k / median_seconds(
                lambda: _core.gemm_int8(aq, packed, ci, variant=v), repeats) / 1e9
            rows.append([f"{m}x{n}x{k}", f"int8 {v} GOPS", f"{ops:.1f}", f"{ops / f32:.2f}x"])
    return rows


def int8_inference_table(repeats=7):
    import nnfast
    from nnfast.ops import quantized

    def mlp():
        rng = np.random.default_rng(0)
        model = nnfast.Sequential([nnfast.Input((784,)), nnfast.layers.Dense(512, "relu"),
                                   nnfast.layers.Dense(512, "relu"),
                                   nnfast.layers.Dense(10)])
        model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.05
                           for w in model.get_weights()])
        return model

    float_model, int8_model = mlp(), mlp()
    int8_model.quantize("int8")
    rows = []
    for batch in (1, 128):
        x = np.random.default_rng(batch).random((batch, 784), dtype=np.float32)
        base = median_seconds(lambda: float_model(x), repeats)
        rows.append([batch, "float32", f"{base * 1e6:.0f}", "1.00x"])
        t = median_seconds(lambda: int8_model(x), repeats)
        rows.append([batch, f"int8 ({nnfast._core.gemm_int8_kernel_name()})", f"{t * 1e6:.0f}",
                     f"{base / t:.2f}x"])
        saved = quantized.int8_units_available
        quantized.int8_units_available = lambda: False  # the float32-GEMM route
        try:
            t = median_seconds(lambda: int8_model(x), repeats)
        finally:
            quantized.int8_units_available = saved
        rows.append([batch, "int8 (float32 GEMM route)", f"{t * 1e6:.0f}", f"{base / t:.2f}x"])
    return rows


def calibrate_batch_norms(model, x):
    """Sets every BatchNormalization's moving statistics to those of ``x`` (one forward pass in
    training mode with momentum 0), so a random-weight network's activations have the unit
    scale a trained network's have; otherwise they shrink layer by layer and every image lands
    on one nearly uniform softmax (top-1 agreement then says nothing)."""
    import nnfast

    norms = [layer for layer in model.layers
             if isinstance(layer, nnfast.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(x, training=True)
    for layer, momentum in zip(norms, saved):
        layer.momentum = momentum


def int8_applications_table(names, agreement_inputs, repeats=3):
    """Part (b): Keras applications (random weights, none are downloaded offline; batch
    normalizations calibrated on one batch, see calibrate_batch_norms) at batch 1 and 32:
    nnfast float32 against model.quantize("int8"), and the same weights in PyTorch
    (torch_applications.py) float32 against torch.ao's int8 static quantization (FX, x86
    engine, calibrated on 4 batches of 8), each PyTorch model timed in NCHW and channels_last
    and the faster taken; median seconds per call. Then top-1 agreement of each int8 model
    with its float32 model on ``agreement_inputs`` random images.

    Returns (timing rows, agreement rows)."""
    import warnings

    import nnfast

    torch = None
    if have_torch():
        import torch
        from torch_applications import (TorchMobileNetV2, TorchResNet50, copy_weights,
                                        quantize_int8)
        torch_builders = {"MobileNetV2": TorchMobileNetV2, "ResNet50": TorchResNet50}
    rows, agreement = [], []
    rng = np.random.default_rng(0)
    for name in names:
        nnfast.utils.set_random_seed(0)
        make = getattr(nnfast.applications, name)
        float_model = make(weights=None)
        calibrate_batch_norms(float_model,
                              rng.uniform(-1, 1, (32, 224, 224, 3)).astype(np.float32))
        int8_model = make(weights=None)
        int8_model.set_weights(float_model.get_weights())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # layers without int8 kernels stay float32
            int8_model.quantize("int8")
        nets = {"nnfast float32": float_model.predict_on_batch,
                "nnfast int8": int8_model.predict_on_batch}
        if torch is not None and name in torch_builders:
            torch.set_num_threads(nnfast.config.get_num_threads())
            tfloat = torch_builders[name]().eval()
            copy_weights(float_model, tfloat)
            calib = [torch.from_numpy(rng.uniform(-1, 1, (8, 3, 224, 224)).astype(np.float32))
                     for _ in range(4)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao's deprecation notices
                tint8 = quantize_int8(copy.deepcopy(tfloat), calib)

            def torch_call(module, channels_last):
                def run(x):
                    xt = torch.from_numpy(x.transpose(0, 3, 1, 2))
                    if channels_last:
                        xt = xt.contiguous(memory_format=torch.channels_last)
                    with torch.inference_mode():
                        return module(xt).numpy()
                return run

            nets["torch float32"] = (torch_call(tfloat, False), torch_call(tfloat, True))
            nets["torch int8"] = (torch_call(tint8, False), torch_call(tint8, True))
        for batch in (1, 32):
            x = rng.uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
            t = {}
            for label, fn in nets.items():
                fns = fn if isinstance(fn, tuple) else (fn,)
                t[label] = min(median_seconds(lambda f=f: f(x), repeats) for f in fns)
            row = [name, batch, f"{t['nnfast float32'] * 1e3:.1f}",
                   f"{t['nnfast int8'] * 1e3:.1f}",
                   f"{t['nnfast float32'] / t['nnfast int8']:.2f}x"]
            if "torch int8" in t:
                row += [f"{t['torch float32'] * 1e3:.1f}", f"{t['torch int8'] * 1e3:.1f}",
                        f"{t['torch float32'] / t['torch int8']:.2f}x",
                        f"{t['torch int8'] / t['nnfast int8']:.2f}x"]
            else:
                row += ["-", "-", "-", "-"]
            rows.append(row)
        agree = {"nnfast": 0, "torch": 0}
        total = 0
        classes = set()
        for start in range(0, agreement_inputs, 32):
            x = rng.uniform(-1, 1, (min(32, agreement_inputs - start), 224, 224, 3))
            x = x.astype(np.float32)
            top = {label: np.argmax((fn[0] if isinstance(fn, tuple) else fn)(x), 1)
                   for label, fn in nets.items()}
            for fw in agree:
                if f"{fw} int8" in top:
                    agree[fw] += int(np.sum(top[f"{fw} float32"] == top[f"{fw} int8"]))
            total += len(x)
            classes.update(top["nnfast float32"].tolist())
        agreement.append([name, f"{100 * agree['nnfast'] / max(total, 1):.1f}%",
                          f"{100 * agree['torch'] / max(total, 1):.1f}%"
                          if "torch int8" in nets else "-", total, len(classes)])
    return rows, agreement


def gemm_table(repeats=7):
    from nnfast import _core

    rng = np.random.default_rng(0)
    rows = []
    for m, n, k in [(1024, 1024, 1024), (128, 128, 784), (784, 128, 128), (128, 784, 128)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        rates = {}
        for label, kw in [("float32", {})] + [
                (f"bf16 {v}", {"precision": "bfloat16", "bf16_variant": v})
                for v in _core.gemm_bf16_variants()]:
            fn = lambda: _core.gemm(a, b, c, **kw)  # noqa: E731
            fn()
            t0 = time.perf_counter()
            fn()
            reps = max(1, int(0.05 / max(time.perf_counter() - t0, 1e-7)))
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(reps):
                    fn()
                times.append((time.perf_counter() - t0) / reps)
            rates[label] = 2.0 * m * n * k / statistics.median(times) / 1e9
        for label, rate in rates.items():
            rows.append([f"{m}x{n}x{k}", label, f"{rate:.1f}", f"{rate / rates['float32']:.2f}x"])
    return rows


def rnn_table(repeats=7):
    """Rows of the recurrence table: (cell, precision, forward ms, backward ms, speed)."""
    from nnfast import _core

    rng = np.random.default_rng(0)
    batch, steps, features, units = 32, 100, 128, 64
    x = rng.standard_normal((batch, steps, features)).astype(np.float32)
    g = rng.standard_normal((batch, steps, units)).astype(np.float32)
    rows = []
    for cell, cell_id, gates in [("LSTM", 0, 4), ("GRU", 1, 3)]:
        kernel = (rng.standard_normal((features, gates * units)) * 0.1).astype(np.float32)
        rec = (rng.standard_normal((units, gates * units)) * 0.1).astype(np.float32)
        bias = np.zeros((2, gates * units) if cell_id == 1 else gates * units, np.float32)
        ws = np.empty(_core.rnn_workspace_size(cell_id, x, units, True, True), np.float32)
        h_seq = np.empty((batch, steps, units), np.float32)
        h_last = np.empty((batch, units), np.float32)
        c_last = np.empty((batch, units), np.float32) if cell_id == 0 else None
        grads = [np.empty_like(a) for a in (x, kernel, rec, bias)]
        base = None
        for label, kw in [("float32", {})] + [
                (f"bf16 {v}", {"precision": "bfloat16", "bf16_variant": v})
                for v in _core.gemm_bf16_variants()]:
            def forward():
                _core.rnn_forward(cell_id, x, kernel, rec, bias, None, None, None, None, h_seq,
                                  h_last, c_last, ws, True, **kw)

            def backward():
                _core.rnn_backward(cell_id, x, kernel, rec, None, None, None, None, h_seq, ws,
                                   g, None, None, *grads, None, None, **kw)

            forward()
            fwd, bwd = median_seconds(forward, repeats), median_seconds(backward, repeats)
            base = base or fwd + bwd
            rows.append([cell, label, f"{1e3 * fwd:.2f}", f"{1e3 * bwd:.2f}",
                         f"{base / (fwd + bwd):.2f}x"])
    return rows


def load_mnist(images=False):
    import nnfast

    (x, y), (xt, yt) = nnfast.datasets.mnist.load_data()
    x = (x[:48000] / 255.0).astype(np.float32)
    xt = (xt / 255.0).astype(np.float32)
    if images:
        x, xt = x[..., None], xt[..., None]
    return x, y[:48000].astype(np.int64), xt, yt.astype(np.int64)


def load_imdb():
    import nnfast
    from nnfast.utils import pad_sequences

    (x, y), (xt, yt) = nnfast.datasets.imdb.load_data(num_words=IMDB_VOCAB)
    pad = lambda s: pad_sequences(s, maxlen=IMDB_LEN).astype(np.int64)  # noqa: E731
    return pad(x), np.asarray(y, np.int64), pad(xt), np.asarray(yt, np.int64)


# The training workloads of part (a): (data, batch size, training samples used).
# MLP: the MNIST tutorial; CNN: Keras's mnist_convnet (batch 32, as the issue asks); LSTM:
# the IMDB tutorial (Embedding(10000, 128) -> LSTM(64) -> Dense(1, sigmoid), 100 tokens).
WORKLOADS = {"mlp": (128, 48000), "cnn": (32, 12000), "lstm": (32, 6400)}
IMDB_VOCAB, IMDB_LEN = 10000, 100


def data_for(workload):
    return load_imdb() if workload == "lstm" else load_mnist(images=workload == "cnn")


def nnfast_model(workload):
    import nnfast
    from nnfast import layers as L

    if workload == "mlp":
        return nnfast.Sequential([nnfast.Input((28, 28)), L.Flatten(),
                                  L.Dense(128, activation="relu"), L.Dropout(0.2),
                                  L.Dense(10, activation="softmax", dtype="float32")])
    if workload == "cnn":
        return nnfast.Sequential([nnfast.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                                  L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                                  L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                                  L.Dense(10, activation="softmax", dtype="float32")])
    return nnfast.Sequential([nnfast.Input((IMDB_LEN,), dtype="int64"),
                              L.Embedding(IMDB_VOCAB, 128), L.LSTM(64),
                              L.Dense(1, activation="sigmoid", dtype="float32")])


def worker_nnfast(workload, policy, epochs):
    import nnfast

    batch, samples = WORKLOADS[workload]
    x, y, xt, yt = data_for(workload)
    x, y = x[:samples], y[:samples]
    nnfast.mixed_precision.set_global_policy(policy)
    nnfast.utils.set_random_seed(0)
    model = nnfast_model(workload)
    loss = "binary_crossentropy" if workload == "lstm" else "sparse_categorical_crossentropy"
    model.compile("adam", loss, metrics=["accuracy"])
    model.fit(x[:batch * 20], y[:batch * 20], batch_size=batch, epochs=1, verbose=0)  # warm up
    for _ in range(epochs):
        t = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        dt = time.perf_counter() - t
    acc = model.evaluate(xt, yt, batch_size=1024, verbose=0)[1]
    return {"samples_per_s": len(x) / dt, "test_accuracy": float(acc)}


def torch_model(workload):
    from torch import nn

    if workload == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(128, 10))
    if workload == "cnn":  # NCHW, as PyTorch's convolutions expect
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Dropout(0.5), nn.Linear(1600, 10))

    class ImdbLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(IMDB_VOCAB, 128)
            self.rnn = nn.LSTM(128, 64, batch_first=True)
            self.out = nn.Linear(64, 1)

        def forward(self, ids):
            return self.out(self.rnn(self.emb(ids))[0][:, -1]).squeeze(1)

    return ImdbLstm()


def worker_torch(workload, policy, epochs):
    import contextlib

    import torch
    from torch import nn

    torch.manual_seed(0)
    batch, samples = WORKLOADS[workload]
    x, y, xt, yt = data_for(workload)
    x, y = x[:samples], y[:samples]
    if workload == "cnn":
        x, xt = x.transpose(0, 3, 1, 2).copy(), xt.transpose(0, 3, 1, 2).copy()
    target = (lambda t: t.float()) if workload == "lstm" else (lambda t: t)  # noqa: E731
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=batch, shuffle=True)
    model = torch_model(workload)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss() if workload == "lstm" else nn.CrossEntropyLoss()

    def autocast():
        if policy == "mixed_bfloat16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def epoch(limit=None):
        model.train()
        for i, (xb, yb) in enumerate(loader):
            if limit is not None and i >= limit:
                break
            opt.zero_grad()
            with autocast():
                loss = loss_fn(model(xb).float(), target(yb))
            loss.backward()
            opt.step()

    epoch(limit=20)
    for _ in range(epochs):
        t = time.perf_counter()
        epoch()
        dt = time.perf_counter() - t
    model.eval()
    with torch.no_grad(), autocast():
        out = torch.cat([model(torch.from_numpy(xt[i:i + 1024])).float()
                         for i in range(0, len(xt), 1024)])
    pred = (out > 0).long().numpy() if workload == "lstm" else out.argmax(1).numpy()
    return {"samples_per_s": len(x) / dt, "test_accuracy": float((pred == yt).mean())}


def training_table(workload, epochs, repeats, threads):
    """Rows of part (a) for one workload: each configuration in fresh processes."""
    configs = [("nnfast", "float32"), ("nnfast", "mixed_bfloat16")]
    if have_torch():
        configs += [("torch", "float32"), ("torch", "mixed_bfloat16")]
    results = {}
    for framework, policy in configs:
        runs = [run_worker(__file__, [workload, framework, policy, str(epochs)], threads)
                for _ in range(repeats)]
        results[(framework, policy)] = (
            statistics.median(r["samples_per_s"] for r in runs),
            statistics.median(r["test_accuracy"] for r in runs))
    base = results[("nnfast", "float32")][0]
    return [[fw, pol, f"{sps:.0f}", f"{sps / base:.2f}x", f"{100 * acc:.2f}%"]
            for (fw, pol), (sps, acc) in results.items()]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--skip-int8", action="store_true")
    p.add_argument("--train", default="mlp,cnn,lstm",
                   help="training workloads of part (a), comma-separated (empty: none)")
    p.add_argument("--skip-gemm", action="store_true")
    p.add_argument("--skip-rnn", action="store_true")
    p.add_argument("--apps", default="MobileNetV2,ResNet50",
                   help="applications of part (b), int8 inference (empty: none)")
    p.add_argument("--agreement-inputs", type=int, default=1000,
                   help="random images for part (b)'s top-1 agreement")
    p.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        workload, framework, policy, epochs = args.worker
        fn = worker_nnfast if framework == "nnfast" else worker_torch
        print(json.dumps(fn(workload, policy, int(epochs))))
        return
    import nnfast

    nnfast.config.set_num_threads(args.threads)
    print(f"{cpu_name()}; {args.threads} thread(s); bf16 GEMM: "
          f"{nnfast._core.gemm_bf16_kernel_name()}")
    if not args.skip_gemm:
        print_table(["GEMM m x n x k", "precision", "GFLOP/s", "vs float32"], gemm_table())
        print()
    if not args.skip_rnn:
        print("Recurrences (batch 32, 100 steps, 128 -> 64 units), median ms per pass")
        print_table(["cell", "precision", "forward ms", "backward ms", "vs float32"],
                    rnn_table())
        print()
    if not args.skip_int8:
        print(f"int8 GEMM: {nnfast._core.gemm_int8_kernel_name()}")
        print_table(["GEMM m x n x k", "kernel", "rate", "vs float32"], int8_gemm_table())
        print()
        print("MLP 784-512-512-10 inference (model(x)), median microseconds per call")
        print_table(["batch", "model", "us/call", "speed vs float32"], int8_inference_table())
        print()
    apps = [a for a in args.apps.split(",") if a]
    if apps:
        print("int8 inference of Keras applications (random weights, batch norms calibrated "
              "on one batch), ms per call, median of 3; PyTorch: the same weights in torch.nn, "
              "int8 by torch.ao static quantization (FX, x86 engine); torch int8 / nnfast int8 "
              "> 1 means nnfast is faster")
        timing, agreement = int8_applications_table(apps, args.agreement_inputs)
        print_table(["model", "batch", "nnfast f32 ms", "nnfast int8 ms", "nnfast int8 speed",
                     "torch f32 ms", "torch int8 ms", "torch int8 speed",
                     "torch int8 / nnfast int8"], timing)
        print()
        print("top-1 agreement of each int8 model with its float32 model")
        print_table(["model", "nnfast int8", "torch int8", "inputs", "float32 classes"],
                    agreement)
        print()
    for workload in args.train.split(","):
        if not workload:
            continue
        batch, samples = WORKLOADS[workload]
        print(f"{workload.upper()} training, batch {batch}, {samples} samples, {args.epochs} "
              f"timed epoch(s), median of {args.repeats} processes")
        print_table(["framework", "policy", "samples/s", "vs nnfast float32", "test accuracy"],
                    training_table(workload, args.epochs, args.repeats, args.threads))
        print()


if __name__ == "__main__":
    main()
