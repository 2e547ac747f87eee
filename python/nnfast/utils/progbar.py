"""Keras-style progress bar: ``Progbar(target).update(step, values)``."""
import os
import sys
import time

import numpy as np

from nnfast.utils import io_utils


class _LogLines:
    """A file-like sink sending each written line to ``io_utils.print_msg`` (logging)."""

    def isatty(self):
        return False

    def write(self, text):
        for line in text.splitlines():
            if line.strip():
                io_utils.print_msg(line)

    def flush(self):
        pass


def format_value(v):
    """Keras's rule: .4f above 1e-3 in magnitude, else .4e."""
    v = float(v)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def format_time(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


class Progbar:
    """Displays progress.

    Args:
        target: total number of steps (None if unknown).
        width: bar width in characters (20, as Keras 3).
        verbose: 1 draws a live bar, 2 prints one line at the end, 0 prints nothing.
        interval: minimum seconds between redraws.
        stateful_metrics: names shown as given; every other value is averaged over the
            steps seen (weighted by steps per update), as Keras.
        stateless_metrics: alternatively, the names to average; the others are shown as
            given (``fit`` passes an empty set: its logs are already running means).
            With neither, every value is averaged.
        unit_name: what a step is called ("step", "sample").
        file: the stream written to; None: ``sys.stdout``.

    Example:
        >>> bar = Progbar(10)
        >>> for i in range(10):
        ...     bar.update(i + 1, [("loss", 1.0 / (i + 1))])
        10/10 ... - loss: 0.1000
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step", file=None):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be "
                             "provided.")
        self.stateful_metrics = (set(stateful_metrics) if stateful_metrics is not None
                                 else (None if stateless_metrics is not None else set()))
        self.stateless_metrics = (set(stateless_metrics) if stateless_metrics is not None
                                  else None)
        self._values = {}  # name -> [weighted sum, weight]
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.unit_name = unit_name
        self._to_log = file is None and not io_utils.is_interactive_logging_enabled()
        self.file = _LogLines() if self._to_log else (file or sys.stdout)
        self._start = time.time()
        self._last_update = 0.0
        self._seen = 0
        # As Keras: a live bar on a terminal, in Jupyter (ipykernel's stdout is no tty but
        # draws "\r" updates) and in PyCharm. NOTE: Keras also counts `"posix" in
        # sys.modules`, true on every Linux, which floods logs and CI output with redraws;
        # nnfast prints one line per epoch there instead.
        self._dynamic = ((hasattr(self.file, "isatty") and self.file.isatty())
                         or "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ)
        self._prev_len = 0

    def update(self, current, values=None, finalize=None):
        """Shows ``current`` steps done with ``values`` (a list of (name, value) or a dict)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._seen_before, self._seen = self._seen, current
        # Keras shows the logs in their own order (fit's logs come sorted by name).
        values = list(values.items()) if isinstance(values, dict) else list(values or [])
        values = self._running_values(values, current, finalize)
        now = time.time()
        if self.verbose == 0:
            return
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        metrics = "".join(f" - {k}: {format_value(v)}" for k, v in values)
        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            self._last_update = now
            if self.target is not None:
                digits = len(str(self.target))
                done = int(self.width * current / self.target) if self.target else self.width
                bar = "\u2501" * done + " " * (self.width - done) if self._dynamic else ""
                count = f"{current:>{digits}}/{self.target}"
            else:
                bar, count = "", f"{current}"
            if finalize:
                timing = f"{format_time(elapsed)} {format_time(per_step)}/{self.unit_name}"
            else:
                eta = per_step * (self.target - current) if self.target else 0.0
                timing = f"{format_time(eta)} {format_time(per_step)}/{self.unit_name}"
            line = f"{count} {bar} {timing}{metrics}" if bar else f"{count} {timing}{metrics}"
            if self._dynamic:
                pad = max(self._prev_len - len(line), 0)
                self.file.write("\r" + line + " " * pad)
                self._prev_len = len(line)
                if finalize:
                    self.file.write("\n")
            elif finalize:
                # Not a terminal (a log file, CI): one line per epoch, no carriage returns.
                self.file.write(line + "\n")
            self.file.flush()
        elif self.verbose == 2 and finalize:
            count = f"{current}/{self.target}" if self.target is not None else f"{current}"
            self.file.write(f"{count} - {format_time(elapsed)} - "
                            f"{format_time(per_step)}/{self.unit_name}{metrics}\n")
            self.file.flush()

    def _running_values(self, values, current, finalize):
        """Keras's averaging: a stateless value is weighted by the steps since the last
        update and shown as the mean so far (reset to the value given at ``finalize``)."""
        out = []
        for k, v in values:
            if self.stateful_metrics is not None:
                stateless = k not in self.stateful_metrics
            else:
                stateless = k in self.stateless_metrics
            if stateless and not finalize:
                # NOTE: Keras averages array values elementwise; logs are scalars.
                base = max(current - self._seen_before, 1)
                total, weight = self._values.get(k, [0.0, 0])
                self._values[k] = [total + float(np.mean(v)) * base, weight + base]
            else:
                self._values[k] = [float(np.mean(v)), 1]
            total, weight = self._values[k]
            out.append((k, total / max(weight, 1)))
        return out

    def add(self, n, values=None):
        self.update(self._seen + n, values)
