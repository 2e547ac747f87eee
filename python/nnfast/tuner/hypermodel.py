"""``HyperModel``: a model-building recipe with tunable hyperparameters."""


class HyperModel:
    """Subclass and override ``build(hp)`` (and optionally ``fit``) to define a search.

    Args:
        name: optional name.
        tunable: whether the hyperparameters it declares are tuned (else they keep their
            defaults).

    Example:
        >>> class MyHyperModel(HyperModel):
        ...     def build(self, hp):
        ...         model = Sequential([Input((64,)), Dense(hp.Int("units", 16, 128, 16),
        ...                             activation="relu"), Dense(10, activation="softmax")])
        ...         model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        ...         return model
        ...     def fit(self, hp, model, *args, **kwargs):
        ...         return model.fit(*args, batch_size=hp.Choice("batch_size", [32, 64]),
        ...                          **kwargs)
    """

    def __init__(self, name=None, tunable=True):
        self.name = name
        self.tunable = tunable

    def build(self, hp):
        """Returns a compiled model built with values from ``hp``."""
        raise NotImplementedError("Subclasses of HyperModel must implement `build(hp)`.")

    def fit(self, hp, model, *args, **kwargs):
        """Trains ``model``; returns a ``History``, a dict of metrics or a float score.
        The default is ``model.fit(*args, **kwargs)``."""
        return model.fit(*args, **kwargs)


class FunctionHyperModel(HyperModel):
    """Wraps a plain ``build_model(hp)`` function."""

    def __init__(self, build_fn):
        super().__init__(name=getattr(build_fn, "__name__", None))
        self._build_fn = build_fn

    def build(self, hp):
        return self._build_fn(hp)


def get_hypermodel(hypermodel):
    if hypermodel is None:
        return None
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return FunctionHyperModel(hypermodel)
    raise ValueError(f"The `hypermodel` argument should be either a callable with signature "
                     f"`build(hp)` returning a model, or an instance of `HyperModel`. "
                     f"Received: {hypermodel!r}")
