"""The ``Optimizer`` base class: learning rate, iterations, optimizer variables and Keras's
step order (clip gradients -> decoupled weight decay -> update -> EMA -> constraints ->
``iterations += 1``).

Built-in optimizers run the whole step for one variable as a single fused C++ pass: the
clipping factor, the weight decay and the update rule are folded into one loop over the
variable, its gradient and its slots.

State (for saving)
------------------
``optimizer.variables`` lists the state in Keras's saved order: ``iterations`` (int64
scalar), ``learning_rate`` (float32 scalar; absent when the rate is a schedule or callable),
then the EMA averages (``use_ema``), the gradient accumulators
(``gradient_accumulation_steps``) and the optimizer's slots, created per trainable variable
in the order the optimizer was built with (e.g. Adam: ``[m0, v0, m1, v1, ...]`` then the
``velocity_hat`` of each variable with AMSGrad). ``get_weights()`` returns copies of
those arrays; to restore, build the optimizer on the same variables and call
``set_weights(arrays)`` (or ``load_own_variables({"0": ..., "1": ...})``, Keras's store
form, whose keys are the positions above).
"""
import math
import warnings

import numpy as np

from nnfast import _core, initializers
from nnfast.backend import scopes
from nnfast.backend.global_state import floatx
from nnfast.backend.tensor import Variable, as_array
from nnfast.ops.embedding import TokenRowsGradient, segment_rows_sum
from nnfast.optimizers import schedules
from nnfast.optimizers.schedules import LearningRateSchedule


class _LearningRateValue(float):
    """The float ``optimizer.learning_rate`` returns; it remembers its optimizer so that
    Keras 2's ``K.set_value(optimizer.lr, value)`` can set the rate."""
    __slots__ = ("_nnfast_optimizer",)


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: a float, a ``LearningRateSchedule`` (called with ``iterations``) or a
            callable of no arguments. ``lr=`` is accepted as an alias.
        weight_decay: decoupled decay ``w -= w * weight_decay * lr`` before each update.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: scale all gradients so their joint L2 norm is at most this.
        use_ema: keep an exponential moving average of the weights (``ema_momentum``);
            ``ema_overwrite_frequency`` copies it into the weights every that many steps,
            and ``finalize_variable_values`` (called at the end of ``fit``) copies it once.
        loss_scale_factor: gradients are divided by it (the loss is scaled by ``scale_loss``).
        gradient_accumulation_steps: apply the mean of that many steps' gradients at once.
        name: optimizer name.
        ema_momentum: momentum of that moving average, ``ema = m * ema + (1 - m) * w`` (used with
            ``use_ema=True``). Defaults to ``0.99``.
        ema_overwrite_frequency: every how many iterations the moving average overwrites the
            weights (None: only at the end of ``fit``).

    Subclasses declare their slots in ``_slot_groups()`` and implement ``_fused_update``;
    a user subclass may instead implement Keras's ``update_step(gradient, variable,
    learning_rate)`` with ``nnfast.ops``/NumPy and ``add_variable_from_reference``.

    Example:
        >>> v = keras.Variable(np.array([1.0, 2.0], "float32"))
        >>> optimizer = keras.optimizers.SGD(learning_rate=0.1)
        >>> _ = optimizer.apply_gradients([(np.array([1.0, 1.0], "float32"), v)])
        >>> v.numpy()
        array([0.9, 1.9], dtype=float32)
    """

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, *args, **kwargs):
        # Keras declares ``Optimizer(*args, **kwargs)`` and binds them to the arguments above.
        if args:
            raise TypeError(f"{type(self).__name__}() takes at most 11 positional arguments "
                            f"(learning_rate ... name); received {11 + len(args)}.")
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        # Keras 2's time-based decay (Keras 3 rejects `decay`): applied as Keras 2 did.
        self._keras2_decay = _keras2_decay(kwargs.pop("decay", 0.0))
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        for arg, val in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                         ("global_clipnorm", global_clipnorm)):
            if val is not None and not val > 0:
                raise ValueError(f"`{arg}` must be a positive number. Received: {arg}={val}")
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = bool(use_ema), ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.name = name or type(self).__name__.lower()
        self._iterations = 0
        self._learning_rate = None
        self._set_lr(learning_rate, initial=True)
        self._reset_state()

    def _reset_state(self):
        self._trainable_variables = []
        self._index = {}  # id(variable) -> position in _trainable_variables
        self._state = []  # optimizer arrays after iterations/learning_rate, in Keras order
        self._slots = {}  # slot name -> list (per trainable variable) of arrays
        self._ema = []
        self._accumulators = []
        self._exclude_ids = set()
        self._exclude_names = ()
        self.built = False

    # --- learning rate and iterations -----------------------------------------------------
    def _set_lr(self, value, initial=False):
        if isinstance(value, LearningRateSchedule) or callable(value):
            self._learning_rate = value
            return
        if isinstance(value, (np.ndarray, Variable)) or hasattr(value, "__float__"):
            value = float(as_array(value))
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError("Argument `learning_rate` should be float, or an instance of "
                             "LearningRateSchedule, or a callable (that takes in the current "
                             "iteration value and returns the corresponding learning rate "
                             f"value). Received instead: learning_rate={value!r}")
        if not initial and isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as "
                            "its `learning_rate` constructor argument, hence its learning rate "
                            "is not settable. If you need the learning rate to be settable, you "
                            "should instantiate the optimizer with a float `learning_rate`.")
        # Keras keeps it in a variable of floatx's dtype (float32, or float64 models' float64).
        self._learning_rate = np.float64(value) if floatx() == "float64" else np.float32(value)

    @property
    def learning_rate(self):
        """The current learning rate as a float (a schedule is evaluated at ``iterations``).

        Assigning a float sets it (callbacks such as ``ReduceLROnPlateau`` do); assigning a
        schedule or a callable replaces it."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(np.float32(lr(self._iterations)))
        if callable(lr):
            return float(np.float32(lr()))
        value = _LearningRateValue(lr)
        value._nnfast_optimizer = self
        return value

    @learning_rate.setter
    def learning_rate(self, value):
        self._set_lr(value)

    lr = learning_rate

    @property
    def iterations(self):
        """Number of optimizer steps taken (with gradient accumulation: applied updates)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value)

    # --- variables ----------------------------------------------------------------------
    def _slot_groups(self):
        """Slot names, grouped as Keras creates them: each group is created variable by
        variable (names interleaved), groups one after another."""
        return ()

    def _slot_initial_value(self, name):
        return 0.0

    def build(self, var_list):
        """Creates the optimizer's arrays for ``var_list`` (the model's trainable variables)."""
        if self.built:
            return
        self._trainable_variables = []
        self._index = {}
        for v in var_list:
            self._index[id(v)] = len(self._trainable_variables)
            self._trainable_variables.append(v)
        if self.use_ema:
            self._ema = [self._new_array(v, 0.0) for v in var_list]
        if self.gradient_accumulation_steps:
            self._accumulators = [self._new_array(v, 0.0) for v in var_list]
        self._slots = {}
        for group in self._slot_groups():
            for name in group:
                self._slots[name] = []
            for v in var_list:
                for name in group:
                    self._slots[name].append(self._new_array(v, self._slot_initial_value(name)))
        self._build_extra()
        self.built = True

    def _build_extra(self):
        """Hook for optimizer-wide state created after the slots (Nadam's u_product)."""

    def _new_array(self, reference, fill):
        # float64 variables (float64 models) get float64 slots; every other one float32.
        dtype = np.float64 if as_array(reference).dtype == np.float64 else np.float32
        if dtype == np.float64:
            self._has_float64 = True
            # Keras fills a slot with Constant(fill), cast through float32 on TensorFlow
            # (Adagrad's initial_accumulator_value 0.1 is 0.1f in a float64 slot).
            fill = float(np.float32(fill))
        arr = np.full(np.shape(as_array(reference)), fill, dtype=dtype)
        self._state.append(arr)
        return arr

    def _add_variable(self, reference):
        """Appends slots for a variable first seen after ``build`` (kept at the end)."""
        self._index[id(reference)] = len(self._trainable_variables)
        self._trainable_variables.append(reference)
        if self.use_ema:
            self._ema.append(self._new_array(reference, 0.0))
        if self.gradient_accumulation_steps:
            self._accumulators.append(self._new_array(reference, 0.0))
        for group in self._slot_groups():
            for name in group:
                self._slots[name].append(self._new_array(reference, self._slot_initial_value(name)))

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A new optimizer array shaped like ``reference_variable`` (for user subclasses
        implementing ``update_step``); it joins ``variables``."""
        shape = np.shape(as_array(reference_variable))
        arr = np.ascontiguousarray(initializers.get(initializer)(shape, dtype="float32"))
        var = Variable(arr, trainable=False, name=(name or "var"))
        self._state.append(var.value)
        return var

    def _slots_of(self, index):
        return [self._slots[name][index] for group in self._slot_groups() for name in group]

    @property
    def variables(self):
        """The optimizer state in Keras's order (see the module docstring). Slot arrays are
        the live buffers; ``iterations``/``learning_rate`` are fresh 0-d arrays."""
        out = [np.array(self._iterations, dtype=np.int64)]
        if not callable(self._learning_rate):
            # in floatx's dtype, as Keras's learning_rate variable (float64 models: float64)
            out.append(np.array(self._learning_rate, dtype=np.asarray(self._learning_rate).dtype))
        return out + list(self._state)

    def get_weights(self):
        """Copies of ``variables``."""
        return [np.array(v) for v in self.variables]

    def set_weights(self, weights):
        """Restores state saved from ``variables``/``get_weights`` (same order and shapes).
        The optimizer must be built on the same trainable variables first."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet "
                             "been built. Please call `optimizer.build(trainable_variables)` to "
                             "create the optimizer weights before calling `set_weights()`.")
        current = self.variables
        if len(weights) != len(current):
            raise ValueError(f"Optimizer '{self.name}' has {len(current)} variables, received "
                             f"{len(weights)} arrays.")
        for i, (cur, new) in enumerate(zip(current, weights)):
            new = np.asarray(new)
            if cur.shape != new.shape:
                raise ValueError(f"Optimizer variable {i} has shape {cur.shape} not compatible "
                                 f"with provided weight shape {new.shape}.")
        self._iterations = int(np.asarray(weights[0]))
        offset = 1
        if not callable(self._learning_rate):
            self._learning_rate = np.asarray(self._learning_rate).dtype.type(
                np.asarray(weights[1]))  # kept in floatx's dtype (see _set_lr)
            offset = 2
        for arr, new in zip(self._state, weights[offset:]):
            np.copyto(arr, np.asarray(new), casting="unsafe")
        self._after_set_weights()

    def _after_set_weights(self):
        pass

    def save_own_variables(self, store):
        """Writes ``variables`` into a dict-like ``store`` under keys "0", "1", ..."""
        for i, v in enumerate(self.variables):
            store[str(i)] = np.array(v)

    def load_own_variables(self, store):
        """Reads state written by ``save_own_variables`` (warns and skips on a count
        mismatch, as Keras does)."""
        n = len(self.variables)
        if len(store.keys()) != n:
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it "
                          f"has {n} variables whereas the saved optimizer has "
                          f"{len(store.keys())} variables.", stacklevel=2)
            return
        self.set_weights([np.asarray(store[str(i)]) for i in range(n)])

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables (or variables whose path contains one of ``var_names``) that weight
        decay skips."""
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_names = tuple(var_names or ())

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        path = getattr(variable, "path", getattr(variable, "name", ""))
        return not any(name in path for name in self._exclude_names)

    # --- the step ---------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Applies ``[(grad, variable), ...]``; returns ``iterations``."""
        grads_and_vars = list(grads_and_vars)
        self.apply([g for g, _ in grads_and_vars], [v for _, v in grads_and_vars])
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """One optimizer step: ``grads[i]`` updates ``trainable_variables[i]`` in place.
        Variables whose gradient is None are skipped (with a warning, as Keras)."""
        if scopes.in_stateless_scope():
            raise NotImplementedError(
                "optimizer.apply inside a keras.StatelessScope is not implemented in nnfast "
                "(its optimizer state is not made of Variables the scope could keep).")
        if trainable_variables is not None and trainable_variables is self._plain_for \
                and self._plain_step_possible():
            if self._apply_plain(grads, trainable_variables):
                return
        given = trainable_variables
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"Received {len(grads)} gradients for {len(trainable_variables)} "
                             "variables.")
        if not self.built:
            self.build(trainable_variables)
        pairs = [(g, v) for g, v in zip(grads, trainable_variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(grads):
            missing = [getattr(v, "path", "?") for g, v in zip(grads, trainable_variables)
                       if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          "loss.", stacklevel=2)
        for _, v in pairs:
            if id(v) not in self._index:
                self._add_variable(v)
        variables = [v for _, v in pairs]
        tokens = [_token_rows(g) for g, _ in pairs]
        grads = []
        for g, v in pairs:
            # NOTE: np.asarray(order="C") keeps 0-d gradients 0-d (ascontiguousarray makes
            # them (1,)), so scalar weights train.
            g = np.asarray(as_array(g), order="C",
                           dtype=np.float64 if v.value.dtype == np.float64 else np.float32)
            if g.shape != v.value.shape:
                raise ValueError(f"Gradient of shape {g.shape} does not match variable "
                                 f"'{getattr(v, 'path', '?')}' of shape {v.value.shape}")
            grads.append(g)
        if self.loss_scale_factor is not None:
            grads = [g / np.float32(self.loss_scale_factor) for g in grads]
            f = np.float32(self.loss_scale_factor)
            tokens = [None if t is None else (t[0], t[1] / f, None if t[2] is None
                                              else t[2] / (f * f), t[3]) for t in tokens]

        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            accs = [self._accumulators[self._index[id(v)]] for v in variables]
            if (self._iterations + 1) % steps == 0:
                # Keras too: the accumulated gradient is dense, so the dense rule applies.
                grads = [(g + a) / np.float32(steps) for g, a in zip(grads, accs)]
                self._update(grads, variables)
                for a in accs:
                    a.fill(0.0)
            else:
                for g, a in zip(grads, accs):
                    a += g
        else:
            self._update(grads, variables, tokens)

        if self.use_ema:
            momentum = self.ema_momentum if self.iterations != 0 else 0.0
            for v, avg in zip(self._trainable_variables, self._ema):
                _core.ema_update(avg, v.value, float(momentum))
            if self.ema_overwrite_frequency and (self.iterations + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_with_ema()
        for v in variables:
            if getattr(v, "constraint", None) is not None:
                v.assign(v.constraint(v.value))
        self._iterations += 1
        # The training loop passes the same list every step: remember it for the plain path.
        if isinstance(given, list) and len(pairs) == len(grads) and all(
                getattr(v, "constraint", None) is None for v in variables):
            self._plain_for = given if self._plain_step_possible() else None

    # --- the plain step: no clipping, decay, EMA, accumulation or constraints -----------------
    _plain_for = None
    _has_float64 = False  # some variable is float64: no fused float32 plain path

    def _plain_step_possible(self):
        return (type(self)._plain_update is not Optimizer._plain_update
                and self.clipnorm is None and self.clipvalue is None
                and self.global_clipnorm is None and not self.weight_decay and not self.use_ema
                and not self.gradient_accumulation_steps and self.loss_scale_factor is None)

    def _apply_plain(self, grads, variables):
        """The common step with none of the extras: one fused kernel call per variable with
        positional arguments. NOTE: this is the per-step hot path of ``fit``; it returns
        False (doing nothing) when a gradient is missing so ``apply`` takes the full path."""
        if len(grads) != len(variables) or any(g is None for g in grads) or self._has_float64:
            return False
        if self._token_statistic is not None and any(
                type(g) is TokenRowsGradient and g.ids is not None for g in grads):
            return False
        index = self._index
        if any(id(v) not in index for v in variables):  # the list changed since it was armed
            return False
        lr = self._step_learning_rate()
        step = self._iterations + 1
        self._before_update()
        for g, v in zip(grads, variables):
            if type(g) is not np.ndarray or g.dtype != np.float32 or not g.flags.c_contiguous:
                g = np.asarray(as_array(g), dtype=np.float32, order="C")
            self._plain_update(g, v, index[id(v)], lr, step)
        self._iterations += 1
        return True

    def _plain_update(self, gradient, variable, index, learning_rate, step):
        """Subclasses with a fused kernel override this to enable the plain path."""
        raise NotImplementedError

    def _update(self, grads, variables, tokens=None):
        """Clipping, weight decay and the update rule for one (accumulated) step.
        ``tokens[i]`` is ``(ids, rows)`` where ``grads[i]`` sums per-token rows (an
        embedding table's gradient, see ``ops.embedding.TokenRowsGradient``), else None."""
        lr = self._step_learning_rate()
        tokens = tokens or [None] * len(grads)
        scales = self._clip_scales(grads, tokens)
        lo, hi = -math.inf, math.inf
        if self.clipvalue is not None:
            lo, hi = -float(self.clipvalue), float(self.clipvalue)
        self._before_update()
        step = self.iterations + 1
        fused = type(self).update_step is Optimizer.update_step
        if self.global_clipnorm is not None:
            # Keras scales row-sliced gradients into dense ones there: dense rule after.
            tokens = [None] * len(grads)
        for g, v, scale, tok in zip(grads, variables, scales, tokens):
            decay = 0.0
            if v.value.dtype == np.float64:  # a float64 model: NumPy float64 rules
                from nnfast.optimizers import float64_updates

                if self.weight_decay and self._use_weight_decay(v):
                    decay = float64_updates.keras_constant(self.weight_decay)
                index = self._index[id(v)]
                float64_updates.update(self, g, v.value, self._slots_of(index), lr, step,
                                       scale, (lo, hi), decay, tok)
                continue
            if self.weight_decay and self._use_weight_decay(v):
                decay = float(np.float32(self.weight_decay) * np.float32(lr))
            if fused and tok is not None and (self._token_statistic is not None
                                              or self.clipvalue is not None):
                index = self._index[id(v)]
                g, rows = _token_row_stats(g, tok, scale, lo, hi, self._token_statistic)
                if rows.stat is not None and self._update_token_rows(v, index, rows, lr, step,
                                                                     decay):
                    continue
                after = self._adjust_token_rows(v, index, rows, lr) if rows.stat is not None \
                    else None
                common = {"grad_scale": 1.0, "clip_lo": -math.inf, "clip_hi": math.inf,
                          "decay": decay}
                self._fused_update(g, v, index, lr, step, common)
                if after is not None:
                    after()
            elif fused:
                common = {"grad_scale": scale, "clip_lo": lo, "clip_hi": hi, "decay": decay}
                self._fused_update(g, v, self._index[id(v)], lr, step, common)
            else:  # a user subclass with Keras's update_step: clip and decay first
                if tok is not None and self._token_statistic == "square":
                    # update_step reads the per-token squares through _squared_gradient
                    g, self._token_rows = _token_row_stats(g, tok, scale, lo, hi, "square")
                else:
                    if scale != 1.0:
                        g = g * np.float32(scale)
                    if self.clipvalue is not None:
                        g = np.clip(g, lo, hi)
                if decay:
                    v.value -= v.value * np.float32(decay)
                try:
                    self.update_step(g, v, lr)
                finally:
                    self._token_rows = None

    def _step_learning_rate(self):
        """The rate this step uses (Keras 2's legacy optimizers decay it over time)."""
        if self._keras2_decay:
            return keras2_time_decay(self.learning_rate, self._keras2_decay, self.iterations)
        return self.learning_rate

    def _before_update(self):
        """Hook run once per applied step before the per-variable updates (Nadam)."""

    def _fused_update(self, gradient, variable, index, learning_rate, step, common):
        raise NotImplementedError

    def update_step(self, gradient, variable, learning_rate):
        """Keras's per-variable update for user subclasses (built-ins use fused kernels)."""
        raise NotImplementedError

    # Which per-token statistic of a row-sliced gradient the update rule needs: "square"
    # (Adam, RMSprop, Adagrad, ...), "abs" (Adamax) or None (linear rules: SGD, Lion).
    _token_statistic = None
    # True for rules whose step depends on the gradient only through its sum (SGD, Lion).
    _linear_in_gradient = False

    def _needs_token_rows(self):
        """Whether an embedding's per-token gradient rows change this step (else only
        their sum matters and row-summing shortcuts are exact)."""
        return not (self._linear_in_gradient and self.clipnorm is None
                    and self.clipvalue is None and self.global_clipnorm is None
                    and not self.gradient_accumulation_steps)

    def _accepts_token_squares(self):
        """Whether this step applies Keras's per-token rule to an embedding gradient whose
        tokens come grouped per row with their sums of squares (``TokenRowsGradient.squares``,
        from a recurrent layer fused with its embedding): rules that square the gradient,
        with no clipping by value (which needs each token's row) or accumulation."""
        return (self._token_statistic == "square" and self.clipvalue is None
                and not self.gradient_accumulation_steps)

    def _adjust_token_rows(self, variable, index, rows, learning_rate):
        """Makes the fused dense kernel, run next on the summed gradient, produce Keras's
        per-token result on the touched rows ``rows.ids``: adjusts the slots' rows before
        it and returns a callable to run after it (or None)."""
        raise NotImplementedError(f"{type(self).__name__} does not handle per-token rows")

    def _update_token_rows(self, variable, index, rows, learning_rate, step, decay):
        """Applies the whole step for a gradient that is zero but on the touched rows
        ``rows`` (a _TouchedRows with its per-token statistic) without the dense gradient;
        returns False when this rule has no such kernel (then the dense path runs)."""
        return False

    _token_rows = None  # the _TouchedRows of the gradient update_step is applying, if any
    _keras2_decay = 0.0  # Keras 2's `decay=` given to a Keras 3 class (see __init__)

    def _squared_gradient(self, gradient):
        """``gradient**2`` for NumPy ``update_step`` rules; for an embedding's row-sliced
        gradient, the per-token sums of squares on its rows, as Keras on TensorFlow."""
        sq = gradient * gradient
        rows = self._token_rows
        if rows is not None and rows.stat is not None:
            sq[rows.ids] = rows.stat
        return sq

    def _clip_scales(self, grads, tokens=None):
        """Per-gradient scale factors of clipnorm/global_clipnorm (1.0 when unused). As
        Keras on TensorFlow, a row-sliced gradient's norm is that of its per-token rows."""
        tokens = tokens or [None] * len(grads)

        def sq(g, tok):
            if tok is not None and tok[2] is not None:  # per-token squares kept by the fused RNN
                return float(np.sum(tok[2], dtype=np.float64))
            rows = g if tok is None else tok[1]
            if rows.dtype == np.float64:  # a float64 model's gradient
                return float(np.sum(np.square(rows)))
            return _core.sum_squares(rows)

        if self.clipnorm is not None:
            c = float(self.clipnorm)
            return [c / max(math.sqrt(sq(g, t)), c) for g, t in zip(grads, tokens)]
        if self.global_clipnorm is not None:
            c = float(self.global_clipnorm)
            norm = math.sqrt(sum(sq(g, t) for g, t in zip(grads, tokens)))
            # Keras: a non-finite global norm turns every gradient into NaN.
            scale = c / max(norm, c) if math.isfinite(norm) else math.nan
            return [scale] * len(grads)
        return [1.0] * len(grads)

    def scale_loss(self, loss):
        """Multiplies ``loss`` by ``loss_scale_factor`` when set."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    # --- EMA -------------------------------------------------------------------------------
    def _overwrite_with_ema(self):
        for v, avg in zip(self._trainable_variables, self._ema):
            v.assign(avg)

    def finalize_variable_values(self, var_list=None):
        """With ``use_ema``, copies the moving averages into the weights (end of ``fit``)."""
        if self.use_ema and self.built:
            self._overwrite_with_ema()

    # --- config -----------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif not callable(lr):
            lr = float(lr)
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}
        if self._keras2_decay:
            config["decay"] = self._keras2_decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, learning_rate={self.learning_rate}>"



def _keras2_decay(decay):
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not decay >= 0:
        raise ValueError(f"`decay` must be a float >= 0. Received: decay={decay!r}")
    if decay:
        warnings.warn(f"`decay={decay}` is Keras 2's time-based decay (lr / (1 + decay * "
                      "iterations)), applied as Keras 2 did; Keras 3 writes it as "
                      f"`learning_rate=keras.optimizers.schedules.InverseTimeDecay(lr, 1, "
                      f"{decay})`.", DeprecationWarning, stacklevel=4)
    return float(decay)


def keras2_time_decay(learning_rate, decay, iterations):
    """Keras 2's decayed rate ``lr / (1 + decay * iterations)``, in float32 as tf_keras's
    ``OptimizerV2._decayed_lr`` computes it."""
    return float(np.float32(learning_rate) / (np.float32(1.0) + np.float32(decay)
                                              * np.float32(iterations)))


def _token_rows(gradient):
    """``(ids, rows, squares, distinct)`` of an embedding gradient that sums per-token rows
    (squares: None, or the per-token sums of squares of grouped rows; distinct: no id
    repeats), else None."""
    if isinstance(gradient, TokenRowsGradient) and gradient.ids is not None:
        return gradient.ids, gradient.rows, gradient.squares, gradient.distinct
    return None


class _TouchedRows:
    """The rows a row-sliced gradient touches: ``ids`` (distinct, sorted), the summed
    gradient there ``g`` and ``stat``: the per-row sum of the per-token squares (or
    absolute values) of the gradient, as Keras's optimizers accumulate them."""

    def __init__(self, ids, g, stat):
        self.ids, self.g, self.stat = ids, g, stat


def _token_row_stats(gradient, tokens, scale, lo, hi, statistic):
    """(dense gradient, _TouchedRows) for one row-sliced gradient, with Keras-on-TF's
    clipping: clip norms scale every token, ``clipvalue`` clips every token before the
    repeated rows are summed."""
    ids, rows, squares, distinct = tokens
    changed = scale != 1.0 or math.isfinite(lo) or math.isfinite(hi)
    if distinct and not changed and statistic == "square" and squares is not None:
        # Rows already grouped per distinct id (a recurrent layer fused with its
        # Embedding): they are the touched rows of the gradient as they stand.
        gradient = np.ascontiguousarray(gradient, dtype=np.float32).view(np.ndarray)
        return gradient, _TouchedRows(ids, rows, squares)
    rows = np.asarray(rows, np.float32)
    if squares is not None and (math.isfinite(lo) or math.isfinite(hi)
                                or statistic not in (None, "square")):
        raise NotImplementedError(
            "An embedding gradient grouped per row (a recurrent layer fused with its "
            f"Embedding) cannot be clipped by value or give the {statistic!r} statistic; "
            "received clipvalue bounds "
            f"({lo}, {hi}).")
    if scale != 1.0:
        rows = rows * np.float32(scale)
        if squares is not None:
            squares = squares * np.float32(scale * scale)
    if math.isfinite(lo) or math.isfinite(hi):
        rows = np.clip(rows, np.float32(lo), np.float32(hi))
    distinct, inverse = np.unique(ids, return_inverse=True)
    inverse = inverse.reshape(-1)
    if changed:
        g_rows = segment_rows_sum(rows, inverse, len(distinct))
        gradient = np.zeros(gradient.shape, np.float32)
        gradient[distinct] = g_rows
    else:
        g_rows = gradient[distinct]
        gradient = np.ascontiguousarray(gradient, dtype=np.float32).view(np.ndarray)
    stat = None
    if statistic == "square":
        sq = rows * rows if squares is None else np.asarray(squares, np.float32)
        stat = segment_rows_sum(sq, inverse, len(distinct))
    elif statistic == "abs":
        stat = segment_rows_sum(np.abs(rows), inverse, len(distinct))
    return gradient, _TouchedRows(distinct, g_rows, stat)


def decayed_square_rows(slot, rows, rho):
    """Before a kernel computing ``slot = rho*slot + (1-rho)*g**2`` on the summed gradient:
    shifts ``slot``'s touched rows so that it computes ``rho*slot + (1-rho)*S`` instead,
    with ``S`` the per-token sum of squares (``rows.stat``)."""
    if not rho > 0.0:
        raise NotImplementedError(
            "Per-token (row-sliced) gradients with a decay rate of 0 are not supported; "
            f"received a rate of {rho}.")
    _core.embedding_shift_square_rows(slot, np.ascontiguousarray(rows.ids, np.int64),
                                      np.ascontiguousarray(rows.g, np.float32),
                                      np.ascontiguousarray(rows.stat, np.float32),
                                      float(np.float32((1.0 - rho) / rho)))
