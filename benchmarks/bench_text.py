"""Text preprocessing: nnfast (Cython hot loops) vs a pure-Python implementation of Keras's
algorithms (tests/keras_text_reference.py) on the 25,000 IMDB training reviews decoded back
to text. Both produce identical results (checked here too); prints seconds and the speedup.

    NNFAST_DATASETS=... PYTHONPATH=python python3 benchmarks/bench_text.py [--reviews N]
"""
import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import keras_text_reference as ref  # noqa: E402
import numpy as np  # noqa: E402

from nnfast.preprocessing import text  # noqa: E402
from nnfast.utils import pad_sequences  # noqa: E402


def median_time(fn, repeats):
    # NOTE: the cyclic GC is off while timing (as timeit does): millions of small lists make
    # its full collections dominate and swamp both implementations alike.
    times = []
    out = None
    for _ in range(repeats):
        out = None
        gc.collect()
        gc.disable()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        gc.enable()
    return statistics.median(times), out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reviews", type=int, default=25000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    texts = ref.imdb_texts(args.reviews)
    print(f"{len(texts)} IMDB reviews, {sum(map(len, texts)) / 1e6:.1f} M characters")
    print(f"{'step':<40}{'nnfast s':>10}{'python s':>10}{'speedup':>9}")

    def row(name, ours, theirs, same):
        (a, x), (b, y) = median_time(ours, args.repeats), median_time(theirs, args.repeats)
        assert same(x, y), f"{name}: results differ"
        print(f"{name:<40}{a:>10.3f}{b:>10.3f}{b / a:>9.2f}")
        return x, y

    row("text_to_word_sequence (all reviews)",
        lambda: [text.text_to_word_sequence(t) for t in texts],
        lambda: [ref.text_to_word_sequence(t) for t in texts], lambda x, y: x == y)

    def fit(cls):
        tok = cls(num_words=10000)
        tok.fit_on_texts(texts)
        return tok

    tok_a, tok_b = row("Tokenizer.fit_on_texts", lambda: fit(text.Tokenizer),
                       lambda: fit(ref.Tokenizer), lambda x, y: x.word_index == y.word_index)
    seq_a, seq_b = row("Tokenizer.texts_to_sequences", lambda: tok_a.texts_to_sequences(texts),
                       lambda: tok_b.texts_to_sequences(texts), lambda x, y: x == y)
    row("pad_sequences(maxlen=200)", lambda: pad_sequences(seq_a, maxlen=200),
        lambda: ref.pad_sequences(seq_b, maxlen=200), np.array_equal)
    n = min(5000, len(seq_a))
    for mode in ("binary", "tfidf"):
        row(f"sequences_to_matrix({mode}, {n} rows)",
            lambda: tok_a.sequences_to_matrix(seq_a[:n], mode),
            lambda: tok_b.sequences_to_matrix(seq_b[:n], mode), np.array_equal)
    row("hashing_trick(n=10000) (all reviews)",
        lambda: [text.hashing_trick(t, 10000) for t in texts],
        lambda: [ref.hashing_trick(t, 10000) for t in texts], lambda x, y: x == y)


if __name__ == "__main__":
    main()
