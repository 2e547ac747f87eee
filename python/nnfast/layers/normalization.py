"""Normalization layers: ``BatchNormalization``, ``LayerNormalization``."""
import warnings

import numpy as np

from nnfast import constraints, initializers, ops, regularizers
from nnfast.layers.core import _serialize
from nnfast.layers.layer import Layer


class BatchNormalization(Layer):
    """Batch normalization (Keras semantics).

    Training (``training=True`` and the layer trainable, e.g. inside ``fit``): normalizes with
    the batch mean and *biased* batch variance over every axis but ``axis``, then updates
    ``moving = moving * momentum + batch * (1 - momentum)``. Inference (and always when
    ``trainable=False``): ``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``.

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable), each of shape ``(input_shape[axis],)``.

    Args:
        axis: the features axis (default -1, channels_last).
        momentum: 0.99; epsilon: 1e-3; center/scale: use beta/gamma.
        *_initializer, *_regularizer, *_constraint: as in Keras.

    Example:
        >>> bn = BatchNormalization()
        >>> y = bn(np.random.rand(8, 5, 5, 3).astype("float32"), training=True)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"BatchNormalization supports one axis, received axis={axis}")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = synchronized
        self.supports_masking = True

    def build(self, input_shape):
        axis = self.axis % len(input_shape)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape {tuple(input_shape)}.")
        self._axis = axis
        shape = (dim,)
        self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        self.built = True

    def call(self, inputs, training=None):
        if training and self.trainable:
            y, mean, var = ops.batch_norm_train(inputs, self.gamma, self.beta, self.epsilon,
                                                self._axis)
            m = np.float32(self.momentum)
            mm, mv = self.moving_mean.value, self.moving_variance.value
            mm[...] = mm * m + mean * (np.float32(1.0) - m)
            mv[...] = mv * m + var * (np.float32(1.0) - m)
            return y
        return ops.batch_normalization(inputs, self.moving_mean.value,
                                       self.moving_variance.value, self._axis, self.beta,
                                       self.gamma, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
            "beta_regularizer": _serialize(self.beta_regularizer),
            "gamma_regularizer": _serialize(self.gamma_regularizer),
            "beta_constraint": _serialize(self.beta_constraint),
            "gamma_constraint": _serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
        })
        return config


class LayerNormalization(Layer):
    """Layer normalization: per sample, mean and biased variance over ``axis`` (default -1,
    may be a tuple), then ``* gamma + beta`` (shaped like the normalized axes).

    ``rms_scaling=True`` reproduces Keras 3's deprecated option exactly:
    ``x * rsqrt(var(x) + epsilon) * gamma`` (no centering; the variance, not the mean
    square), with a ``gamma`` weight even when ``scale=False`` and no ``beta``. For true RMS
    normalization Keras points to ``RMSNormalization``.

    Example:
        >>> LayerNormalization()(np.random.rand(2, 10).astype("float32")).shape
        (2, 10)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            warnings.warn("You passed `rms_scaling=True`, which is deprecated. This argument "
                          "incorrectly scales the input by the variance, not the root mean "
                          "square. To correctly use RMS Normalization, please use "
                          "`keras.layers.RMSNormalization` instead.", stacklevel=2)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        self._axes = tuple(sorted(a % len(input_shape) for a in axes))
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization needs defined sizes on axis {self.axis}, "
                             f"received input_shape={tuple(input_shape)}")
        self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) \
            if self.scale or self.rms_scaling else None
        # As in Keras: rms_scaling has a gamma even with scale=False, and never a beta.
        self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) \
            if self.center and not self.rms_scaling else None
        self.built = True

    def call(self, inputs):
        return ops.layer_normalization(inputs, self.gamma, self.beta, self._axes, self.epsilon,
                                       rms_scaling=self.rms_scaling)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": _serialize(self.beta_regularizer),
            "gamma_regularizer": _serialize(self.gamma_regularizer),
            "beta_constraint": _serialize(self.beta_constraint),
            "gamma_constraint": _serialize(self.gamma_constraint),
        })
        return config
