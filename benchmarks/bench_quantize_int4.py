"""A quantized Dense layer's inference side by side: float32, model.quantize("int8"), and
"int4" per output channel, per block of 128 input rows (Keras's default), and per channel
with inputs quantized per row (which runs the unpacked kernel on the int8 GEMM); PyTorch's
float32 nn.Linear on the same shapes when torch is installed. Median milliseconds of
--repeats calls after a warm-up; the thread count is printed.

    OMP_NUM_THREADS=1 PYTHONPATH=python python benchmarks/bench_quantize_int4.py \
        [--batch 64] [--dim 1024] [--repeats 30]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nnfast
from _common import have_torch, median_time
from nnfast import quantizers


def dense(dim, mode=None, config=None):
    layer = nnfast.layers.Dense(dim)
    layer.build((None, dim))
    if mode:
        layer.quantize(mode, config=config)
    return layer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    x = np.random.default_rng(0).normal(size=(args.batch, args.dim)).astype("float32")
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
          f"Dense {args.dim}->{args.dim}, batch {args.batch}, median of {args.repeats}")
    cases = [
        ("nnfast float32", dense(args.dim)),
        ("nnfast int8", dense(args.dim, "int8")),
        ("nnfast int4 per channel", dense(args.dim, "int4",
                                          quantizers.Int4QuantizationConfig(block_size=None))),
        ("nnfast int4 block 128", dense(args.dim, "int4", quantizers.Int4QuantizationConfig())),
        ("nnfast int4 per channel, int8 inputs", dense(
            args.dim, "int4", quantizers.Int4QuantizationConfig(
                block_size=None, activation_quantizer=quantizers.AbsMaxQuantizer()))),
    ]
    for name, layer in cases:
        ms = median_time(lambda layer=layer: layer(x), repeats=args.repeats) * 1e3
        print(f"{name:40s} {ms:8.3f} ms")
    if have_torch():
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        linear, xt = torch.nn.Linear(args.dim, args.dim), torch.from_numpy(x)
        with torch.no_grad():
            ms = median_time(lambda: linear(xt), repeats=args.repeats) * 1e3
        print(f"{'torch float32 nn.Linear':40s} {ms:8.3f} ms")


if __name__ == "__main__":
    main()
