"""Keeps the claim "NNFAST_MAX_ISA=avx2 runs the kernel tests with no scalar fallback" true in a
normal (uncapped) run: the kernel-registry module, which asserts which implementation every
family selects under the cap, runs in a child process capped at AVX2, after a module that raises
and restores the cap itself (test_runtime) and before one whose route checks depend on the cap
(test_conv_bf16), so a test that leaves the cap raised also fails here."""
import os
import subprocess
import sys

import pytest

import nnfast
from conftest import child_pythonpath

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.skipif("avx2" not in nnfast.config.available_isas(), reason="CPU without AVX2")
@pytest.mark.skipif(os.environ.get("NNFAST_MAX_ISA") == "avx2",
                    reason="this run is already capped at AVX2")
def test_kernel_registry_module_passes_under_an_avx2_cap():
    env = dict(os.environ, NNFAST_MAX_ISA="avx2", OMP_NUM_THREADS="1",
               PYTHONPATH=child_pythonpath())
    modules = [os.path.join(HERE, m) for m in
               ("test_kernel_registry.py", "test_runtime.py", "test_conv_bf16.py")]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *modules], env=env, cwd=HERE, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
