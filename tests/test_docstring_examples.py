"""The ``>>>`` examples of the API reference's docstrings run and print what they show
(doctest, in a child process: examples change global settings such as the thread count).

Examples not runnable as written yet are listed in
tests/fixtures/docstrings/examples_pending.txt; that list only shrinks.
"""
import json
import os
import subprocess
import sys

import pytest
from conftest import child_pythonpath

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "docstrings")

pytest.importorskip("griffe")

_CHILD = """
import json, sys
sys.path.insert(0, {fixtures!r})
import examples
print("SURVEY" + json.dumps(examples.survey()))
"""


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=child_pythonpath())
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(fixtures=FIXTURES)],
                          cwd=tmp_path_factory.mktemp("examples"), env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [s for s in proc.stdout.splitlines() if s.startswith("SURVEY")][-1]
    return json.loads(line[len("SURVEY"):])


def _pending():
    sys.path.insert(0, FIXTURES)
    import examples

    return examples.load_pending()


def test_docstring_examples_run(survey):
    pending = _pending()
    failing = [f"{name}:\n{failure}" for name, failure in survey
               if failure and name not in pending]
    assert not failing, "docstring examples that fail:\n" + "\n".join(failing)


def test_examples_pending_list_only_shrinks(survey):
    running = {name for name, failure in survey if not failure}
    stale = sorted(_pending() & running)
    assert not stale, ("these examples run now: rewrite examples_pending.txt with "
                       f"update_examples_pending.py: {stale}")
