"""TextVectorization throughput: nnfast vs Keras 3 (TensorFlow backend) on IMDB reviews
decoded back to text (with the capitalised first word and a final "!" so standardization
has work). Measures ``adapt`` (max_tokens=20000, all reviews at once) and ``call`` in "int" mode
(output_sequence_length=200) and in "multi_hot" mode (batches of ``--batch`` reviews, as a
data pipeline feeds a model), each the median of a few runs, and
checks that both produce the same vocabulary and outputs (a SHA-256 of the int ids, and of
the multi-hot outputs' row and column sums). Each
framework gets the texts in its native string form (a tf.constant for Keras, a list of str
for nnfast), converted before timing.

    NNFAST_DATASETS=... PYTHONPATH=python python3 benchmarks/bench_text_vectorization.py \
        [--reviews 25000] [--keras-python /work/kerasvenv/bin/python]
"""
import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def imdb_texts(n):
    root = os.environ.get("NNFAST_DATASETS", os.path.expanduser("~/.keras/datasets"))
    with np.load(os.path.join(root, "imdb.npz"), allow_pickle=True) as f:
        seqs = f["x_train"][:n]
    with open(os.path.join(root, "imdb_word_index.json")) as f:
        index = {i + 3: w for w, i in json.load(f).items()}
    texts = []
    for s in seqs:
        words = [index.get(i, "?") for i in s[1:]]
        if words:
            words[0] = words[0].capitalize()
        texts.append(" ".join(words) + "!")
    return np.array(texts)


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def digest(arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def run(keras, texts, repeats, to_numpy, batch):
    """adapt on all texts; calls batch by batch (as a data pipeline feeds a model), so the
    (reviews, 20000) multi-hot output never sits in memory at once."""
    out = {}
    chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    layer = keras.layers.TextVectorization(max_tokens=20000, output_sequence_length=200)
    out["adapt_s"], _ = timed(lambda: layer.adapt(texts), repeats)
    out["vocab_sha"] = hashlib.sha256("\n".join(layer.get_vocabulary()).encode()).hexdigest()[:16]
    out["call_int_s"], ids = timed(lambda: [to_numpy(layer(c)) for c in chunks], repeats)
    out["int_sha"] = digest(i.astype(np.int64) for i in ids)
    hot = keras.layers.TextVectorization(max_tokens=20000, output_mode="multi_hot",
                                         vocabulary=layer.get_vocabulary()[2:])


    def multi_hot_sums():
        # per-token column sums and per-review row sums: a cheap, order-sensitive summary
        # that keeps the outputs out of memory and hashing out of the timing
        cols, rows = 0, []
        for c in chunks:
            a = to_numpy(hot(c))
            cols = cols + a.sum(axis=0, dtype=np.float64)
            rows.append(a.sum(axis=1, dtype=np.float64))
        return cols, np.concatenate(rows)

    out["call_multi_hot_s"], (cols, rows) = timed(multi_hot_sums, repeats)
    out["multi_hot_sha"] = digest([cols, rows])
    return out


def worker(framework, n, repeats, batch):
    texts = imdb_texts(n)
    if framework == "keras":
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        import keras
        import tensorflow as tf

        texts = tf.constant(texts)
        result = run(keras, texts, repeats, lambda t: np.asarray(t), batch)
    else:
        import nnfast as keras

        texts = texts.tolist()  # a list of str: nnfast's native string batch, as tf.constant
        result = run(keras, texts, repeats, lambda t: t.numpy(), batch)
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reviews", type=int, default=25000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--keras-python", default=None)
    p.add_argument("--worker", choices=["nnfast", "keras"])
    args = p.parse_args()
    if args.worker:
        worker(args.worker, args.reviews, args.repeats, args.batch)
        return
    results = {}
    cmds = {"nnfast": sys.executable}
    if args.keras_python:
        cmds["keras"] = args.keras_python
    for name, python in cmds.items():
        proc = subprocess.run([python, os.path.abspath(__file__), "--worker", name,
                               "--reviews", str(args.reviews), "--repeats", str(args.repeats),
                               "--batch", str(args.batch)],
                              capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"IMDB reviews: {args.reviews}")
    for key in ("adapt_s", "call_int_s", "call_multi_hot_s"):
        row = "  ".join(f"{n}={r[key]:.3f}s" for n, r in results.items())
        if "keras" in results:
            row += f"  speedup={results['keras'][key] / results['nnfast'][key]:.1f}x"
        print(f"{key:18s} {row}")
    if "keras" in results:
        for key in ("vocab_sha", "int_sha", "multi_hot_sha"):
            same = results["keras"][key] == results["nnfast"][key]
            print(f"{key:18s} {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
