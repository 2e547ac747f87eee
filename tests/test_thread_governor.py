"""The default thread count follows the machine's load (nnfast.thread_governor); a user's
thread count is never overridden."""
import numpy as np

import nnfast
from nnfast import _core, thread_governor
from nnfast.models import lowered


def make_governor(monkeypatch, total, own, cpus=2, default=2):
    monkeypatch.setattr(thread_governor, "_runnable_total", lambda: total[0])
    monkeypatch.setattr(thread_governor, "_runnable_own", lambda: own[0])
    monkeypatch.setattr(thread_governor.os, "cpu_count", lambda: cpus)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("NNFAST_ADAPT_THREADS", raising=False)
    saved = _core.num_threads()
    _core.set_num_threads(default)
    gov = thread_governor.ThreadGovernor()
    gov.interval = 0.0
    gov.enabled = True  # whatever this machine's /proc says
    return gov, saved


def test_sheds_threads_under_load_and_returns_when_it_goes(monkeypatch):
    total, own = [3], [2]  # one other runnable thread beside our two
    gov, saved = make_governor(monkeypatch, total, own)
    try:
        gov.check()
        assert _core.num_threads() == 1
        total[0] = 2  # the other process is gone
        gov.check()
        assert _core.num_threads() == 1  # one quiet reading is not enough
        gov.check()
        assert _core.num_threads() == 2
    finally:
        _core.set_num_threads(saved)


def test_a_user_choice_stands(monkeypatch):
    total, own = [5], [1]
    gov, saved = make_governor(monkeypatch, total, own)
    try:
        gov.user_chose()
        gov.check()
        assert _core.num_threads() == 2
    finally:
        _core.set_num_threads(saved)


def test_reads_this_machine():
    assert thread_governor._runnable_total() >= 1  # this process runs
    assert thread_governor._runnable_own() >= 1
    info = nnfast.config.kernel_info()
    assert isinstance(info["adaptive_threads"], bool)


def test_fit_consults_the_governor(monkeypatch):
    calls = []
    monkeypatch.setattr(thread_governor.GOVERNOR, "check", lambda: calls.append(1))
    model = nnfast.Sequential([nnfast.Input((3,)), nnfast.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((8, 3), np.float32)
    # The tape path consults it per batch; a lowered program (models/lowered.py) once per
    # call of several steps.
    monkeypatch.setattr(lowered, "ENABLED", False)
    model.fit(x, x[:, :1], batch_size=4, verbose=0)
    model.predict(x, batch_size=4, verbose=0)
    assert len(calls) == 4
    monkeypatch.setattr(lowered, "ENABLED", True)
    model.fit(x, x[:, :1], batch_size=4, verbose=0)
    assert len(calls) == 5
