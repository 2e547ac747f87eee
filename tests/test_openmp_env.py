"""Issue 14 (speed under load): `import nnfast` bounds libgomp's spinning with
GOMP_SPINCOUNT=1000 before `_core` loads libgomp, unless the user chose a wait policy."""
import os
import subprocess
import sys

from nnfast import _openmp_env


def test_default_is_set_only_when_the_user_chose_nothing(monkeypatch):
    monkeypatch.setattr(_openmp_env, "_libgomp_loaded", lambda: False)
    for var in _openmp_env.USER_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert _openmp_env.apply_default_wait_policy().startswith("GOMP_SPINCOUNT=1000")
    assert os.environ["GOMP_SPINCOUNT"] == "1000"

    monkeypatch.setenv("GOMP_SPINCOUNT", "5")
    assert _openmp_env.apply_default_wait_policy() == "set by the user: GOMP_SPINCOUNT=5"
    assert os.environ["GOMP_SPINCOUNT"] == "5"

    monkeypatch.delenv("GOMP_SPINCOUNT")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert "OMP_WAIT_POLICY=ACTIVE" in _openmp_env.apply_default_wait_policy()
    assert "GOMP_SPINCOUNT" not in os.environ


def test_too_late_when_libgomp_is_already_loaded(monkeypatch):
    monkeypatch.setattr(_openmp_env, "_libgomp_loaded", lambda: True)
    for var in _openmp_env.USER_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert "loaded before nnfast" in _openmp_env.apply_default_wait_policy()
    assert "GOMP_SPINCOUNT" not in os.environ


def test_import_sets_it_before_libgomp_loads():
    env = {k: v for k, v in os.environ.items() if k not in _openmp_env.USER_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    code = ("import os, nnfast; print(os.environ.get('GOMP_SPINCOUNT'), '|', "
            "nnfast.config.kernel_info()['openmp_wait'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out.startswith("1000 | GOMP_SPINCOUNT=1000"), out
