"""Vocabulary lookup layers: ``StringLookup`` and ``IntegerLookup`` (Keras 3's IndexLookup).

A lookup layer maps tokens to indices (or back, with ``invert=True``) through a vocabulary
that is passed in (a list, an array or a text file with one token a line) or learned by
``adapt``: tokens sorted by frequency, ties broken by the token (highest first, comparing
UTF-8 bytes for strings), as Keras does. Indices start with the mask token (``0``, when
``mask_token`` is set and ``output_mode="int"``), then ``num_oov_indices`` out-of-vocabulary
slots, then the vocabulary. With several OOV slots an unknown string goes to the slot
``FarmHash64(token) % num_oov_indices`` (TensorFlow's ``to_hash_bucket_fast``) and an
unknown integer to ``token % num_oov_indices``, matching Keras's indices exactly.

Strings are kept as UTF-8 ``bytes`` inside the layers (TensorFlow's string semantics);
``get_vocabulary()`` returns ``str``. The vocabulary is saved in a ``.keras`` file as
Keras 3 does: ``assets/<layer path>/vocabulary.txt``, and TF-IDF weights in the weights
file as ``idf_weights``.
"""
import collections
import itertools
import os

import numpy as np

from nnfast.backend.tensor import Tensor
from nnfast.layers.categorical_encoding import OUTPUT_MODES, check_output_mode, \
    encode_categorical
from nnfast.layers.layer import Layer
from nnfast.preprocessing import _lookup_fast
from nnfast.saving.serialization import in_safe_mode

_INT64_MAX = np.iinfo(np.int64).max


def to_numpy(inputs):
    """The array under a Tensor, list, scalar or array."""
    if isinstance(inputs, Tensor):
        return inputs.value
    return np.asarray(inputs)


def to_bytes_array(inputs, encoding="utf-8"):
    """An object array of ``bytes`` with the shape of ``inputs`` (str, bytes or objects)."""
    if isinstance(inputs, (list, tuple)) and inputs and all(
            isinstance(v, str) for v in inputs):
        # A flat list of str: encode directly (np.asarray would first copy every string
        # into a fixed-width array as wide as the longest one).
        out = np.empty(len(inputs), dtype=object)
        out[:] = [s.encode(encoding) for s in inputs]
        return out
    a = to_numpy(inputs)
    if a.dtype.kind == "U":
        flat = [s.encode(encoding) for s in a.reshape(-1).tolist()]
    elif a.dtype.kind == "S":
        flat = a.reshape(-1).tolist()
    elif a.dtype.kind == "O":
        flat = [s.encode(encoding) if isinstance(s, str) else bytes(s)
                for s in a.reshape(-1).tolist()]
    else:
        raise ValueError(f"Expected string inputs (str or bytes). Received: inputs with "
                         f"dtype={a.dtype} and shape={a.shape}")
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(a.shape)


def hash_to_buckets(values, num_buckets, salt=None):
    """``values`` (an array of bytes) hashed into ``[0, num_buckets)`` exactly as TensorFlow's
    ``to_hash_bucket_fast`` (FarmHash Fingerprint64), or ``to_hash_bucket_strong``
    (SipHash-2-4 keyed by the two ``salt`` integers) when ``salt`` is given."""
    flat = values.reshape(-1).tolist()
    out = np.empty(len(flat), dtype=np.int64)
    key = None if salt is None else (int(salt[0]) & (2 ** 64 - 1), int(salt[1]) & (2 ** 64 - 1))
    _lookup_fast.hash_buckets(flat, out, int(num_buckets), key)
    return out.reshape(values.shape)


def check_vocabulary_file_allowed(vocabulary):
    """Loading a config that names a vocabulary file outside the archive needs
    ``safe_mode=False`` (Keras's rule)."""
    if isinstance(vocabulary, str) and in_safe_mode():
        raise ValueError(
            "Requested the loading of a vocabulary file outside of the model archive. This "
            "carries a potential risk of loading arbitrary and sensitive files and thus it is "
            "disallowed by default. If you trust the source of the artifact, you can override "
            "this error by passing `safe_mode=False` to the loading function. Vocabulary "
            f"file: '{vocabulary}'")


def _listify(x):
    if isinstance(x, Tensor):
        x = x.value
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        x = [v.decode("utf-8") if isinstance(v, bytes) else v for v in x]
    return x


class IndexLookup(Layer):
    """Shared machinery of ``StringLookup`` and ``IntegerLookup`` (see their docstrings)."""

    _config_only_keys = ("vocabulary_size", "has_input_vocabulary")
    _accepts_strings = True  # Sequential lets string batches through to this layer

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", name=None,
                 salt=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"If pad_to_max_tokens is True, must set `max_tokens`. Received: "
                             f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"`oov_method` must be 'floormod' or 'farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        is_string = vocabulary_dtype == "string"
        if salt is not None:
            if not is_string and oov_method != "farmhash":
                raise ValueError(f"`salt` can only be used when `oov_method='farmhash'`. "
                                 f"Received: oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError(f"The `salt` argument for `{type(self).__name__}` can only "
                                 f"be a tuple of 2 integers, or a single integer. Received: "
                                 f"salt={salt}.")
        output_mode = check_output_mode(output_mode, OUTPUT_MODES, type(self).__name__)
        if invert and output_mode != "int":
            raise ValueError(f"`output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise NotImplementedError(f"{type(self).__name__}(sparse=True): nnfast has no "
                                      "sparse tensors; use sparse=False.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: idf_weights={idf_weights} and "
                             f"output_mode={output_mode}")
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary",
                                                vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"Unrecognized keyword argument(s): {kwargs}")
        super().__init__(name=name)
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._is_string = is_string
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._tokens = []      # the learned/set vocabulary (no special tokens), index order
        self._table = {}       # token key -> index
        self.idf_weights = None
        self._called = False   # a non-int output's depth is frozen once the layer has run
        self.reset_state()
        if self.output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError("When specifying the `vocabulary` argument, in TF-IDF output "
                             "mode, the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # --- keys -----------------------------------------------------------------------------
    def _key(self, token):
        """A token as the table stores it (bytes for strings, int for integers)."""
        if token is None:
            return None
        if self._is_string:
            return token.encode("utf-8") if isinstance(token, str) else bytes(token)
        return int(token)

    def _keys_array(self, inputs):
        if self._is_string:
            return to_bytes_array(inputs)
        a = to_numpy(inputs)
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.all(a == np.round(a)):
                return a.astype(np.int64)
            raise ValueError(f"{type(self).__name__} expects integer inputs. Received: "
                             f"inputs with dtype={a.dtype}")
        return a.astype(np.int64)

    def _token_out(self, key):
        if self._is_string and isinstance(key, bytes):
            return key.decode("utf-8")
        return key

    # --- indices --------------------------------------------------------------------------
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self):
        """The vocabulary's size, mask and OOV indices included."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order (a token's position is its index when
        ``include_special_tokens``; otherwise only the learned/set tokens)."""
        vocab = [self._token_out(t) for t in self._tokens]
        if not include_special_tokens:
            return vocab
        specials = [self.oov_token] * self._token_start_index()
        if self.mask_token is not None and self.output_mode == "int":
            specials[0] = self.mask_token
        return specials + vocab

    # --- vocabulary -----------------------------------------------------------------------
    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list/array of tokens, or a path to a text file with one
        token a line) and, for ``output_mode="tf_idf"``, the IDF weights."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"`idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and "
                             f"idf_weights={idf_weights}")
        if isinstance(vocabulary, str):
            if not os.path.exists(vocabulary):
                raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a "
                                 "vocabulary from file.")
            with open(vocabulary, encoding="utf-8") as f:
                lines = f.read().splitlines()
            self._set_tokens([self._key(line if self._is_string else int(line))
                              for line in lines])
            self._record_vocabulary_size()
            return
        if isinstance(vocabulary, Tensor):
            vocabulary = vocabulary.value
        vocabulary = [self._key(v.item() if isinstance(v, np.generic) else v)
                      for v in (vocabulary.tolist() if isinstance(vocabulary, np.ndarray)
                                else list(vocabulary))]
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: "
                             f"vocabulary={vocabulary}")
        oov_start = self._oov_start_index()
        token_start = self._token_start_index()
        special = [self._key(self.mask_token)] * oov_start + \
            [self._key(self.oov_token)] * self.num_oov_indices
        found_special = vocabulary[:token_start] == special
        tokens = vocabulary[token_start:] if found_special else vocabulary
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: "
                             f"{[self._token_out(t) for t in repeated]}")
        mask_key = self._key(self.mask_token)
        if mask_key is not None and mask_key in tokens:
            raise ValueError(
                f"Found reserved mask token at unexpected location in `vocabulary`. Either "
                f"remove all mask and OOV tokens, or include them only at the start of the "
                f"vocabulary in precisely this order: {[self._token_out(t) for t in special]}. "
                f"Received: mask_token={self.mask_token} at vocabulary index "
                f"{vocabulary.index(mask_key)}")
        oov_key = self._key(self.oov_token)
        if self.num_oov_indices > 0 and oov_key in tokens:
            raise ValueError(
                f"Found reserved OOV token at unexpected location in `vocabulary`. Either "
                f"remove all mask and OOV tokens, or include them only at the start of the "
                f"vocabulary in precisely this order: {[self._token_out(t) for t in special]}. "
                f"Received: oov_token={self.oov_token} at vocabulary index "
                f"{vocabulary.index(oov_key)}")
        new_size = token_start + len(tokens)
        if self.max_tokens is not None and new_size > self.max_tokens:
            raise ValueError(f"Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {new_size}; `max_tokens` is "
                             f"{self.max_tokens}.")
        self._set_tokens(tokens)
        self._record_vocabulary_size()
        if self.output_mode == "tf_idf":
            idf = np.asarray(idf_weights.value if isinstance(idf_weights, Tensor)
                             else idf_weights, dtype=np.float64)
            if len(idf) != len(vocabulary):
                raise ValueError(f"`idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(idf)}; len(vocabulary) is "
                                 f"{len(vocabulary)}")
            if idf.ndim != 1:
                raise ValueError(f"TF-IDF data must be a 1-index array. Received: "
                                 f"idf_weights with shape {idf.shape}")
            front = 0 if found_special else token_start
            front_value = 0.0 if found_special else float(np.average(idf))
            back = self.max_tokens - front - len(idf) if (
                self.pad_to_max_tokens and self.max_tokens is not None) else 0
            self.idf_weights = np.pad(idf, (front, back), constant_values=(front_value, 0.0)
                                      ).astype(np.float32)

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._table = {t: i for i, t in enumerate(self._tokens, start)}
        if not self._is_string:
            keys = np.asarray(self._tokens, dtype=np.int64)
            order = np.argsort(keys, kind="stable")
            self._sorted_keys = keys[order]
            self._sorted_values = (order + start).astype(np.int64)

    def _record_vocabulary_size(self):
        if self.output_mode != "int" and not self.pad_to_max_tokens and \
                self._frozen_vocab_size is not None and \
                self.vocabulary_size() != self._frozen_vocab_size and self._called:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                f"the vocabulary size cannot be changed after the layer is called. Old vocab "
                f"size is {self._frozen_vocab_size}, new vocab size is "
                f"{self.vocabulary_size()}")
        self._frozen_vocab_size = self.vocabulary_size()

    # --- adapt ----------------------------------------------------------------------------
    def reset_state(self):
        """Forgets the counts gathered by ``update_state``."""
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter() if self.output_mode == "tf_idf" else None
        self._num_documents = 0

    def adapt(self, data, steps=None):
        """Learns the vocabulary from ``data``: an array or list of tokens (each row a
        document), or an iterable/dataset of such batches (``steps`` limits the batches)."""
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray, Tensor)):
            a = self._keys_array(data)
            if a.ndim == 1:
                a = a[:, None]
            self.update_state(a)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Adds the tokens of one batch (rows are documents) to the counts."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             "method.")
        if isinstance(data, tuple):
            data = data[0]
        a = self._keys_array(data)
        if a.ndim == 0:
            a = a[None]
        if a.ndim == 1:
            a = a[None]
        docs = [list(row.reshape(-1).tolist()) for row in a]
        self.update_state_docs(docs)

    def update_state_docs(self, docs):
        """Adds documents given as lists of keys (bytes or ints) to the counts."""
        # Counter.update counts an iterable in C; document frequencies need one set per doc.
        self._counts.update(itertools.chain.from_iterable(docs))
        if self._doc_counts is not None:
            self._doc_counts.update(itertools.chain.from_iterable(map(set, docs)))
        self._num_documents += len(docs)

    def finalize_state(self):
        """Builds the vocabulary from the gathered counts (most frequent first)."""
        if self._has_input_vocabulary or not self._counts:
            self._frozen_vocab_size = self.vocabulary_size()
            return
        counts = dict(self._counts)
        for special in (self.mask_token, self.oov_token):
            counts.pop(self._key(special), None)
        # Keras: np.lexsort((tokens, counts))[::-1] -> count, then token, both descending.
        items = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens:
            items = items[:self.max_tokens - self._token_start_index()]
        tokens = [t for t, _ in items]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            doc_counts = np.array([self._doc_counts.get(t, 0) for t in tokens],
                                  dtype=np.float64)
            idf = np.log(1 + self._num_documents / (1 + doc_counts)).astype(np.float32)
            mean = np.float32(np.mean(idf)) if len(idf) else np.float32(0)
            idf = np.concatenate([np.full(self._token_start_index(), mean, np.float32), idf])
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.pad(idf, (0, self.max_tokens - idf.size))
            self.idf_weights = idf.astype(np.float32)
        self.reset_state()
        self._frozen_vocab_size = self.vocabulary_size()

    # --- call -----------------------------------------------------------------------------
    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    def lookup_keys(self, keys):
        """Indices (int64) of an array of keys: mask, vocabulary and OOV slots as Keras."""
        flat = keys.reshape(-1)
        if self._is_string:
            out = np.fromiter((self._table.get(k, -1) for k in flat.tolist()), dtype=np.int64,
                              count=flat.size)
        elif len(self._tokens):
            pos = np.searchsorted(self._sorted_keys, flat)
            pos_c = np.minimum(pos, len(self._sorted_keys) - 1)
            hit = self._sorted_keys[pos_c] == flat
            out = np.where(hit, self._sorted_values[pos_c], -1)
        else:
            out = np.full(flat.shape, -1, dtype=np.int64)
        oov = out == -1
        if oov.any():
            if self.num_oov_indices == 0:
                bad = flat[oov]
                if self.mask_token is None or np.any(bad != self._key(self.mask_token)):
                    raise ValueError(
                        f"When `num_oov_indices=0` all inputs should be in vocabulary, found "
                        f"OOV values {[self._token_out(v) for v in bad.tolist()[:10]]}, "
                        f"consider setting `num_oov_indices=1`.")
            elif self.num_oov_indices == 1:
                out[oov] = self._oov_start_index()
            else:
                bad = flat[oov]
                if not self._is_string and self.oov_method != "farmhash":
                    slots = np.mod(bad.astype(np.int64), self.num_oov_indices)
                else:
                    if not self._is_string:
                        bad = np.array([str(int(v)).encode() for v in bad], dtype=object)
                    slots = hash_to_buckets(bad, self.num_oov_indices, self.salt)
                out[oov] = slots + self._oov_start_index()
        if self.mask_token is not None:
            mask_key = self._key(self.mask_token)
            if self._is_string:
                is_mask = np.fromiter((k == mask_key for k in flat.tolist()), dtype=bool,
                                      count=flat.size)
            else:
                is_mask = flat == mask_key
            out[is_mask] = 0 if self.output_mode == "int" else _INT64_MAX
        return out.reshape(keys.shape)

    def _invert(self, inputs):
        idx = to_numpy(inputs).astype(np.int64)
        vocab = self.get_vocabulary()
        table = np.empty(len(vocab) + 1, dtype=object)
        table[:len(vocab)] = vocab
        table[len(vocab)] = self.oov_token
        pos = np.where((idx >= 0) & (idx < len(vocab)), idx, len(vocab))
        out = table[pos]
        if self.mask_token is not None:
            out = np.where(idx == 0, self.mask_token, out)
        if self._is_string:
            return out.astype(str)
        return out.astype(np.int64)

    def _ensure_known_vocab_size(self):
        if self.output_mode == "int" or self.pad_to_max_tokens:
            return
        if self._frozen_vocab_size is None:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, "
                "you must set the layer's vocabulary before calling it. Either pass a "
                "`vocabulary` argument to the layer, or call `adapt` with some sample data.")

    def encode_indices(self, indices):
        """``output_mode`` encoding of looked-up indices (TF-IDF weights applied)."""
        if self.output_mode == "int":
            return indices
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_categorical(indices, mode, self._depth())
        if self.output_mode == "tf_idf":
            if self.idf_weights is None:
                raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be "
                                 "provided.")
            out = out * self.idf_weights
        return out.astype(np.float32)

    def call(self, inputs):
        self._ensure_known_vocab_size()
        self._called = True
        if self.invert:
            return Tensor(self._invert(inputs))
        keys = self._keys_array(inputs)
        return Tensor(self.encode_indices(self.lookup_keys(keys)))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self._depth()
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def build(self, input_shape=None):
        self.built = True

    # --- config and saving ----------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
            "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype,
            "idf_weights": _listify(self.input_idf_weights),
            "vocabulary": _listify(self.input_vocabulary),
            "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method, "salt": self.salt,
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config.pop("dtype")
        check_vocabulary_file_allowed(config.get("vocabulary"))
        return cls(**config)

    def save_own_variables(self, store):
        """Keras's extra weights-file entries: ``idf_weights`` for TF-IDF."""
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = np.asarray(self.idf_weights, dtype=np.float32)

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self.idf_weights = np.asarray(store["idf_weights"], dtype=np.float32)

    def save_assets(self, dir_path):
        """Writes the vocabulary to ``dir_path/vocabulary.txt`` (one token a line, special
        tokens included), as Keras 3; nothing when it came in the config."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True)))

    def load_assets(self, dir_path):
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return
        values = lines if self._is_string else [int(v) for v in lines]
        was_fixed = self._has_input_vocabulary
        self._has_input_vocabulary = False
        idf = self.idf_weights if self.output_mode == "tf_idf" else None
        self.set_vocabulary(values, idf_weights=idf)
        self._has_input_vocabulary = was_fixed


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary (``keras.layers.StringLookup``).

    Args:
        max_tokens: the vocabulary's maximum size (mask and OOV indices included).
        num_oov_indices: out-of-vocabulary slots (unknown strings hash into them).
        mask_token: a token that maps to index 0 (``None``: no mask).
        oov_token: the token returned for unknown indices when ``invert=True``.
        vocabulary: a list/array of strings, or a text file path (one a line).
        idf_weights: TF-IDF weights, with ``output_mode="tf_idf"`` and a vocabulary.
        invert: map indices back to strings.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        pad_to_max_tokens: non-int outputs have ``max_tokens`` columns.
        sparse: not supported (raises NotImplementedError).
        encoding: the text encoding (``"utf-8"``).
        name: the layer's name.
        salt: keys the OOV hash (SipHash) when given.

    Input: strings of any shape. Output: int64 of the same shape for ``"int"``, float32
    ``(..., depth)`` encodings otherwise.

    Example:
        >>> layer = StringLookup(vocabulary=["a", "b", "c"])
        >>> layer(np.array([["a", "c"], ["d", "b"]])).numpy()
        array([[1, 3],
               [0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 **kwargs):
        if encoding.lower().replace("-", "") != "utf8":
            raise NotImplementedError(f"StringLookup(encoding={encoding!r}): nnfast handles "
                                      "UTF-8 text only.")
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config


class IntegerLookup(IndexLookup):
    """Maps integers to contiguous indices from a vocabulary (``keras.layers.IntegerLookup``).

    Args:
        max_tokens: the vocabulary's maximum size (mask and OOV indices included).
        num_oov_indices: out-of-vocabulary slots (index 0.. before the vocabulary).
        mask_token: an integer that maps to index 0 (``None``: no mask).
        oov_token: the value returned for unknown indices when ``invert=True`` (default -1).
        vocabulary: a list/array of integers, or a text file path (one a line).
        vocabulary_dtype: ``"int64"`` (default) or ``"int32"``.
        idf_weights: TF-IDF weights, with ``output_mode="tf_idf"`` and a vocabulary.
        invert: map indices back to the integers.
        output_mode: ``"int"``, ``"one_hot"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        sparse: not supported (True raises NotImplementedError).
        pad_to_max_tokens: non-int outputs have ``max_tokens`` columns.
        oov_method: ``"floormod"`` (unknown ``x`` goes to OOV slot ``x % num_oov_indices``)
            or ``"farmhash"`` (FarmHash of its decimal string, as Keras).
        name: the layer's name.
        salt: keys the OOV hash (SipHash) when given.

    Example:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).numpy()
        array([[1, 3, 4],
               [4, 0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"`vocabulary_dtype` must be 'int64' or 'int32'. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"If set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"`num_oov_indices` must be greater than or equal to 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary is not None and not isinstance(vocabulary, str):
            arr = to_numpy(vocabulary)
            if arr.dtype.kind not in "iu" and arr.size:
                raise ValueError(f"IntegerLookup expects an integer vocabulary. Received: "
                                 f"vocabulary with dtype={arr.dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         vocabulary_dtype=vocabulary_dtype, idf_weights=idf_weights,
                         invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method,
                         salt=salt, name=name, **kwargs)
