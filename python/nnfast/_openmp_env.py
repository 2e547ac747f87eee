"""How long idle OpenMP threads spin before they sleep (issue 14: speed under load).

libgomp's default lets a thread that waits for work (or at a barrier) spin about 300,000
times before it sleeps. On a quiet machine that saves a wake-up; on a busy one (a laptop
running a browser, a shared server) the spinning worker competes for a core with another
process as a CPU hog, and every parallel region then waits for it to be scheduled again:
training the tutorial MNIST MLP with default threads ran ~8x slower than one thread while
another process kept a core busy. A bounded spin (GOMP_SPINCOUNT=1000, tens of microseconds)
keeps back-to-back regions fast and lets idle workers sleep, so the scheduler wakes them
promptly when work comes (benchmarks/bench_contention.py; README "Speed under load").

Applied at ``import nnfast`` before ``_core`` (and so libgomp) is loaded, and only when the
user has set none of OMP_WAIT_POLICY, GOMP_SPINCOUNT: their choice always wins. It goes into
``os.environ``, so libraries that load libgomp later in this process (e.g. PyTorch) and child
processes see it too. If libgomp was already loaded before nnfast (``import torch`` first:
PyTorch's wheel ships a libgomp.so.1 that _core then shares), its settings are fixed and
this cannot change them; ``nnfast.config.kernel_info()["openmp_wait"]`` says which applies.
"""
import os

DEFAULT_SPINCOUNT = "1000"
USER_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _libgomp_loaded():
    try:
        with open("/proc/self/maps") as maps:
            # a libgomp.so.1 (the system's, or PyTorch's wheel's of that name) is the runtime
            # _core will share; renamed bundled copies (libgomp-<hash>.so.1) are separate
            return any("/libgomp.so" in line for line in maps)
    except OSError:
        return False


def apply_default_wait_policy():
    """Sets GOMP_SPINCOUNT=1000 unless the user chose a policy; returns what applies."""
    chosen = [f"{k}={os.environ[k]}" for k in USER_VARIABLES if k in os.environ]
    if chosen:
        return "set by the user: " + ", ".join(chosen)
    if _libgomp_loaded():
        return ("libgomp was loaded before nnfast: its own defaults apply (set "
                f"GOMP_SPINCOUNT={DEFAULT_SPINCOUNT} before starting Python for nnfast's)")
    os.environ["GOMP_SPINCOUNT"] = DEFAULT_SPINCOUNT
    return f"GOMP_SPINCOUNT={DEFAULT_SPINCOUNT} (nnfast's default: bounded spin, then sleep)"


WAIT_POLICY = apply_default_wait_policy()
