"""Core ops against the NumPy a Keras user would otherwise write, same work, same process:

* ``ops.top_k`` (k largest per row, TF's tie order) vs ``np.argsort`` + ``take_along_axis``
  (Keras's NumPy backend) and vs ``np.argpartition`` (unordered, a lower bound);
* ``ops.logsumexp`` vs ``scipy.special.logsumexp``;
* ``ops.segment_sum`` vs ``np.add.at``;
* ``ops.rfft`` / ``ops.stft`` vs ``np.fft.rfft`` on the same frames.

Medians of several runs; ratio = NumPy time / nnfast time (> 1: nnfast faster).
Run: PYTHONPATH=python python benchmarks/bench_ops_core.py
"""
import os
import sys

import numpy as np
import scipy.special

sys.path.insert(0, os.path.dirname(__file__))
from _common import median_time, print_table
from nnfast import ops

rng = np.random.default_rng(0)


def case_rows():
    rows = []
    logits = rng.standard_normal((64, 32000)).astype(np.float32)
    k = 5
    t_ours = median_time(lambda: ops.top_k(logits, k))
    t_sort = median_time(lambda: np.take_along_axis(
        logits, np.argsort(logits, axis=-1)[..., ::-1][..., :k], axis=-1))
    t_part = median_time(lambda: np.argpartition(logits, -k, axis=-1)[..., -k:])
    rows.append(("top_k (64, 32000) k=5", f"{t_ours * 1e3:.2f}", f"{t_sort * 1e3:.2f}",
                 f"{t_sort / t_ours:.2f}", f"argpartition {t_part * 1e3:.2f} ms"))

    x = rng.standard_normal((256, 4096)).astype(np.float32)
    t_ours = median_time(lambda: ops.logsumexp(x, axis=-1))
    t_ref = median_time(lambda: scipy.special.logsumexp(x, axis=-1))
    rows.append(("logsumexp (256, 4096) axis=-1", f"{t_ours * 1e3:.2f}", f"{t_ref * 1e3:.2f}",
                 f"{t_ref / t_ours:.2f}", "scipy.special"))

    data = rng.standard_normal((100000, 16)).astype(np.float32)
    ids = rng.integers(0, 1000, 100000)

    def add_at():
        out = np.zeros((1000, 16), np.float32)
        np.add.at(out, ids, data)
        return out

    t_ours = median_time(lambda: ops.segment_sum(data, ids, num_segments=1000))
    t_ref = median_time(add_at)
    rows.append(("segment_sum (100000, 16) -> 1000", f"{t_ours * 1e3:.2f}", f"{t_ref * 1e3:.2f}",
                 f"{t_ref / t_ours:.2f}", "np.add.at"))

    sig = rng.standard_normal((8, 16000)).astype(np.float32)
    t_ours = median_time(lambda: ops.stft(sig, 400, 160, 512))
    padded = np.pad(sig, ((0, 0), (256, 256)), mode="reflect")
    win = np.pad(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400), (56, 56))

    def numpy_stft():
        starts = np.arange((padded.shape[-1] - 512) // 160 + 1) * 160
        frames = padded[:, starts[:, None] + np.arange(512)] * win.astype(np.float32)
        return np.fft.rfft(frames, axis=-1)

    t_ref = median_time(numpy_stft)
    rows.append(("stft (8, 16000) 400/160/512", f"{t_ours * 1e3:.2f}", f"{t_ref * 1e3:.2f}",
                 f"{t_ref / t_ours:.2f}", "NumPy frames + rfft"))
    return rows


if __name__ == "__main__":
    import nnfast

    print(f"threads: nnfast {nnfast.config.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          "medians of 5 runs")
    print_table(("op", "nnfast ms", "NumPy ms", "ratio", "reference"), case_rows())
