"""Keras 3's state scopes: ``name_scope`` (variable paths), ``StatelessScope`` (variable
updates collected instead of applied), ``SymbolicScope`` (a marker of the symbolic stage)
and ``device`` (device placement).

The scopes are per thread, as Keras's global state.
"""
import threading
import weakref

import numpy as np

_state = threading.local()
# Every live Variable, so that a StatelessScope can keep updates of variables it was not
# given from touching them (layers also write some variables in place, e.g. BatchNorm's
# moving statistics).
_live_variables = weakref.WeakSet()


def register_variable(variable):
    _live_variables.add(variable)


# --- name_scope ----------------------------------------------------------------------------


class name_scope:
    """Opens a sub-namespace for variable paths: a Variable (or a layer's weight) created
    inside ``with name_scope("block1"):`` gets the path ``"block1/<name>"``.

    Args:
        name: the scope's name (a string without "/").
        caller: the object opening the scope (with ``deduplicate``, re-entering the same
            name from the same caller does not nest it twice).
        deduplicate: see ``caller``.
        override_parent: an absolute path replacing the enclosing scopes' path.

    Example:
        >>> with keras.name_scope("encoder"):
        ...     v = keras.Variable(1.0, name="w")
        >>> v.path
        'encoder/w'
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None, **kwargs):
        if kwargs:
            raise TypeError(f"name_scope() got unexpected keyword arguments {sorted(kwargs)}")
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string and cannot contain character "
                             f"`/`. Received: name={name}")
        self.name, self.caller, self.deduplicate = name, caller, deduplicate
        self.override_parent = override_parent
        if override_parent is None and deduplicate and \
                getattr(caller, "_parent_path", None) is not None:
            self.override_parent = caller._parent_path
        self._pop_on_exit = False

    def __enter__(self):
        stack = _name_stack()
        if self.deduplicate and stack and self.caller is not None and \
                stack[-1].caller is self.caller and stack[-1].name == self.name:
            return self
        stack.append(self)
        self._pop_on_exit = True
        return self

    def __exit__(self, *exc):
        if self._pop_on_exit:
            _name_stack().pop()
            self._pop_on_exit = False
        return False


def _name_stack():
    stack = getattr(_state, "name_stack", None)
    if stack is None:
        stack = _state.name_stack = []
    return stack


def current_path():
    """The path of the open name scopes ("" outside any)."""
    parts = []
    for entry in getattr(_state, "name_stack", ()):
        if entry.override_parent is not None:
            parts = [p for p in entry.override_parent.split("/") if p]
        parts.append(entry.name)
    return "/".join(parts)


def scoped_path(name):
    """``name`` under the open name scopes."""
    prefix = current_path()
    return f"{prefix}/{name}" if prefix else name


# --- StatelessScope --------------------------------------------------------------------------


class StatelessScope:
    """No Variable changes inside this scope: reads see ``state_mapping``'s values, and every
    update (``assign``, ``assign_add``, optimizer-free in-place updates such as
    BatchNormalization's moving statistics) is collected; on exit each variable gets its
    original value back and ``get_current_value(variable)`` returns the collected one.

    Args:
        state_mapping: list of ``(variable, value)`` pairs: the values the variables hold
            inside the scope (shapes must match).
        collect_losses: ``add_loss`` terms of layers called inside go to ``scope.losses``
            (without it they are dropped, as in Keras).
        initialize_variables: must be True: variables created inside the scope are
            initialized at once (Keras's False defers that; not implemented).

    ``optimizer.apply`` is refused inside the scope (nnfast's optimizer state is not made of
    Variables, so it could not be kept unchanged).

    Example:
        >>> mapping = [(w, np.zeros(w.shape, "float32")) for w in model.weights]
        >>> with keras.StatelessScope(mapping) as scope:
        ...     y = model(x)                       # computed with zero weights
        >>> new_mean = scope.get_current_value(model.layers[1].moving_mean)
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        from nnfast.backend.tensor import Variable, as_array

        if not initialize_variables:
            raise NotImplementedError("StatelessScope(initialize_variables=False) is not "
                                      "implemented in nnfast: variables are initialized when "
                                      "created.")
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses = []
        self.state_mapping = {}
        self._variables = {}
        for k, v in state_mapping or []:
            if not isinstance(k, Variable):
                raise ValueError("Invalid reference variable in StatelessScope: all keys in "
                                 "argument `mapping` must be Variable instances. Received "
                                 f"instead: {k}")
            v = np.array(as_array(v), dtype=k.value.dtype)
            if v.shape != k.value.shape:
                raise ValueError("Invalid variable value in StatelessScope: all values in "
                                 "argument `mapping` must be tensors with a shape that "
                                 "matches the corresponding variable shape. For variable "
                                 f"{k.path}, received invalid value with shape {v.shape}.")
            self.state_mapping[id(k)] = v
            self._variables[id(k)] = k

    def __enter__(self):
        self._outer = getattr(_state, "stateless", None)
        # Each variable computes on a private buffer (the mapped value, or a copy of its
        # own), so in-place writes land there; the originals come back on exit.
        self._originals = []
        for var in list(_live_variables):
            original = var.value
            mapped = self.state_mapping.get(id(var))
            var.value = mapped.copy() if mapped is not None else original.copy()
            self._originals.append((var, original))
        _state.stateless = self
        return self

    def __exit__(self, *exc):
        _state.stateless = self._outer
        for var, original in self._originals:
            inside = var.value
            var.value = original
            if id(var) in self.state_mapping:
                self.state_mapping[id(var)] = inside
            elif inside.shape != original.shape or not np.array_equal(inside, original,
                                                                        equal_nan=True):
                self.state_mapping[id(var)] = inside
                self._variables[id(var)] = var
        self._originals = []
        return False

    def add_loss(self, loss):
        self.losses.append(loss)

    def add_update(self, update):
        """Records ``(variable, value)`` as the variable's value in this scope."""
        variable, value = update
        self.state_mapping[id(variable)] = value
        self._variables[id(variable)] = variable

    def get_current_value(self, variable):
        """The variable's value in (or collected by) this scope; None if never set."""
        return self.state_mapping.get(id(variable))


def get_stateless_scope():
    return getattr(_state, "stateless", None)


def in_stateless_scope():
    return get_stateless_scope() is not None


# --- SymbolicScope ---------------------------------------------------------------------------


class SymbolicScope:
    """Marks the symbolic stage (``in_symbolic_scope()`` is True inside), as Keras does while
    it traces shapes; layers may check it to skip work that only matters on real values.

    Example:
        >>> from nnfast.backend.scopes import in_symbolic_scope
        >>> with keras.SymbolicScope():
        ...     assert in_symbolic_scope()
    """

    def __enter__(self):
        self.original_scope = getattr(_state, "symbolic", None)
        _state.symbolic = self
        return self

    def __exit__(self, *exc):
        _state.symbolic = self.original_scope
        return False


def in_symbolic_scope():
    return getattr(_state, "symbolic", None) is not None


def get_symbolic_scope():
    return getattr(_state, "symbolic", None)


# --- device ------------------------------------------------------------------------------------


def device(device_name):
    """``with keras.device("cpu:0"):`` places the computations inside on a device. nnfast
    computes on the CPU: "cpu" / "cpu:0" (any case, with or without "/device:") are
    accepted; other devices raise ValueError naming the device.

    Returns:
        A context manager.

    Example:
        >>> with keras.device("cpu:0"):
        ...     y = model(x)
    """
    return _DeviceScope(device_name)


class _DeviceScope:
    def __init__(self, device_name):
        if not isinstance(device_name, str):
            raise ValueError(f"Invalid value for argument `device_name`. Expected a string "
                             f"like 'cpu:0'. Received: device_name={device_name}")
        name = device_name.lower().replace("/device:", "").replace("/", "").strip()
        kind, _, index = name.partition(":")
        if kind != "cpu" or index not in ("", "0"):
            raise ValueError(f"Device {device_name!r} is not available: nnfast computes on "
                             "the CPU ('cpu:0').")
        self.device_name = "cpu:0"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
