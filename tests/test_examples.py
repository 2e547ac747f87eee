"""The examples that need no dataset download run as scripts and write only where told."""
import os
import subprocess
import sys

import pytest
from conftest import child_pythonpath

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_example(name, *args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=child_pythonpath())
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_plot_history_writes_its_chart_into_the_output_folder(tmp_path):
    pytest.importorskip("matplotlib")
    work, out = tmp_path / "cwd", tmp_path / "out"
    work.mkdir()
    stdout = run_example("plot_history.py", str(out), cwd=work)
    assert (out / "history.png").stat().st_size > 10_000
    assert (out / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Wrote" in stdout
    assert list(work.iterdir()) == []  # nothing written into the current folder


def test_every_example_is_listed_in_the_readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    scripts = sorted(n for n in os.listdir(os.path.join(ROOT, "examples")) if n.endswith(".py"))
    assert [n for n in scripts if n not in readme] == []


@pytest.mark.parametrize("name", ["quickstart.py", "functional_multi_input.py",
                                  "custom_layer.py", "image_augmentation.py"])
def test_examples_without_downloads_leave_the_current_folder_alone(name, tmp_path):
    """Temporary files go under the system's temporary folder (TMPDIR here), never the
    current folder."""
    work, tmp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=child_pythonpath(), TMPDIR=str(tmp))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name)], cwd=work,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list(work.iterdir()) == []


def test_distributed_example_writes_into_its_output_folder(tmp_path):
    """One process, no MPI launcher: the backup and the model go to the output folder."""
    folder = os.environ.get("NNFAST_DATASETS")
    if not folder or not os.path.exists(os.path.join(folder, "mnist.npz")):
        pytest.skip("needs mnist.npz in NNFAST_DATASETS")
    work, out = tmp_path / "cwd", tmp_path / "out"
    work.mkdir()
    stdout = run_example("distributed_mnist.py", str(out), "--epochs", "1", cwd=work)
    assert (out / "distributed_mnist.keras").stat().st_size > 0
    assert "Test accuracy" in stdout
    assert list(work.iterdir()) == []
