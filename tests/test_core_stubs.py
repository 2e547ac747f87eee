"""python/nnfast/_core/*.pyi are what pybind11-stubgen generates from the built extension
(every entry point, with the binding's argument names and defaults)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_core_stubs_are_current():
    pytest.importorskip("pybind11_stubgen")
    import nnfast._core  # noqa: F401  (the extension the stubs describe must import)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (os.path.dirname(os.path.dirname(nnfast._core.__file__)),
                    os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "generate_core_stubs.py"),
                           "--check"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
