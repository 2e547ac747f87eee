"""Sequence preprocessing: ``pad_sequences``."""
import numpy as np

from nnfast.preprocessing import _text_fast


def _is_int_like(dtype):
    return np.issubdtype(np.dtype(dtype), np.integer) if dtype is not object else False


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (and truncates) sequences to a common length, as ``keras.utils.pad_sequences``.

    Args:
        sequences: list of sequences (lists or arrays; items may themselves be arrays).
        maxlen: output length; None means the longest sequence.
        dtype: output dtype (default ``"int32"``).
        padding: ``"pre"`` (default) or ``"post"``: where the padding goes.
        truncating: ``"pre"`` (default) or ``"post"``: which end loses values when a
            sequence is longer than ``maxlen``.
        value: the padding value.

    Returns:
        An array of shape ``(len(sequences), maxlen) + sample_shape``.

    Example:
        >>> pad_sequences([[1, 2], [3]], maxlen=3)
        array([[0, 1, 2],
               [0, 0, 3]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    num_samples = len(sequences)
    lengths = []
    sample_shape = ()
    flag = True
    # NOTE: the shape probe mirrors Keras: the first non-empty sequence fixes sample_shape.
    for x in sequences:
        try:
            n = len(x)
        except TypeError as e:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {x}") from e
        lengths.append(n)
        if flag and n:
            first = x[0]
            if isinstance(first, (int, float, np.integer, np.floating, str, bytes)):
                sample_shape = ()
            else:
                sample_shape = np.asarray(x).shape[1:]
            flag = False
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    is_dtype_str = np.issubdtype(np.dtype(dtype), np.str_) if dtype is not object else False
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings.")
    x = np.full((num_samples, maxlen) + tuple(sample_shape), value, dtype=dtype)
    if sample_shape == () and _is_int_like(dtype) and maxlen > 0:
        try:
            buf = np.full((num_samples, maxlen), value, dtype=np.int64)
            _text_fast.pad_int_sequences(list(sequences), buf, maxlen, padding == "pre",
                                         truncating == "pre")
            x[...] = buf
            return x
        except (TypeError, OverflowError):
            x = np.full((num_samples, maxlen), value, dtype=dtype)  # general path below
    for idx, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(
                f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} is different "
                f"from expected shape {sample_shape}")
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, -len(trunc):] = trunc
    return x
