"""Standalone Keras 2's module paths (``from keras.layers.core import Dense``,
``from keras.engine.topology import Layer``, ``from keras.utils.data_utils import get_file``,
...), which Keras 2 era programs import from and tf.keras / Keras 3 no longer have.

Each path in :data:`KERAS2_MODULES` maps to the nnfast objects of the same names: a module
nnfast already has (``nnfast.layers.core``) gains the Keras 2 names it lacks; a path nnfast
does not have (``nnfast.layers.embeddings``) becomes a module holding just those names.
:func:`install` runs once from ``nnfast/__init__.py``.

Example:
    >>> from nnfast.layers.core import Dense, Dropout, Activation, Flatten
    >>> from nnfast.engine.topology import Layer, Input
    >>> from nnfast.utils.data_utils import get_file
"""
import importlib
import sys
import types

import numpy as np

import nnfast

_CONV = ["Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "SeparableConv1D",
         "SeparableConv2D", "DepthwiseConv2D", "Convolution1D", "Convolution2D",
         "Convolution3D", "SeparableConvolution1D", "SeparableConvolution2D", "Cropping1D",
         "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
         "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"]
_POOL = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
         "AveragePooling2D", "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
         "GlobalMaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
         "GlobalAveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D",
         "AvgPool2D", "AvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D",
         "GlobalAvgPool2D"]

# Keras 2 module path (under nnfast.) -> (source module, names). Names follow Keras 2.2's
# modules; those nnfast does not have are left out.
KERAS2_MODULES = {
    "layers.core": ("nnfast.layers", ["Dense", "Dropout", "Activation", "Flatten", "Reshape",
                                      "Permute", "RepeatVector", "Lambda", "Masking",
                                      "ActivityRegularization", "SpatialDropout1D",
                                      "SpatialDropout2D", "SpatialDropout3D"]),
    # Keras 1/2 also imported the pooling layers here ("for backwards compatibility").
    "layers.convolutional": ("nnfast.layers", _CONV + _POOL),
    "layers.pooling": ("nnfast.layers", _POOL),
    "layers.recurrent": ("nnfast.layers", ["RNN", "SimpleRNN", "GRU", "LSTM", "SimpleRNNCell",
                                           "GRUCell", "LSTMCell", "StackedRNNCells"]),
    "layers.convolutional_recurrent": ("nnfast.layers", ["ConvLSTM2D"]),
    "layers.cudnn_recurrent": ("nnfast.layers", ["CuDNNLSTM", "CuDNNGRU"]),
    "layers.embeddings": ("nnfast.layers", ["Embedding"]),
    "layers.normalization": ("nnfast.layers", ["BatchNormalization", "LayerNormalization"]),
    "layers.advanced_activations": ("nnfast.layers", ["LeakyReLU", "PReLU", "ELU", "Softmax",
                                                      "ReLU", "ThresholdedReLU"]),
    "layers.noise": ("nnfast.layers", ["GaussianNoise", "GaussianDropout", "AlphaDropout"]),
    "layers.wrappers": ("nnfast.layers", ["Wrapper", "TimeDistributed", "Bidirectional"]),
    "engine": ("nnfast.layers", ["Layer", "InputSpec", "Input", "InputLayer"]),
    "engine.topology": ("nnfast.layers", ["Layer", "InputSpec", "Input", "InputLayer"]),
    "engine.base_layer": ("nnfast.layers", ["Layer", "InputSpec"]),
    "engine.input_layer": ("nnfast.layers", ["Input", "InputLayer"]),
    "engine.training": ("nnfast.models", ["Model"]),
    "engine.sequential": ("nnfast.models", ["Sequential"]),
    "utils.data_utils": ("nnfast.utils", ["get_file", "Sequence"]),
    "utils.vis_utils": ("nnfast.utils", ["plot_model", "model_to_dot"]),
    "utils.layer_utils": ("nnfast.keras2_modules", ["count_params", "print_summary"]),
}


def count_params(weights):
    """Keras 2's ``keras.utils.layer_utils.count_params``: the number of values in
    ``weights`` (a list of variables or arrays), each distinct variable counted once.

    Example:
        >>> count_params(model.trainable_weights)
        1290
    """
    seen, total = set(), 0
    for w in weights:
        if id(w) in seen:
            continue
        seen.add(id(w))
        total += int(np.prod(w.shape))
    return total


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Keras 2's ``keras.utils.layer_utils.print_summary``: ``model.summary(...)``.

    Example:
        >>> print_summary(model)
    """
    return model.summary(line_length=line_length, positions=positions, print_fn=print_fn)


def install():
    """Makes every path of :data:`KERAS2_MODULES` importable (once)."""
    for path, (source_name, names) in KERAS2_MODULES.items():
        source = importlib.import_module(source_name)
        full = f"nnfast.{path}"
        module = sys.modules.get(full)
        if module is None:
            try:
                module = importlib.import_module(full)
            except ModuleNotFoundError:
                module = types.ModuleType(full, f"Keras 2's ``keras.{path}`` (see "
                                                "nnfast.keras2_modules).")
                sys.modules[full] = module
        for name in names:
            if not hasattr(module, name):
                setattr(module, name, getattr(source, name))
        parent_name, _, leaf = full.rpartition(".")
        parent = sys.modules[parent_name] if parent_name in sys.modules else nnfast
        if not hasattr(parent, leaf):
            setattr(parent, leaf, module)
