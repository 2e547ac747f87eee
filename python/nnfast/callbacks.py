"""Callbacks: hooks into ``fit``/``evaluate``/``predict`` (Keras's call order).

Users subclass ``Callback`` and override any ``on_*`` hook; ``self.model`` and
``self.params`` are set by the training loop. ``History`` is always added to ``fit``, and a
``ProgbarLogger`` when ``verbose != 0``.
"""
from nnfast.utils.progbar import Progbar


class Callback:
    """Base class of callbacks. Every hook is a no-op by default."""

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
    impl = getattr(type(cb), hook, None)
    base = getattr(Callback, hook)
    if impl is not base:
        return True
    # on_train_batch_* fall back to on_batch_*; count those overrides too.
    legacy = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}.get(hook)
    return legacy is not None and getattr(type(cb), legacy) is not getattr(Callback, legacy)


class CallbackList:
    """Calls each hook on every callback in order. Batch hooks that no callback overrides
    are skipped entirely, so an empty list costs nothing per step."""

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
            setattr(self, hook, _dispatcher(active) if active else _noop)

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


def _dispatcher(fns):
    def call(*args, **kwargs):
        for fn in fns:
            fn(*args, **kwargs)
    return call


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` is a per-epoch list."""

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
    """Prints ``Epoch i/E`` and the progress bar (verbose 1) or one line per epoch (2)."""

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self._bar = None
        self._seen = 0

    def on_train_begin(self, logs=None):
        self.verbose = self.params.get("verbose", 1)
        self.epochs = self.params.get("epochs", 1)

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose)
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
            self._bar = Progbar(self.params.get("steps"), verbose=self.params.get("verbose", 1))

    def on_test_batch_end(self, batch, logs=None):
        if not self.params.get("_in_fit") and self._bar is not None and self.params.get("verbose") == 1:
            self._bar.update(batch + 1, logs, finalize=False)

    def on_test_end(self, logs=None):
        if not self.params.get("_in_fit") and self._bar is not None:
            self._bar.update(self._bar._seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        if self.params.get("verbose", 1):
            self._bar = Progbar(self.params.get("steps"), verbose=self.params.get("verbose", 1))

    def on_predict_batch_end(self, batch, logs=None):
        if self._bar is not None and self.params.get("verbose") == 1:
            self._bar.update(batch + 1, None, finalize=False)

    def on_predict_end(self, logs=None):
        if self._bar is not None:
            self._bar.update(self._bar._seen, None, finalize=True)
