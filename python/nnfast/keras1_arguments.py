"""Keras 1 argument names, still found in Keras 2 era code, translated to Keras 3's.

Standalone Keras 2.0-2.2 accepted Keras 1 spellings (``Dense(output_dim=, init=)``,
``Convolution2D(nb_filter, nb_row, nb_col, border_mode=)``, ``Model(input=, output=)``,
``fit(nb_epoch=)``, ...) and rewrote them with a warning; tf.keras and Keras 3 reject them.
nnfast rewrites them as Keras 2 did and raises a ``DeprecationWarning`` that names the
Keras 3 spelling. Where Keras 1 and Keras 3 read the same call differently, Keras 3 wins:
``Conv2D(32, 3, 3)`` alone means ``strides=3`` (a ``UserWarning`` points at the Keras 1
reading), and is read as Keras 1's ``nb_row, nb_col`` only when a Keras 1 keyword comes with it.

The tables live here, in one place; :func:`install_layer_arguments` and
:func:`install_model_arguments` wrap the constructors and ``fit``-family methods once, at
import of ``nnfast.layers`` / ``nnfast.models``.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     layer = nnfast.layers.Dense(output_dim=4, init="zeros")
    >>> layer.units, str(caught[0].message).split(":")[0]
    (4, 'Keras 1 arguments in `Dense(...)`')
"""
import functools
import warnings

_DIM_ORDERING = {"tf": "channels_last", "th": "channels_first", "default": None}

# Keras 1 name -> Keras 2/3 name, per group of layers.
_DENSE_LIKE = {"init": "kernel_initializer", "W_regularizer": "kernel_regularizer",
               "b_regularizer": "bias_regularizer", "W_constraint": "kernel_constraint",
               "b_constraint": "bias_constraint", "bias": "use_bias"}
_DENSE = dict(_DENSE_LIKE, output_dim="units")
_CONV = dict(_DENSE_LIKE, nb_filter="filters", subsample="strides", border_mode="padding",
             dim_ordering="data_format")
_CONV1D = dict(_DENSE_LIKE, nb_filter="filters", filter_length="kernel_size",
               subsample_length="strides", border_mode="padding")
_SEPARABLE = {k: v for k, v in _CONV.items() if k not in ("init", "W_regularizer",
                                                          "W_constraint")}
_RECURRENT = dict(_DENSE_LIKE, output_dim="units", inner_init="recurrent_initializer",
                  inner_activation="recurrent_activation", U_regularizer="recurrent_regularizer",
                  dropout_W="dropout", dropout_U="recurrent_dropout")
_CONV_LSTM = dict(_CONV, inner_init="recurrent_initializer",
                  inner_activation="recurrent_activation", U_regularizer="recurrent_regularizer",
                  dropout_W="dropout", dropout_U="recurrent_dropout")
_POOL1D = {"pool_length": "pool_size", "stride": "strides", "border_mode": "padding"}
_POOL = {"border_mode": "padding", "dim_ordering": "data_format"}
_DIM = {"dim_ordering": "data_format"}
_RATE = {"p": "rate"}

LAYER_TABLES = {
    "Dense": _DENSE,
    "Dropout": _RATE, "GaussianDropout": _RATE, "SpatialDropout1D": _RATE,
    "SpatialDropout2D": dict(_RATE, **_DIM), "SpatialDropout3D": dict(_RATE, **_DIM),
    "GaussianNoise": {"sigma": "stddev"},
    "PReLU": {"init": "alpha_initializer"},
    "Embedding": {"init": "embeddings_initializer", "W_regularizer": "embeddings_regularizer",
                  "W_constraint": "embeddings_constraint"},
    "Conv1D": _CONV1D, "Conv2D": _CONV, "Conv3D": _CONV, "Conv2DTranspose": _CONV,
    "SeparableConv2D": _SEPARABLE,
    "SimpleRNN": _RECURRENT, "LSTM": _RECURRENT, "GRU": _RECURRENT, "ConvLSTM2D": _CONV_LSTM,
    "MaxPooling1D": _POOL1D, "AveragePooling1D": _POOL1D,
    "MaxPooling2D": _POOL, "AveragePooling2D": _POOL,
    "MaxPooling3D": _POOL, "AveragePooling3D": _POOL,
    "GlobalMaxPooling2D": _DIM, "GlobalAveragePooling2D": _DIM,
    "GlobalMaxPooling3D": _DIM, "GlobalAveragePooling3D": _DIM,
    "UpSampling1D": {"length": "size"}, "UpSampling2D": _DIM, "UpSampling3D": _DIM,
    "ZeroPadding2D": _DIM, "ZeroPadding3D": _DIM, "Cropping2D": _DIM, "Cropping3D": _DIM,
    "BatchNormalization": {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer"},
}
# Keras 1 keywords that mark a convolution call as Keras 1 (so `(filters, int, int)` is
# `nb_filter, nb_row, nb_col` and not Keras 3's `filters, kernel_size, strides`).
_KERAS1_CONV_MARKERS = set(_CONV) | {"nb_row", "nb_col"}
_CONV_RANKS = {"Conv2D": 2, "Conv2DTranspose": 2, "SeparableConv2D": 2, "ConvLSTM2D": 2,
               "Conv3D": 3}

MODEL_CONSTRUCTOR = {"input": "inputs", "output": "outputs"}
FIT = {"nb_epoch": "epochs"}
FIT_GENERATOR = {"nb_epoch": "epochs", "nb_worker": "workers"}
GENERATOR_STEPS = {"evaluate_generator": "val_samples", "predict_generator": "val_samples"}


def _warn(owner, renamed, stacklevel):
    spelled = ", ".join(f"`{old}` -> `{new}`" for old, new in renamed)
    warnings.warn(f"Keras 1 arguments in `{owner}(...)`: {spelled}. They were rewritten as "
                  "Keras 2 did; write the Keras 2/3 names instead.", DeprecationWarning,
                  stacklevel=stacklevel + 1)


def _rename(owner, kwargs, table, renamed):
    """Moves each Keras 1 keyword of ``table`` to its new name (in place), recording it."""
    for old, new in table.items():
        if old not in kwargs:
            continue
        if new in kwargs:
            raise TypeError(f"`{owner}` received both the Keras 1 argument `{old}` and the "
                            f"Keras 2/3 argument `{new}`: pass only `{new}`. Received: "
                            f"{old}={kwargs[old]!r}, {new}={kwargs[new]!r}")
        value = kwargs.pop(old)
        if old == "dim_ordering":
            if value not in _DIM_ORDERING:
                raise ValueError(f"`dim_ordering` must be one of 'tf', 'th', 'default'. "
                                 f"Received: dim_ordering={value!r}")
            value = _DIM_ORDERING[value]
        kwargs[new] = value
        renamed.append((old, new))


def _layer_special_cases(owner, args, kwargs, renamed):
    """Keras 1 forms that are more than a rename."""
    if owner in _CONV_RANKS:
        rank = _CONV_RANKS[owner]
        if rank == 2 and "nb_row" in kwargs and "nb_col" in kwargs and len(args) <= 1:
            kernel = (kwargs.pop("nb_row"), kwargs.pop("nb_col"))
            if args:
                args = (args[0], kernel)
            else:
                kwargs["kernel_size"] = kernel
            renamed.append(("nb_row/nb_col", "kernel_size"))
        elif rank == 2 and len(args) == 2 and "nb_col" in kwargs:
            args = (args[0], (args[1], kwargs.pop("nb_col")))
            renamed.append(("nb_row/nb_col", "kernel_size"))
        elif (len(args) == 1 + rank and all(isinstance(a, int) for a in args)
              and not {"strides", "kernel_size"} & kwargs.keys()):
            if _KERAS1_CONV_MARKERS & kwargs.keys():
                args = (args[0], tuple(args[1:]))
                renamed.append(("nb_row/nb_col" if rank == 2 else "kernel_dim1/2/3",
                                "kernel_size"))
            elif rank == 2:
                warnings.warn(f"`{owner}{args}` reads its third argument as Keras 2/3's "
                              f"`strides={args[2]}`. Keras 1's `Convolution2D(nb_filter, "
                              f"nb_row, nb_col)` is written `{owner}({args[0]}, "
                              f"({args[1]}, {args[2]}))`.", UserWarning, stacklevel=3)
    if owner in ("Conv1D", "SimpleRNN", "LSTM", "GRU"):
        # a sequence input: (input_length, input_dim), the length unknown when not given
        if "input_dim" in kwargs:
            kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
            renamed.append(("input_length/input_dim", "input_shape"))
    if owner in ("SimpleRNN", "LSTM", "GRU"):
        if "consume_less" in kwargs:
            # An implementation hint without numerical effect (nnfast has one implementation).
            kwargs.pop("consume_less")
            renamed.append(("consume_less", "(removed: no numerical effect)"))
    if owner in ("LSTM", "ConvLSTM2D") and "forget_bias_init" in kwargs:
        value = kwargs.pop("forget_bias_init")
        if value != "one":
            raise ValueError(f"`{owner}(forget_bias_init={value!r})` has no Keras 2/3 form: "
                             "use `unit_forget_bias=True` (a forget-gate bias of ones) or "
                             "`bias_initializer=`.")
        kwargs["unit_forget_bias"] = True
        renamed.append(("forget_bias_init='one'", "unit_forget_bias=True"))
    if owner == "SeparableConv2D" and "init" in kwargs:
        init = kwargs.pop("init")
        kwargs.setdefault("depthwise_initializer", init)
        kwargs.setdefault("pointwise_initializer", init)
        renamed.append(("init", "depthwise_initializer/pointwise_initializer"))
    if owner == "Conv2DTranspose" and "output_shape" in kwargs:
        kwargs.pop("output_shape")  # Keras 1 required it; the layer computes it
        renamed.append(("output_shape", "(removed: computed from the input)"))
    if owner == "Embedding" and "dropout" in kwargs:
        raise TypeError("`Embedding(dropout=...)` (Keras 1) no longer exists: add a "
                        "`SpatialDropout1D(rate)` layer after the Embedding. Received: "
                        f"dropout={kwargs['dropout']!r}")
    if owner == "BatchNormalization" and "mode" in kwargs:
        if kwargs["mode"] != 0:
            raise ValueError("`BatchNormalization(mode=1)`/`mode=2` (Keras 1) have no Keras "
                             f"2/3 form; mode=0 is the only one. Received: mode={kwargs['mode']!r}")
        kwargs.pop("mode")
        renamed.append(("mode=0", "(removed: the only mode)"))
    return args, kwargs


def _wrap_layer_init(cls, owner, table):
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        if kwargs or len(args) > 2:
            renamed = []
            args, kwargs = _layer_special_cases(owner, args, kwargs, renamed)
            _rename(owner, kwargs, table, renamed)
            if renamed:
                _warn(owner, renamed, stacklevel=2)
        original(self, *args, **kwargs)

    cls.__init__ = __init__


def install_layer_arguments(layers_module):
    """Wraps the constructors of the layers in :data:`LAYER_TABLES` (once)."""
    for name, table in LAYER_TABLES.items():
        cls = getattr(layers_module, name)
        if "_keras1_arguments" not in cls.__dict__:
            _wrap_layer_init(cls, name, table)
            cls._keras1_arguments = True


def _model_kwargs(kwargs, renamed):
    _rename("Model", kwargs, MODEL_CONSTRUCTOR, renamed)
    return kwargs


def _steps_from_samples(method, samples, generator, old, new):
    batch_size = getattr(generator, "batch_size", None)
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"`{method}({old}=...)` (Keras 1) counts samples; Keras 2/3's `{new}` "
                         "counts batches, and the generator has no `batch_size` to convert "
                         f"with: pass `{new}=` (number of batches). Received: {old}={samples!r}")
    return max(1, samples // batch_size)


def install_model_arguments(model_cls, functional_cls, trainer_cls):
    """Wraps ``Model.__new__``/``__init__``, ``Functional.__init__`` and ``fit``,
    ``fit_generator``, ``evaluate_generator``, ``predict_generator`` (once)."""
    if "_keras1_arguments" in trainer_cls.__dict__:
        return
    trainer_cls._keras1_arguments = True
    original_new = model_cls.__new__

    def __new__(cls, *args, **kwargs):
        # Only the choice Model/Functional depends on the names; __init__ warns.
        return original_new(cls, *args, **_model_kwargs(dict(kwargs), []))

    model_cls.__new__ = staticmethod(functools.wraps(original_new)(__new__))

    def wrap_init(cls):
        original = cls.__init__

        @functools.wraps(original)
        def __init__(self, *args, **kwargs):
            renamed = []
            kwargs = _model_kwargs(kwargs, renamed)
            if renamed:
                _warn("Model", renamed, stacklevel=2)
            original(self, *args, **kwargs)

        cls.__init__ = __init__

    wrap_init(model_cls)
    wrap_init(functional_cls)

    fit = trainer_cls.fit

    @functools.wraps(fit)
    def fit_with_nb_epoch(self, *args, **kwargs):
        renamed = []
        _rename("fit", kwargs, FIT, renamed)
        if renamed:
            _warn("fit", renamed, stacklevel=2)
        return fit(self, *args, **kwargs)

    trainer_cls.fit = fit_with_nb_epoch

    fit_generator = trainer_cls.fit_generator

    @functools.wraps(fit_generator)
    def fit_generator_keras1(self, generator, *args, **kwargs):
        renamed = []
        _rename("fit_generator", kwargs, FIT_GENERATOR, renamed)
        if "samples_per_epoch" in kwargs:
            kwargs["steps_per_epoch"] = _steps_from_samples(
                "fit_generator", kwargs.pop("samples_per_epoch"), generator,
                "samples_per_epoch", "steps_per_epoch")
            renamed.append(("samples_per_epoch", "steps_per_epoch (samples // batch_size)"))
        if "nb_val_samples" in kwargs:
            kwargs["validation_steps"] = _steps_from_samples(
                "fit_generator", kwargs.pop("nb_val_samples"), kwargs.get("validation_data"),
                "nb_val_samples", "validation_steps")
            renamed.append(("nb_val_samples", "validation_steps (samples // batch_size)"))
        if renamed:
            _warn("fit_generator", renamed, stacklevel=2)
        return fit_generator(self, generator, *args, **kwargs)

    trainer_cls.fit_generator = fit_generator_keras1

    for method_name, old in GENERATOR_STEPS.items():
        trainer_cls_method = getattr(trainer_cls, method_name)

        def make(method, method_name=method_name, old=old):
            @functools.wraps(method)
            def wrapper(self, generator, *args, **kwargs):
                renamed = []
                if "nb_worker" in kwargs:
                    _rename(method_name, kwargs, {"nb_worker": "workers"}, renamed)
                if old in kwargs:
                    if "steps" in kwargs:
                        raise TypeError(f"`{method_name}` received both `{old}` (Keras 1) and "
                                        "`steps`: pass only `steps`.")
                    kwargs["steps"] = _steps_from_samples(method_name, kwargs.pop(old),
                                                          generator, old, "steps")
                    renamed.append((old, "steps (samples // batch_size)"))
                if renamed:
                    _warn(method_name, renamed, stacklevel=2)
                return method(self, generator, *args, **kwargs)
            return wrapper

        setattr(trainer_cls, method_name, make(trainer_cls_method))
