"""The batch structure of ``fit``: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``."""


def unpack_x_y_sample_weight(data):
    """Splits a batch as ``fit`` hands it to ``train_step`` into ``(x, y, sample_weight)``.

    Args:
        data: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (a list counts as a
            tuple).

    Returns:
        ``(x, y, sample_weight)`` with ``None`` for the parts that were not given.

    Example:
        >>> x, y, sw = unpack_x_y_sample_weight((np.ones((4, 2)), np.zeros((4, 1))))
        >>> sw is None
        True
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch structure ``fit`` hands to ``train_step``: ``x`` alone (a tuple ``(x,)``
    when ``x`` is itself a list or tuple), ``(x, y)`` or ``(x, y, sample_weight)``.

    Args:
        x: the inputs.
        y: the targets (None: none).
        sample_weight: the sample weights (None: none).

    Example:
        >>> x, y = pack_x_y_sample_weight(np.ones((4, 2)), np.zeros((4, 1)))
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
