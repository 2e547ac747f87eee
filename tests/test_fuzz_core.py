"""Issue 14: every `_core` entry point and every public op survive property-based fuzzing
(tests/fuzz/core_calls.py, tests/fuzz/ops_calls.py) in a child process, so a crash or a hang fails this test instead of killing the run.

Quick by default; a soak: NNFAST_FUZZ_EXAMPLES=2000 python -m pytest tests/test_fuzz_core.py
(or run tests/fuzz/core_calls.py directly, also under the sanitizer build: see docs/development.md)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("hypothesis")

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("script,examples", [("core_calls.py", "12"), ("ops_calls.py", "8")])
def test_entry_points_survive_fuzzing(script, examples):
    examples = os.environ.get("NNFAST_FUZZ_EXAMPLES", examples)
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "fuzz", script), examples],
                          capture_output=True, text=True, env=env, timeout=1800)
    last = proc.stdout.strip().splitlines()[-3:]
    assert proc.returncode == 0, (
        f"the fuzzer's process ended with {proc.returncode} (a negative code is a signal: a "
        f"crash) after these calls:\n" + "\n".join(last) + "\n" + proc.stderr[-2000:])
    assert last and last[-1].startswith("fuzzed ")
