"""``OperationLayer``: an ``nnfast.ops`` call recorded as a node of a functional graph.

Keras 3 records ``x + y``, ``x[:, 0]``, ``ops.concatenate([a, b])`` on symbolic tensors as
operation nodes and saves them as "layers" of the model config: the operation class
(``Add``, ``GetItem``, ``Concatenate``... with ``module`` ``keras.src.ops.numpy``) whose
config holds the constructor arguments (``axis``, ``newshape``...) while the node's args hold
the ``call`` arguments (the tensors, ``GetItem``'s key). ``ops/_keras_op_table.py`` (generated
from Keras) says how each public function's arguments split between the two, so nnfast writes
op nodes Keras loads and loads Keras's. Ops Keras does not have are saved under module
``nnfast.ops`` with the function's name in their config.
"""
import inspect
import re

from nnfast.backend import global_state
from nnfast.backend.keras_tensor import KerasTensor, any_symbolic, compute_output_spec
from nnfast.layers.layer import Layer
from nnfast.layers.node import record_outputs
from nnfast.ops._keras_op_table import KERAS_OPS
from nnfast.ops.symbolic import DATA_DEPENDENT, public_op
from nnfast.saving.serialization import serialize_keras_object

_KINDS = inspect.Parameter


def _table():
    return KERAS_OPS


def _class_index():
    """{Keras class name: function key}, top-level names first."""
    global _CLASS_INDEX
    if _CLASS_INDEX is None:
        index = {}
        for key in sorted(_table(), key=lambda k: ("." in k, k)):
            index.setdefault(_table()[key][0], key)
        _CLASS_INDEX = index
    return _CLASS_INDEX


_CLASS_INDEX = None


def _strip(param):
    return param.lstrip("*^")


def _camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


def _raw(fn):
    return getattr(fn, "_nnfast_raw_op", fn)


class OperationLayer(Layer):
    """One op call in a functional graph: ``fn(*call_args, **config)`` at run time.

    Created by the ops dispatch (``nnfast.ops.symbolic``) when an op gets a KerasTensor, or
    from a saved config. Holds no weights.

    Args:
        fn: the op function (``nnfast.ops.add``...).
        key: its public name (``"add"``, ``"image.resize"``).
        config: the op's constructor arguments in Keras's split (e.g. ``{"axis": 1}``).
        call_names: Keras's ``call`` parameter names (for call keyword arguments named
            as Keras names them).
        name: node name; defaults to the snake_case Keras class name, numbered.

    Example:
        >>> x = nnfast.Input((4,))
        >>> y = ops.mean(x, axis=1)      # records OperationLayer "mean" (Keras class Mean)
    """

    def __init__(self, fn, key, config=None, call_names=(), name=None):
        entry = _table().get(key)
        self.key = key
        self.keras_class = entry[0] if entry else _camel(key.rsplit(".", 1)[-1])
        self.keras_module = entry[1] if entry else "nnfast.ops"
        default_name = re.sub(r"(?<!^)(?=[A-Z])", "_", self.keras_class).lower()
        super().__init__(name=name or global_state.unique_name(default_name))
        self.fn = _raw(fn)
        self.op_config = dict(config or {})
        self.call_names = tuple(call_names)
        sig = inspect.signature(self.fn)
        self._fn_params = [(p.name, p.kind) for p in sig.parameters.values()]
        self._fn_takes_kwargs = any(k == _KINDS.VAR_KEYWORD for _, k in self._fn_params)
        self.built = True
        self.supports_masking = False
        self._from_saved = False

    # --- from a call on symbolic tensors ---------------------------------------------------
    @classmethod
    def from_call(cls, fn, key, args, kwargs):
        """The layer for ``fn(*args, **kwargs)`` and the (args, kwargs) of its node's call.

        Keras's split: the class's constructor arguments go to the config (every one, defaults
        included, as Keras saves them); the function's first parameters that are not
        constructor arguments are the call arguments (matched by position: Keras's
        ``stack(x)`` calls ``Stack.call(xs)``). Other arguments nnfast's function takes
        go to the config when they are settings, to the call when they hold tensors.
        """
        raw = _raw(fn)
        sig = inspect.signature(raw)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"nnfast.ops.{key}: {e}. Received: args={args}, kwargs={kwargs}") \
                from None
        params = sig.parameters
        explicit = {}
        for name, value in bound.arguments.items():
            if params[name].kind == _KINDS.VAR_KEYWORD:
                explicit.update(value)
            else:
                explicit[name] = value
        bound.apply_defaults()
        entry = _table().get(key)
        keras_call = [p for p in entry[2] if not p.startswith("**")] if entry else []
        keras_init = {_strip(p) for p in entry[3] if not p.startswith("**")} if entry else set()
        ordered = [n for n, p in params.items() if p.kind != _KINDS.VAR_KEYWORD]
        free = [n for n in ordered if n not in keras_init]
        if entry is None:
            call_params = [n for i, n in enumerate(free) if i == 0 or (
                n in explicit and any_symbolic(explicit[n]))]
        elif any(p.startswith("*") for p in keras_call):
            call_params = free
        else:
            call_params = free[:len(keras_call)]
        config = {}
        for name, value in bound.arguments.items():
            if name in keras_init and not any_symbolic(value):
                config[name] = value  # Keras saves every constructor argument
        call_args, call_kwargs = [], {}
        positional = True
        for name in call_params:
            if name not in explicit:
                positional = False
                continue
            value = explicit[name]
            if params[name].kind == _KINDS.VAR_POSITIONAL:
                call_args.extend(value)
            elif positional and params[name].kind != _KINDS.KEYWORD_ONLY:
                call_args.append(value)
            else:
                call_kwargs[name] = value
        for name, value in explicit.items():
            if name in config or name in call_params:
                continue
            (call_kwargs if any_symbolic(value) else config)[name] = value
        if not call_args:
            raise ValueError(f"nnfast.ops.{key} on symbolic tensors needs its first argument "
                             f"passed positionally. Received: args={args}, kwargs={kwargs}")
        if entry is None:
            config = {"function": key, **config}
        layer = cls(raw, key, config, [_strip(p) for p in keras_call])
        return layer, call_args, call_kwargs

    # --- running ------------------------------------------------------------------------------
    def call(self, *args, training=None, **kwargs):
        """``fn`` with the config as keyword arguments; the positional ``args`` fill the
        function's other parameters in order."""
        config = self.op_config
        kw = {k: v for k, v in config.items() if k != "function"}
        free = [(n, k) for n, k in self._fn_params
                if n not in config and k != _KINDS.VAR_KEYWORD]
        pos = []
        i = 0
        for n, k in free:
            if i >= len(args):
                break
            if k == _KINDS.VAR_POSITIONAL:
                pos.extend(args[i:])
                i = len(args)
            elif k == _KINDS.KEYWORD_ONLY:
                break
            else:
                pos.append(args[i])
                i += 1
        if i < len(args):
            raise TypeError(f"Operation '{self.name}' ({self.keras_class}) got {len(args)} "
                            f"positional arguments; nnfast.ops.{self.key} takes {i}.")
        names = {n for n, _ in self._fn_params}
        for k, v in kwargs.items():
            if k not in names and k in self.call_names:
                # A Keras call-parameter name (Stack.call's ``xs``): the function's
                # parameter at the same position.
                k = free[self.call_names.index(k)][0]
            elif k not in names and not self._fn_takes_kwargs:
                raise TypeError(f"Operation '{self.name}' ({self.keras_class}): nnfast.ops."
                                f"{self.key} does not take the argument {k!r}.")
            kw[k] = v
        return self.fn(*pos, **kw)

    def __call__(self, *args, **kwargs):
        if any_symbolic(args) or any_symbolic(kwargs):
            return self._symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def _symbolic_call(self, *args, **kwargs):
        if self._from_saved and self.key.rsplit(".", 1)[-1] == "get_item" and \
                len(args) > 1 and isinstance(args[1], list):
            args = (args[0], tuple(args[1])) + tuple(args[2:])  # JSON made the index a list

        try:
            outputs = compute_output_spec(
                self.call, args, kwargs,
                data_dependent=self.key.rsplit(".", 1)[-1] in _data_dependent())
        except (ValueError, TypeError, IndexError) as e:
            shapes = [t.shape for t in _flat([list(args), kwargs]) if isinstance(t, KerasTensor)]
            raise ValueError(f"nnfast.ops.{self.key} cannot be applied to symbolic tensors of "
                             f"shapes {shapes}: {e}") from e
        if not any(isinstance(t, KerasTensor) for t in _flat(outputs)):
            raise ValueError(f"nnfast.ops.{self.key} on symbolic tensors returned no tensor.")
        return record_outputs(self, args[0], outputs, tuple(args[1:]), kwargs)

    def compute_output_shape(self, input_shape):
        raise NotImplementedError(
            f"OperationLayer '{self.name}': its output shape comes from a symbolic call.")

    # --- config -------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, **self.op_config}

    def serialize(self):
        """The Keras 3 config entry (``module``, ``class_name``, ``config``...)."""
        return {"module": self.keras_module, "class_name": self.keras_class,
                "config": serialize_keras_object(self.get_config()),
                "registered_name": self.keras_class}

    @classmethod
    def from_entry(cls, entry):
        """The layer for a saved op entry (Keras's ``keras.src.ops.*`` or nnfast's)."""
        config = dict(entry.get("config") or {})
        name = config.pop("name", None)
        class_name = entry["class_name"]
        if entry.get("module", "").startswith("nnfast.ops"):
            key = config.get("function")
            table_entry = None
        else:
            key = _class_index().get(class_name)
            if key is None:
                raise TypeError(f"Could not locate Keras operation '{class_name}' (module "
                                f"{entry.get('module')!r}) in nnfast's table of keras.ops.")
            table_entry = _table()[key]
        fn = public_op(key) if key else None
        if fn is None:
            raise NotImplementedError(
                f"The saved model uses the operation {class_name} (keras.ops.{key}), which "
                "nnfast does not implement.")
        raw = _raw(fn)
        if table_entry is None:
            layer = cls(raw, key, config, (), name=name)
            layer._from_saved = True
            return layer
        call_names = [_strip(p) for p in table_entry[2] if not p.startswith("**")]
        params = inspect.signature(raw).parameters
        takes_kwargs = any(p.kind == _KINDS.VAR_KEYWORD for p in params.values())
        keras_defaults = table_entry[4]
        kept = {}
        for k, v in config.items():
            if k in params or takes_kwargs:
                kept[k] = v
            elif k in keras_defaults and _same(v, keras_defaults[k]):
                continue  # Keras's default for a setting nnfast's op does not have
            else:
                raise NotImplementedError(
                    f"The saved operation {class_name} has {k}={v!r}, which nnfast.ops.{key} "
                    "does not support.")
        layer = cls(raw, key, kept, call_names, name=name)
        layer._from_saved = True
        return layer


def _same(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _flat(v)]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _flat(v)]
    return [x]


def _data_dependent():
    return DATA_DEPENDENT


def is_operation_entry(entry):
    """True for a saved config entry of an op node (not a layer)."""
    module = entry.get("module") or ""
    return module.startswith(("keras.src.ops.", "nnfast.ops"))
