"""``Lambda``: wraps an arbitrary function of tensors as a layer."""
import codecs
import marshal
import types

import nnfast
from nnfast import ops
from nnfast.layers.layer import Layer
from nnfast.saving import serialization
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object


class Lambda(Layer):
    """Applies ``function(inputs, **arguments)``; the function uses ``nnfast.ops``.

    Args:
        function: the function to wrap.
        output_shape: the output shape (tuple without the batch axis, or a function of the
            input shape); inferred by running the function on zeros when omitted.
        mask: unused (masks are not propagated yet).
        arguments: extra keyword arguments passed to ``function``.

    Saving a ``lambda`` stores its Python bytecode, as Keras does; loading it requires
    ``safe_mode=False`` (bytecode can run anything). Named functions are stored by name and
    must be passed back in ``custom_objects`` or registered.

    Example:
        >>> Lambda(lambda x: ops.square(x))(np.array([[1.0, -2.0]], "float32")).numpy()
        array([[1., 4.]], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable `function`, received {function!r}")
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})

    def call(self, inputs, training=None):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        shape = tuple(self._output_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + shape

    def get_config(self):
        config = super().get_config()
        config["function"] = serialize_function(self.function)
        if self._output_shape is not None:
            config["output_shape"] = (serialize_function(self._output_shape)
                                      if callable(self._output_shape) else list(self._output_shape))
        if self.mask is not None:
            config["mask"] = serialize_function(self.mask) if callable(self.mask) else self.mask
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        config = dict(config)
        if safe_mode is None:
            safe_mode = serialization.in_safe_mode()
        config["function"] = deserialize_function(config["function"], custom_objects, safe_mode)
        shape = config.get("output_shape")
        if isinstance(shape, dict):
            config["output_shape"] = deserialize_function(shape, custom_objects, safe_mode)
        return cls(**config)


def serialize_function(fn):
    """Keras's config for a function: bytecode for a lambda, a name for a named function."""
    if isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>":
        code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
        closure = tuple(c.cell_contents for c in fn.__closure__) if fn.__closure__ else None
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": fn.__defaults__, "closure": closure}}
    return serialize_keras_object(fn)


def _lambda_globals():
    """Names a revived lambda can use: the modules Keras lambdas usually refer to."""
    import numpy


    return {"nnfast": nnfast, "keras": nnfast, "ops": ops, "np": numpy, "numpy": numpy,
            "__builtins__": __builtins__}


def deserialize_function(config, custom_objects=None, safe_mode=True):
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError(
                "Requested the deserialization of a `Lambda` layer whose function is a Python "
                "lambda. This carries a potential risk of arbitrary code execution and thus it "
                "is disallowed by default. If you trust the source of the saved model, you can "
                "pass `safe_mode=False` to the loading function in order to allow `Lambda` "
                "layer loading.")
        inner = config["config"]
        raw = codecs.decode(inner["code"].encode("ascii"), "base64")
        code = marshal.loads(raw)
        closure = inner.get("closure")
        if closure is not None:
            closure = tuple(types.CellType(c) for c in closure)
        defaults = inner.get("defaults")
        return types.FunctionType(code, _lambda_globals(), code.co_name,
                                  tuple(defaults) if defaults is not None else None, closure)
    return deserialize_keras_object(config, custom_objects=custom_objects)


__all__ = ["Lambda"]
