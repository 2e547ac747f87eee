"""The training loop: ``compile``, ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch``
methods, with Keras's semantics (validation_split from the end before shuffling, per-epoch
loss as the sample-weighted mean of batch losses, callbacks in Keras's order).

Data may be arrays, lists/dicts of arrays (one per model input or output), Python
generators or ``PyDataset``/``Sequence`` objects. Models with several outputs take ``loss``,
``loss_weights`` and ``metrics`` as lists (outputs order) or dicts (output names); the total
loss is ``sum(w_i * loss_i)`` plus regularization, logged with ``<output>_loss`` and
``<output>_<metric>`` keys as Keras logs them.
"""
import copy
import warnings

import numpy as np

from nnfast import config, ops, optimizers
from nnfast import metrics as metrics_module
from nnfast.backend import memory
from nnfast.backend import random as nnrandom
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor
from nnfast.callbacks import CallbackList, _noop
from nnfast.config import max_epochs
from nnfast.distribution import api
from nnfast.layers.layer import added_losses_seen
from nnfast.models import data_adapter as da
from nnfast.models.compile_loss import resolve_loss
from nnfast.models.custom_steps import (
    CompileMetrics,
    StepHooks,
    pack_x_y_sample_weight,
    pythonify_logs,
)
from nnfast.models.lowered import lower_training
from nnfast.saving.serialization import serialize_keras_object
from nnfast.thread_governor import GOVERNOR


class Trainer(StepHooks):
    """Mixed into ``Model``: everything about training and inference loops.

    ``fit``/``evaluate``/``predict`` run a fused loop of their own unless the model's class
    overrides ``train_step``/``test_step``/``predict_step``/``compute_loss``/
    ``compute_metrics`` (see ``custom_steps``); then they call those methods per batch."""

    def _init_trainer(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compiled_metrics = None
        self._compile_metrics_container = None
        self._metric_specs = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._output_loss_trackers = []
        self._outputs_resolved = False

    # --- compile ----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, **kwargs):
        """Configures training.

        Args:
            optimizer: name (``"adam"``) or Optimizer instance.
            loss: name (``"categorical_crossentropy"``), Loss instance or function; for a
                model with several outputs, a list (outputs order) or a dict keyed by
                output name (a single loss applies to every output).
            loss_weights: list or dict of scalar weights of the per-output losses.
            metrics: list of names (``["accuracy"]``), Metric instances or functions; for
                several outputs, a list of lists or a dict keyed by output name (a flat
                list applies to every output). tf.keras's positional order
                ``compile(opt, loss, metrics)`` is accepted.
            weighted_metrics: metrics that receive ``sample_weight``/``class_weight``.
            run_eagerly: Keras's switch for graph execution; nnfast always runs eagerly,
                so it has no effect.
            steps_per_execution: training steps per call of a lowered program (see
                ``models.lowered``; batch callbacks run once per call). At 1, ``fit`` runs
                many steps per call when no callback but the progress bar reads batch hooks.
            jit_compile: Keras's XLA switch; accepted, no effect.
            auto_scale_loss: Keras's loss scaling for ``mixed_float16``; accepted, no
                effect.
            **kwargs: none are accepted (a TypeError names them).

        Returns:
            None.

        Raises:
            ValueError: for an unknown optimizer, loss or metric name.
            TypeError: for unexpected keyword arguments.

        Example:
            >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
        """
        # tf.keras order was (optimizer, loss, metrics, loss_weights): accept a list of
        # metric identifiers in the third position.
        if metrics is None and isinstance(loss_weights, (list, tuple)) and loss_weights and all(
                isinstance(m, (str, metrics_module.Metric)) or callable(m) for m in loss_weights):
            metrics, loss_weights = loss_weights, None
        if kwargs:
            raise TypeError(f"compile() got unexpected keyword arguments: {sorted(kwargs)}")
        if isinstance(steps_per_execution, bool) or not isinstance(
                steps_per_execution, (int, np.integer)) or steps_per_execution < 1:
            raise ValueError("`steps_per_execution` must be a positive integer. Received: "
                             f"steps_per_execution={steps_per_execution!r}")
        self._steps_per_execution = int(steps_per_execution)
        self.optimizer = optimizers.get(optimizer)
        if auto_scale_loss and getattr(self, "dtype_policy", None) is not None and \
                self.dtype_policy.name == "mixed_float16" and \
                not isinstance(self.optimizer, optimizers.LossScaleOptimizer):
            # As Keras: float16 training gets dynamic loss scaling unless asked otherwise.
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer,
                                                           name="loss_scale_optimizer")
        self.loss = loss
        # Validate loss identifiers now so typos fail at compile time.
        for spec in _spec_leaves(loss):
            resolve_loss(spec)
        self._loss_fn = resolve_loss(loss) if loss is not None and not isinstance(
            loss, (list, tuple, dict)) else None
        self._loss_weights = loss_weights
        self._metric_specs = metrics
        self._weighted_metric_specs = weighted_metrics
        self._compiled_metrics = None
        # Keras 3 lists the compiled metrics as one `compile_metrics` entry of `metrics`.
        self._compile_metrics_container = (CompileMetrics(self) if metrics is not None or
                                           weighted_metrics is not None else None)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._outputs_resolved = False
        self._output_loss_trackers = []
        self._compile_config = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                                "metrics": metrics, "weighted_metrics": weighted_metrics}
        self._compile_config_serialized = None
        self._trainable_at_compile = self._trainable_state()
        self._warned_trainable = False
        # Compiled inside `nnfast.distribute.<Strategy>.scope()`: fit under that strategy.
        self._strategy_distribution = _scoped_strategy_distribution()
        self.compiled = True

    def _serialize_compile_config(self):
        """Keras 3's ``compile_config`` for saving."""
        cc = self._compile_config

        def ser(spec):
            if spec is None or isinstance(spec, str):
                return spec
            if isinstance(spec, (list, tuple)):
                return [ser(s) for s in spec]
            if isinstance(spec, dict):
                return {k: ser(v) for k, v in spec.items()}
            return serialize_keras_object(spec)

        return {"optimizer": serialize_keras_object(self.optimizer), "loss": ser(cc["loss"]),
                "loss_weights": cc["loss_weights"], "metrics": ser(cc["metrics"]),
                "weighted_metrics": ser(cc["weighted_metrics"]), "run_eagerly": False,
                "steps_per_execution": getattr(self, "_steps_per_execution", 1),
                "jit_compile": False}

    def _trainable_state(self):
        layers = getattr(self, "layers", [])
        return [(l.name, l.trainable) for l in layers] + [("__model__", self.trainable)]

    def _check_trainable_changed(self):
        if self.compiled and not self._warned_trainable and \
                self._trainable_state() != self._trainable_at_compile:
            self._warned_trainable = True
            warnings.warn("The `trainable` attribute of a layer or model changed after "
                          "`compile()`. nnfast trains the current trainable weights, but Keras "
                          "requires calling `compile()` again after changing `trainable`.",
                          stacklevel=3)

    def _require_compiled(self, what, custom=False):
        if not self.compiled:
            raise RuntimeError(f"You must call `compile()` before calling `{what}()`.")
        # With add_loss in use the loss may come from the forward pass alone: compute_loss
        # decides then (as Keras).
        if self.loss is None and not custom and not added_losses_seen():
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")

    # --- outputs, losses and metrics ------------------------------------------------------
    def _output_names_list(self, n):
        names = getattr(self, "output_names", None)
        if names and len(names) == n:
            return list(names)
        return [f"output_{i + 1}" for i in range(n)] if n > 1 else ["output"]

    def _resolve_outputs(self, y_pred):
        """Per-output losses and weights, once the number of outputs is known."""
        preds = _flat_outputs(y_pred)
        n = len(preds)
        self._n_outputs = n
        self._multi = n > 1
        names = self._output_names_list(n)
        self._out_names = names
        if not self._multi:
            if isinstance(self.loss, dict):
                spec = self.loss.get(names[0], next(iter(self.loss.values()), None))
            elif isinstance(self.loss, (list, tuple)):
                if len(self.loss) != 1:
                    raise ValueError(f"The model has 1 output, but `loss` is a list of "
                                     f"{len(self.loss)} losses.")
                spec = self.loss[0]
            else:
                spec = self.loss
            if self._loss_fn is None and spec is not None:
                self._loss_fn = resolve_loss(spec)
            self._output_losses = [(self._loss_fn, 1.0)]
        else:
            specs = _per_output(self.loss, names, "loss", broadcast=True)
            weights = _per_output(self._loss_weights, names, "loss_weights", broadcast=False,
                                  default=1.0)
            self._output_losses = [(resolve_loss(s) if s is not None else None,
                                    1.0 if w is None else float(w)) for s, w in zip(specs, weights)]
            self._output_loss_trackers = [metrics_module.Mean(name=f"{name}_loss")
                                          for name, (fn, _) in zip(names, self._output_losses)
                                          if fn is not None]
            self._output_loss_index = [i for i, (fn, _) in enumerate(self._output_losses)
                                       if fn is not None]
        self._outputs_resolved = True

    def _standardize_targets(self, y, what="y"):
        """Targets as one array (single output) or a list aligned with the outputs."""
        if y is None or not getattr(self, "_multi", False):
            if isinstance(y, dict) and len(y) == 1:
                return next(iter(y.values()))
            if isinstance(y, list) and len(y) == 1:
                return y[0]
            return y
        if isinstance(y, dict):
            unknown = [k for k in y if k not in self._out_names]
            if unknown:
                raise ValueError(f"Unknown output name(s) {unknown} in `{what}`. The model's "
                                 f"outputs are {self._out_names}.")
            return [y.get(n) for n in self._out_names]
        if isinstance(y, list):
            if len(y) != self._n_outputs:
                raise ValueError(f"The model has {self._n_outputs} outputs "
                                 f"({self._out_names}), but `{what}` is a list of {len(y)} "
                                 "arrays.")
            return y
        raise ValueError(f"The model has {self._n_outputs} outputs ({self._out_names}); pass "
                         f"`{what}` as a list or a dict keyed by output name.")

    def _build_metrics(self, y, y_pred):
        multi = getattr(self, "_multi", False)
        names = getattr(self, "_out_names", ["output"])
        compiled = []
        for specs, weighted in ((self._metric_specs, False), (self._weighted_metric_specs, True)):
            if specs is None:
                continue
            if not multi:
                flat = specs
                if isinstance(specs, dict):
                    flat = specs.get(names[0], next(iter(specs.values()), []))
                if isinstance(flat, (list, tuple)) and len(flat) == 1 and \
                        isinstance(flat[0], (list, tuple)):
                    flat = flat[0]
                if not isinstance(flat, (list, tuple)):
                    flat = [flat]
                yt, yp = tuple(np.shape(y)), tuple(np.shape(y_pred))
                compiled += [(metrics_module.get(m, yt, yp), weighted, 0) for m in flat]
                continue
            per = _per_output_metrics(specs, names)
            for i, out_specs in enumerate(per):
                yt = tuple(np.shape(y[i])) if y[i] is not None else ()
                yp = tuple(np.shape(y_pred[i]))
                for m in out_specs:
                    if isinstance(m, metrics_module.Metric):
                        m = copy.deepcopy(m)
                    metric = metrics_module.get(m, yt, yp)
                    metric.name = f"{names[i]}_{metric.name}"
                    compiled.append((metric, weighted, i))
        self._compiled_metrics = compiled

    @property
    def metrics(self):
        """Keras 3's order: the loss tracker, the ``compile_metrics`` container, the
        per-output loss trackers (once the outputs are known), then metrics set as
        attributes of the model and of its layers."""
        out = []
        if self.compiled:
            out.append(self._loss_tracker)
            if self._compile_metrics_container is not None:
                out.append(self._compile_metrics_container)
            out += self._output_loss_trackers
        return out + self._tracked_metrics()

    @property
    def metrics_names(self):
        if config.keras_version() == 2:
            # Keras 2 named each value `evaluate` returns, compiled metrics flattened.
            return self._log_names_in_order(self._logs())
        return [m.name for m in self.metrics]

    def _compiled_metrics_update(self, y, y_pred, sample_weight):
        """``compile_metrics.update_state``: targets and outputs aligned as the fused loop
        aligns them, then each compiled metric updated."""
        if not self._outputs_resolved:
            self._resolve_outputs(y_pred)
        y = self._standardize_targets(y)
        if self._multi:
            y_pred = _flat_outputs(y_pred)
        self._update_metrics(y, self._outputs_array(y_pred), sample_weight)

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _update_metrics(self, y, y_pred, sample_weight):
        if self._compile_metrics_container is None:
            return
        if self._compiled_metrics is None:
            self._build_metrics(y, y_pred)
        if not getattr(self, "_multi", False):
            for metric, weighted, _ in self._compiled_metrics:
                metric.update_state(y, y_pred, sample_weight if weighted else None)
            return
        sws = self._per_output_weights(sample_weight)
        for metric, weighted, i in self._compiled_metrics:
            if y[i] is None:
                continue
            metric.update_state(y[i], y_pred[i], sws[i] if weighted else None)

    def _per_output_weights(self, sample_weight):
        n = self._n_outputs
        if sample_weight is None:
            return [None] * n
        if isinstance(sample_weight, dict):
            return [sample_weight.get(name) for name in self._out_names]
        if isinstance(sample_weight, list):
            if len(sample_weight) != n:
                raise ValueError(f"`sample_weight` is a list of {len(sample_weight)} arrays, but "
                                 f"the model has {n} outputs.")
            return sample_weight
        return [sample_weight] * n

    def _logs(self):
        return pythonify_logs(self.get_metrics_result())

    # --- one step -----------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of one batch: the compiled loss (``sum(w_i * loss_i)`` over
        outputs) plus every penalty of ``model.losses`` (weight regularizers, activity
        regularizers, ``add_loss``), as a scalar Tensor.

        Override it to change the loss while keeping ``fit``'s loop; on a model with
        several outputs it also updates the ``<output>_loss`` trackers.

        Args:
            x: the batch's inputs (unused by the default).
            y: targets (one array, or a list/dict for several outputs).
            y_pred: the model's outputs for ``x``.
            sample_weight: optional per-sample weights.
            training: whether the loss is for a training step.

        Example:
            >>> loss = model.compute_loss(y=y, y_pred=model(x))
        """
        loss = None
        if self.loss is not None:
            if not self._outputs_resolved:
                self._resolve_outputs(y_pred)
                y = self._standardize_targets(y)
            if not self._multi:
                if isinstance(y, (list, dict)):
                    y = self._standardize_targets(y)
                loss = self._loss_fn(y, y_pred, sample_weight)
            else:
                loss = self._multi_output_loss(y, y_pred, sample_weight)
        for penalty in self._penalties():
            if penalty.ndim:
                penalty = ops.sum(penalty)
            loss = penalty if loss is None else loss + penalty
        if loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return loss

    def _multi_output_loss(self, y, y_pred, sample_weight):
        if not isinstance(y, list) or len(y) != self._n_outputs:
            y = self._standardize_targets(y)
        if not isinstance(y_pred, list):
            y_pred = _flat_outputs(y_pred)
        sws = self._per_output_weights(sample_weight)
        loss = None
        count = len(y_pred[0])
        trackers = iter(self._output_loss_trackers)
        for i, (fn, w) in enumerate(self._output_losses):
            if fn is None:
                continue
            if y[i] is None:
                raise ValueError(f"No target given for output '{self._out_names[i]}', which "
                                 "has a loss.")
            li = fn(y[i], y_pred[i], sws[i])
            # As Keras's CompileLoss: each output's loss tracker weighs the batch by its size.
            tracker = next(trackers)
            tracker.total += float(li.value) * count
            tracker.count += count
            term = li if w == 1.0 else li * np.float32(w)
            loss = term if loss is None else loss + term
        return loss

    def _penalties(self):
        # NOTE: the list of regularized weights is cached per step set-up (see fit); the
        # penalties themselves are recomputed each step so they differentiate.
        if getattr(self, "_has_penalties", True) or added_losses_seen():
            return self.losses
        return ()

    def _call_and_loss(self, x, y, sample_weight, training):
        y_pred = self(x, training=training)
        if not self._outputs_resolved:
            self._resolve_outputs(y_pred)
            y = self._standardize_targets(y)
        if self._multi:
            y_pred = _flat_outputs(y_pred)
        return y_pred, self.compute_loss(x, y, y_pred, sample_weight, training=training)

    def _train_step(self, x, y, sample_weight, variables):
        with GradientTape() as tape:
            y_pred, loss = self._call_and_loss(x, y, sample_weight, True)
            # Keras differentiates the optimizer's scaled loss (loss_scale_factor,
            # LossScaleOptimizer); the optimizer divides the scale back out of the gradients.
            scaled = self.optimizer.scale_loss(loss)
        grads = tape.gradient(scaled, variables)
        # The same `variables` list every step lets the optimizer take its plain path. Missing
        # gradients are the optimizer's to report, as in Keras: a warning naming the variables,
        # and an error when no variable gets one (a loss cut off from the model must not train
        # silently).
        self.optimizer.apply(grads, variables)
        return float(loss.value), y_pred

    def _test_step(self, x, y, sample_weight):
        y_pred, loss = self._call_and_loss(x, y, sample_weight, False)
        return float(loss.value), y_pred

    def _outputs_array(self, y_pred):
        if isinstance(y_pred, list):
            return [self._outputs_array(p) for p in y_pred]
        return y_pred.value if isinstance(y_pred, Tensor) else np.asarray(y_pred)

    def _record_step(self, loss, count, y, y_pred, sample_weight):
        """Accumulates one batch into the epoch's running loss and metrics (the per-output
        losses were recorded by ``compute_loss``)."""
        self._loss_tracker.total += loss * count
        self._loss_tracker.count += count
        self._update_metrics(y, self._outputs_array(y_pred), sample_weight)

    def _prepare_batch(self, x, y, sw, class_weight=None):
        """Arrays for one batch from a generator/PyDataset, targets aligned with outputs."""
        x = da.to_arrays(x, "x")
        y = da.to_arrays(y, "y")
        if sw is not None:
            sw = da.to_arrays(sw, "sample_weight")
        if class_weight is not None and y is not None:
            sw = da.class_weight_to_sample_weight(y, class_weight)
        return x, y, sw

    def _ensure_ready(self, x_sample, y_sample):
        """Builds the model and resolves its outputs from a small sample (no training)."""
        if not self.built:
            self._maybe_build(_first_rows(x_sample))
        if not self._outputs_resolved:
            outputs = getattr(self, "outputs", None)
            from nnfast.models.sequential import Sequential

            if isinstance(self, Sequential):
                self._resolve_outputs(None)
            elif isinstance(outputs, list) and outputs:
                self._resolve_outputs(outputs)
            else:  # a subclassed model: count its outputs on one sample
                self._resolve_outputs(self(_first_rows(x_sample), training=False))

    # --- fit ------------------------------------------------------------------------------
    @memory.scoped
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False):
        """Trains the model for ``epochs`` epochs.

        Args:
            x: an array (any strides: a view is copied once, not per batch), a list/dict of
                arrays (one per input), a Python generator yielding ``(x, y)`` or
                ``(x, y, sample_weight)``, a ``PyDataset``/``Sequence``, or a re-iterable
                batch source such as ``torch.utils.data.DataLoader`` or ``tf.data.Dataset``
                (iterated afresh each epoch, its tensors converted to NumPy).
            y: targets: an array, or a list/dict of arrays (one per output); omitted for
                generators and PyDatasets.
            batch_size: samples per gradient update (default 32; not for generators).
            epochs: the epoch to stop at (training runs ``initial_epoch..epochs-1``).
            verbose: 0 (silent), 1 (progress bar), 2 (one line per epoch) or ``"auto"`` (1).
            callbacks: a list of ``keras.callbacks.Callback`` instances.
            validation_split: the last fraction (0..1) of array inputs, taken before
                shuffling, held out for validation.
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight)``, a
                generator or a PyDataset, evaluated at the end of each epoch.
            shuffle: shuffle array inputs every epoch (``"batch"`` shuffles whole batches).
            class_weight: ``{class_index: weight}`` scaling each sample's loss by its class
                (single-output models).
            sample_weight: per-sample loss weights, an array of length ``len(x)``.
            initial_epoch: the epoch to start at (to resume a run).
            steps_per_epoch: batches per epoch (required for endless generators).
            validation_steps: batches of ``validation_data`` per validation (default all).
            validation_batch_size: batch size of validation (default ``batch_size``).
            validation_freq: validate every N epochs (an int) or after the listed epochs
                (1-based).
            max_queue_size: Keras's prefetch queue size; accepted, no effect.
            workers: Keras's loader worker count; accepted, no effect.
            use_multiprocessing: Keras's loader flag; accepted, no effect.

        Returns:
            A ``History`` whose ``.history`` maps each log key to its per-epoch values.

        Raises:
            RuntimeError: when the model was not compiled.
            ValueError: for mismatched input lengths, non-finite targets, or arguments that
                do not fit the input kind (``y`` with a generator, ...).

        Example:
            >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
            >>> x_train = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
            >>> y_train = x_train.sum(axis=1, keepdims=True)
            >>> history = model.fit(x_train, y_train, batch_size=16, epochs=3,
            ...                     validation_split=0.25, verbose=0)
            >>> sorted(history.history), len(history.history["val_loss"])
            (['loss', 'mae', 'val_loss', 'val_mae'], 3)
        """
        custom = self._custom_train()
        self._require_compiled("fit", custom)
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = _batch_size(batch_size)
        if x is None:
            raise ValueError("fit() needs training data `x`.")
        if da.is_batch_source(x):
            if y is not None:
                raise ValueError("`y` must be None when `x` is a generator or PyDataset: the "
                                 "targets come from `x`.")
            if validation_split:
                raise ValueError("`validation_split` is only supported for array inputs.")
            source = da.BatchSource(x, batch_size=batch_size, steps=steps_per_epoch)
            val = self._validation_source(validation_data, validation_batch_size or batch_size,
                                          validation_steps)
            return self._fit_loop(source, None, epochs, verbose, callbacks, val, validation_freq,
                                  initial_epoch, class_weight, validation_batch_size or batch_size,
                                  validation_steps)
        x = da.to_arrays(x, "x")
        y = da.to_arrays(y, "y")
        if y is None and not custom:
            raise ValueError("fit() needs targets `y` for array inputs.")
        if not custom:  # multi-hot rows: scanned once into CSR form, not once per batch
            x = da.sparse_input_for(self, x)
        if y is not None:
            da.check_finite(y)
        if sample_weight is not None:
            sample_weight = da.to_arrays(sample_weight, "sample_weight")
            if not isinstance(sample_weight, (list, dict)):
                sample_weight = np.asarray(sample_weight, dtype=np.float32)
        da.check_lengths(x=x, y=y, sample_weight=sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot pass both `class_weight` and `sample_weight`.")
            if isinstance(y, (list, dict)) and len(da.leaves(y)) > 1:
                raise ValueError("`class_weight` is only supported for models with a single "
                                 "output.")
            sample_weight = da.class_weight_to_sample_weight(da.leaves(y)[0], class_weight)

        val = None
        if validation_data is not None:
            val = self._validation_source(validation_data, validation_batch_size or batch_size,
                                          validation_steps)
        elif validation_split:
            (x, y, sample_weight), (vx, vy, vsw) = da.train_validation_split(
                (x, y, sample_weight), validation_split)
            val = da.BatchSource(vx, vy, vsw, batch_size=validation_batch_size or batch_size,
                                 steps=validation_steps)
        if not custom:
            self._ensure_ready(x, y)
            y = self._standardize_targets(y)
            self._check_validation_data(val)
        source = da.BatchSource(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                steps=steps_per_epoch)
        return self._fit_loop(source, True, epochs, verbose, callbacks, val, validation_freq,
                              initial_epoch, None, validation_batch_size or batch_size,
                              validation_steps)

    def _check_validation_data(self, val):
        """The loss of one validation sample, before training: validation arrays that do not
        fit the model fail before any weight changes, not after the first epoch."""
        if val is None or val.kind != "arrays" or val.y is None or not val.n:
            return
        x, y = _first_rows(val.x), self._standardize_targets(_first_rows(val.y), "y_val")
        self._test_step(x, y, None)

    def _validation_source(self, validation_data, batch_size, steps):
        if validation_data is None:
            return None
        if da.is_batch_source(validation_data):
            return da.BatchSource(validation_data, batch_size=batch_size, steps=steps)
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                             "(x_val, y_val, val_sample_weight).")
        vx = da.to_arrays(validation_data[0], "x_val")
        if not self._custom_test():
            vx = da.sparse_input_for(self, vx)
        vy = da.to_arrays(validation_data[1], "y_val")
        vsw = None
        if len(validation_data) == 3 and validation_data[2] is not None:
            vsw = da.to_arrays(validation_data[2], "val_sample_weight")
        da.check_lengths(x_val=vx, y_val=vy, val_sample_weight=vsw)
        return da.BatchSource(vx, vy, vsw, batch_size=batch_size, steps=steps)

    def _fit_loop(self, source, arrays, epochs, verbose, callbacks, val, validation_freq,
                  initial_epoch, class_weight, val_batch_size, val_steps):
        if max_epochs() and max_epochs() < epochs:  # keras.config.set_max_epochs
            warnings.warn("Limiting epochs to %d" % max_epochs(), stacklevel=3)
            epochs = max_epochs()
        custom = self._custom_train()
        dist = _data_parallel(self, "fit", custom)
        if dist is not None:  # only rank 0 prints and writes files
            callbacks = dist.chief_callbacks(callbacks)
        cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0 and (
            dist is None or dist.is_chief), model=self, verbose=verbose, epochs=epochs,
            steps=source.steps)
        # Kept on the model so BackupAndRestore can save and restore the shuffling stream.
        rng = self._fit_rng = nnrandom.make_generator()
        if custom:
            self._check_trainable_changed()
        variables = self._prepare_variables() if arrays and not custom else None
        # Whole steps in C++ when every part of the step has a kernel (models/lowered.py).
        lowered = lower_training(self, source, cbs) if variables and dist is None else None
        self.stop_training = False
        # Batch logs cost a dict per step: build them only when a callback reads them.
        batch_logs = cbs.on_train_batch_end is not _noop
        cbs.on_train_begin()
        if dist is not None:  # rank 0's (possibly restored) state on every rank
            dist.sync_start(self, rng)
        # BackupAndRestore sets _initial_epoch in on_train_begin to resume a run (Keras 3).
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        self._initial_epoch = None
        logs = {}
        for epoch in range(initial_epoch, epochs):
            if source.kind == "generator" and source.exhausted:
                warnings.warn("Your input ran out of data; interrupting training. Make sure "
                              "that your dataset or generator can generate at least "
                              "`steps_per_epoch * epochs` batches.", stacklevel=3)
                break
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            if custom:
                logs = self._custom_train_epoch(source, rng, cbs, arrays, class_weight, batch_logs)
            if lowered is not None:
                lowered.train_epoch(source, rng, cbs, batch_logs, variables)
            # The fused loop (empty when the model's own train_step or the lowered program
            # ran the epoch above).
            for step, (xb, yb, swb) in enumerate(() if custom or lowered else source.epoch(rng)):
                if not arrays:
                    xb, yb, swb = self._prepare_batch(xb, yb, swb, class_weight)
                    if yb is None:
                        raise ValueError("The generator/PyDataset must yield (x, y) or "
                                         "(x, y, sample_weight) tuples for training.")
                    da.check_finite(yb)
                    if variables is None:
                        self._ensure_ready(xb, yb)
                        variables = self._prepare_variables()
                        if dist is not None:  # built now: rank 0's initial weights
                            dist.sync_start(self)
                    yb = self._standardize_targets(yb)
                cbs.on_train_batch_begin(step)
                GOVERNOR.check()  # fewer threads while other processes hold the cores
                if dist is None:
                    loss, y_pred = self._train_step(xb, yb, swb, variables)
                else:
                    loss, y_pred = dist.train_step(self, xb, yb, swb, variables)
                self._record_step(loss, len(xb) if type(xb) is np.ndarray else da.num_samples(xb),
                                  yb, y_pred, swb)
                cbs.on_train_batch_end(step, self._logs() if batch_logs else None)
                if self.stop_training:
                    break
            source.end_epoch()
            logs = logs if custom else self._logs()
            if val is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_source(val, cbs, in_fit=True)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
                logs = dict(sorted(logs.items()))
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if epochs > initial_epoch:  # use_ema: the moving averages become the weights
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(logs)
        return cbs.history

    def _custom_train_epoch(self, source, rng, cbs, arrays, class_weight, batch_logs):
        """One epoch through the model's own ``train_step``; returns the epoch's logs."""
        step_logs = {}
        for step, (xb, yb, swb) in enumerate(source.epoch(rng)):
            if not arrays:
                xb, yb, swb = self._prepare_batch(xb, yb, swb, class_weight)
            cbs.on_train_batch_begin(step)
            step_logs = self.train_step(_step_data(xb, yb, swb))
            cbs.on_train_batch_end(step, pythonify_logs(step_logs) if batch_logs else None)
            if self.stop_training:
                break
        return pythonify_logs(self._get_metrics_result_or_logs(step_logs))

    def _prepare_variables(self):
        self._check_trainable_changed()
        variables = self.trainable_weights
        self._has_penalties = (any(v.regularizer is not None for v in variables)
                               or self._any_activity_regularizer())
        if not self.optimizer.built:
            self.optimizer.build(variables)
        return variables

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1,
                      class_weight=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                      shuffle=True, initial_epoch=0):
        """tf.keras 1/2's ``fit_generator``: the same as ``fit(generator, ...)``."""
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs,
                        verbose=verbose, callbacks=callbacks, validation_data=validation_data,
                        validation_steps=validation_steps, validation_freq=validation_freq,
                        class_weight=class_weight, initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                           workers=1, use_multiprocessing=False, verbose=0):
        """tf.keras's ``evaluate_generator``: the same as ``evaluate(generator, ...)``."""
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                          workers=1, use_multiprocessing=False, verbose=0):
        """tf.keras's ``predict_generator``: the same as ``predict(generator, ...)``."""
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    # --- evaluate ----------------------------------------------------------------------------
    @memory.scoped
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics in inference mode (batches of 32 by default).

        Args:
            x: inputs: an array, a list/dict of arrays, a generator or a PyDataset.
            y: targets for array inputs (omitted for generators).
            batch_size: samples per batch (default 32).
            verbose: 0 (silent), 1 (progress bar) or ``"auto"`` (1).
            sample_weight: per-sample weights of the loss and weighted metrics.
            steps: batches to evaluate (default: all).
            callbacks: a list of callbacks (their ``on_test_*`` methods run).
            return_dict: return ``{name: value}`` instead of a list.
            **kwargs: ``max_queue_size``, ``workers``, ``use_multiprocessing`` (accepted,
                no effect); others raise TypeError.

        Returns:
            The loss (a float) when there are no metrics, else ``[loss, metric...]`` (the
            order of ``metrics_names``); a dict with ``return_dict=True``.

        Raises:
            RuntimeError: when the model was not compiled.
            ValueError: when array inputs come without targets.

        Example:
            >>> model = keras.Sequential([keras.Input((4,)),
            ...                           keras.layers.Dense(3, activation="softmax")])
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
            ...               metrics=["accuracy"])
            >>> x_test = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
            >>> y_test = np.random.default_rng(1).integers(0, 3, 32)
            >>> loss, acc = model.evaluate(x_test, y_test, verbose=0)
            >>> 0.0 <= acc <= 1.0
            True
            >>> sorted(model.evaluate(x_test, y_test, verbose=0, return_dict=True))
            ['accuracy', 'loss']
        """
        kwargs.pop("max_queue_size", None), kwargs.pop("workers", None)
        kwargs.pop("use_multiprocessing", None)
        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword arguments: {sorted(kwargs)}")
        custom = self._custom_test()
        self._require_compiled("evaluate", custom)
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = _batch_size(batch_size)
        if da.is_batch_source(x):
            source = da.BatchSource(x, batch_size=batch_size, steps=steps)
        else:
            x, y = da.to_arrays(x, "x"), da.to_arrays(y, "y")
            if y is None and not custom:
                raise ValueError("evaluate() needs targets `y` for array inputs.")
            if not custom:
                x = da.sparse_input_for(self, x)
            if y is not None:
                da.check_finite(y)
            sw = None
            if sample_weight is not None:
                sw = da.to_arrays(sample_weight, "sample_weight")
            da.check_lengths(x=x, y=y, sample_weight=sw)
            source = da.BatchSource(x, y, sw, batch_size=batch_size, steps=steps)
        dist = _data_parallel(self, "evaluate", custom)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and (
            dist is None or dist.is_chief), model=self, verbose=verbose, epochs=1,
            steps=source.steps)
        logs = self._evaluate_source(source, cbs, in_fit=False)
        if return_dict:
            return logs
        return self._flatten_metrics_in_order(logs)

    def _evaluate_source(self, source, cbs, in_fit):
        if in_fit:
            for cb in cbs.callbacks:
                cb.params = dict(cb.params, _in_fit=True)
        self.reset_metrics()
        cbs.on_test_begin()
        raw = source.kind != "arrays"
        custom = self._custom_test()
        dist = _data_parallel(self, "evaluate", custom)
        if custom:
            logs = self._custom_test_epoch(source, cbs, raw)
        # The fused loop (empty when the model's own test_step ran above).
        for step, (xb, yb, swb) in enumerate(() if custom else source.epoch(None)):
            if raw:
                xb, yb, swb = self._prepare_batch(xb, yb, swb)
                if yb is None:
                    raise ValueError("evaluate() needs (x, y) batches from the generator.")
            self._ensure_ready(xb, yb)
            yb = self._standardize_targets(yb)
            cbs.on_test_batch_begin(step)
            GOVERNOR.check()
            if dist is None:
                loss, y_pred = self._test_step(xb, yb, swb)
            else:
                loss, y_pred = dist.test_step(self, xb, yb, swb)
            self._record_step(loss, da.num_samples(xb), yb, y_pred, swb)
            cbs.on_test_batch_end(step, self._logs())
        source.end_epoch()
        logs = logs if custom else self._logs()
        cbs.on_test_end(logs)
        if in_fit:
            for cb in cbs.callbacks:
                cb.params = dict(cb.params)
                cb.params.pop("_in_fit", None)
        return logs

    def _custom_test_epoch(self, source, cbs, raw):
        """One pass through the model's own ``test_step``; returns the logs."""
        step_logs = {}
        for step, (xb, yb, swb) in enumerate(source.epoch(None)):
            if raw:
                xb, yb, swb = self._prepare_batch(xb, yb, swb)
            cbs.on_test_batch_begin(step)
            GOVERNOR.check()
            step_logs = self.test_step(_step_data(xb, yb, swb))
            cbs.on_test_batch_end(step, pythonify_logs(step_logs))
        return pythonify_logs(self._get_metrics_result_or_logs(step_logs))

    # --- predict -----------------------------------------------------------------------------
    @memory.scoped
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, **kwargs):
        """Outputs in inference mode, concatenated over batches (batches of 32 by default).

        Args:
            x: inputs: an array, a list/dict of arrays, a generator or a PyDataset.
            batch_size: samples per batch (default 32).
            verbose: 0 (silent), 1 (progress bar) or ``"auto"`` (1).
            steps: batches to predict (default: all).
            callbacks: a list of callbacks (their ``on_predict_*`` methods run).
            **kwargs: ``max_queue_size``, ``workers``, ``use_multiprocessing`` (accepted,
                no effect); others raise TypeError.

        Returns:
            One NumPy array ``(num_samples, ...)``, or a list/dict of arrays for a model with
            several outputs.

        Example:
            >>> model = keras.Sequential([keras.Input((4,)),
            ...                           keras.layers.Dense(3, activation="softmax")])
            >>> x_test = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")
            >>> probs = model.predict(x_test, batch_size=256, verbose=0)
            >>> probs.shape, bool(np.allclose(probs.sum(axis=-1), 1.0, atol=1e-5))
            ((10, 3), True)
            >>> classes = probs.argmax(axis=-1)
        """
        kwargs.pop("max_queue_size", None), kwargs.pop("workers", None)
        kwargs.pop("use_multiprocessing", None)
        if kwargs:
            raise TypeError(f"predict() got unexpected keyword arguments: {sorted(kwargs)}")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = _batch_size(batch_size)
        if da.is_batch_source(x):
            source = da.BatchSource(x, batch_size=batch_size, steps=steps)
        else:
            x = da.to_arrays(x, "x")
            if not self._overridden("predict_step"):
                x = da.sparse_input_for(self, x)
            source = da.BatchSource(x, batch_size=batch_size, steps=steps)
        custom = self._overridden("predict_step")
        dist = _data_parallel(self, "predict", custom)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and (
            dist is None or dist.is_chief), model=self, verbose=verbose, epochs=1,
            steps=source.steps)
        cbs.on_predict_begin()
        chunks = []
        raw = source.kind != "arrays"
        for step, (xb, _, _) in enumerate(source.epoch(None)):
            if raw:
                xb = da.to_arrays(xb, "x")
            cbs.on_predict_batch_begin(step)
            GOVERNOR.check()
            if dist is not None:
                out = dist.predict_step(self, xb)
            else:
                out = self.predict_step(xb) if custom else self(xb, training=False)
            yb = _to_numpy_struct(out)
            chunks.append(yb)
            cbs.on_predict_batch_end(step, {"outputs": yb})
        source.end_epoch()
        cbs.on_predict_end()
        if not chunks:
            raise ValueError("predict() received no samples: x is empty.")
        return _concat_struct(chunks)

    # --- single batches -------------------------------------------------------------------
    @memory.scoped
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns that batch's loss (and metrics)."""
        custom = self._custom_train()
        self._require_compiled("train_on_batch", custom)
        x, y = da.to_arrays(x, "x"), da.to_arrays(y, "y")
        if y is not None:
            da.check_finite(y)
        sw = None if sample_weight is None else da.to_arrays(sample_weight, "sample_weight")
        da.check_lengths(x=x, y=y, sample_weight=sw)
        if class_weight is not None:
            sw = da.class_weight_to_sample_weight(da.leaves(y)[0], class_weight)
        if custom:
            logs = pythonify_logs(self.train_step(_step_data(x, y, sw)))
            return logs if return_dict else self._flatten_metrics_in_order(logs)
        self._ensure_ready(x, y)
        y = self._standardize_targets(y)
        self.reset_metrics()
        variables = self._prepare_variables()
        dist = _data_parallel(self, "train_on_batch", custom)
        if dist is None:
            loss, y_pred = self._train_step(x, y, sw, variables)
        else:
            dist.sync_once(self)
            loss, y_pred = dist.train_step(self, x, y, sw, variables)
        self._record_step(loss, da.num_samples(x), y, y_pred, sw)
        return self._batch_result(return_dict)

    @memory.scoped
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) of one batch in inference mode."""
        custom = self._custom_test()
        self._require_compiled("test_on_batch", custom)
        x, y = da.to_arrays(x, "x"), da.to_arrays(y, "y")
        sw = None if sample_weight is None else da.to_arrays(sample_weight, "sample_weight")
        da.check_lengths(x=x, y=y, sample_weight=sw)
        if custom:
            self.reset_metrics()
            logs = pythonify_logs(self.test_step(_step_data(x, y, sw)))
            return logs if return_dict else self._flatten_metrics_in_order(logs)
        self._ensure_ready(x, y)
        y = self._standardize_targets(y)
        self.reset_metrics()
        loss, y_pred = self._test_step(x, y, sw)
        self._record_step(loss, da.num_samples(x), y, y_pred, sw)
        return self._batch_result(return_dict)

    @memory.scoped
    def predict_on_batch(self, x):
        """Outputs for one batch, no batching and no callbacks."""
        if self._overridden("predict_step"):
            return _to_numpy_struct(self.predict_step(da.to_arrays(x, "x")))
        return _to_numpy_struct(self(da.to_arrays(x, "x"), training=False))

    def _batch_result(self, return_dict):
        logs = self._logs()
        if return_dict:
            return logs
        return self._flatten_metrics_in_order(logs)


def _data_parallel(model, what, custom):
    """The data-parallel runner that ``what`` runs under (``nnfast.distribution``), or None
    when training in one process (the loops above then run unchanged)."""
    from nnfast.distribution import data_parallel

    dist = data_parallel.active(model)
    if dist is None:
        return None
    if custom:
        raise NotImplementedError(f"{what}() under nnfast.distribution.DataParallel with the "
                                  "model's own train_step/test_step/predict_step: use the "
                                  "built-in steps, or run on one process.")
    return data_parallel.Runner(dist)


def _scoped_strategy_distribution():
    return api.strategy_distribution()


def _step_data(x, y, sample_weight):
    """A batch for a user's ``train_step``/``test_step`` as Keras hands it: ``x``, ``(x, y)``
    or ``(x, y, sample_weight)`` of tensors (so `y - y_pred` in user code runs nnfast's ops)."""
    return pack_x_y_sample_weight(*[_to_tensors(v) for v in (x, y, sample_weight)])


def _to_tensors(x):
    if x is None or isinstance(x, Tensor):
        return x
    if isinstance(x, dict):
        return {k: _to_tensors(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_tensors(v) for v in x)
    return Tensor(np.asarray(x))


def _batch_size(batch_size):
    """32 by default; anything but a positive integer is an error (fit, evaluate, predict)."""
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"`batch_size` must be a positive integer. Received: "
                         f"batch_size={batch_size!r}")
    return int(batch_size)


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _flat_outputs(y_pred):
    if isinstance(y_pred, dict):
        return [y_pred[k] for k in sorted(y_pred)]
    if isinstance(y_pred, (list, tuple)):
        return list(y_pred)
    return [y_pred]


def _spec_leaves(spec):
    if spec is None:
        return []
    if isinstance(spec, dict):
        return [s for v in spec.values() for s in _spec_leaves(v)]
    if isinstance(spec, (list, tuple)):
        return [s for v in spec for s in _spec_leaves(v)]
    return [spec]


def _per_output(spec, names, what, broadcast, default=None):
    n = len(names)
    if spec is None:
        return [default] * n
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"Unknown output name(s) {unknown} in `{what}`. The model's outputs "
                             f"are {names}.")
        return [spec.get(name, default) for name in names]
    if isinstance(spec, (list, tuple)):
        if len(spec) != n:
            raise ValueError(f"`{what}` has {len(spec)} entries, but the model has {n} outputs "
                             f"({names}).")
        return list(spec)
    if broadcast:
        return [spec] * n
    raise ValueError(f"`{what}` must be a list or dict for a model with {n} outputs.")


def _per_output_metrics(specs, names):
    n = len(names)
    if isinstance(specs, dict):
        unknown = [k for k in specs if k not in names]
        if unknown:
            raise ValueError(f"Unknown output name(s) {unknown} in `metrics`. The model's outputs "
                             f"are {names}.")
        out = []
        for name in names:
            s = specs.get(name) or []
            out.append(list(s) if isinstance(s, (list, tuple)) else [s])
        return out
    specs = list(specs)
    if len(specs) == n and all(isinstance(s, (list, tuple)) or s is None for s in specs):
        return [list(s or []) for s in specs]
    # A flat list applies to every output (tf.keras's behaviour).
    return [list(specs) for _ in range(n)]


def _first_rows(x):
    if isinstance(x, list):
        return [_first_rows(v) for v in x]
    if isinstance(x, dict):
        return {k: _first_rows(v) for k, v in x.items()}
    return x[:1]


def _to_numpy_struct(out):
    if isinstance(out, dict):
        return {k: _to_numpy_struct(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [_to_numpy_struct(v) for v in out]
    return out.value if isinstance(out, Tensor) else np.asarray(out)


def _concat_struct(chunks):
    first = chunks[0]
    if isinstance(first, dict):
        return {k: _concat_struct([c[k] for c in chunks]) for k in first}
    if isinstance(first, list):
        return [_concat_struct([c[i] for c in chunks]) for i in range(len(first))]
    if len(chunks) == 1:
        return first
    return np.concatenate(chunks, axis=0)
