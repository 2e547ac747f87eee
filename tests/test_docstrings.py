"""Docstrings of the API reference: every public class and function the docs pages list has a
summary line and an ``Args:`` entry per parameter (Google style, as griffe parses it), and the
core objects (tests/fixtures/docstrings/check.py's CORE) also Returns and an example.

Objects not there yet are listed in tests/fixtures/docstrings/pending.txt (rewrite it with
``PYTHONPATH=python python3 tests/fixtures/docstrings/update_pending.py``): a listed-as-done
object that regresses, or a new public name without its docstring, fails here; so does a
listed object that now passes (the list only shrinks).
"""
import os
import subprocess
import sys

import pytest
from conftest import child_pythonpath

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "fixtures", "docstrings"))
import check  # noqa: E402

pytest.importorskip("griffe")


@pytest.fixture(scope="module")
def survey():
    return check.survey()


def test_documented_objects_meet_the_standard(survey):
    pending = check.load_pending()
    done = sum(not found for _, found in survey)
    print(f"\ndocstrings: {done} of {len(survey)} API objects fully documented, "
          f"{len(survey) - done} pending")
    regressed = [f"{name}: {'; '.join(found)}" for name, found in survey
                 if found and name not in pending]
    assert not regressed, ("docstrings below the standard (fix them; pending.txt lists only "
                           "objects not done yet):\n" + "\n".join(regressed))


def test_pending_list_only_shrinks(survey):
    names = {name for name, _ in survey}
    passing = {name for name, found in survey if not found}
    stale = sorted(check.load_pending() & passing)
    gone = sorted(check.load_pending() - names)
    assert not stale and not gone, (
        "rewrite tests/fixtures/docstrings/pending.txt with update_pending.py: now documented: "
        f"{stale}; no longer in the API pages: {gone}")


def test_checker_catches_what_it_should():
    def good(x, axis=None, *args, **kwargs):
        """Sums.

        Args:
            x: a tensor.
            axis: where.

        Returns:
            The sum.

        Example:
            >>> good(1)
        """

    def grouped(x, axis=None):
        """Sums.

        Args:
            x, axis: a tensor and where.
        """

    def missing(x, axis=None):
        """Sums.

        Args:
            x: a tensor.
            axes: not a parameter.
        """

    assert check.problems("good", good, core=True) == []
    assert any("grouped" in p for p in check.problems("grouped", grouped))
    found = check.problems("missing", missing, core=True)
    assert "Args missing: axis" in found and "Args not in the signature: axes" in found
    assert "no Returns" in found and "no Example" in found
    assert check.problems("none", lambda x: x) == ["no docstring"]

    class Layer:
        """A layer.

        Args:
            units: how many.
        """

        def __init__(self, units, use_bias=True, **kwargs):
            pass

    assert check.problems("Layer", Layer) == ["Args missing: use_bias"]

    class WithMethod:
        """A class."""

        def fit(self, x, **kwargs):
            """Fits.

            Args:
                x: data.
                epochs: not a parameter (swallowed by ``**kwargs``: griffe still warns).
            """

    assert check.problems("WithMethod", WithMethod) == [
        "method fit: Args entries not in its signature: epochs"]


def test_mkdocs_build_strict(tmp_path):
    """The site builds with no warning (griffe's docstring warnings included)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=child_pythonpath())
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-f", os.path.join(ROOT, "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert os.path.exists(tmp_path / "site" / "api" / "layers" / "index.html")
