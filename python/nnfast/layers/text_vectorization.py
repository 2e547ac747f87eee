"""``TextVectorization``: strings -> token indices or bag-of-words vectors, as Keras 3.

The text is processed as UTF-8 bytes with TensorFlow's semantics, so vocabularies and
indices match Keras's: ``"lower"`` lowercases ASCII letters only (``tf.strings.lower``),
``"strip_punctuation"`` removes the 32 ASCII punctuation characters, ``"whitespace"``
splits on runs of ASCII whitespace (``tf.strings.split``), ``"character"`` on Unicode code
points, and ``ngrams`` joins consecutive tokens with a space (``tf.strings.ngrams``). The
per-token loops (counting in ``adapt``, lookups and bag-of-words counts in ``call``) run in
Cython (``nnfast.preprocessing._lookup_fast``).

A callable ``standardize`` receives a NumPy array of ``str`` (as Keras on its non-TensorFlow
backends) and returns an array-like of strings of the same shape; a callable ``split``
receives a 1-D array of ``str`` and returns one list of tokens per string.
"""
import numpy as np

from nnfast.backend.tensor import Tensor
from nnfast.layers.categorical_encoding import OUTPUT_MODES, check_output_mode, \
    encode_categorical
from nnfast.layers.layer import Layer
from nnfast.layers.lookup import StringLookup, _listify, to_bytes_array
from nnfast.preprocessing import _lookup_fast
from nnfast.layers.lookup import check_vocabulary_file_allowed
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object

_PUNCTUATION = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_ADAPT_CHUNK = 8192  # strings tokenized at a time in adapt (bounds the token lists' memory)


def _check_string_arg(value, allowed, name):
    if value is None or callable(value) or value in allowed:
        return
    raise ValueError(f"Invalid value for argument `{name}` of TextVectorization. Expected one "
                     f"of {allowed}, None or a callable. Received: {name}={value!r}")


def _ngrams(tokens, widths):
    out = []
    for n in widths:
        if n == 1:
            out.extend(tokens)
        else:
            out.extend(b" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


class TextVectorization(Layer):
    """Turns strings into sequences of token indices or into dense bag-of-words vectors
    (``keras.layers.TextVectorization``).

    Args:
        max_tokens: the vocabulary's maximum size (padding "" and OOV "[UNK]" included).
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, ``None`` or a callable.
        split: ``"whitespace"`` (default), ``"character"``, ``None`` (each input string is
            one token) or a callable.
        ngrams: ``None``, an int n (1..n-grams) or a tuple of widths.
        output_mode: ``"int"`` (indices, 0 pads, 1 is OOV), ``"multi_hot"``, ``"count"``,
            ``"tf_idf"`` or ``"one_hot"``.
        output_sequence_length: ``"int"`` outputs truncated/zero-padded to this length
            (otherwise to the batch's longest string).
        pad_to_max_tokens: vector outputs have ``max_tokens`` columns.
        vocabulary: a list of tokens or a vocabulary file path.
        idf_weights: the inverse document frequencies, with a vocabulary, for
            ``"tf_idf"``.
        sparse: not supported by nnfast (True raises NotImplementedError).
        ragged: not supported by nnfast (True raises NotImplementedError).
        encoding: ``"utf-8"``.
        name: the layer's name.

    Input: strings of shape ``(batch,)`` or ``(batch, 1)`` (or one string). Output: int64
    ``(batch, sequence_length)`` or float32 ``(batch, depth)``.

    Example:
        >>> vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
        >>> vectorize.adapt(["the cat sat", "the dog ran"])
        >>> vectorize.get_vocabulary()[:3]
        ['', '[UNK]', 'the']
        >>> vectorize(["the cat ran"]).shape
        (1, 4)
        >>> inputs = keras.Input(shape=(1,), dtype="string")
        >>> keras.layers.Embedding(20, 8)(vectorize(inputs)).shape
        (None, 4, 8)
    """

    _config_only_keys = ("vocabulary_size", "has_input_vocabulary")
    _accepts_strings = True  # Sequential lets string batches through to this layer

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        if sparse:
            raise NotImplementedError("TextVectorization(sparse=True): nnfast has no sparse "
                                      "tensors; use sparse=False.")
        if ragged:
            raise NotImplementedError("TextVectorization(ragged=True): nnfast has no ragged "
                                      "tensors; use output_sequence_length to pad.")
        _check_string_arg(standardize, _STANDARDIZE, "standardize")
        _check_string_arg(split, _SPLIT, "split")
        output_mode = check_output_mode(output_mode, OUTPUT_MODES, "TextVectorization")
        if not (ngrams is None or isinstance(ngrams, int) or
                isinstance(ngrams, tuple) and all(isinstance(i, int) for i in ngrams)):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. "
                             f"Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or
                                         isinstance(output_sequence_length, int)):
            raise ValueError(f"`output_sequence_length` must be either None or an integer when "
                             f"`output_mode` is 'int'. Received: "
                             f"output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{output_sequence_length}.")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        if isinstance(kwargs.get("dtype"), dict):
            kwargs.pop("dtype")
        kwargs.pop("trainable", None)
        super().__init__(name=name, **kwargs)
        self._max_tokens = max_tokens
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            encoding=encoding, has_input_vocabulary=has_input_vocabulary,
            vocabulary_size=vocabulary_size)
        self._fast_table_for = None
        self.built = True

    # --- text -> token lists ----------------------------------------------------------------
    def _standardized(self, inputs):
        """A bytes object array of the standardized strings (the inputs' shape)."""
        data = to_bytes_array(inputs)
        std = self._standardize
        if std is None:
            return data
        if callable(std):
            text = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(data) \
                if data.size else data
            result = std(np.asarray(text.tolist(), dtype=str) if data.size else
                         np.asarray(text, dtype=str))
            if isinstance(result, Tensor):
                result = result.value
            return to_bytes_array(np.asarray(result))
        flat = data.reshape(-1).tolist()
        if std in ("lower", "lower_and_strip_punctuation"):
            flat = [s.lower() for s in flat]  # bytes.lower: ASCII only, as tf.strings.lower
        if std in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = [s.translate(None, _PUNCTUATION) for s in flat]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(data.shape)

    def _documents(self, data):
        """Token lists (bytes), one per string of a (batch,) or (batch, 1) array."""
        if data.ndim > 1:
            if data.shape[-1] != 1:
                raise ValueError(f"When using `TextVectorization` to tokenize strings, the "
                                 f"input rank must be 1 or the last shape dimension must be 1. "
                                 f"Received: inputs.shape={data.shape} with rank={data.ndim}")
            data = data[..., 0]
        flat = data.reshape(-1).tolist()
        if self._split == "whitespace":
            docs = [s.split() for s in flat]
        elif self._split == "character":
            docs = [[c.encode("utf-8") for c in s.decode("utf-8")] for s in flat]
        else:
            result = self._split(np.asarray([s.decode("utf-8") for s in flat], dtype=str))
            if isinstance(result, Tensor):
                result = result.value
            docs = [[t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in
                     (row.tolist() if isinstance(row, np.ndarray) else row)] for row in result]
        if self._ngrams is not None:
            docs = [_ngrams(d, self._ngrams) for d in docs]
        return docs, data.shape

    def _standard_texts(self, inputs):
        """The strings as a flat list when the built-in standardize/whitespace split apply
        (the fused Cython path), else None."""
        if callable(self._standardize) or self._split != "whitespace" or \
                self._ngrams is not None:
            return None
        if isinstance(inputs, Tensor):
            inputs = inputs.value
        if isinstance(inputs, (list, tuple)):
            flat = inputs if isinstance(inputs, list) else list(inputs)
        elif isinstance(inputs, np.ndarray) and inputs.dtype.kind in "USO" and (
                inputs.ndim == 1 or inputs.ndim == 2 and inputs.shape[1] == 1):
            flat = inputs.reshape(-1).tolist()
        else:
            return None
        if not all(type(t) in (str, bytes) for t in flat):
            return None
        return flat

    def _standard_options(self):
        lower = self._standardize in ("lower", "lower_and_strip_punctuation")
        strip = self._standardize in ("strip_punctuation", "lower_and_strip_punctuation")
        return lower, (_PUNCTUATION if strip else None)

    # --- adapt ------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and TF-IDF weights) from strings: a list or array, or an
        iterable of batches (a generator, a dataset; ``steps`` limits the batches)."""
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray, Tensor, str, bytes)):
            if isinstance(data, list) and self._standard_texts(data) is not None:
                arr = data  # the fused path takes the list of str as it is
            else:
                arr = to_bytes_array(data)
                if arr.ndim == 0:
                    arr = arr[None]
            for start in range(0, len(arr), _ADAPT_CHUNK):
                self.update_state(arr[start:start + _ADAPT_CHUNK])
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                if isinstance(batch, tuple):
                    batch = batch[0]
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Adds the tokens of one batch of strings to the vocabulary counts."""
        if self._lookup_layer._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             "method.")
        texts = self._standard_texts(data)
        if texts is not None:
            lookup = self._lookup_layer
            lower, delete = self._standard_options()
            _lookup_fast.tokenize_count(texts, lower, delete, lookup._counts,
                                        lookup._doc_counts)
            lookup._num_documents += len(texts)
            return
        data = self._standardized(data)
        if data.ndim == 0:
            data = data[None]
        if self._split is None:
            docs = [row.reshape(-1).tolist() for row in (data[:, None] if data.ndim == 1
                                                         else data)]
        else:
            docs, _ = self._documents(data)
        self._lookup_layer.update_state_docs(docs)

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    def reset_state(self):
        self._lookup_layer.reset_state()

    # --- vocabulary -------------------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary in index order ("" and "[UNK]" first when
        ``include_special_tokens``)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The vocabulary's size, padding and OOV tokens included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (list/array of tokens or a file path) and TF-IDF weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # --- call -------------------------------------------------------------------------------
    def _fast_table(self):
        """The lookup table with the padding token folded in, for the Cython loops."""
        lookup = self._lookup_layer
        if self._fast_table_for is not lookup._table:
            table = dict(lookup._table)
            table[b""] = 0 if self._output_mode == "int" else -1
            self._fast_table_cache = table
            self._fast_table_for = lookup._table
        return self._fast_table_cache

    def call(self, inputs):
        lookup = self._lookup_layer
        lookup._ensure_known_vocab_size()
        lookup._called = True
        texts = self._standard_texts(inputs)
        if texts is not None and self._output_mode != "one_hot":
            return Tensor(self._call_standard(texts))
        data = self._standardized(inputs)
        single = data.ndim == 0
        if single:
            data = data[None]
        if self._split is None:
            out = lookup.encode_indices(lookup.lookup_keys(data))
            if self._output_mode == "int" and self._output_sequence_length is not None:
                out = self._fit_length(out if out.ndim else out[None])
            return Tensor(out[0] if single and out.ndim > 1 else out)
        docs, lead = self._documents(data)
        table = self._fast_table()
        oov = lookup._oov_start_index()
        if self._output_mode == "int":
            length = self._output_sequence_length
            if length is None:
                length = max(map(len, docs), default=0)
            out = np.zeros((len(docs), length), dtype=np.int64)
            _lookup_fast.lookup_padded(docs, table, oov, out)
            out = out.reshape(lead + (length,))
        elif self._output_mode == "one_hot":
            if any(len(d) != 1 for d in docs):
                raise NotImplementedError(
                    "TextVectorization(output_mode='one_hot') with strings of several tokens "
                    "gives ragged outputs in Keras, which nnfast does not have; use "
                    "split=None or 'multi_hot'/'count'.")
            idx = np.array([table.get(d[0], oov) for d in docs], dtype=np.int64)
            out = encode_categorical(idx.reshape(lead), "one_hot", lookup._depth())
        else:
            out = np.zeros((len(docs), lookup._depth()), dtype=np.float32)
            _lookup_fast.bincount_docs(docs, table, oov, out,
                                       self._output_mode == "multi_hot")
            if self._output_mode == "tf_idf":
                out = out * lookup.idf_weights
            out = out.reshape(lead + (out.shape[-1],))
        return Tensor(out[0] if single else out)

    def _call_standard(self, texts):
        """The fused tokenize-and-look-up loops over a flat list of strings."""
        lookup = self._lookup_layer
        table = self._fast_table()
        oov = lookup._oov_start_index()
        lower, delete = self._standard_options()
        if self._output_mode == "int":
            length = self._output_sequence_length
            if length is None:
                length = _lookup_fast.tokenize_max_length(texts, lower, delete)
            out = np.zeros((len(texts), length), dtype=np.int64)
            _lookup_fast.tokenize_lookup_padded(texts, lower, delete, table, oov, out)
            return out
        out = np.zeros((len(texts), lookup._depth()), dtype=np.float32)
        _lookup_fast.tokenize_bincount(texts, lower, delete, table, oov, out,
                                       self._output_mode == "multi_hot")
        if self._output_mode == "tf_idf":
            out = out * lookup.idf_weights
        return out

    def _fit_length(self, out):
        length = self._output_sequence_length
        out = out[..., :length]
        pad = length - out.shape[-1]
        if pad > 0:
            out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, pad)])
        return out

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self._output_mode == "int":
            return (input_shape[0] if input_shape else None, self._output_sequence_length)
        if self._split is None:
            if len(input_shape) <= 1:
                input_shape = input_shape + (1,)
        else:
            input_shape = input_shape + (None,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def build(self, input_shape=None):
        self.built = True

    # --- config and saving ------------------------------------------------------------------
    def get_config(self):
        def callable_config(value):
            return serialize_keras_object(value) if callable(value) else value

        config = super().get_config()
        config.update({
            "max_tokens": self._lookup_layer.max_tokens,
            "standardize": callable_config(self._standardize),
            "split": callable_config(self._split),
            "ngrams": self._ngrams_arg,
            "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length,
            "pad_to_max_tokens": self._lookup_layer.pad_to_max_tokens,
            "sparse": False,
            "ragged": False,
            "vocabulary": _listify(self._lookup_layer.input_vocabulary),
            "idf_weights": _listify(self._lookup_layer.input_idf_weights),
            "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        })
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str):
                config[key] = deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        check_vocabulary_file_allowed(config.get("vocabulary"))
        return cls(**config)

    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)
