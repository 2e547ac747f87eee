"""A per-step watchdog: a rank that stays inside one training step longer than a timeout
(a peer hung, a collective never completes) ends the whole job instead of waiting forever."""
import os
import sys
import threading
import time

DEFAULT_STEP_TIMEOUT = 1800.0


def step_timeout_from_env():
    """``NNFAST_STEP_TIMEOUT`` in seconds (``0`` switches the watchdog off), else the
    default of 30 minutes."""
    raw = os.environ.get("NNFAST_STEP_TIMEOUT")
    if raw is None or not raw.strip():
        return DEFAULT_STEP_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"NNFAST_STEP_TIMEOUT must be a number of seconds. Received: "
                         f"{raw!r}") from None
    return value if value > 0 else None


class StepWatchdog:
    """Calls ``on_timeout()`` (which should end the process) when a step armed with
    ``arm()`` is not ``disarm()``-ed within ``timeout`` seconds. A daemon thread sleeps
    until the deadline; arming and disarming cost two attribute writes.

    Args:
        timeout: seconds a step may take.
        on_timeout: called with a message, from the watchdog thread.
    """

    def __init__(self, timeout, on_timeout):
        self.timeout = float(timeout)
        self._on_timeout = on_timeout
        self._deadline = None
        self._step = 0
        self._thread = threading.Thread(target=self._watch, name="nnfast-step-watchdog",
                                        daemon=True)
        self._thread.start()

    def arm(self):
        self._step += 1
        self._deadline = time.monotonic() + self.timeout

    def disarm(self):
        self._deadline = None

    def _watch(self):
        poll = min(1.0, max(0.05, self.timeout / 4))
        while True:
            time.sleep(poll)
            deadline = self._deadline
            if deadline is not None and time.monotonic() > deadline:
                self._on_timeout(f"nnfast.distribution: a training step ran longer than the "
                                 f"step timeout ({self.timeout:g} s; set it with "
                                 "DataParallel(step_timeout=...) or NNFAST_STEP_TIMEOUT). A "
                                 "rank is probably hung; aborting the job.")
                return


def abort_job(communicator):
    """An ``on_timeout`` that prints the message and aborts the job through
    ``communicator``."""
    def on_timeout(message):
        print(message, file=sys.stderr, flush=True)
        communicator.abort(1)
    return on_timeout
