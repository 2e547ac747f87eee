"""Fewer kernel threads while other processes want the cores (issue 14: speed under load).

OpenMP kernels split work evenly across threads and wait for all of them at the end of each
parallel region. When another process keeps a core busy, the thread scheduled on that core
runs only part of the time, every region waits for it, and a training step with default
threads ran up to ~7x slower than with one thread. Between batches, ``fit``/``evaluate``/
``predict`` call ``ThreadGovernor.check``: at most every ``interval`` seconds it reads how
many runnable threads the machine has (``/proc/loadavg``) beside this process's own
(``/proc/self/task``), and uses ``cores - others`` threads (at least 1) while others run,
going back to the default once they have been gone for two readings.

It only acts on the default thread count: after ``nnfast.config.set_num_threads`` or with
``OMP_NUM_THREADS`` set, the user's choice stands. ``NNFAST_ADAPT_THREADS=0`` turns it off.
Linux only (elsewhere ``check`` does nothing).
"""
import os
import time

from nnfast import _core


def _runnable_total():
    """Runnable (R) threads on the machine now: /proc/loadavg's fourth field 'R/total'."""
    with open("/proc/loadavg") as f:
        return int(f.read().split()[3].split("/")[0])


def _runnable_own():
    """This process's threads in state R (its OpenMP workers, while they spin or work)."""
    count = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                # the state follows the parenthesised command name, which may hold spaces
                if f.read().rsplit(")", 1)[1].split()[0] == "R":
                    count += 1
        except (OSError, IndexError):
            continue
    return count


class ThreadGovernor:
    """Adapts the default kernel thread count to the load of the machine (see module)."""

    interval = 0.2  # seconds between readings

    def __init__(self):
        self.default = _core.num_threads()
        self.enabled = (os.path.exists("/proc/loadavg")
                        and "OMP_NUM_THREADS" not in os.environ
                        and os.environ.get("NNFAST_ADAPT_THREADS", "1") != "0"
                        and self.default > 1)
        self.user_set = False
        self._last = 0.0
        self._quiet_readings = 0
        self.current = self.default

    def user_chose(self):
        """``config.set_num_threads`` was called: stop adapting."""
        self.user_set = True

    def check(self):
        """Called between batches; cheap except every ``interval`` seconds."""
        if not self.enabled or self.user_set:
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        try:
            others = max(0, _runnable_total() - _runnable_own())
        except (OSError, ValueError, IndexError):
            return
        want = max(1, min(self.default, (os.cpu_count() or self.default) - others))
        if want < self.current:  # contention: shed threads at once
            self._quiet_readings = 0
        elif want > self.current:  # load gone: wait for a second reading to agree
            self._quiet_readings += 1
            if self._quiet_readings < 2:
                return
            self._quiet_readings = 0
        else:
            self._quiet_readings = 0
            return
        self.current = want
        _core.set_num_threads(want)


GOVERNOR = ThreadGovernor()
