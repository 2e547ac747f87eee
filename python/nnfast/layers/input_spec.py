"""``InputSpec``: what a layer accepts (rank, dtype, fixed axes, shape), checked when the
layer is called, as Keras checks it."""
import numpy as np


class InputSpec:
    """Describes the inputs a layer accepts; set ``self.input_spec`` in ``__init__`` or
    ``build`` and every call checks its inputs against it.

    Args:
        dtype: expected dtype name.
        shape: expected shape (``None`` entries accept any size).
        ndim: expected rank.
        max_ndim: largest accepted rank.
        min_ndim: smallest accepted rank.
        axes: ``{axis: size}`` of axes with a fixed size.
        allow_last_axis_squeeze: a trailing axis of size 1 may be missing or extra.
        name: the input's name (for dict inputs).
        optional: the input may be None.

    Example:
        >>> class Pairwise(keras.layers.Layer):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.input_spec = InputSpec(ndim=3, axes={-1: 2})
        ...     def call(self, x):
        ...         return x
        >>> Pairwise()(np.ones((2, 5, 2), "float32")).shape
        (2, 5, 2)
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else np.dtype(dtype).name
        if shape is not None:
            self.shape = tuple(None if d is None else int(d) for d in shape)
            self.ndim = len(self.shape)
        else:
            self.shape = None
            self.ndim = ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        try:
            axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: "
                            f"axes={axes}") from None
        if axes and (self.ndim is not None or self.min_ndim is not None):
            max_dim = (self.ndim if self.ndim else self.min_ndim) - 1
            if max(axes) > max_dim:
                raise ValueError(f"Axis {max(axes)} is greater than the maximum allowed value: "
                                 f"{max_dim}")
        self.axes = axes

    def __repr__(self):
        spec = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape),
                                         ("ndim", self.ndim), ("max_ndim", self.max_ndim),
                                         ("min_ndim", self.min_ndim))
                if v is not None and not (k == "ndim" and self.shape is not None)]
        if self.axes:
            spec.append(f"axes={self.axes}")
        return f"InputSpec({', '.join(spec)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _flatten(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _flatten(x[k])]
    return [x]


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raises ValueError (Keras's messages) when ``inputs`` do not fit ``input_spec`` (an
    InputSpec or a list of them)."""
    if not input_spec:
        return
    specs = _flatten(input_spec)
    if isinstance(inputs, dict):
        names = [spec.name for spec in specs]
        if all(names):
            for name in names:
                if name not in inputs:
                    raise ValueError(f'Missing data for input "{name}". You passed a data '
                                     f"dictionary with keys {list(inputs)}. Expected the "
                                     f"following keys: {names}")
            inputs = [inputs[name] for name in names]
    inputs = _flatten(inputs)
    if len(inputs) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
                         f"{len(inputs)} input tensors.")
    for index, (x, spec) in enumerate(zip(inputs, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f"Inputs to a layer should be tensors. Got '{x}' (of type "
                             f"{type(x)}) as input for layer '{layer_name}'.")
        shape = tuple(None if d is None else int(d) for d in x.shape)
        ndim = len(shape)
        where = f"Input {index} with name '{spec.name}' of layer '{layer_name}' is incompatible " \
                "with the layer:"
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise ValueError(f"{where} expected ndim={spec.ndim}, found ndim={ndim}. Full shape "
                             f"received: {shape}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise ValueError(f"{where} expected max_ndim={spec.max_ndim}, found ndim={ndim}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise ValueError(f"{where} expected min_ndim={spec.min_ndim}, found ndim={ndim}. "
                             f"Full shape received: {shape}")
        if spec.dtype is not None:
            dtype = np.dtype(x.dtype).name if not isinstance(x.dtype, str) else x.dtype
            if dtype != spec.dtype:
                raise ValueError(f"{where} expected dtype={spec.dtype}, found dtype={dtype}")
        for axis, size in (spec.axes or {}).items():
            if size is not None and shape[axis] not in (size, None):
                raise ValueError(f"{where} expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {shape}")
        if spec.shape is not None:
            spec_shape = spec.shape
            if spec.allow_last_axis_squeeze:
                if shape and shape[-1] == 1:
                    shape = shape[:-1]
                if spec_shape and spec_shape[-1] == 1:
                    spec_shape = spec_shape[:-1]
            for want, got in zip(spec_shape, shape):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{where} expected shape={spec.shape}, found "
                                     f"shape={shape}")
