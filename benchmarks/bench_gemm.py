"""SGEMM GFLOP/s: nnfast vs NumPy's BLAS (OpenBLAS here) vs PyTorch (MKL), same run.

Shapes: 1024^3, 2048^3 and the Dense layers of the tutorial MLP (784->128, 128->10) at batch
32 and 128: forward X W, dW = X^T dY (TN) and dX = dY W^T (NT). Each thread count runs in a
subprocess with OPENBLAS/MKL/OMP thread variables set (and threadpoolctl when installed), so
every library gets the same number of cores. Prints the median of several runs, the ratio
nnfast / best other, and the fraction of the FMA peak measured by the C++ benchmark's loop
(when that binary is built; otherwise the column shows "-").

    python benchmarks/bench_gemm.py [--quick] [--threads 1 2]
"""

import argparse
import os
import subprocess
import sys
import time

SHAPES = [("square 1024", 1024, 1024, 1024, False, False), ("square 2048", 2048, 2048, 2048, False, False)]
for _batch in (32, 128):
    for _in, _out in ((784, 128), (128, 10)):
        SHAPES += [
            (f"fwd  b{_batch} {_in}->{_out}", _batch, _out, _in, False, False),
            (f"dW   b{_batch} {_in}->{_out}", _in, _out, _batch, True, False),
            (f"dX   b{_batch} {_in}->{_out}", _batch, _in, _out, False, True),
        ]


def _median_gflops(fn, flops, runs, min_seconds):
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(min_seconds / once))
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        rates.append(flops * reps / (time.perf_counter() - t0) / 1e9)
    rates.sort()
    return rates[len(rates) // 2]


def _fma_peak(threads):
    """FMA peak of `threads` cores from the C++ benchmark binary when it is built, else None."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    for build in ("build/bench", "build/dev", "build/release", "build"):
        exe = os.path.join(root, build, "benchmarks", "cpp", "bench_gemm")
        if os.path.exists(exe):
            out = subprocess.run([exe, "--peak-only", f"--threads={threads}"], capture_output=True,
                                 text=True, check=False).stdout
            for line in out.splitlines():
                if "measured FMA peak" in line:
                    return float(line.split("peak")[1].split()[0])
    return None


def worker(threads, quick):
    import numpy as np

    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(threads)
    except ImportError:
        pass
    from nnfast import _core

    _core.set_num_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        torch = None

    # NOTE: on a shared machine the peak is re-measured and the best kept, so a busy moment
    # does not inflate %peak.
    peak = max((p for p in (_fma_peak(threads) for _ in range(3)) if p), default=None)
    runs, min_seconds = (3, 0.02) if quick else (7, 0.1)
    rng = np.random.default_rng(0)
    head = f"{'shape':22s} {'m x n x k':>16s} {'op':>2s} {'nnfast':>8s} {'numpy':>8s} {'torch':>8s} {'ratio':>6s} {'%peak':>6s}"
    print(f"# {threads} thread(s); nnfast kernel {_core.gemm_kernel_name()}; "
          f"FMA peak {peak if peak else float('nan'):.1f} GFLOP/s; GFLOP/s, median of {runs}")
    print(head)
    for label, m, n, k, ta, tb in SHAPES:
        if quick and m >= 2048:
            continue
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        op_a, op_b = (a.T if ta else a), (b.T if tb else b)
        flops = 2.0 * m * n * k
        ours = _median_gflops(lambda: _core.gemm(a, b, c, trans_a=ta, trans_b=tb), flops, runs, min_seconds)
        others = {"numpy": _median_gflops(lambda: np.matmul(op_a, op_b, out=c), flops, runs, min_seconds)}
        if torch is not None:
            ta_, tb_, tc_ = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
            ta_ = ta_.t() if ta else ta_
            tb_ = tb_.t() if tb else tb_
            others["torch"] = _median_gflops(lambda: torch.mm(ta_, tb_, out=tc_), flops, runs, min_seconds)
        ratio = ours / max(others.values())
        op = ("T" if ta else "N") + ("T" if tb else "N")
        torch_s = f"{others['torch']:8.1f}" if "torch" in others else f"{'-':>8s}"
        frac = f"{100 * ours / peak:5.1f}%" if peak else f"{'-':>6s}"
        print(f"{label:22s} {f'{m}x{n}x{k}':>16s} {op:>2s} {ours:8.1f} {others['numpy']:8.1f} {torch_s} {ratio:6.2f} {frac}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs; skip 2048^3")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.quick)
        return
    for threads in args.threads:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(threads)]
        if args.quick:
            cmd.append("--quick")
        subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
