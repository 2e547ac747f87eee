"""``Input`` and ``InputLayer``: where a model's symbolic graph starts."""
from nnfast.backend import global_state
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.layers.layer import Layer, standardize_shape
from nnfast.layers.node import Node


class InputLayer(Layer):
    """The layer behind ``Input``; holds the input's batch shape.

    Args:
        shape: input shape without the batch axis; or ``batch_shape`` with it.
        batch_size: a fixed batch size (None: any).
        dtype: dtype of the input (None: ``keras.config.floatx()``).
        sparse: whether the input is sparse (SciPy sparse matrices are accepted by models).
        ragged: ragged inputs are not supported: True raises ``NotImplementedError``.
        batch_shape: the full shape with the batch dimension, instead of ``shape`` and
            ``batch_size``.
        input_tensor: an existing symbolic tensor to wrap instead of creating one.
        optional: whether the input may be None when the model is called. Defaults to ``False``.
        name: name of the layer; None: a unique name made from the class name.
        input_shape: Keras 2 spelling of ``shape``.
        batch_input_shape: Keras 2 spelling of ``batch_shape``.

    Example:
        >>> model = keras.Sequential([keras.layers.InputLayer(shape=(4,)),
        ...                           keras.layers.Dense(2)])
        >>> model.input_shape
        (None, 4)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None,
                 batch_shape=None, input_tensor=None, optional=False, name=None,
                 input_shape=None, batch_input_shape=None, **kwargs):
        _reject_ragged(ragged)
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if shape is None and batch_shape is None:
            raise ValueError("You must pass a `shape` argument to Input / InputLayer.")
        if batch_shape is None:
            batch_shape = (batch_size,) + standardize_shape(shape)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.batch_shape = standardize_shape(batch_shape)
        self.input_dtype = dtype or global_state.floatx()
        self.built = True
        tensor = KerasTensor(self.batch_shape, dtype=self.input_dtype, name=self.name,
                             keras_history=(self, 0, 0))
        self._inbound_nodes.append(Node(self, [], tensor, (), {}))

    @property
    def input(self):
        """The symbolic tensor this layer stands for (its ``output`` too)."""
        return self.output

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.input_dtype,
                "sparse": False, "name": self.name}


def _reject_ragged(ragged):
    if ragged:
        raise NotImplementedError("Ragged inputs (ragged=True) are not supported by nnfast "
                                  "(Keras supports them on TensorFlow only).")


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
          name=None, tensor=None, optional=False):
    """A symbolic input tensor: ``Input(shape=(28, 28))`` (shape without the batch axis).

    The start of a functional model: call layers on it, then build
    ``Model(inputs, outputs)``.

    Args:
        shape: the input shape without the batch axis; ``None`` entries are variable
            (e.g. ``(None, 16)`` for sequences of any length).
        batch_size: a fixed batch size, or None (any).
        dtype: the input dtype (default ``"float32"``; ``"int32"`` for token ids,
            ``"string"`` for text).
        sparse: Keras's sparse-input flag; not used by this function (nnfast inputs are
            dense).
        batch_shape: the full shape with the batch axis, instead of ``shape`` and
            ``batch_size``.
        name: the input's name (the key of a dict of inputs).
        tensor: Keras's option to wrap an existing tensor; not used by this function.
        optional: Keras's flag for inputs that may be None; not used by this function.
        ragged: ragged inputs are not supported: True raises ``NotImplementedError``.

    Returns:
        A KerasTensor of shape ``(batch_size, *shape)``.

    Raises:
        ValueError: when neither ``shape`` nor ``batch_shape`` is given.

    Example:
        >>> inputs = keras.Input(shape=(784,))
        >>> outputs = keras.layers.Dense(10, activation="softmax")(inputs)
        >>> model = keras.Model(inputs, outputs)
    """
    _reject_ragged(ragged)
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                       name=name)
    return layer.output
