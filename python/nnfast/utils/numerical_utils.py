"""Array utilities: ``to_categorical``, ``normalize``."""
import numpy as np


def to_categorical(x, num_classes=None):
    """One-hot encodes integer class ids.

    Args:
        x: array-like of class ids; a trailing axis of size 1 is squeezed.
        num_classes: number of classes (default ``max(x) + 1``).

    Returns:
        A float array of shape ``x.shape + (num_classes,)`` (float64 for NumPy input, as
        Keras 3 returns).

    Example:
        >>> to_categorical([0, 2], 3)
        array([[1., 0., 0.], [0., 0., 1.]])
    """
    x = np.asarray(x)
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise ValueError("to_categorical received NaN or infinite labels.")
        if np.any(x != np.round(x)):
            raise ValueError("to_categorical expects integer class ids, received non-integers.")
    elif x.dtype.kind not in "iub":
        raise TypeError(f"to_categorical expects integer class ids, received dtype {x.dtype}")
    x = x.astype(np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}), received "
                         f"values in [{int(x.min())}, {int(x.max())}]")
    out = np.zeros(x.shape + (num_classes,), dtype=np.float64)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """Scales ``x`` to unit ``order``-norm along ``axis`` (zero norms are left as is).

    Args:
        x: the array to normalize.
        axis: the axis along which the norm is taken. Defaults to ``-1``.
        order: the norm's order (2: L2). Defaults to ``2``.

    Example:
        >>> keras.utils.normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
