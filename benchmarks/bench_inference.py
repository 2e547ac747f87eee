"""Inference throughput of the ImageNet applications: nnfast vs PyTorch CPU.

MobileNetV2 and ResNet50 at 224x224x3 with random weights, batch 1 and 32, 1 and 2 threads.
PyTorch runs the same architectures written with torch.nn (torch_applications.py; torchvision is not needed;
the stride-2 convolutions pad like Keras's, so the work is identical), in eval mode under
``torch.inference_mode()``, in its default NCHW layout and in channels_last; the faster of
the two is the competitor. nnfast runs ``model(x, training=False)`` (NHWC).

When ``onnxruntime`` (and ``onnx``) are installed, an extra column runs the same nnfast model
exported with ``model.export(..., format="onnx")`` in ONNX Runtime's CPU provider (all graph
optimizations, ``intra_op_num_threads`` = the thread count, sequential execution), fed the
same NHWC batch; ``--no-onnxruntime`` leaves it out.

Memory: nnfast serves its large arrays from its buffer cache; PyTorch's CPU allocator asks
glibc, which maps every block above its mmap threshold afresh (page faults on each op), and
how high that threshold has drifted depends on what else the process freed. So that PyTorch
gets its best case and not an accident of the process, the benchmark first sets glibc's
thresholds high (``mallopt``, as ``MALLOC_MMAP_THRESHOLD_`` would); ``--default-malloc``
leaves them alone. The frameworks
alternate round by round; each round times a loop of at least 0.3 s. The table gives the
best round (least disturbed by other processes on a shared machine) and, in brackets, the
median round. Ratios (best vs best) > 1 mean nnfast is faster.

    PYTHONPATH=python python3 benchmarks/bench_inference.py [--threads 1 2] [--repeats 5]
        [--models mobilenet_v2 resnet50] [--batches 1 32]
"""
import argparse
import ctypes
import ctypes.util
import os
import statistics
import sys
import time

import numpy as np

import nnfast
from nnfast import applications

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import RatioChart, cpu_name  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

try:
    import onnx  # noqa: F401  (the exporter needs it)
    import onnxruntime
except ImportError:  # pragma: no cover
    onnxruntime = None


# --- the PyTorch reference architectures (torch_applications.py) ------------------------------
if torch is not None:
    from torch_applications import TorchMobileNetV2, TorchResNet50


# --- timing ---------------------------------------------------------------------------------
def timeit(fn, min_seconds=0.3):
    """Mean seconds per call over a loop of at least ``min_seconds``."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def side_by_side(fns, repeats):
    """(best, median) seconds per call of each function, measured in alternating rounds."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns):
            t.append(timeit(fn))
    return [(min(t), statistics.median(t)) for t in times]


def keep_freed_memory_mapped():
    """glibc: serve blocks up to 1 GiB from the heap and never trim it, so freed tensors are
    reused without page faults (mallopt M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(libc.mallopt(-1, 2 ** 31 - 1)) and bool(libc.mallopt(-3, 1 << 30))


def count_params(module):
    """Parameters plus batch-norm statistics, as Keras counts them."""
    stats = sum(b.numel() for b in module.buffers() if b.dtype.is_floating_point)
    return sum(p.numel() for p in module.parameters()) + stats


def onnxruntime_session(model, threads):
    """An ONNX Runtime CPU session of ``model`` exported by nnfast (or None without ORT)."""
    if onnxruntime is None:
        return None
    from nnfast.export.model_export import model_to_onnx

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(model_to_onnx(model).SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--models", nargs="+", default=["mobilenet_v2", "resnet50"],
                        choices=["mobilenet_v2", "resnet50"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--chart", help="also write a PNG chart of the ratios to this path")
    parser.add_argument("--no-onnxruntime", action="store_true",
                        help="leave out the ONNX Runtime column")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's mmap/trim thresholds as they are")
    args = parser.parse_args()
    if torch is None:
        raise SystemExit("PyTorch is not installed: nothing to compare with.")
    tuned = not args.default_malloc and keep_freed_memory_mapped()
    use_ort = onnxruntime is not None and not args.no_onnxruntime

    builders = {"mobilenet_v2": (lambda: applications.MobileNetV2(weights=None),
                                 TorchMobileNetV2),
                "resnet50": (lambda: applications.ResNet50(weights=None), TorchResNet50)}
    print(f"nnfast {nnfast.__version__} (ISA {nnfast.config.active_isa()}), "
          f"torch {torch.__version__}"
          f"{f', onnxruntime {onnxruntime.__version__}' if use_ort else ''}; 224x224x3, random weights; glibc malloc "
          f"{'tuned for reuse' if tuned else 'default'}; images/s: best of "
          f"{args.repeats} rounds (median)")
    rng = np.random.default_rng(0)
    chart = RatioChart("Inference at 224x224, images/s")
    for name in args.models:
        build_nn, build_torch = builders[name]
        model = build_nn()
        tmodel = build_torch().eval()
        assert count_params(tmodel) == model.count_params(), (name, count_params(tmodel),
                                                                model.count_params())
        tmodel_cl = build_torch().eval().to(memory_format=torch.channels_last)
        for threads in args.threads:
            nnfast.config.set_num_threads(threads)
            torch.set_num_threads(threads)
            session = onnxruntime_session(model, threads) if use_ort else None
            for batch in args.batches:
                x = rng.uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
                xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
                xt_cl = xt.contiguous(memory_format=torch.channels_last)

                def run_nn():
                    model(x, training=False)

                def run_torch():
                    with torch.inference_mode():
                        tmodel(xt)

                def run_torch_cl():
                    with torch.inference_mode():
                        tmodel_cl(xt_cl)

                fns = [run_nn, run_torch, run_torch_cl]
                if session is not None:
                    feed = {session.get_inputs()[0].name: x}
                    fns.append(lambda: session.run(None, feed))
                times = side_by_side(fns, args.repeats)
                nn_t, t_t, cl_t = times[:3]

                def rate(t):
                    return f"{batch / t[0]:7.2f} ({batch / t[1]:6.2f})"

                ratio = min(t_t[0], cl_t[0]) / nn_t[0]
                label = f"{name}, {threads} thread(s), batch {batch}"
                chart.add(label, "PyTorch", ratio)
                if session is not None:
                    chart.add(label, "ONNX Runtime", times[3][0] / nn_t[0])
                ort_col = "" if session is None else (
                    f"  onnxruntime {rate(times[3])}  ratio vs onnxruntime "
                    f"{times[3][0] / nn_t[0]:5.2f}x")
                print(f"{name:<13} threads {threads} batch {batch:>3}:  nnfast {rate(nn_t)}  "
                      f"torch NCHW {rate(t_t)}  torch NHWC {rate(cl_t)}  "
                      f"ratio vs faster torch {ratio:5.2f}x{ort_col}", flush=True)
    if args.chart:
        chart.save(args.chart, f"{cpu_name()}; best of {args.repeats} rounds")


if __name__ == "__main__":
    main()
