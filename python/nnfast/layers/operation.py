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

_KINDS = inspect.Parameter


def _table():
    from nnfast.ops._keras_op_table import KERAS_OPS

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
        call_names: names the positional call arguments bind to (Keras's ``call``
            parameters; a leading ``*`` takes the rest).
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

    # --- from a call on symbolic tensors ---------------------------------------------------
    @classmethod
    def from_call(cls, fn, key, args, kwargs):
        """The layer for ``fn(*args, **kwargs)`` and the (args, kwargs) of its node's call."""
        raw = _raw(fn)
        sig = inspect.signature(raw)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"nnfast.ops.{key}: {e}. Received: args={args}, kwargs={kwargs}") \
                from None
        explicit = set()
        for name, value in bound.arguments.items():
            is_var_kw = sig.parameters[name].kind == _KINDS.VAR_KEYWORD
            explicit.update(value if is_var_kw else [name])
        bound.apply_defaults()
        entry = _table().get(key)
        params = sig.parameters
        values = {}
        for name, value in bound.arguments.items():
            if params[name].kind == _KINDS.VAR_KEYWORD:
                values.update(value)
            else:
                values[name] = value
        if entry is None:
            call_names = [n if p.kind != _KINDS.VAR_POSITIONAL else "*" + n
                          for n, p in params.items() if n in explicit]
            call_names = [n for n in call_names if n.lstrip("*") in values]
            config = {"function": key, "call_names": call_names}
            call_values = {n: values[n] for n in values if n in explicit}
        else:
            keras_call = [p for p in entry[2] if not p.startswith("**")]
            keras_call_names = {_strip(p) for p in keras_call}
            keras_init = {_strip(p) for p in entry[3] if not p.startswith("**")}
            call_names = list(keras_call)
            config, call_values = {}, {}
            for name, value in values.items():
                if name in keras_init and not any_symbolic(value):
                    config[name] = value  # Keras saves every constructor argument
                elif name in keras_call_names:
                    if name in explicit:
                        call_values[name] = value
                elif name in explicit:
                    # An argument Keras's class lacks: tensors go with the call, settings
                    # with the config (nnfast reads both back).
                    (call_values if any_symbolic(value) else config)[name] = value
        layer = cls(raw, key, config, call_names)
        call_args, call_kwargs = [], {}
        positional = True
        for cname in call_names:
            name = _strip(cname)
            if name not in call_values:
                positional = False
                continue
            value = call_values.pop(name)
            if cname.startswith("*"):
                call_args.extend(value)
            elif positional and not cname.startswith("^"):
                call_args.append(value)
            else:
                call_kwargs[name] = value
        call_kwargs.update(call_values)
        if not call_args:
            raise ValueError(f"nnfast.ops.{key} on symbolic tensors needs its first argument "
                             f"passed positionally. Received: args={args}, kwargs={kwargs}")
        return layer, call_args, call_kwargs

    # --- running ------------------------------------------------------------------------------
    def call(self, *args, training=None, **kwargs):
        values = dict(self.op_config)
        values.pop("function", None)
        values.pop("call_names", None)
        names = self.call_names
        for i, cname in enumerate(names):
            if cname.startswith("*"):
                values[_strip(cname)] = tuple(args[i:])
                break
            if i < len(args):
                values[_strip(cname)] = args[i]
        else:
            if len(args) > len(names):
                raise TypeError(f"Operation '{self.name}' ({self.keras_class}) takes "
                                f"{len(names)} call arguments; received {len(args)}.")
        values.update(kwargs)
        if self.key.rsplit(".", 1)[-1] == "get_item" and isinstance(values.get("key"), list):
            values["key"] = tuple(values["key"])  # JSON turned the index tuple into a list
        pos, kw = [], {}
        positional = True
        for name, kind in self._fn_params:
            if kind == _KINDS.VAR_POSITIONAL:
                pos.extend(values.pop(name, ()))
                continue
            if kind == _KINDS.VAR_KEYWORD:
                continue
            if name not in values:
                positional = False
                continue
            value = values.pop(name)
            if positional and kind != _KINDS.KEYWORD_ONLY:
                pos.append(value)
            else:
                kw[name] = value
        if values:
            if not self._fn_takes_kwargs:
                raise TypeError(f"Operation '{self.name}' ({self.keras_class}): nnfast.ops."
                                f"{self.key} does not take the argument(s) {sorted(values)}.")
            kw.update(values)
        return self.fn(*pos, **kw)

    def __call__(self, *args, **kwargs):
        if any_symbolic(args) or any_symbolic(kwargs):
            return self._symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def _symbolic_call(self, *args, **kwargs):
        from nnfast.layers.node import record_outputs

        outputs = compute_output_spec(
            self.call, args, kwargs,
            data_dependent=self.key.rsplit(".", 1)[-1] in _data_dependent())
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
        from nnfast.saving.serialization import serialize_keras_object

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
        from nnfast.ops.symbolic import public_op

        fn = public_op(key) if key else None
        if fn is None:
            raise NotImplementedError(
                f"The saved model uses the operation {class_name} (keras.ops.{key}), which "
                "nnfast does not implement.")
        raw = _raw(fn)
        if table_entry is None:
            return cls(raw, key, config, config.get("call_names", ()), name=name)
        call_names = [p for p in table_entry[2] if not p.startswith("**")]
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
        return cls(raw, key, kept, call_names, name=name)


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
    from nnfast.ops.symbolic import DATA_DEPENDENT

    return DATA_DEPENDENT


def is_operation_entry(entry):
    """True for a saved config entry of an op node (not a layer)."""
    module = entry.get("module") or ""
    return module.startswith("keras.src.ops.") or module.startswith("nnfast.ops")
