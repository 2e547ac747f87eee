"""The loss ``compile(loss=...)`` trains with: always a ``Loss`` object (Keras's
``compile_utils``), unlike ``keras.losses.get``, which returns functions for function names.

Function names and callables are wrapped in ``LossFunctionWrapper`` (sample weights and the
reduction), and ``"crossentropy"``/``"ce"`` pick the crossentropy from the shapes as Keras's
compile does.
"""
from nnfast import losses


def resolve_loss(identifier):
    """The ``Loss`` object for a compile ``loss`` identifier.

    Args:
        identifier: a name (``"mse"``, ``"MeanSquaredError"``, ``"crossentropy"``), a config
            dict, a ``Loss`` class or instance, or a callable ``fn(y_true, y_pred)``; None
            returns None.

    Returns:
        A ``keras.losses.Loss`` (or None).

    Example:
        >>> from nnfast.models.compile_loss import resolve_loss
        >>> loss = resolve_loss("mse")
        >>> loss.name, float(loss([[0.0, 1.0]], [[1.0, 1.0]]))
        ('mse', 0.5)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier in ("crossentropy", "ce"):
        return losses._ShapeResolvedCrossentropy(name=identifier)
    loss = losses.get(identifier)
    if isinstance(loss, losses.Loss):
        return loss
    name = identifier if isinstance(identifier, str) else None
    return losses.LossFunctionWrapper(loss, name=name)
