"""``MultiOptimizer``: different optimizers for different variables (by variable path)."""
import re
from collections.abc import MutableMapping

import numpy as np

from nnfast.optimizers.optimizer import Optimizer


class OptimizerMap(MutableMapping):
    """Variable path -> optimizer: exact keys first, then keys used as regular expressions
    (``re.fullmatch``), else ``default_optimizer``. Calling it on a variable looks up its
    ``path``.

    Args:
        default_optimizer: the optimizer of variables no entry matches.
        optimizer_map: a dict of variable-path pattern -> optimizer (None: empty).

    Example:
        >>> inp = keras.Input((2,))
        >>> hidden = keras.layers.Dense(3, name="body")(inp)
        >>> model = keras.Model(inp, keras.layers.Dense(1, name="head")(hidden))
        >>> omap = OptimizerMap(keras.optimizers.Adam(1e-3), {"head/.*": keras.optimizers.SGD(0.1)})
        >>> type(omap(model.get_layer("head").kernel)).__name__
        'SGD'
        >>> type(omap(model.get_layer("body").kernel)).__name__  # the default
        'Adam'
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("default_optimizer must be a Keras Optimizer instance. Received: "
                            f"{default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = dict(optimizer_map or {})

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value "
                             f"{self._optimizer_map[key]}. Please make sure to not use "
                             "duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, MultiOptimizer):
            raise ValueError("optimizer must be a Keras Optimizer instance (not a "
                             f"MultiOptimizer). Received: {optimizer}")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[variable.path]

    def get_config(self):
        from nnfast.optimizers import serialize

        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from nnfast.optimizers import deserialize

        return cls(deserialize(config["default_optimizer"], custom_objects),
                   {k: deserialize(v, custom_objects)
                    for k, v in (config.get("optimizer_map") or {}).items()})


class MultiOptimizer(Optimizer):
    """Applies each variable's gradient with the optimizer ``optimizer_map(variable)``
    picks (an :class:`OptimizerMap` or any callable of a variable). The inner optimizers
    keep their own learning rates and state; ``variables`` lists this optimizer's
    ``iterations`` and learning rate, then each inner optimizer's variables.

    Args:
        optimizer_map: a list of ``(optimizer, layers)`` pairs, or a dict of layer-name pattern ->
            optimizer: each variable is updated by the optimizer of the first pair/pattern that
            owns it.
        loss_scale_factor: multiply the loss by this before computing gradients and divide the
            gradients by it (None: no scaling), for low-precision training.
        name: name of the optimizer.

    Example:
        >>> inp = keras.Input((2,))
        >>> hidden = keras.layers.Dense(3, name="body")(inp)
        >>> model = keras.Model(inp, keras.layers.Dense(1, name="head")(hidden))
        >>> opt = MultiOptimizer(OptimizerMap(keras.optimizers.Adam(1e-3),
        ...                                  {"head/.*": keras.optimizers.SGD(1e-2)}))
        >>> model.compile(optimizer=opt, loss="mse")
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0)
        >>> len(history.history["loss"])
        2
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers = []
        candidates = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for opt in candidates + ([default] if default is not None else []):
            if all(opt is not o for o in self._inner_optimizers):
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    @property
    def optimizers(self):
        return self._inner_optimizers

    def _needs_token_rows(self):
        return any(opt._needs_token_rows() for opt in self._inner_optimizers)

    def _index_of(self, opt):
        for i, o in enumerate(self._inner_optimizers):
            if o is opt:
                return i
        return -1

    def build(self, var_list):
        if self.built:
            return
        self._var_to_opt = {}
        per_opt = [[] for _ in self._inner_optimizers]
        for var in var_list:
            opt = self._optimizer_map(var)
            if not isinstance(opt, Optimizer) or isinstance(opt, MultiOptimizer):
                raise ValueError(f"Optimizer for variable {getattr(var, 'path', var)} is not an "
                                 "Optimizer instance (nor may it be a MultiOptimizer).")
            if self._index_of(opt) < 0:
                opt.loss_scale_factor = self.loss_scale_factor
                self._inner_optimizers.append(opt)
                per_opt.append([])
            idx = self._index_of(opt)
            self._var_to_opt[id(var)] = idx
            per_opt[idx].append(var)
        for opt, variables in zip(self._inner_optimizers, per_opt):
            if variables:
                opt.build(variables)
        self._trainable_variables = list(var_list)
        self.built = True

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the "
                             "learning rate on the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value):
        if getattr(self, "_inner_optimizers", None) is None:  # the base constructor
            self._set_lr(value)
            return
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning "
                             "rate on the individual sub-optimizers instead.")

    def apply(self, grads, trainable_variables=None):
        """Splits the gradients by optimizer and applies each group; ``iterations += 1``."""
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
        if not self.built:
            self.build(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError("Gradients must match trainable variables one-to-one. Received "
                             f"{len(grads)} gradients and {len(trainable_variables)} variables.")
        groups = [([], []) for _ in self._inner_optimizers]
        for g, v in zip(grads, trainable_variables):
            idx = self._var_to_opt.get(id(v))
            if idx is None:
                raise ValueError(f"Variable {getattr(v, 'path', v)} was not seen when the "
                                 "MultiOptimizer was built.")
            groups[idx][0].append(g)
            groups[idx][1].append(v)
        for opt, (gs, vs) in zip(self._inner_optimizers, groups):
            if vs:
                opt.apply(gs, vs)
        self._iterations += 1

    def finalize_variable_values(self, var_list=None):
        for opt in self._inner_optimizers:
            opt.finalize_variable_values()

    @property
    def variables(self):
        out = [np.array(self._iterations, dtype=np.int64), np.array(0.0, dtype=np.float32)]
        for opt in self._inner_optimizers:
            out.extend(opt.variables)
        return out

    def set_weights(self, weights):
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet "
                             "been built. Please call `optimizer.build(trainable_variables)` to "
                             "create the optimizer weights before calling `set_weights()`.")
        if len(weights) != len(self.variables):
            raise ValueError(f"MultiOptimizer has {len(self.variables)} variables, received "
                             f"{len(weights)} arrays.")
        self._iterations = int(np.asarray(weights[0]))
        pos = 2
        for opt in self._inner_optimizers:
            n = len(opt.variables)
            if n:
                opt.set_weights(weights[pos:pos + n])
                pos += n

    def get_config(self):
        """Keras's form; only an :class:`OptimizerMap` (not an arbitrary callable) can be
        serialized."""
        if not isinstance(self._optimizer_map, OptimizerMap):
            raise NotImplementedError("MultiOptimizer.get_config: only an OptimizerMap can be "
                                      "serialized, not a callable.")
        return {"optimizer_map": {"module": "keras.optimizers", "class_name": "OptimizerMap",
                                  "config": self._optimizer_map.get_config(),
                                  "registered_name": None},
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        omap = config["optimizer_map"]
        if isinstance(omap, dict):
            omap = OptimizerMap.from_config(omap.get("config", omap), custom_objects)
        config["optimizer_map"] = omap
        return cls(**config)
