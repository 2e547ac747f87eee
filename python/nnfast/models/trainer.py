"""The training loop: ``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch``
methods, with Keras's semantics (validation_split from the end before shuffling, per-epoch
loss as the sample-weighted mean of batch losses, callbacks in Keras's order)."""
import numpy as np

from nnfast import losses as losses_module
from nnfast import metrics as metrics_module
from nnfast import optimizers
from nnfast.backend import random as nnrandom
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor
from nnfast.callbacks import CallbackList, _noop
from nnfast.models import data_adapter as da


class Trainer:
    """Mixed into ``Model``: everything about training and inference loops."""

    def _init_trainer(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compiled_metrics = None
        self._metric_specs = []
        self._loss_tracker = metrics_module.Mean(name="loss")

    # --- compile ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configures training.

        Args:
            optimizer: name (``"adam"``) or Optimizer instance.
            loss: name (``"categorical_crossentropy"``), Loss instance or function.
            metrics: list of names (``["accuracy"]``), Metric instances or functions.
                (tf.keras's positional order ``compile(opt, loss, metrics)`` is accepted.)
            weighted_metrics: metrics that receive ``sample_weight``/``class_weight``.
        """
        # tf.keras order was (optimizer, loss, metrics, loss_weights): accept a list of
        # metric identifiers in the third position.
        if metrics is None and isinstance(loss_weights, (list, tuple)) and loss_weights and all(
                isinstance(m, (str, metrics_module.Metric)) or callable(m) for m in loss_weights):
            metrics, loss_weights = loss_weights, None
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments: {sorted(kwargs)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._loss_fn = losses_module.get(loss) if loss is not None else None
        self._loss_weights = loss_weights
        self._metric_specs = list(metrics or [])
        self._weighted_metric_specs = list(weighted_metrics or [])
        self._compiled_metrics = None
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics}
        self.compiled = True

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before calling `{what}()`.")
        if self._loss_fn is None:
            raise ValueError(f"`{what}()` needs a loss: pass `loss=` to `compile()`.")

    def _build_metrics(self, y, y_pred):
        yt = tuple(np.shape(y))
        yp = tuple(np.shape(y_pred))
        self._compiled_metrics = [(metrics_module.get(m, yt, yp), False) for m in self._metric_specs]
        self._compiled_metrics += [(metrics_module.get(m, yt, yp), True)
                                   for m in self._weighted_metric_specs]

    @property
    def metrics(self):
        out = [self._loss_tracker]
        if self._compiled_metrics:
            out += [m for m, _ in self._compiled_metrics]
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _update_metrics(self, y, y_pred, sample_weight):
        if self._compiled_metrics is None:
            self._build_metrics(y, y_pred)
        for metric, weighted in self._compiled_metrics:
            metric.update_state(y, y_pred, sample_weight if weighted else None)

    def _logs(self):
        logs = {m.name: float(m.result()) for m in self.metrics}
        return dict(sorted(logs.items()))

    # --- one step -----------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus every layer's regularization penalty (a scalar Tensor)."""
        loss = self._loss_fn(y, y_pred, sample_weight)
        for penalty in self._penalties():
            loss = loss + penalty
        return loss

    def _penalties(self):
        # NOTE: the list of regularized weights is cached per step set-up (see fit); the
        # penalties themselves are recomputed each step so they differentiate.
        if getattr(self, "_has_penalties", True):
            return self.losses
        return ()

    def _train_step(self, x, y, sample_weight, variables):
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        grads = tape.gradient(loss, variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if pairs:
            self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return float(loss.value), y_pred

    def _test_step(self, x, y, sample_weight):
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        return float(loss.value), y_pred

    def _outputs_array(self, y_pred):
        return y_pred.value if isinstance(y_pred, Tensor) else np.asarray(y_pred)

    # --- fit ------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False):
        """Trains the model on arrays ``x``, ``y`` for ``epochs`` epochs.

        Returns:
            A ``History`` whose ``.history`` maps each log key to its per-epoch values.
        """
        self._require_compiled("fit")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, received {batch_size}")
        if x is None:
            raise ValueError("fit() needs training data `x`.")
        x = da.to_array(x, "x")
        y = da.to_array(y, "y")
        if y is None:
            raise ValueError("fit() needs targets `y` for array inputs.")
        da.check_finite(y)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float32)
        da.check_lengths(x=x, y=y, sample_weight=sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot pass both `class_weight` and `sample_weight`.")
            sample_weight = da.class_weight_to_sample_weight(y, class_weight)

        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                                 "(x_val, y_val, val_sample_weight).")
            vx, vy = da.to_array(validation_data[0], "x_val"), da.to_array(validation_data[1], "y_val")
            vsw = None if len(validation_data) == 2 else np.asarray(validation_data[2], np.float32)
            da.check_lengths(x_val=vx, y_val=vy, val_sample_weight=vsw)
            val = (vx, vy, vsw)
        elif validation_split:
            (x, y, sample_weight), (vx, vy, vsw) = da.train_validation_split(
                (x, y, sample_weight), validation_split)
            val = (vx, vy, vsw)

        n = len(x)
        steps = -(-n // batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                           verbose=verbose, epochs=epochs, steps=steps)
        # Kept on the model so BackupAndRestore can save and restore the shuffling stream.
        rng = self._fit_rng = nnrandom.make_generator()
        if not self.built:
            self._maybe_build(x[:1])
        variables = self.trainable_weights
        self._has_penalties = (any(v.regularizer is not None for v in variables)
                               or self._any_activity_regularizer())
        if not self.optimizer.built:
            self.optimizer.build(variables)
        self.stop_training = False
        # Batch logs cost a dict per step: build them only when a callback reads them.
        batch_logs = cbs.on_train_batch_end is not _noop
        cbs.on_train_begin()
        # BackupAndRestore sets _initial_epoch in on_train_begin to resume a run (Keras 3).
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        self._initial_epoch = None
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            for step, idx in enumerate(da.batch_slices(n, batch_size, shuffle, rng)):
                if step >= steps:
                    break
                cbs.on_train_batch_begin(step)
                xb, yb, swb = da.take(x, idx), da.take(y, idx), da.take(sample_weight, idx)
                loss, y_pred = self._train_step(xb, yb, swb, variables)
                count = len(xb)
                self._loss_tracker.total += loss * count
                self._loss_tracker.count += count
                self._update_metrics(yb, self._outputs_array(y_pred), swb)
                cbs.on_train_batch_end(step, self._logs() if batch_logs else None)
                if self.stop_training:
                    break
            logs = self._logs()
            if val is not None and _should_validate(epoch, validation_freq):
                val_logs = self.evaluate(val[0], val[1], batch_size=validation_batch_size or batch_size,
                                         sample_weight=val[2], verbose=0, return_dict=True,
                                         steps=validation_steps, _callbacks=cbs)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if epochs > initial_epoch:  # use_ema: the moving averages become the weights
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(logs)
        return cbs.history

    def fit_generator(self, generator, *args, **kwargs):
        raise NotImplementedError("fit_generator arrives with generator support in fit().")

    # --- evaluate ----------------------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, _callbacks=None):
        """Loss and metrics on ``x``, ``y`` in inference mode (batches of 32 by default).

        Returns:
            The loss (a float) when there are no metrics, else ``[loss, metric...]``; a dict
            with ``return_dict=True``.
        """
        self._require_compiled("evaluate")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        x, y = da.to_array(x, "x"), da.to_array(y, "y")
        if y is None:
            raise ValueError("evaluate() needs targets `y` for array inputs.")
        da.check_finite(y)
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32)
        n = da.check_lengths(x=x, y=y, sample_weight=sw)
        total_steps = -(-n // batch_size)
        if steps is not None:
            total_steps = min(total_steps, int(steps))
        if _callbacks is not None:
            cbs = _callbacks
            saved = dict(cbs.callbacks[0].params) if cbs.callbacks else {}
            for cb in cbs.callbacks:
                cb.params = dict(cb.params, _in_fit=True)
        else:
            cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                               epochs=1, steps=total_steps)
        self.reset_metrics()
        cbs.on_test_begin()
        for step, idx in enumerate(da.batch_slices(n, batch_size, False, None)):
            if step >= total_steps:
                break
            cbs.on_test_batch_begin(step)
            xb, yb, swb = x[idx], y[idx], None if sw is None else sw[idx]
            loss, y_pred = self._test_step(xb, yb, swb)
            self._loss_tracker.total += loss * len(xb)
            self._loss_tracker.count += len(xb)
            self._update_metrics(yb, self._outputs_array(y_pred), swb)
            cbs.on_test_batch_end(step, self._logs())
        logs = self._logs()
        cbs.on_test_end(logs)
        if _callbacks is not None:
            for cb in cbs.callbacks:
                cb.params = dict(cb.params)
                cb.params.pop("_in_fit", None)
            del saved
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in self.metrics[1:]]
        return values[0] if len(values) == 1 else values

    # --- predict -----------------------------------------------------------------------------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` in inference mode, as one NumPy array (batches of 32 by default)."""
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        x = da.to_array(x, "x")
        n = len(x)
        total_steps = -(-n // batch_size)
        if steps is not None:
            total_steps = min(total_steps, int(steps))
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=1, steps=total_steps)
        cbs.on_predict_begin()
        out = None
        for step in range(total_steps):
            cbs.on_predict_batch_begin(step)
            s = step * batch_size
            xb = x[s:s + batch_size]
            yb = self._outputs_array(self(xb, training=False))
            if out is None:
                rows = min(n, total_steps * batch_size)
                out = np.empty((rows,) + yb.shape[1:], dtype=yb.dtype)
            out[s:s + len(yb)] = yb
            cbs.on_predict_batch_end(step, {"outputs": yb})
        cbs.on_predict_end()
        if out is None:
            raise ValueError("predict() received no samples: x is empty.")
        return out

    # --- single batches -------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        x, y = da.to_array(x, "x"), da.to_array(y, "y")
        da.check_finite(y)
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32)
        da.check_lengths(x=x, y=y, sample_weight=sw)
        if class_weight is not None:
            sw = da.class_weight_to_sample_weight(y, class_weight)
        if not self.built:
            self._maybe_build(x[:1])
        self.reset_metrics()
        variables = self.trainable_weights
        self._has_penalties = (any(v.regularizer is not None for v in variables)
                               or self._any_activity_regularizer())
        loss, y_pred = self._train_step(x, y, sw, variables)
        self._loss_tracker.update_state(loss)
        self._update_metrics(y, self._outputs_array(y_pred), sw)
        return self._batch_result(return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch in inference mode."""
        self._require_compiled("test_on_batch")
        x, y = da.to_array(x, "x"), da.to_array(y, "y")
        sw = None if sample_weight is None else np.asarray(sample_weight, np.float32)
        da.check_lengths(x=x, y=y, sample_weight=sw)
        self.reset_metrics()
        loss, y_pred = self._test_step(x, y, sw)
        self._loss_tracker.update_state(loss)
        self._update_metrics(y, self._outputs_array(y_pred), sw)
        return self._batch_result(return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch, no batching and no callbacks."""
        return self._outputs_array(self(da.to_array(x, "x"), training=False))

    def _batch_result(self, return_dict):
        logs = self._logs()
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for m in self.metrics[1:]]
        return values[0] if len(values) == 1 else values


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq
