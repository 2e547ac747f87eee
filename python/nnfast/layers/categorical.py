"""Categorical feature layers: ``CategoryEncoding``, ``Hashing``, ``HashedCrossing``.

The hashes are TensorFlow's, so bins equal Keras's: ``Hashing`` maps each value (integers
as their decimal string) to ``Fingerprint64(value) % num_bins`` (FarmHash), or with a
``salt`` to ``SipHash-2-4(value) % num_bins``; ``HashedCrossing`` combines per-feature
fingerprints (strings) or raw values (integers) with FingerprintCat64, seeded as
``tf.sparse.cross_hashed``.
"""
import numpy as np

from nnfast.backend.tensor import Tensor
from nnfast.layers.categorical_encoding import check_output_mode, encode_categorical
from nnfast.layers.layer import Layer
from nnfast.layers.lookup import hash_to_buckets, to_bytes_array, to_numpy
from nnfast.preprocessing import _lookup_fast

_CROSS_HASH_KEY = np.uint64(0xDECAFCAFFE)  # tf.sparse.cross_hashed's default hash_key
_CAT_MUL = np.uint64(0xc6a4a7935bd1e995)


def _plain_dtype(dtype, default):
    if dtype is None:
        return default
    if isinstance(dtype, dict):  # a Keras DTypePolicy config
        return dtype.get("config", {}).get("name", default)
    return getattr(dtype, "name", dtype)


class CategoryEncoding(Layer):
    """Encodes integer category indices as one-hot, multi-hot or count vectors
    (``keras.layers.CategoryEncoding``).

    Args:
        num_tokens: the number of categories; inputs are in ``[0, num_tokens)``.
        output_mode: ``"multi_hot"`` (default; rank-1 inputs are one sample), ``"one_hot"``
            (a trailing axis of 1 is replaced) or ``"count"``.
        sparse: not supported by nnfast (raises NotImplementedError).

    Call with ``count_weights`` (same shape as the inputs) to sum weights instead of ones
    in ``"count"`` mode.

    Example:
        >>> CategoryEncoding(num_tokens=4, output_mode="one_hot")(np.array([3, 2, 0, 1]))
        <Tensor shape=(4, 4) dtype=float32
        array([[0., 0., 0., 1.],
               [0., 0., 1., 0.],
               [1., 0., 0., 0.],
               [0., 1., 0., 0.]], dtype=float32)>
        >>> CategoryEncoding(num_tokens=4)(np.array([[0, 1], [0, 0], [1, 2], [3, 1]]))
        <Tensor shape=(4, 4) dtype=float32
        array([[1., 1., 0., 0.],
               [1., 0., 0., 0.],
               [0., 1., 1., 0.],
               [0., 1., 0., 1.]], dtype=float32)>
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        output_mode = check_output_mode(output_mode, ("count", "one_hot", "multi_hot"),
                                        "CategoryEncoding")
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of "
                             "tokens is not known beforehand, use the IntegerLookup layer "
                             "instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise NotImplementedError("CategoryEncoding(sparse=True): nnfast has no sparse "
                                      "tensors; use sparse=False.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(f"`count_weights` is not used when `output_mode` is not "
                                 f"`'count'`. Received `count_weights={count_weights}`.")
            count_weights = to_numpy(count_weights)
        x = to_numpy(inputs)
        if x.dtype.kind == "f":
            x = x.astype(np.int64)
        out = encode_categorical(x, self.output_mode, self.num_tokens, count_weights)
        return Tensor(out.astype(np.float32))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if input_shape[-1] != 1 or len(input_shape) == 1:
                return input_shape + (self.num_tokens,)
            return input_shape[:-1] + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self):
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` bins, as Keras (``keras.layers.Hashing``).

    Args:
        num_bins: the number of bins (with ``mask_value``, bin 0 is reserved for it).
        mask_value: a value mapped to bin 0.
        salt: an int or a pair of ints: use the keyed SipHash-2-4 (Keras's strong hash).
        output_mode: ``"int"`` (int64 bins), ``"one_hot"``, ``"multi_hot"`` or ``"count"``.
        sparse: not supported by nnfast (raises NotImplementedError).

    Example:
        >>> Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"], ["D"], ["E"]])).numpy()
        array([[1], [0], [1], [1], [2]])
    """

    _accepts_strings = True  # Sequential lets string batches through to this layer

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        dtype = _plain_dtype(kwargs.pop("dtype", None),
                             "int64" if output_mode == "int" else "float32")
        super().__init__(dtype=dtype, **kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive "
                             f"values. Received: num_bins={num_bins}.")
        if output_mode == "int" and dtype not in ("int32", "int64"):
            raise ValueError(f"When `output_mode=\"int\"`, `dtype` should be an integer type, "
                             f"'int32' or 'int64'. Received: dtype={dtype}")
        modes = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in modes:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{modes}. Received: output_mode={output_mode}")
        if sparse:
            raise NotImplementedError("Hashing(sparse=True): nnfast has no sparse tensors; "
                                      "use sparse=False.")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = sparse
        self.salt = None
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                self.salt = list(salt)
            elif isinstance(salt, int):
                self.salt = [salt, salt]
            else:
                raise ValueError(f"The `salt` argument for `Hashing` can only be a tuple of "
                                 f"size 2 integers, or a single integer. Received: salt={salt}.")

    def _as_strings(self, x):
        """Values as TensorFlow hashes them: strings as UTF-8, numbers as decimal strings."""
        if x.dtype.kind in "USO":
            return to_bytes_array(x)
        if x.dtype.kind == "f":
            x = x.astype(np.int64)
        flat = [str(v).encode() for v in x.reshape(-1).tolist()]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(x.shape)

    def _bins(self, x):
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            if x.dtype.kind in "USO":
                target = self.mask_value.encode() if isinstance(self.mask_value, str) \
                    else self.mask_value
                keys = to_bytes_array(x)
                mask = np.fromiter((k == target for k in keys.reshape(-1).tolist()),
                                   dtype=bool, count=keys.size).reshape(keys.shape)
            else:
                mask = x == self.mask_value
        out = hash_to_buckets(self._as_strings(x), bins, self.salt)
        if mask is not None:
            out = np.where(mask, 0, out + 1)
        return out

    def call(self, inputs):
        x = to_numpy(inputs)
        if self.output_mode == "one_hot" and x.ndim and x.shape[-1] == 1:
            x = x[..., 0]
        out = encode_categorical(self._bins(x), self.output_mode, self.num_bins)
        return Tensor(out.astype(self.dtype if self.output_mode == "int" else np.float32))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if len(input_shape) == 0:
            return (self.num_bins,)
        return input_shape[:-1] + (self.num_bins,)

    def get_config(self):
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt,
                       "mask_value": self.mask_value, "output_mode": self.output_mode,
                       "sparse": self.sparse})
        return config


def _feature_hashes(x):
    """A feature's uint64 hashes as tf.sparse.cross_hashed takes them: Fingerprint64 for
    strings, the two's-complement value for integers."""
    if x.dtype.kind in "USO":
        keys = to_bytes_array(x).reshape(-1).tolist()
        out = np.empty(len(keys), dtype=np.uint64)
        _lookup_fast.fingerprints(keys, out)
        return out
    if x.dtype.kind not in "iu":
        raise ValueError(f"All `HashedCrossing` inputs should have an integer or string dtype. "
                         f"Received: an input with dtype={x.dtype}")
    return x.astype(np.int64).reshape(-1).view(np.uint64)


def _shift_mix(v):
    return v ^ (v >> np.uint64(47))


def _fingerprint_cat64(fp1, fp2):
    """TensorFlow's FingerprintCat64 on uint64 arrays (wrapping multiplications)."""
    with np.errstate(over="ignore"):
        result = fp1 ^ _CAT_MUL
        result = result ^ (_shift_mix(fp2 * _CAT_MUL) * _CAT_MUL)
        result = result * _CAT_MUL
        result = _shift_mix(result) * _CAT_MUL
        return _shift_mix(result)


class HashedCrossing(Layer):
    """Crosses two or more categorical features into ``num_bins`` hashed bins
    (``keras.layers.HashedCrossing``), with the bins of ``tf.sparse.cross_hashed``.

    Args:
        num_bins: the number of bins.
        output_mode: ``"int"`` (int64 bins) or ``"one_hot"``.
        sparse: not supported by nnfast (raises NotImplementedError).
        name: the layer's name.
        dtype: the dtype of ``"int"`` outputs (default int64; must be an integer type);
            ``"one_hot"`` outputs are float32.

    Call on a tuple/list of arrays of equal shape ``()``, ``(batch,)`` or ``(batch, 1)``,
    integers or strings.

    Example:
        >>> layer = HashedCrossing(num_bins=5)
        >>> layer((np.array(["A", "B", "A"]), np.array([101, 101, 102]))).numpy()
        array([1, 4, 3])
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        dtype = _plain_dtype(dtype, "int64" if output_mode == "int" else "float32")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"Invalid value for argument `output_mode` of HashedCrossing. "
                             f"Expected one of ('int', 'one_hot'). Received: "
                             f"output_mode={output_mode!r}")
        if sparse:
            raise NotImplementedError("HashedCrossing(sparse=True): nnfast has no sparse "
                                      "tensors; use sparse=False.")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of inputs. "
                             f"Received: inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. "
                             f"Received: inputs={inputs}")
        arrays = [to_numpy(x) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"All `HashedCrossing` inputs should have shape `()`, "
                             f"`(batch_size)` or `(batch_size, 1)`. Received: shapes "
                             f"{[a.shape for a in arrays]}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(f"All `HashedCrossing` inputs should have equal shape. Received: "
                             f"shapes {[a.shape for a in arrays]}")
        crossed = np.full(arrays[0].size, _CROSS_HASH_KEY, dtype=np.uint64)
        for a in arrays:
            crossed = _fingerprint_cat64(crossed, _feature_hashes(a))
        bins = (crossed % np.uint64(self.num_bins)).astype(np.int64).reshape(shape)
        out = encode_categorical(bins, self.output_mode, self.num_bins)
        return Tensor(out.astype(self.dtype if self.output_mode == "int" else np.float32))

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if not first:
            return (self.num_bins,)
        if first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}
