"""``Model``: a Layer that trains. Subclass it (``__init__`` + ``call``), or use
``Sequential``; the functional ``Model(inputs, outputs)`` form builds on the same class."""
import numpy as np

from nnfast.backend import memory
from nnfast.layers.layer import Layer, _dedupe
from nnfast.layers.quantization import ModeNotImplementedError
from nnfast.models.trainer import Trainer
from nnfast.quantizers_config import validate_and_resolve_config
from nnfast.saving.saving_api import load_weights, save_model, save_weights
from nnfast.saving.serialization import serialize_keras_object


def _functional_init_arguments(args, kwargs):
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


def _inject_functional_class(cls):
    """Swaps ``Model`` for ``Functional`` among the bases of ``cls`` and its ancestors (what
    Keras does when a Model subclass is constructed with inputs and outputs)."""
    from nnfast.models.functional import Functional

    if cls is Model:
        return Functional
    if cls is object or issubclass(cls, Functional) or not issubclass(cls, Model):
        return cls
    cls.__bases__ = tuple(_inject_functional_class(base) for base in cls.__bases__)
    return cls


class Model(Trainer, Layer):
    """A trainable stack of layers with ``compile``/``fit``/``evaluate``/``predict``.

    Subclass it with ``__init__`` (create layers) and ``call(inputs, training=None)``, or
    call it as ``Model(inputs, outputs)`` on the KerasTensors of a functional graph.

    Args:
        *args: ``inputs`` and ``outputs`` for a functional model.
        trainable: whether the model's weights are trained (default True).
        name: the model's name.
        **kwargs: ``inputs=`` / ``outputs=`` by keyword, and base-layer arguments.

    Example:
        >>> inputs = keras.Input(shape=(32,))
        >>> model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
        >>> class MLP(keras.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = keras.layers.Dense(64, activation="relu")
        ...         self.out = keras.layers.Dense(1)
        ...     def call(self, x):
        ...         return self.out(self.hidden(x))
    """

    _applies_dtype_policy = False  # each layer applies its own (see Layer._plan_call)
    _saving_kind = "model"  # saving walks its tracked layers (containers override this)

    @memory.scoped
    def __call__(self, *args, **kwargs):
        # Large intermediate arrays of the call come from the buffer cache (backend/memory).
        return super().__call__(*args, **kwargs)

    def __new__(cls, *args, **kwargs):
        # ``Model(inputs, outputs)`` is the functional API: build a Functional instead.
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs or
                             (len(args) == 1 and "outputs" in kwargs)):
            from nnfast.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, trainable=True, name=None, **kwargs):
        if _functional_init_arguments(args, kwargs):
            # A subclass calling `super().__init__(inputs, outputs)` (Keras's "subclassing a
            # functional model"): the class becomes a Functional subclass, as in Keras.
            from nnfast.models.functional import Functional

            _inject_functional_class(type(self))
            Functional.__init__(self, *args, trainable=trainable, name=name, **kwargs)
            return
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__ received positional arguments {args!r}: the "
                "functional form is `Model(inputs, outputs)`; a subclass of Model calls "
                "`super().__init__(name=...)` and defines `call`.")
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        self._init_trainer()

    @property
    def layers(self):
        """The model's layers (for subclassed models: the layers set as attributes)."""
        return list(self._layers)

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantizes the weights of the model's layers in place, as Keras does.

        Every leaf layer that implements ``quantize`` (``Dense``, ``EinsumDense``,
        ``Embedding`` as Keras; beyond Keras, ``"int8"`` for ``Conv1D``/``Conv2D`` and
        ``DepthwiseConv2D``) is quantized; the others are skipped with Keras's warning ("Layer Dropout does not have
        a `quantize` method implemented"). The model must be built. Without ``filters``,
        ``"int8"`` leaves float32 the convolutions where int8 is measured slower (shallow or
        thin ``Conv2D``, ``DepthwiseConv2D`` under 64 channels and the 1x1 convs around such
        a layer: see ``nnfast.layers.int8_conv_choice``); each gets ``int8_kept_float32`` (why) and one
        warning lists them.

        Args:
            mode: ``"int8"`` (int8 kernels with one scale per output unit; inputs quantized
                per row at run time) or ``"int4"`` (Dense only: packed int4 kernels, per-unit
                or per-block scales). Keras's ``"float8"``, ``"gptq"`` and ``"awq"``, and
                ``"int4"`` for a layer other than Dense, raise ``NotImplementedError``.
            config: a ``nnfast.quantizers`` config (``Int8QuantizationConfig``,
                ``Int4QuantizationConfig``) or None (the mode's default); the mode may then
                be None.
            filters: a regex (or list of regexes) matched against layer names, or a callable
                ``filters(layer) -> bool``: only matching layers are quantized.
            **kwargs: ``type_check`` (default True: subclasses of ``Dense`` are skipped).

        Example:
            >>> model = nnfast.Sequential([nnfast.Input((10,)), nnfast.layers.Dense(10)])
            >>> model.quantize("int8")
            >>> model.layers[0].dtype_policy.name
            'int8_from_float32'
        """
        import re
        import warnings

        from nnfast.layers.int8_conv_choice import int8_kept_float32_reasons

        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to "
                             f"{type(self).__name__}: {kwargs}")
        config = validate_and_resolve_config(mode, config)
        mode = config.mode
        if mode in ("float8", "gptq", "awq"):
            raise NotImplementedError(f"Model.quantize({mode!r}): the {mode!r} mode is not "
                                      "implemented in nnfast ('int8' is, and 'int4' for Dense).")
        if filters is not None and not isinstance(filters, (str, list, tuple)) and \
                not callable(filters):
            raise ValueError("The `filters` argument must be a regex string, a list of regex "
                             f"strings, or a callable. Received: {type(filters)}")

        def selected(layer):
            if filters is None:
                return True
            if callable(filters):
                return bool(filters(layer))
            patterns = [filters] if isinstance(filters, str) else filters
            return any(re.search(p, layer.name) for p in patterns)

        def leaves(layer):
            children = layer.__dict__.get("_layers") or []
            if not children:
                yield layer
            for child in children:
                yield from leaves(child)

        kept_float32 = []
        all_leaves = [leaf for child in self._layers for leaf in leaves(child)]
        reasons = int8_kept_float32_reasons(self, all_leaves) if mode == "int8" else {}
        for layer in all_leaves:
            if not selected(layer):
                continue
            if mode == "int8" and filters is None:
                reason = reasons.get(id(layer))
                if reason is not None:  # (nnfast's choice where Keras quantizes no conv)
                    layer.int8_kept_float32 = reason
                    kept_float32.append(f"{layer.name}: {reason}")
                    continue
            try:
                layer.quantize(mode, type_check=type_check, config=config)
            except ModeNotImplementedError:
                raise  # Keras would quantize this layer: nnfast cannot, so it says so
            except NotImplementedError as e:
                warnings.warn(str(e), stacklevel=2)
        if kept_float32:
            warnings.warn(f"quantize('int8') kept {len(kept_float32)} convolution(s) float32, "
                          "where int8 is slower (pass `filters` to quantize them anyway): "
                          + "; ".join(kept_float32), stacklevel=2)
        self._replan_after_quantize()

    def _replan_after_quantize(self):
        """Call plans made before ``quantize`` hold fusions of float layers (a conv's fused
        pool or batch normalization reads its float kernel): plan again from the quantized
        layers."""
        if not self.built:
            return
        if hasattr(self, "_stack"):  # Sequential
            self.build(self._input_batch_shape)
        elif hasattr(self, "_compile_plan"):  # Functional
            self._compile_plan()
            self._inference = None

    def get_layer(self, name=None, index=None):
        """A layer by ``name`` or by ``index`` in ``layers``."""
        if index is not None:
            if index >= len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[l.name for l in self.layers]}.")

    @property
    def weights(self):
        out = list(self._trainable_weights) + list(self._non_trainable_weights)
        for layer in self.layers:
            out.extend(layer.weights)
        return _dedupe(out)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [w for w in self._trainable_weights if w.trainable]
        for layer in self.layers:
            out.extend(layer.trainable_weights)
        return _dedupe(out)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def losses(self):
        """Weight regularization penalties, then the activity penalties of the latest call."""
        out = []
        for w in self.trainable_weights:
            if w.regularizer is not None:
                out.append(w.regularizer(w))
        return out + self._all_activity_losses() + self._all_added_losses()

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on model '{self.name}', but the "
                             "model isn't built. Call it on data or build it first.")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        from nnfast.utils.summary_utils import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable, expand_nested=expand_nested,
                      layer_range=layer_range)

    def get_config(self):
        """Subclassed models have no generic config; override ``get_config`` (and take its
        keys in ``__init__``) to make them serializable."""
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A functional config (``layers``/``input_layers``/``output_layers``) builds a
        Functional; a subclass is called with its config as keyword arguments."""
        if isinstance(config, dict) and "layers" in config and "input_layers" in config:
            from nnfast.models.functional import functional_from_config  # it imports Model

            return functional_from_config(cls, config, custom_objects)
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(f"Unable to revive model from config. When overriding the "
                            f"`get_config()` method, make sure that the returned config contains "
                            f"all items used as arguments in the constructor to {cls}, which is "
                            f"the default behavior. Error: {e}") from None

    def to_json(self, **kwargs):
        """The model's architecture (no weights) as a Keras JSON string."""
        import json


        return json.dumps(serialize_keras_object(self), **kwargs)

    # --- saving ----------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
        """Saves architecture, weights and compile state: ``.keras`` (zip, Keras 3 format)
        or ``.h5`` / ``.hdf5`` (legacy HDF5, with a warning, as Keras).

        The file is written under a temporary name and renamed into place, so a failure
        leaves a previous file intact. Under a multi-process
        ``nnfast.distribution.DataParallel`` only rank 0 writes (the ranks hold the same
        weights; several writers would clobber one file on a shared filesystem). Keras 3
        reads the ``.keras`` files nnfast writes.

        Args:
            filepath: path ending in ``.keras``, ``.h5`` or ``.hdf5`` (str or PathLike).
            overwrite: replace an existing file (default True).
            zipped: Keras's option for unzipped ``.keras`` folders; accepted, not used
                (the file is always a zip).
            include_optimizer: also save the optimizer's variables, so training resumes
                where it stopped (default True).
            **kwargs: ``save_format`` (ignored, Keras 2's argument); others raise TypeError.

        Returns:
            None.

        Raises:
            FileExistsError: when the file exists and ``overwrite=False``.
            ValueError: for another file extension.

        Example:
            >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            >>> model.save("model.keras")
            >>> restored = keras.models.load_model("model.keras")
        """
        from nnfast.distribution.data_parallel import active


        dist = active(self)
        if dist is not None and not dist.communicator.is_chief:
            return
        save_model(self, filepath, overwrite=overwrite, zipped=zipped,
                   include_optimizer=include_optimizer, **kwargs)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes the model for inference as an ONNX file (Keras 3's ``Model.export``).

        Args:
            filepath: path of the ``.onnx`` file.
            format: ``"onnx"``. Keras's other formats (``"tf_saved_model"``, its default,
                ``"litert"``, ``"openvino"``, ``"torch"``) raise NotImplementedError.
            verbose: print where the file went (default True).
            input_signature: optional ``keras.InputSpec`` (or shape tuple) per input,
                overriding the model's input shapes; ``None`` dimensions stay dynamic.
            **kwargs: ``opset_version`` (int, 17 or newer).

        Example:
            >>> model.export("model.onnx", format="onnx")
            >>> sess = onnxruntime.InferenceSession("model.onnx")
            >>> sess.run(None, {sess.get_inputs()[0].name: x})[0]
        """
        from nnfast.export import export_model

        return export_model(self, filepath, format, verbose, input_signature, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Saves the weights: ``.weights.h5`` (Keras 3 layout) or ``.h5`` (legacy layout).
        Under a multi-process ``DataParallel`` only rank 0 writes, as ``save``."""
        from nnfast.distribution.data_parallel import active

        dist = active(self)
        if dist is not None and not dist.communicator.is_chief:
            return

        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Loads weights from ``.weights.h5``, ``.keras`` or a legacy ``.h5`` file."""
        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def get_compile_config(self):
        return getattr(self, "_compile_config_serialized", None)
