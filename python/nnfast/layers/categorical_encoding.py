"""Keras's categorical encoding of integer indices (``output_mode`` of the lookup layers,
``CategoryEncoding``, ``Hashing``, ``Discretization``), in NumPy.

``"one_hot"``: a trailing axis of size 1 is replaced by ``depth`` (otherwise one is added);
``"multi_hot"``/``"count"``: rank 0 and 1 inputs are one sample and give ``(depth,)``, rank 2
``(batch, depth)``; indices outside ``[0, depth)`` are dropped, as ``tf.math.bincount`` with
``maxlength=depth`` does.
"""
import numpy as np

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def check_output_mode(output_mode, allowed, caller):
    if output_mode == "binary":
        output_mode = "multi_hot"
    if output_mode == "tf-idf":
        output_mode = "tf_idf"
    if output_mode not in allowed:
        raise ValueError(f"Invalid value for argument `output_mode` of {caller}. Expected one "
                         f"of {allowed}. Received: output_mode={output_mode!r}")
    return output_mode


def _bincount_rows(rows, depth, binary, weights=None):
    """rows: (n, k) int64 -> (n, depth) float32 counts (or 0/1 flags)."""
    n = rows.shape[0]
    out = np.zeros((n, depth), dtype=np.float64 if weights is not None else np.float32)
    valid = (rows >= 0) & (rows < depth)
    r = np.broadcast_to(np.arange(n)[:, None], rows.shape)[valid]
    c = rows[valid]
    if binary:
        out[r, c] = 1
    else:
        w = 1.0 if weights is None else np.broadcast_to(weights, rows.shape)[valid]
        np.add.at(out, (r, c), w)
    return out


def encode_categorical(indices, output_mode, depth, count_weights=None):
    """Encodes an int array of indices as Keras's ``encode_categorical_inputs`` (float32
    for every mode but ``"int"``; ``"tf_idf"`` is ``"count"`` here, the caller applies the
    weights)."""
    indices = np.asarray(indices)
    if output_mode == "int":
        return indices.astype(np.int64)
    if indices.ndim == 0:
        indices = indices[None]
    indices = indices.astype(np.int64)
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        flat = indices.reshape(-1, 1)
        return _bincount_rows(flat, depth, True).reshape(indices.shape + (depth,))
    binary = output_mode == "multi_hot"
    if count_weights is not None:
        count_weights = np.asarray(count_weights, dtype=np.float64)
    if indices.ndim == 1:
        out = _bincount_rows(indices[None], depth, binary,
                             None if count_weights is None else count_weights[None])[0]
    elif indices.ndim == 2:
        out = _bincount_rows(indices, depth, binary, count_weights)
    elif binary:  # Keras's multi_hot: over the last axis
        lead = indices.shape[:-1]
        out = _bincount_rows(indices.reshape(-1, indices.shape[-1]), depth, True)
        out = out.reshape(lead + (depth,))
    else:  # Keras's count of higher rank: one_hot summed over axis 1
        one_hot = _bincount_rows(indices.reshape(-1, 1), depth, True).reshape(
            indices.shape + (depth,))
        if count_weights is not None:
            one_hot = one_hot * count_weights[..., None]
        out = one_hot.sum(axis=1)
    return out if count_weights is not None else out.astype(np.float32)
