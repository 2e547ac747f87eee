"""Keras's customization hooks of the training loop: ``train_step``, ``test_step``,
``predict_step``, ``compute_metrics``, ``get_metrics_result`` and the ``compile_metrics``
container, as in Keras 3's "Customizing what happens in fit()" guides.

``fit``/``evaluate``/``predict`` call these public methods only when a subclass overrides
one of them (or ``compute_loss``); otherwise they run the trainer's own fused loop, which
computes the same thing with less per-step work. The defaults here are what a subclass
reaches with ``super().train_step(data)``.
"""
import inspect
import warnings

import numpy as np

from nnfast import config
from nnfast import metrics as metrics_module
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor
from nnfast.models.data_adapter import leaves
from nnfast.utils.x_y_sample_weight import pack_x_y_sample_weight, unpack_x_y_sample_weight


def pythonify_logs(logs):
    """Step logs as the progress bar and History see them: nested dicts flattened, keys
    sorted, values turned into Python floats where they convert."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            value = float(value.value if isinstance(value, Tensor) else value)
        except (TypeError, ValueError):
            pass
        result[key] = value
    return result


class CompileMetrics(metrics_module.Metric):
    """The metrics passed to ``compile`` as one entry of ``model.metrics`` (Keras 3's
    ``compile_metrics``): ``update_state(y, y_pred, sample_weight)`` updates each of them
    and ``result()`` returns ``{name: value}``. ``metrics`` lists them once they are built
    (at the first batch, when the output shapes are known)."""

    def __init__(self, model):
        super().__init__(name="compile_metrics")
        self._model = model

    @property
    def metrics(self):
        return [m for m, _, _ in (self._model._compiled_metrics or ())]

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._model._compiled_metrics_update(y_true, y_pred, sample_weight)

    def result(self):
        return {m.name: m.result() for m in self.metrics}

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()


class _DeprecatedCompiledMetrics:
    """What tf.keras 2 code reaches as ``self.compiled_metrics`` (Keras 3's shim)."""

    def __init__(self, model):
        self._model = model

    def update_state(self, y, y_pred, sample_weight=None):
        warnings.warn("`model.compiled_metrics()` is deprecated. Instead, use e.g.:\n"
                      "```\nfor metric in self.metrics:\n    metric.update_state(y, y_pred)\n"
                      "```\n", stacklevel=2)
        for metric in self._model.metrics:
            if isinstance(metric, metrics_module.Mean) and \
                    not isinstance(metric, metrics_module.MeanMetricWrapper):
                metric.update_state(y_pred, sample_weight=sample_weight)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)


_HOOKS = ("train_step", "test_step", "predict_step", "compute_loss", "compute_metrics",
          "get_metrics_result")
_TAKES_TRAINING_ARG = {}


def _batch_size(x):
    for leaf in leaves(x):
        if leaf is not None:
            return int(np.shape(leaf)[0]) if np.ndim(leaf) else 1
    return 1


class StepHooks:
    """Mixed into ``Trainer``: Keras's overridable per-step methods."""

    def _overridden(self, *names):
        """True when the model's class overrides any of ``names`` (methods of StepHooks
        or Trainer)."""
        from nnfast.models.trainer import Trainer

        cls = type(self)
        for name in names:
            base = StepHooks.__dict__.get(name) or Trainer.__dict__.get(name)
            if getattr(cls, name) is not base:
                return True
        return False

    def _custom_train(self):
        return self._overridden("train_step", "compute_loss", "compute_metrics",
                                "get_metrics_result")

    def _custom_test(self):
        return self._overridden("test_step", "compute_loss", "compute_metrics",
                                "get_metrics_result")

    def _compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """``compute_loss``, leaving out ``training`` for overrides written before Keras 3.3
        added it."""
        cls = type(self)
        takes = _TAKES_TRAINING_ARG.get(cls)
        if takes is None:
            params = inspect.signature(self.compute_loss).parameters
            takes = "training" in params or any(
                p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
            _TAKES_TRAINING_ARG[cls] = takes
        if takes:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def train_step(self, data):
        """One training step on one batch: forward pass under a ``GradientTape``, loss from
        ``compute_loss``, one optimizer step, then ``compute_metrics``.

        Args:
            data: the batch as ``fit`` gives it: ``x``, ``(x, y)`` or
                ``(x, y, sample_weight)`` (see ``keras.utils.unpack_x_y_sample_weight``).

        Returns:
            A dict of logs (``{"loss": ..., "accuracy": ...}``) for callbacks and the
            progress bar.

        Example (a subclass)::

            def train_step(self, data):
                x, y = data
                with keras.GradientTape() as tape:
                    y_pred = self(x, training=True)
                    loss = self.compute_loss(y=y, y_pred=y_pred)
                grads = tape.gradient(loss, self.trainable_variables)
                self.optimizer.apply(grads, self.trainable_variables)
                return self.compute_metrics(x, y, y_pred)
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                      training=True)
            scaled = self.optimizer.scale_loss(loss)  # as Keras's train_step
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        variables = self.trainable_weights
        if variables:
            grads = tape.gradient(scaled, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
        else:
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        """One evaluation step: forward pass in inference mode, ``compute_loss``
        (``training=False``) and ``compute_metrics``; returns the logs dict."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                  training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        """One prediction step: ``self(x, training=False)`` on the batch's ``x``."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the metrics given to ``compile`` with one batch and returns
        ``get_metrics_result()``.

        Args:
            x: the batch's inputs (unused by the default).
            y: targets. y_pred: the model's outputs. sample_weight: optional weights.

        Returns:
            ``{name: value}`` for every metric of ``model.metrics``.
        """
        del x
        if self._compile_metrics_container is not None:
            self._compile_metrics_container.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """``{name: value}`` for ``model.metrics``; a metric whose result is a dict (the
        ``compile_metrics`` container) contributes each of its entries."""
        out = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                out.update(result)
            else:
                out[metric.name] = result
        return out

    def _get_metrics_result_or_logs(self, logs):
        """The metrics' values when a step's logs carry the same keys (the built-in steps),
        else the last step's own logs (a custom ``train_step`` returning its own dict)."""
        metric_logs = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) == set(metric_logs):
            return metric_logs
        return logs

    def _flatten_metrics_in_order(self, logs):
        """``logs`` as the list ``evaluate`` returns: ``metrics_names`` order (the compiled
        metrics in their own order), then any other key sorted; one value alone."""
        results = [logs[name] for name in self._log_names_in_order(logs)]
        return results[0] if len(results) == 1 else results

    def _log_names_in_order(self, logs):
        """The keys of ``logs`` in the order of ``_flatten_metrics_in_order``."""
        names = []
        for metric in self.metrics:
            if isinstance(metric, CompileMetrics):
                # NOTE: Keras lists the compiled metrics by their own names; on a model with
                # several outputs the logs carry "<output>_<name>", which then falls to the
                # sorted tail (Keras's order: loss, output losses, output metrics).
                if not getattr(self, "_multi", False):
                    names += [m.name for m in metric.metrics]
            else:
                names.append(metric.name)
        ordered = [name for name in names if name in logs]
        rest = [k for k in sorted(logs) if k not in names]
        outputs = getattr(self, "output_names", None) or []
        if rest and len(outputs) > 1 and _keras_version() == 2:
            rest = _keras2_output_order(rest, list(logs), outputs)
        return ordered + rest

    @property
    def compiled_metrics(self):
        """tf.keras 2's ``compiled_metrics`` (deprecated in Keras 3): ``update_state``
        updates every metric of ``model.metrics``."""
        return _DeprecatedCompiledMetrics(self)

    def compiled_loss(self, y, y_pred, sample_weight=None, regularization_losses=None):
        """tf.keras 2's ``compiled_loss`` (deprecated in Keras 3): ``compute_loss``."""
        warnings.warn("`model.compiled_loss()` is deprecated. Instead, use "
                      "`model.compute_loss(x, y, y_pred, sample_weight, training)`.",
                      stacklevel=2)
        return self.compute_loss(x=None, y=y, y_pred=y_pred, sample_weight=sample_weight)

    def _tracked_metrics(self):
        """Metrics set as attributes of the model (``self.loss_tracker = Mean(...)``), then
        those of its layers (not of nested models, whose metrics are their own)."""
        from nnfast.models.trainer import Trainer

        out = self._own_metrics()
        for layer in self._layers:
            if not isinstance(layer, Trainer):
                out.extend(_layer_metrics(layer))
        return out


def _layer_metrics(layer):
    out = layer._own_metrics()
    for sub in layer._layers:
        out.extend(_layer_metrics(sub))
    return out


def _keras_version():
    return config.keras_version()


def _keras2_output_order(keys, logged, outputs):
    """Keras 2's order of a multi-output model's logs: each output's loss in output order,
    then each output's metrics in output order (in the order they were logged), then the
    rest sorted."""
    def owner(key):  # the output whose name prefixes the key (the longest such name)
        found = [o for o in outputs if key.startswith(f"{o}_")]
        return max(found, key=len) if found else None

    losses = [f"{o}_loss" for o in outputs if f"{o}_loss" in keys]
    metrics = [k for o in outputs for k in logged
               if k in keys and k not in losses and owner(k) == o]
    taken = set(losses) | set(metrics)
    return losses + metrics + [k for k in keys if k not in taken]
