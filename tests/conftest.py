"""Shared test helpers: dataset location, ISA iteration, finite-difference gradient checks."""
import os

import numpy as np
import pytest

# Tests read the real Keras datasets from ../shared/datasets unless told otherwise.
_SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets"))
if not os.environ.get("NNFAST_DATASETS") and os.path.isdir(_SHARED):
    os.environ["NNFAST_DATASETS"] = _SHARED

import nnfast  # noqa: E402


def datasets_available(*names):
    folder = os.environ.get("NNFAST_DATASETS", "")
    return all(os.path.exists(os.path.join(folder, n)) for n in names)


@pytest.fixture(params=nnfast.config.available_isas())
def isa(request):
    """Runs a test once per instruction set this CPU supports, restoring the cap after."""
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(request.param)
    yield request.param
    nnfast.config.set_max_isa(previous)


@pytest.fixture(autouse=True)
def _restore_isa_cap():
    """Every test leaves the ISA cap it found (NNFAST_MAX_ISA's under a capped run), whatever it
    set inside, so a test that raises the cap cannot change which kernels later tests run."""
    previous = nnfast.config.active_isa()
    yield
    nnfast.config.set_max_isa(previous)


def numeric_grad(f, x, eps=1e-3):
    """Central-difference gradient of scalar ``f`` at float64 array ``x``."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f(x)
        x[i] = old - eps
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def check_grads(op, *inputs, argnums=None, rtol=2e-2, atol=2e-3, eps=1e-3, seed_grad=None):
    """Checks ``op``'s tape gradients against finite differences of its float32 forward.

    ``op(*tensors)`` returns a Tensor; the scalar checked is ``sum(out * seed_grad)`` with a
    fixed random ``seed_grad`` so every output element matters.
    """
    inputs = [np.asarray(a, dtype=np.float32) for a in inputs]
    argnums = range(len(inputs)) if argnums is None else argnums
    out = np.asarray(op(*inputs))
    rng = np.random.default_rng(1)
    w = rng.standard_normal(out.shape).astype(np.float32) if seed_grad is None else seed_grad
    variables = [nnfast.Variable(a) for a in inputs]
    with nnfast.GradientTape() as tape:
        y = op(*variables)
        loss = nnfast.ops.sum(nnfast.ops.multiply(y, w))
    grads = tape.gradient(loss, variables)
    for i in argnums:
        def f(xi, i=i):
            args = list(inputs)
            args[i] = xi.astype(np.float32)
            return float(np.sum(np.asarray(op(*args), dtype=np.float64) * w))

        expected = numeric_grad(f, inputs[i], eps)
        assert grads[i] is not None, f"no gradient for input {i}"
        np.testing.assert_allclose(grads[i], expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


def child_pythonpath():
    """A PYTHONPATH for child processes that finds the nnfast this test run imported (the
    installed package in CI, ``python/`` in a development build), not the sources beside the
    tests, which hold no compiled extension after ``pip install .``."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(nnfast.__file__)))
    return os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
