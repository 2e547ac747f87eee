"""int4 helpers of ``keras.quantizers``: nibble packing (``pack_int4``/``unpack_int4``) and
grouped asymmetric quantization (``abs_max_quantize_grouped_with_zero_point``).

Packing layout (Keras's): along ``axis``, element ``2i`` goes to the low nibble and element
``2i + 1`` to the high nibble of byte ``i``; an odd length is padded with one zero.

Example:
    >>> packed, shape, n = pack_int4(np.array([[-3, 7], [2, -8], [1, 0]], np.int8))
    >>> np.asarray(packed)
    array([[  45, -121],
           [   1,    0]], dtype=int8)
    >>> np.asarray(unpack_int4(packed, n))
    array([[-3,  7],
           [ 2, -8],
           [ 1,  0]], dtype=int8)
"""
import math

import numpy as np

from nnfast.backend.tensor import Tensor


def _array(x):
    return np.asarray(x.value if isinstance(x, Tensor) else x)


def _check_dtype(dtype):
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")


def pack_int4(arr, axis=0, dtype="int8"):
    """Packs int4 values (held in int8, range [-8, 7]) two per byte along ``axis``.

    Args:
        arr: ``int8`` (or ``uint8``, as ``dtype`` says) array of int4 values.
        axis: the axis packed (default 0); its length becomes ``ceil(n / 2)``.
        dtype: ``"int8"`` or ``"uint8"``: the dtype of ``arr`` and of the result.

    Returns:
        ``(packed, packed_shape, orig_len)``: the packed tensor, its shape, and the
        unpadded length of ``axis`` (to give ``unpack_int4``).

    Example:
        >>> pack_int4(np.array([[-3, 7, 2], [-8, 1, 0]], np.int8), axis=1)[0]
    """
    _check_dtype(dtype)
    a = _array(arr)
    if a.dtype != np.dtype(dtype):
        raise TypeError(f"Expected {dtype} tensor for packing, got {a.dtype}.")
    if a.ndim == 0:
        raise ValueError(f"pack_int4 expects an array of rank >= 1. Received shape={a.shape}")
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"axis={axis} is out of range for an array of rank {a.ndim}.")
    a = np.moveaxis(a, axis, 0)
    n = a.shape[0]
    if n % 2:
        a = np.concatenate([a, np.zeros((1,) + a.shape[1:], a.dtype)], axis=0)
    nibbles = a.view(np.uint8) & np.uint8(0x0F)  # two's complement low 4 bits
    packed = (nibbles[::2] | (nibbles[1::2] << np.uint8(4))).view(np.dtype(dtype))
    packed = np.ascontiguousarray(np.moveaxis(packed, 0, axis))
    return Tensor(packed), tuple(packed.shape), n


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Reverses ``pack_int4``: two values per byte along ``axis`` (low nibble first), the
    padding dropped.

    Args:
        packed: ``int8``/``uint8`` array from ``pack_int4``.
        orig_len: the unpadded length of ``axis`` (``pack_int4``'s third result).
        axis: the packed axis (default 0).
        dtype: ``"int8"``: nibbles read as signed [-8, 7]; ``"uint8"``: as [0, 15].

    Returns:
        The unpacked tensor of ``dtype``, ``orig_len`` long along ``axis``.

    Example:
        >>> p, _, n = pack_int4(np.array([1, -2, 3], np.int8))
        >>> np.asarray(unpack_int4(p, n))
        array([ 1, -2,  3], dtype=int8)
    """
    _check_dtype(dtype)
    p = _array(packed)
    if p.dtype not in (np.int8, np.uint8):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {p.dtype}")
    if not -p.ndim <= axis < p.ndim:
        raise ValueError(f"axis={axis} is out of range for an array of rank {p.ndim}.")
    if not 0 <= int(orig_len) <= 2 * p.shape[axis]:
        raise ValueError(f"orig_len={orig_len} does not fit a packed axis of length "
                         f"{p.shape[axis]} (at most {2 * p.shape[axis]}).")
    u = np.moveaxis(p, axis, 0).view(np.uint8)
    both = np.stack([u & np.uint8(0x0F), u >> np.uint8(4)], axis=1)
    both = both.reshape((-1,) + u.shape[1:])[:int(orig_len)]
    if dtype == "int8":
        both = ((both ^ np.uint8(8)).astype(np.int8) - np.int8(8)).astype(np.int8)
    return Tensor(np.ascontiguousarray(np.moveaxis(both, 0, axis)))


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7),
                                             dtype="int8", epsilon=1e-7, to_numpy=False):
    """Asymmetric quantization of a 2D ``(input_dim, output_dim)`` array in groups of
    ``block_size`` rows: per group and column ``scale = (max - min + epsilon) / (qmax - qmin)``,
    ``zero_point = clip(round(-min / scale) + qmin, qmin, qmax)`` and
    ``q = clip(round(x / scale) + zero_point, qmin, qmax)`` (round half to even); the last
    group is zero-padded when ``block_size`` does not divide ``input_dim``.

    Args:
        inputs: float array of shape ``(input_dim, output_dim)``.
        block_size: rows per group (positive integer).
        value_range: ``(qmin, qmax)`` (default ``(-8, 7)``: int4).
        dtype: dtype of the quantized values (default ``"int8"``).
        epsilon: added to the range (default 1e-7).
        to_numpy: accepted for Keras compatibility (nnfast computes on the host either way).

    Returns:
        ``(quantized, scale, zero_point)``: ``quantized`` of ``inputs``' shape, ``scale`` and
        ``zero_point`` (int8) of shape ``(ceil(input_dim / block_size), output_dim)``.

    Example:
        >>> q, s, z = abs_max_quantize_grouped_with_zero_point(np.ones((5, 3)), block_size=2)
        >>> np.asarray(s).shape
        (3, 3)
    """
    x = _array(inputs)
    if x.ndim != 2:
        raise ValueError("abs_max_quantize_grouped_with_zero_point expects a 2D array "
                         f"(input_dim, output_dim). Received shape={x.shape}")
    if not isinstance(block_size, (int, np.integer)) or block_size <= 0:
        raise ValueError(f"block_size must be a positive integer. Received: "
                         f"block_size={block_size}")
    out_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    x = x.astype(out_dtype, copy=False)
    in_dim, out_dim = x.shape
    groups = math.ceil(in_dim / block_size)
    padded = np.zeros((groups * block_size, out_dim), out_dtype)
    padded[:in_dim] = x
    blocks = padded.reshape(groups, block_size, out_dim)
    qmin, qmax = value_range
    lo, hi = blocks.min(axis=1, keepdims=True), blocks.max(axis=1, keepdims=True)
    scale = ((hi - lo) + out_dtype.type(epsilon)) / out_dtype.type(qmax - qmin)
    zero = np.clip(np.round(-lo / scale) + qmin, qmin, qmax)
    q = np.clip(np.round(blocks / scale) + zero, qmin, qmax).astype(dtype)
    q = q.reshape(groups * block_size, out_dim)[:in_dim]
    return Tensor(q), Tensor(scale[:, 0, :]), Tensor(zero[:, 0, :].astype(np.int8))
