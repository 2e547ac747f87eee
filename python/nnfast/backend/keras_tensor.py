"""Symbolic tensors: the placeholders ``Input`` returns and functional models are built from.

A KerasTensor knows its shape (batch axis None), its dtype and the layer call that made it
(``keras_history = (layer, node_index, tensor_index)``)."""


class KerasTensor:
    """A symbolic tensor with a shape (``None`` for unknown axes) and a dtype."""

    def __init__(self, shape, dtype="float32", name=None, keras_history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self._keras_history = keras_history

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def any_symbolic(x):
    """True when ``x`` (or any element of a list/tuple/dict) is a KerasTensor."""
    if isinstance(x, KerasTensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(any_symbolic(v) for v in x)
    if isinstance(x, dict):
        return any(any_symbolic(v) for v in x.values())
    return False
