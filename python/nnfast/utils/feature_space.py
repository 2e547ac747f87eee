"""``keras.utils.FeatureSpace``: one object that preprocesses a dict of structured-data
columns (normalizes numbers, looks up, hashes or buckets categories, crosses features) and
concatenates them into one float vector per sample, or returns them as a dict.

It composes nnfast's preprocessing layers the way Keras 3 does: each feature has a
preprocessor (``Normalization``, ``Rescaling``, ``Discretization``, ``IntegerLookup``,
``StringLookup``, ``Hashing``), categorical outputs are one-hot encoded with
``CategoryEncoding(output_mode="multi_hot")``, crosses hash the preprocessed indices with
``HashedCrossing``, and the outputs are concatenated in sorted feature order, then sorted
cross order. ``adapt`` takes a dict of arrays (adapted in batches of 32, as Keras does
through ``tf.data``) or an iterable of dict batches (``(features, labels)`` pairs too).
"""
import numpy as np

from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor
from nnfast.layers import (
    CategoryEncoding,
    Discretization,
    HashedCrossing,
    Hashing,
    Input,
    IntegerLookup,
    Normalization,
    Rescaling,
    StringLookup,
    concatenate,
)
from nnfast.saving.serialization import deserialize_keras_object, serialize_keras_object

_AUTO_NAMES = {}


def _auto_name(prefix):
    n = _AUTO_NAMES.get(prefix, 0)
    _AUTO_NAMES[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


class Cross:
    """A feature cross: the named features' preprocessed values hashed together into
    ``crossing_dim`` bins (``output_mode`` ``"one_hot"`` or ``"int"``)."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in {"int", "one_hot"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{{'int', 'one_hot'}}. Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A feature: its input ``dtype``, its ``preprocessor`` layer and its ``output_mode``
    (``"float"``, ``"int"`` or ``"one_hot"``)."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{{'int', 'one_hot', 'float'}}. Received: "
                             f"output_mode={output_mode}")

        self.dtype = dtype
        if isinstance(preprocessor, dict) and preprocessor.get("class_name") == "TFDIdentity":
            preprocessor = _Identity()  # Keras's float features' pass-through layer
        self.preprocessor = deserialize_keras_object(preprocessor) \
            if isinstance(preprocessor, dict) else preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Identity:
    """The ``"float"`` feature's preprocessor: float32 values as they are."""

    def __call__(self, x):
        if isinstance(x, KerasTensor):  # the feature's float32 Input itself
            return x
        return Tensor(np.asarray(x.value if isinstance(x, Tensor) else x, np.float32))

    def get_config(self):
        return {}


class FeatureSpace:
    """Preprocesses and encodes a dict of feature columns (``keras.utils.FeatureSpace``).

    Args:
        features: ``{name: spec}``, where a spec is ``"float"``, ``"float_normalized"``,
            ``"float_rescaled"``, ``"float_discretized"``, ``"integer_categorical"``,
            ``"string_categorical"``, ``"integer_hashed"``, ``"string_hashed"`` or a
            ``FeatureSpace.<type>(...)`` feature with its own options.
        output_mode: ``"concat"`` (one float32 ``(batch, dim)`` array) or ``"dict"``.
        crosses: feature-name tuples (or ``FeatureSpace.cross(...)``) to hash together.
        crossing_dim: number of hash bins of a feature cross (default 32).
        hashing_dim: number of hash bins of a hashed feature (default 32).
        num_discretization_bins: bins of a ``"float_discretized"`` feature (default 32).
        name: name of the feature space (None: a unique name).

    Example:
        >>> fs = FeatureSpace({"age": "float_normalized", "city": "string_categorical",
        ...                    "code": "integer_categorical"}, crosses=[("city", "code")])
        >>> fs.adapt({"age": ages, "city": cities, "code": codes})
        >>> x = fs({"age": ages, "city": cities, "code": codes})   # (n, dim) float32
        >>> inputs, encoded = fs.get_inputs(), fs.get_encoded_features()
        >>> model = keras.Model(inputs, keras.layers.Dense(1)(encoded))
    """

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        return Feature("float32", _Identity(), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or _auto_name("float_rescaled")
        return Feature("float32", Rescaling(scale=scale, offset=offset,
                                            name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or _auto_name("float_normalized")
        return Feature("float32", Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot",
                          name=None):
        name = name or _auto_name("float_discretized")
        return Feature("float32", Discretization(num_bins=num_bins,
                                                 bin_boundaries=bin_boundaries,
                                                 name=f"{name}_preprocessor"), output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                            name=None):
        name = name or _auto_name("integer_categorical")
        return Feature("int32", IntegerLookup(name=f"{name}_preprocessor",
                                              max_tokens=max_tokens,
                                              num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                           name=None):
        name = name or _auto_name("string_categorical")
        return Feature("string", StringLookup(name=f"{name}_preprocessor",
                                              max_tokens=max_tokens,
                                              num_oov_indices=num_oov_indices), output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or _auto_name("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins),
                       output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or _auto_name("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins),
                       output_mode)

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32,
                 hashing_dim=32, num_discretization_bins=32, name=None):
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        if output_mode not in {"dict", "concat"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of "
                             f"{{'dict', 'concat'}}. Received: output_mode={output_mode}")
        self.name = name or _auto_name("feature_space")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.output_mode = output_mode
        self.features = {n: self._standardize_feature(n, v) for n, v in features.items()}
        self.crosses = []
        for cross in crosses or []:
            if isinstance(cross, dict):
                cross = Cross.from_config(cross.get("config", cross))
            if not isinstance(cross, Cross):
                unknown = [k for k in cross if k not in self.features]
                if unknown:
                    raise ValueError(f"All features referenced in the `crosses` argument "
                                     f"should be present in the `features` dict. Received "
                                     f"unknown features: {cross}")
                cross = Cross(cross, crossing_dim=crossing_dim)
            self.crosses.append(cross)
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}

        self.crossers = {c.name: HashedCrossing(c.crossing_dim, name=c.name)
                         for c in self.crosses}
        self._is_adapted = False
        self._encoders = None
        self._inputs = None
        self._encoded = None

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return Feature.from_config(feature.get("config", feature))
        makers = {
            "float": lambda: self.float(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_discretized": lambda: self.float_discretized(
                self.num_discretization_bins, name=name),
            "integer_categorical": lambda: self.integer_categorical(name=name),
            "string_categorical": lambda: self.string_categorical(name=name),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name),
        }
        if feature not in makers:
            raise ValueError(f"Invalid feature type: {feature}")
        return makers[feature]()

    # --- adapt ----------------------------------------------------------------------------
    def _adaptable(self):
        names = []
        for name, pre in self.preprocessors.items():
            if isinstance(pre, Normalization) and pre.input_mean is not None:
                continue
            if isinstance(pre, Discretization) and pre.num_bins is None:
                continue
            if getattr(getattr(pre, "_lookup_layer", pre), "_has_input_vocabulary", False):
                continue
            if hasattr(pre, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset):
        """Learns each adaptable preprocessor's state (vocabularies, statistics, bins) from
        a dict of arrays or an iterable of dict batches."""
        if isinstance(dataset, dict):
            columns = {k: np.asarray(v.value if isinstance(v, Tensor) else v)
                       for k, v in dataset.items()}
            n = len(next(iter(columns.values())))
            batches = [{k: v[i:i + 32] for k, v in columns.items()} for i in range(0, n, 32)]
        elif hasattr(dataset, "__iter__"):
            batches = [b[0] if isinstance(b, tuple) else b for b in dataset]
        else:
            raise ValueError(f"`adapt()` can only be called on a dict of arrays/lists or an "
                             f"iterable of dict batches. Received instead: {dataset} (of type "
                             f"{type(dataset)})")
        for name in self._adaptable():
            if not batches or name not in batches[0]:
                raise ValueError(f"adapt() data has no column '{name}'.")
            column = [self._column(b[name]) for b in batches]
            self.preprocessors[name].adapt(iter(column))
        self._is_adapted = True
        self._encoders = None

    @staticmethod
    def _column(x):
        a = np.asarray(x.value if isinstance(x, Tensor) else x)
        if a.ndim == 0:
            a = a.reshape(1, 1)
        elif a.ndim == 1:
            a = a[:, None]
        return a

    # --- encoding -------------------------------------------------------------------------
    def _check_adapted(self):
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace "
                                 "before you can start using it.")
            self._is_adapted = True

    def _cardinality(self, name, preprocessor):
        if isinstance(preprocessor, (IntegerLookup, StringLookup)):
            return preprocessor.vocabulary_size()
        if isinstance(preprocessor, CategoryEncoding):
            return preprocessor.num_tokens
        if isinstance(preprocessor, (Discretization, HashedCrossing, Hashing)):
            return preprocessor.num_bins
        raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a "
                         f"standard feature and the dimensionality of its output space is "
                         f"not known, thus it cannot be one-hot encoded. Try using "
                         f"`output_mode='int'`.")

    def _build_encoders(self):
        self._check_adapted()
        if self._encoders is not None:
            return
        self._encoders = {}
        specs = [(n, self.features[n], self.preprocessors[n]) for n in sorted(self.features)]
        specs += [(c, self._cross_by_name(c), self.crossers[c]) for c in sorted(self.crossers)]
        for name, spec, pre in specs:
            if spec.output_mode == "one_hot":
                self._encoders[name] = CategoryEncoding(
                    num_tokens=self._cardinality(name, pre), output_mode="multi_hot")

    def _cross_by_name(self, name):
        return next(c for c in self.crosses if c.name == name)

    def _encode(self, columns, concat):
        preprocessed = {n: self.preprocessors[n](columns[n]) for n in sorted(self.features)}
        crossed = {c.name: self.crossers[c.name]([preprocessed[f] for f in c.feature_names])
                   for c in self.crosses}
        out = {}
        for name in sorted(preprocessed) + sorted(crossed):
            value = preprocessed[name] if name in preprocessed else crossed[name]
            encoder = self._encoders.get(name)
            out[name] = encoder(value) if encoder is not None else value
        if self.output_mode == "dict":
            return out
        for name, value in out.items():
            dtype = str(getattr(value, "dtype", ""))
            if dtype.startswith("int") or dtype in ("string", "object") or \
                    dtype.startswith("<U"):
                raise ValueError(f"Cannot concatenate features because feature '{name}' has "
                                 f"not been encoded (it has dtype {dtype}). Consider using "
                                 f"`output_mode='dict'`.")
        return concat(list(out.values()))

    def get_inputs(self):
        """The symbolic ``{name: keras.Input(shape=(1,), dtype=...)}`` of the features."""
        self._build_encoders()
        if self._inputs is None:
            self._inputs = {n: Input(shape=(1,), dtype=f.dtype, name=n)
                            for n, f in self.features.items()}
        return self._inputs

    def get_encoded_features(self):
        """The encoded features of ``get_inputs()`` (symbolic), to build a model on."""
        if self._encoded is None:
            self._encoded = self._encode(self.get_inputs(), concatenate)
        return self._encoded

    def __call__(self, data):
        self._build_encoders()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: "
                             f"data={data} (of type {type(data)})")
        missing = [n for n in self.features if n not in data]
        if missing:
            raise ValueError(f"FeatureSpace expects the features {sorted(self.features)}; "
                             f"missing: {missing}")
        scalar = all(np.ndim(v.value if isinstance(v, Tensor) else v) == 0
                     for v in data.values())
        columns = {n: self._column(data[n]) for n in self.features}

        def concat(values):
            arrays = [np.asarray(v.value if isinstance(v, Tensor) else v, np.float32)
                      for v in values]
            return Tensor(np.concatenate(arrays, axis=-1))

        out = self._encode(columns, concat)
        if scalar and self.output_mode == "concat":
            return Tensor(out.value[0])
        return out

    # --- config ---------------------------------------------------------------------------
    def get_config(self):
        features = {}
        for name, f in self.features.items():
            pre = f.preprocessor
            features[name] = {"dtype": f.dtype, "output_mode": f.output_mode,
                              "preprocessor": None if isinstance(pre, _Identity)
                              else serialize_keras_object(pre)}
        return {"features": features, "output_mode": self.output_mode,
                "crosses": [c.get_config() for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins, "name": self.name}

    @classmethod
    def from_config(cls, config):
        """A FeatureSpace of the same features; preprocessors with learned state (lookups,
        Normalization) need ``adapt`` again (their state is not in the config)."""
        config = dict(config)
        features = {}
        for name, f in config.pop("features").items():
            if "config" in f and "class_name" in f:  # Keras's serialized Feature
                f = f["config"]
            pre = _Identity() if f["preprocessor"] is None else f["preprocessor"]
            features[name] = Feature(f["dtype"], pre, f["output_mode"])
        return cls(features, **config)

    def save(self, filepath):
        """Saves the adapted FeatureSpace as a Keras ``.keras`` file (config, the
        preprocessors' statistics and vocabularies); ``keras.saving.load_model`` (nnfast's
        or Keras's) restores it ready to use.

        Example:
            >>> feature_space.save("features.keras")
            >>> restored = keras.saving.load_model("features.keras")
        """
        from nnfast.utils.feature_space_saving import save_feature_space

        save_feature_space(self, filepath)

    def _load_keras_archive(self, z):
        """Used by ``load_model``: restores the saved state from the open archive."""
        from nnfast.utils.feature_space_saving import load_feature_space_state

        return load_feature_space_state(self, z)
