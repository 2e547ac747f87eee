"""Callbacks: hooks into ``fit``/``evaluate``/``predict`` (Keras's call order).

Users subclass ``Callback`` and override any ``on_*`` hook; ``self.model`` and
``self.params`` (``{verbose, epochs, steps}``) are set by the training loop. ``History`` is
always added to ``fit``, and a ``ProgbarLogger`` when ``verbose != 0``; both run after the
user's callbacks, so a callback that writes ``logs["learning_rate"]`` in ``on_epoch_end``
shows up in the history.

Call order in ``fit``: ``on_train_begin``; per epoch ``on_epoch_begin``, per batch
``on_train_batch_begin``/``on_train_batch_end`` (running epoch averages in the logs), then
validation (``on_test_begin``/``on_test_batch_*``/``on_test_end``), then ``on_epoch_end``
with ``val_*`` keys; finally ``on_train_end``. Setting ``model.stop_training = True`` stops
after the current batch.
"""
import collections
import csv
import json
import math
import os
import tempfile
import time
import warnings

import numpy as np

from nnfast.utils import io_utils
from nnfast.utils.progbar import Progbar


class Callback:
    """Base class of callbacks. Every hook is a no-op by default.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> class PrintEpoch(keras.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch, "loss", sorted(logs))
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[PrintEpoch()])
        epoch 0 loss ['loss']
        epoch 1 loss ['loss']
    """

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin",
          "on_test_end", "on_predict_begin", "on_predict_end", "on_train_batch_begin",
          "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_batch_begin", "on_predict_batch_end")


def _overrides(cb, hook):
    if hook in vars(cb):  # hooks given per instance (LambdaCallback)
        return True
    impl = getattr(type(cb), hook, None)
    base = getattr(Callback, hook)
    if impl is not base:
        return True
    # on_train_batch_* fall back to on_batch_*; count those overrides too.
    legacy = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}.get(hook)
    return legacy is not None and (legacy in vars(cb) or
                                   getattr(type(cb), legacy) is not getattr(Callback, legacy))


class CallbackList:
    """Calls each hook on every callback in order. Batch hooks that no callback overrides
    are skipped entirely, so an empty list costs nothing per step.

    Args:
        callbacks: a list of ``Callback`` objects (None: empty).
        add_history: append a ``History`` callback if none is in the list. Defaults to ``False``.
        add_progbar: append a ``ProgbarLogger`` if none is in the list. Defaults to ``False``.
        model: the model given to every callback (``set_model``).

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> callbacks = keras.callbacks.CallbackList([keras.callbacks.History()], model=model)
        >>> callbacks.on_train_begin()
        >>> callbacks.on_epoch_end(0, {"loss": 0.5})
        >>> callbacks.callbacks[0].history
        {'loss': [0.5]}
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        self.callbacks = list(callbacks or [])
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.model = model
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)
        for hook in _HOOKS:
            active = [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)]
            indexed = "epoch" in hook or "batch" in hook
            setattr(self, hook, _dispatcher(active, indexed) if active else _noop)

    @property
    def history(self):
        for cb in self.callbacks:
            if isinstance(cb, History):
                return cb
        return None

    def __iter__(self):
        return iter(self.callbacks)


def _noop(*args, **kwargs):
    return None


def _dispatcher(fns, indexed):
    """Calls every hook with ``logs`` always a dict (as Keras), positionally."""
    if indexed:
        def call(index, logs=None):
            logs = {} if logs is None else logs
            for fn in fns:
                fn(index, logs)
    else:
        def call(logs=None):
            logs = {} if logs is None else logs
            for fn in fns:
                fn(logs)
    return call


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` is a per-epoch list.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(x, y, epochs=2, verbose=0)
        >>> sorted(history.history), len(history.history["loss"])
        (['loss'], 2)
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch i/E`` and the progress bar (verbose 1) or one line per epoch (2).

    Args:
        count_mode: ``"steps"`` (count batches) or ``"samples"``. Defaults to ``"steps"``.
        stateful_metrics: names of the metrics shown as they are rather than averaged over the
            epoch.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ProgbarLogger()])
    """

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self._bar = None
        self._seen = 0

    def on_train_begin(self, logs=None):
        self.verbose = self.params.get("verbose", 1)
        self.epochs = self.params.get("epochs", 1)

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            io_utils.print_msg(f"Epoch {epoch + 1}/{self.epochs}")
        # fit's logs are running means already: shown as given (Keras's empty stateless set)
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose,
                            stateless_metrics=set())
        self._seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.verbose == 1:
            self._bar.update(self._seen, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.update(self._seen, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if not self.params.get("_in_fit") and self.params.get("verbose", 1):
            self._bar = Progbar(self.params.get("steps"), verbose=self.params.get("verbose", 1),
                                stateless_metrics=set())

    def on_test_batch_end(self, batch, logs=None):
        if not self.params.get("_in_fit") and self._bar is not None:
            if self.params.get("verbose") == 1:
                self._bar.update(batch + 1, logs, finalize=False)
            else:  # verbose 2 prints at the end only, with the steps done (not 0/N)
                self._bar._seen = batch + 1

    def on_test_end(self, logs=None):
        if not self.params.get("_in_fit") and self._bar is not None:
            self._bar.update(self._bar._seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        if self.params.get("verbose", 1):
            self._bar = Progbar(self.params.get("steps"), verbose=self.params.get("verbose", 1),
                                stateless_metrics=set())

    def on_predict_batch_end(self, batch, logs=None):
        if self._bar is not None:
            if self.params.get("verbose") == 1:
                self._bar.update(batch + 1, None, finalize=False)
            else:
                self._bar._seen = batch + 1

    def on_predict_end(self, logs=None):
        if self._bar is not None:
            self._bar.update(self._bar._seen, None, finalize=True)


# --- monitoring helpers ------------------------------------------------------------------------


def _scalar(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _atomic_write(path, write):
    """Writes through a temporary file in the same folder, then renames it into place, so a
    failed write never leaves a half-written file where a good one was."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class EarlyStopping(Callback):
    """Stops training when a monitored quantity has stopped improving (Keras 3 semantics).

    An epoch improves when ``op(current - min_delta, best)`` (``min_delta`` negated for
    "min"). ``wait`` grows every epoch and resets on an improvement that also beats
    ``baseline``; training stops when ``wait >= patience`` (and ``epoch > 0``). Epochs before
    ``start_from_epoch`` are ignored. With ``restore_best_weights`` the best epoch's weights
    are restored at the end of training, whether or not it stopped early (as Keras 3).

    Args:
        monitor: log key, default "val_loss".
        min_delta: minimum change counted as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when stopping/restoring.
        mode: "auto" (from the metric's direction; raises if unknown), "min" or "max".
        baseline: a value the monitored quantity must beat for ``wait`` to reset.
        restore_best_weights: restore the weights of the best epoch at the end.
        start_from_epoch: number of warm-up epochs not monitored.

    Example:
        >>> x, y = np.ones((16, 3), "float32"), np.zeros((16, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
        >>> history = model.fit(x, y, epochs=100, verbose=0, callbacks=[stop])
        >>> len(history.history["loss"])
        2
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose, self.baseline = monitor, patience, verbose, baseline
        self.min_delta = abs(min_delta)
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"EarlyStopping mode {mode} is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.mode = mode
        self.monitor_op = None
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss":
                self.monitor_op = np.less
            # As Keras: the compiled metrics inside the `compile_metrics` entry.
            all_metrics = []
            for m in getattr(self.model, "metrics", None) or []:
                all_metrics.extend(getattr(m, "metrics", None) or [m])
            for m in all_metrics:
                if m.name == name and hasattr(m, "_direction"):
                    self.monitor_op = np.greater if m._direction == "up" else np.less
        if self.monitor_op is None:
            raise ValueError(f"EarlyStopping callback received monitor={self.monitor} but nnfast "
                             "isn't able to automatically determine whether that metric should "
                             "be maximized or minimized. Pass `mode='max'` in order to do early "
                             "stopping based on the highest metric value, or pass `mode='min'` "
                             "in order to use the lowest value.")
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            io_utils.print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                io_utils.print_msg("Restoring model weights from the end of the best epoch: "
                                   f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=2)
        return value

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


class ModelCheckpoint(Callback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) every epoch
    or every ``save_freq`` batches.

    ``filepath`` may hold ``str.format`` fields filled with ``epoch`` (1-based), ``batch``
    (1-based, with an integer ``save_freq``) and the log values, e.g.
    ``"ckpt/{epoch:02d}-{val_loss:.2f}.keras"``. The file must end in ``.keras``, ``.h5`` or
    ``.hdf5``, or with ``save_weights_only=True`` in ``.weights.h5`` (or, as Keras 2 programs
    write, ``.h5``/``.hdf5``: tf.keras's legacy weights layout).

    Args:
        filepath: the path template.
        monitor: log key compared when ``save_best_only``.
        verbose: 1 prints a line per save decision.
        save_best_only: save only when ``monitor`` improves (saves anyway, with a warning,
            when the key is missing).
        save_weights_only: call ``save_weights`` instead of ``save``.
        mode: "auto" (max for names containing "acc", else min), "min" or "max".
        save_freq: "epoch" or a number of batches.
        initial_value_threshold: the "best" value to beat at the start.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "best.keras")
        >>> ckpt = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
        >>> os.path.exists(path)
        True
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving, self._last_batch_seen, self._current_epoch = 0, 0, 0
        self.best = initial_value_threshold
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        if mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))):
            self.monitor_op = np.greater
            self.best = -np.inf if self.best is None else self.best
        else:
            self.monitor_op = np.less
            self.best = np.inf if self.best is None else self.best
        if save_freq != "epoch" and not isinstance(save_freq, int):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values")
        # Keras 3 takes `.keras`/`.h5` models and `.weights.h5` weights; Keras 2 programs also
        # write `.hdf5` models and `.h5`/`.hdf5` weights (tf.keras's legacy HDF5 layout).
        if save_weights_only:
            if not self.filepath.endswith((".weights.h5", ".h5", ".hdf5")):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                                 "filepath provided must end in `.weights.h5` (Keras weights "
                                 "format; `.h5`/`.hdf5` for tf.keras's legacy layout). "
                                 f"Received: filepath={self.filepath}")
        elif not self.filepath.endswith((".keras", ".h5", ".hdf5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format; "
                             "`.h5`/`.hdf5` for the legacy HDF5 format). "
                             f"Received: filepath={self.filepath}")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        add = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                io_utils.print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. Received: "
                          f"{current}. Falling back to `save_best_only=False`.", stacklevel=2)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self.best is None or self.monitor_op(current, self.best):
            if self.verbose > 0:
                io_utils.print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from "
                                   f"{best_str} to {current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                               f"{best_str}")
        return False

    def _get_file_path(self, epoch, batch, logs):
        logs = dict(logs or {})
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from None

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath "
                          f"used is an existing directory: {filepath}")
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs: ``new_lr = max(lr * factor, min_lr)``, applied only while
    ``lr > min_lr``. Writes the epoch's rate to ``logs["learning_rate"]``.

    Args:
        monitor: log key, default "val_loss".
        factor: < 1, default 0.1.
        patience: default 10.
        verbose: 1 prints each reduction.
        mode: "auto" (max for names containing "acc"), "min" or "max".
        min_delta: threshold for a significant change, default 1e-4.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound of the rate.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> reduce = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
        >>> history = model.fit(x, y, epochs=2, verbose=0, callbacks=[reduce])
        >>> "learning_rate" in history.history
        True
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:  # tf.keras 1.x spelling
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise ValueError(f"Unrecognized arguments: {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.monitor, self.factor, self.min_lr, self.min_delta = monitor, factor, min_lr, min_delta
        self.patience, self.verbose, self.cooldown = patience, verbose, cooldown
        self.mode = mode
        self._reset()

    def _reset(self):
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(f"Learning rate reduction mode {self.mode} is unknown, fallback to auto "
                          "mode.", stacklevel=2)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric "
                          f"`{self.monitor}` which is not available. Available metrics are: "
                          f"{','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        io_utils.print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing "
                                           f"learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), which must return a float; logs it as ``learning_rate``.

    Args:
        schedule: a function ``(epoch, lr) -> new_lr`` (epoch counted from 0) called at the start
            of each epoch.
        verbose: 1 prints the new rate at each epoch; 0 is quiet. Defaults to ``0``.

    Example:
        >>> halve = LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr * 0.5)
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(keras.optimizers.SGD(0.1), "mse")
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0,
        ...               callbacks=[halve])
        >>> round(float(model.optimizer.learning_rate), 6)  # 0.1, then halved twice
        0.025
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning "
                               f"rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: header ``epoch`` then the sorted log keys; the
    epoch column is 0-based. ``append=True`` continues an existing file (no second header).

    Args:
        filename: the CSV path.
        separator: column separator, default ",".
        append: append instead of overwriting.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.CSVLogger(path)])
        >>> print(open(path).read().splitlines()[0])
        epoch,loss
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep, self.filename, self.append = separator, os.fspath(filename), append
        self.writer = self.keys = self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.csv_file = open(self.filename, mode, newline="")
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not (isinstance(k, np.ndarray) and k.ndim == 0):
                return f"\"[{', '.join(map(str, k))}]\""
            return k

        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            class _Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stops training (or raises, with ``raise_error=True``) when a batch loss is NaN or
    infinite.

    Args:
        raise_error: raise a ``RuntimeError`` on a NaN or infinite loss instead of stopping
            training quietly. Defaults to ``False``.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> x_bad = np.full((8, 3), np.nan, "float32")
        >>> history = model.fit(x_bad, y, epochs=3, verbose=0,
        ...                     callbacks=[keras.callbacks.TerminateOnNaN()])
        Batch 0: Invalid loss, terminating training
        >>> len(history.history["loss"])
        1
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Stopping training.")
            io_utils.print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)`` (and any
    other hook passed by keyword).

    Args:
        on_epoch_begin: called as ``f(epoch, logs)`` at the start of each epoch.
        on_epoch_end: called as ``f(epoch, logs)`` at the end of each epoch.
        on_train_begin: called as ``f(logs)`` when training starts.
        on_train_end: called as ``f(logs)`` when training ends.
        on_train_batch_begin: called as ``f(batch, logs)`` before each training batch.
        on_train_batch_end: called as ``f(batch, logs)`` after each training batch.

    Example:
        >>> report = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, "loss" in logs))
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
        ...               callbacks=[report])
        0 True
        1 True
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class TensorBoard(Callback):
    """Writes TensorBoard event files as Keras 3's TensorBoard callback does.

    Under ``log_dir/train``: per-epoch scalars ``epoch_<metric>`` (and ``epoch_learning_rate``,
    ``epoch_steps_per_second``), per-batch scalars ``batch_<metric>`` every ``update_freq``
    batches, weight histograms ``<weight path>/histogram`` (and weight images
    ``<weight path>/image`` with ``write_images``) every ``histogram_freq`` epochs, and the
    model's config as the ``keras`` conceptual graph (``write_graph``). Under
    ``log_dir/validation``: ``epoch_<metric>`` of the validation pass and
    ``evaluation_<metric>_vs_iterations`` at the optimizer's step. Event files are written with
    ``tensorboardX`` (a dependency of nnfast) and read by TensorBoard itself:
    ``tensorboard --logdir logs``.

    Args:
        log_dir: root folder, default "logs".
        histogram_freq: epochs between weight histograms (0: none).
        write_graph: write the model's config as TensorBoard's Keras conceptual graph.
        write_images: also write each weight as an image (kernels of Dense layers as one
            image, conv kernels as one image per output channel), with the histograms.
        write_steps_per_second: log ``steps_per_second`` per epoch and
            ``batch_steps_per_second`` per logged batch.
        update_freq: "epoch", "batch" (= 1) or a number of batches between batch scalars.
        profile_batch: Keras's profiler range (an int or a pair). nnfast has no profiler
            trace to write; a non-zero value is validated as Keras does and warns once.
        embeddings_freq: epochs between embedding checkpoints for the projector (0: none):
            writes ``projector_config.pbtxt`` and ``train/keras_embedding.ckpt-<epoch>.weights.h5``.
        embeddings_metadata: a metadata file path for all Embedding layers, or a dict
            ``{layer_name: path}``.

    Example:
        >>> tb = nnfast.callbacks.TensorBoard(log_dir="logs", histogram_freq=1)
        >>> model.fit(x, y, epochs=3, callbacks=[tb])  # then: tensorboard --logdir logs
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph, self.write_images = histogram_freq, write_graph, write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and not (isinstance(self.update_freq, int) and self.update_freq > 0):
            raise ValueError(f"Unrecognized update_freq: {update_freq}. Expected 'epoch', 'batch' "
                             "or a positive integer.")
        self.profile_batch = profile_batch
        self._profile_range = _profile_range(profile_batch)
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._global_test_batch = 0

    @staticmethod
    def _writer_class():
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("The TensorBoard callback writes event files with `tensorboardX`, "
                              "a dependency of nnfast that is missing here: pip install "
                              "tensorboardX") from None
        return SummaryWriter

    def _writer(self, kind):
        if kind not in self._writers:
            self._writers[kind] = self._writer_class()(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def set_model(self, model):
        super().set_model(model)
        self._writers = {}
        if self.embeddings_freq:
            self._write_projector_config()

    def on_train_begin(self, logs=None):
        self._writer_class()  # fail early, before any epoch runs, if no writer is installed
        self._global_train_batch = 0
        self._epoch_start = None
        self._epoch_batches = 0
        if self._profile_range != (0, 0):
            warnings.warn(f"TensorBoard(profile_batch={self.profile_batch!r}): nnfast has no "
                          "profiler trace to write; scalars, histograms, images and the graph "
                          "are written as usual.", stacklevel=2)
        if self.write_graph:
            self._write_model_graph()

    def _write_model_graph(self):
        """The model's JSON config under tag ``keras`` with the ``graph_keras_model`` plugin:
        what TensorBoard's graph dashboard shows as the Keras conceptual graph."""
        try:
            config_json = self.model.to_json()
        except Exception:  # subclassed models without get_config: Keras writes no graph either
            return
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto

        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name="graph_keras_model", content=b"1"))
        tensor = TensorProto(dtype=7, string_val=[config_json.encode("utf-8")])  # 7: DT_STRING
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        writer = self._writer("train")
        writer._get_file_writer().add_summary(summary, 0)
        writer.flush()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_batches = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._global_train_batch += 1
        self._epoch_batches += 1
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer = self._writer("train")
        step = self._global_train_batch
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / elapsed if elapsed > 0 else 0.0, step)
        for k, v in (logs or {}).items():
            if k in ("batch", "size", "num_steps") or _scalar(v) is None:
                continue
            writer.add_scalar("batch_" + k, _scalar(v), step)

    def on_test_batch_begin(self, batch, logs=None):
        self._global_test_batch += 1

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        # Keras records under the writer's record_if of the last test batch: with a numeric
        # update_freq only when the running count of test batches is a multiple of it.
        if self.update_freq != "epoch" and self._global_test_batch % self.update_freq:
            return
        writer = self._writer("validation")
        step = int(optimizer.iterations)
        for k, v in logs.items():
            if _scalar(v) is not None:
                writer.add_scalar(f"evaluation_{k}_vs_iterations", _scalar(v), step)
        writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if "learning_rate" not in train and optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = optimizer.learning_rate
        if self.write_steps_per_second and self._epoch_start is not None:
            elapsed = time.perf_counter() - self._epoch_start
            train["steps_per_second"] = self._epoch_batches / elapsed if elapsed > 0 else 0.0
        for kind, values in (("train", train), ("validation", val)):
            if not values:
                continue
            writer = self._writer(kind)
            for k, v in values.items():
                if _scalar(v) is not None:
                    writer.add_scalar("epoch_" + k, _scalar(v), epoch)
            writer.flush()
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self.model.save_weights(os.path.join(
                self.log_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5"))

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in getattr(self.model, "layers", []):
            for w in layer.weights:
                name = w.path.replace(":", "_")
                value = np.asarray(w.value, dtype=np.float32)
                writer.add_histogram(f"{name}/histogram", value, epoch)
                if self.write_images:
                    image = _weight_as_image(value)
                    if image is not None:
                        writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")
        writer.flush()

    def _write_projector_config(self):
        """``projector_config.pbtxt`` naming each Embedding layer's table, as Keras writes it."""
        from nnfast.layers import Embedding

        metadata = self.embeddings_metadata
        pending = dict(metadata) if isinstance(metadata, dict) else {}
        entries = []
        for layer in getattr(self.model, "layers", []):
            if isinstance(layer, Embedding):
                entry = '  tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"\n'
                path = metadata if isinstance(metadata, str) else pending.pop(layer.name, None)
                if path is not None:
                    entry += f"  metadata_path: {json.dumps(os.fspath(path))}\n"
                entries.append("embeddings {\n" + entry + "}\n")
        if pending:
            raise ValueError("Unrecognized `Embedding` layer names passed to "
                             "`keras.callbacks.TensorBoard` `embeddings_metadata` argument: "
                             f"{pending.keys()}")
        def write(path):
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(entries))

        _atomic_write(os.path.join(self.log_dir, "projector_config.pbtxt"), write)

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _profile_range(profile_batch):
    """Keras's validation of ``profile_batch``: a non-negative int or a pair (or "a,b")."""
    message = ("profile_batch must be a non-negative integer or 2-tuple of positive integers. "
               "A pair of positive integers signifies a range of batches to profile. "
               f"Found: {profile_batch}")
    value = profile_batch
    if isinstance(value, str):
        try:
            value = [int(v) for v in value.split(",")]
        except ValueError:
            raise ValueError(message) from None
    if isinstance(value, int) and not isinstance(value, bool):
        start = stop = value
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        start, stop = value
    else:
        raise ValueError(message)
    if start < 0 or stop < start:
        raise ValueError(message)
    return (start, stop)


def _weight_as_image(weight):
    """Keras's layout of a weight as a batch of NHWC images: a bias is one 1xN image, a 2-D
    kernel one image (long side horizontal), a 3-D conv kernel one image per output channel;
    other ranks have no image (None)."""
    w = np.squeeze(weight)
    if w.ndim == 1:
        return w.reshape(1, w.shape[0], 1, 1)
    if w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
        return w.reshape(1, w.shape[0], w.shape[1], 1)
    if w.ndim == 3:
        w = np.transpose(w, (2, 0, 1))
        return w.reshape(w.shape[0], w.shape[1], w.shape[2], 1)
    return None


class BackupAndRestore(Callback):
    """Backs up the training state at the end of every epoch (or every ``save_freq``
    batches) so that a ``fit`` interrupted by an error resumes, when run again with the
    same callback, at the epoch after the last backup, with the same weights, optimizer
    state and shuffling stream as an uninterrupted run.

    The backup is ``backup_dir/latest.weights.npz`` (model weights, optimizer variables and
    the fit's shuffling RNG state, as NumPy arrays) plus ``training_metadata.json``
    (``{"epoch", "batch"}``). Both are written atomically. The backup is deleted when
    training finishes (``delete_checkpoint=True``).

    Args:
        backup_dir: folder for the backup.
        save_freq: "epoch", False (never) or a number of batches.
        double_checkpoint: keep the previous backup too (``prev_*`` files); it is used when
            the latest one cannot be read.
        delete_checkpoint: remove the backup at the end of training.

    Example:
        >>> x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> import tempfile
        >>> backup = keras.callbacks.BackupAndRestore(backup_dir=tempfile.mkdtemp())
        >>> _ = model.fit(x, y, epochs=2, verbose=0, callbacks=[backup])
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and save_freq is not False and not (
                isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                             "Expected either 'epoch' or an integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.double_checkpoint = save_freq, double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = os.path.join(self.backup_dir, "prev.weights.npz")
        self._prev_metadata_path = os.path.join(self.backup_dir, "prev_training_metadata.json")
        self._batches_seen_since_last_saving, self._last_batch_seen, self._current_epoch = 0, 0, 0

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "built", True):
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             "before you call `fit()`.")
        for weights, metadata in ((self._weights_path, self._metadata_path),
                                  (self._prev_weights_path, self._prev_metadata_path)):
            if os.path.exists(weights) and os.path.exists(metadata):
                try:
                    self._restore(weights, metadata)
                    return
                except (OSError, ValueError, KeyError) as e:
                    warnings.warn(f"Could not restore the backup {weights}: {e}", stacklevel=2)

    def _restore(self, weights_path, metadata_path):
        with open(metadata_path) as f:
            metadata = json.load(f)
        with np.load(weights_path, allow_pickle=False) as data:
            n_w = int(data["num_weights"])
            self.model.set_weights([data[f"w{i}"] for i in range(n_w)])
            n_o = int(data["num_optimizer"])
            optimizer = getattr(self.model, "optimizer", None)
            if n_o and optimizer is not None:
                if not optimizer.built:
                    optimizer.build(self.model.trainable_weights)
                optimizer.set_weights([data[f"o{i}"] for i in range(n_o)])
            rng = getattr(self.model, "_fit_rng", None)
            if rng is not None and "rng_state" in data.files:
                rng.bit_generator.state = json.loads(str(data["rng_state"]))
        self._current_epoch = int(metadata["epoch"])
        self.model._initial_epoch = self._current_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int) and not isinstance(self.save_freq, bool):
            add = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
            self._batches_seen_since_last_saving += add
            self._last_batch_seen = batch
            if self._batches_seen_since_last_saving >= self.save_freq:
                self._batches_seen_since_last_saving = 0
                self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def _save(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for src, dst in ((self._weights_path, self._prev_weights_path),
                             (self._metadata_path, self._prev_metadata_path)):
                if os.path.exists(src):
                    os.replace(src, dst)
        arrays = {}
        weights = self.model.get_weights()
        arrays["num_weights"] = np.array(len(weights))
        for i, w in enumerate(weights):
            arrays[f"w{i}"] = w
        optimizer = getattr(self.model, "optimizer", None)
        opt_vars = optimizer.get_weights() if optimizer is not None and optimizer.built else []
        arrays["num_optimizer"] = np.array(len(opt_vars))
        for i, v in enumerate(opt_vars):
            arrays[f"o{i}"] = v
        rng = getattr(self.model, "_fit_rng", None)
        if rng is not None:
            arrays["rng_state"] = np.array(json.dumps(rng.bit_generator.state))

        def write_npz(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        _atomic_write(self._weights_path, write_npz)
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen}

        def write_json(tmp):
            with open(tmp, "w") as f:
                json.dump(metadata, f)

        _atomic_write(self._metadata_path, write_json)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            for path in (self._weights_path, self._metadata_path, self._prev_weights_path,
                         self._prev_metadata_path):
                if os.path.exists(path):
                    os.remove(path)
            try:
                os.rmdir(self.backup_dir)
            except OSError:
                pass


class RemoteMonitor(Callback):
    """POSTs the epoch logs to ``root + path`` (form field ``field`` holding JSON, or the
    JSON body with ``send_as_json``). Failures warn instead of stopping training.

    Args:
        root: the server's base URL. Defaults to ``"http://localhost:9000"``.
        path: the path, under ``root``, the events are posted to. Defaults to
            ``"/publish/epoch/end/"``.
        field: the form field holding the JSON-encoded logs (when not ``send_as_json``). Defaults
            to ``"data"``.
        headers: a dict of extra HTTP headers.
        send_as_json: post the logs as a JSON body instead of a form field. Defaults to ``False``.

    Example:
        >>> monitor = keras.callbacks.RemoteMonitor(root="http://localhost:9000", send_as_json=True)
        >>> monitor.path
        '/publish/epoch/end/'
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error
        import urllib.parse
        import urllib.request

        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = float(v) if _scalar(v) is not None else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)


from nnfast.callbacks_ema import SwapEMAWeights  # noqa: E402,F401
