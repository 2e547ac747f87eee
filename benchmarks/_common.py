"""Helpers shared by the Python benchmarks: timing medians, worker subprocesses, tables."""
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def median_time(fn, repeats=5, warmup=1):
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_rss_mb():
    """Peak resident memory of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_worker(script, args, threads):
    """Runs ``script --worker ...`` in a fresh process (so peak memory is per framework) and
    returns the JSON object it prints last."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, script, "--worker", *args], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def have_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


def print_table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).rjust(w) for h, w in zip(headers, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))


class RatioChart:
    """Collects nnfast's speed over each peer's, one bar per benchmark row, and writes them
    as a horizontal bar chart (PNG, matplotlib) with the parity line at 1x: above 1, nnfast
    is faster. Benchmarks take ``--chart PATH``; README's charts were written that way."""

    def __init__(self, title):
        self.title = title
        self.bars = []  # (row label, peer, ratio)

    def add(self, label, peer, ratio):
        self.bars.append((str(label), str(peer), float(ratio)))

    def save(self, path, note=""):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise SystemExit("--chart needs matplotlib: pip install matplotlib") from None
        peers = sorted({peer for _, peer, _ in self.bars})
        colors = dict(zip(peers, plt.get_cmap("tab10").colors))
        labels = [f"{label}  vs {peer}" for label, peer, _ in self.bars]
        ratios = [ratio for _, _, ratio in self.bars]
        fig, ax = plt.subplots(figsize=(9, 0.38 * len(self.bars) + 1.4))
        ys = list(range(len(self.bars)))[::-1]
        ax.barh(ys, ratios, color=[colors[peer] for _, peer, _ in self.bars])
        ax.set_yticks(ys, labels, fontsize=8)
        ax.axvline(1.0, color="black", linewidth=1)
        for y, ratio in zip(ys, ratios):
            ax.text(ratio, y, f" {ratio:.2f}x", va="center", fontsize=8)
        ax.set_xlabel("nnfast speed / peer speed (higher is better for nnfast)")
        ax.set_title(self.title + (f"\n{note}" if note else ""), fontsize=10)
        ax.set_xlim(0, max(ratios + [1.0]) * 1.18)
        fig.tight_layout()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        print(f"chart: {path}")


def cpu_name():
    """The CPU's model name (Linux), for chart notes and table headers."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
