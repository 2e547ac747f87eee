"""Normalization layers: ``BatchNormalization``, ``LayerNormalization``,
``GroupNormalization``, ``RMSNormalization``, ``UnitNormalization``."""
import warnings

import numpy as np

from nnfast import constraints, initializers, ops, regularizers
from nnfast.distribution.shard import cross_rank_sum
from nnfast.layers.core import _serialize
from nnfast.ops.norm_sync import sync_batch_norm_train
from nnfast.layers.layer import Layer



def _gamma_beta_config(layer):
    """The gamma/beta initializer, regularizer and constraint entries of a config."""
    return {
        "beta_initializer": initializers.serialize(layer.beta_initializer),
        "gamma_initializer": initializers.serialize(layer.gamma_initializer),
        "beta_regularizer": _serialize(layer.beta_regularizer),
        "gamma_regularizer": _serialize(layer.gamma_regularizer),
        "beta_constraint": _serialize(layer.beta_constraint),
        "gamma_constraint": _serialize(layer.gamma_constraint),
    }

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
        momentum: the moving averages' momentum (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        beta_initializer: initializer of ``beta`` (default zeros).
        gamma_initializer: initializer of ``gamma`` (default ones).
        moving_mean_initializer: initializer of the moving mean (default zeros).
        moving_variance_initializer: initializer of the moving variance (default ones).
        beta_regularizer: penalty on ``beta``, or None.
        gamma_regularizer: penalty on ``gamma``, or None.
        beta_constraint: constraint on ``beta``, or None.
        gamma_constraint: constraint on ``gamma``, or None.
        synchronized: under a multi-process ``DataParallel`` (MPI), normalize with the
            batch moments of the global batch, reduced across the ranks (as Keras's
            synchronized batch norm); no effect in one process.
        renorm: batch renormalization; not implemented in nnfast: True raises
            ``NotImplementedError``. Defaults to ``False``.
        renorm_clipping: clipping of batch renormalization (only valid with ``renorm=True``).
        renorm_momentum: momentum of batch renormalization's moving statistics (kept in the config;
            unused while ``renorm=False``). Defaults to ``0.99``.

    Example:
        >>> bn = BatchNormalization()
        >>> y = bn(np.random.rand(8, 5, 5, 3).astype("float32"), training=True)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise NotImplementedError(
                "BatchNormalization(renorm=True) (batch renormalization) is not implemented in "
                "nnfast; use renorm=False.")
        if renorm_clipping is not None:
            raise ValueError("`renorm_clipping` is valid only with renorm=True. Received: "
                             f"renorm_clipping={renorm_clipping}")
        self.renorm, self.renorm_clipping = False, None
        self.renorm_momentum = renorm_momentum
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
            reduce = cross_rank_sum() if self.synchronized else None
            if reduce is not None:  # moments of the global batch of a data-parallel step
                y, mean, var = sync_batch_norm_train(inputs, self.gamma, self.beta,
                                                     self.epsilon, self._axis, *reduce)
            else:
                y, mean, var = ops.batch_norm_train(inputs, self.gamma, self.beta,
                                                    self.epsilon, self._axis)
            mm, mv = self.moving_mean.value, self.moving_variance.value
            m = mm.dtype.type(self.momentum)  # in the statistics' dtype (float32 or float64)
            mm[...] = mm * m + mean * (mm.dtype.type(1.0) - m)
            mv[...] = mv * m + var * (mm.dtype.type(1.0) - m)
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
            **_gamma_beta_config(self),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
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

    Args:
        axis: the axis or axes normalized (default -1).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        rms_scaling: Keras 3's deprecated variant described above.
        beta_initializer: initializer of ``beta`` (default zeros).
        gamma_initializer: initializer of ``gamma`` (default ones).
        beta_regularizer: penalty on ``beta``, or None.
        gamma_regularizer: penalty on ``gamma``, or None.
        beta_constraint: constraint on ``beta``, or None.
        gamma_constraint: constraint on ``gamma``, or None.

    Input of any shape; the output has the same shape.

    Example:
        >>> LayerNormalization()(np.random.rand(2, 10).astype("float32")).shape
        (2, 10)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        # Keras 3.15 takes the deprecated rms_scaling through **kwargs: keyword only there.
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
            **_gamma_beta_config(self),
        })
        return config


def _axes_tuple(axis, ndim, layer):
    """``axis`` (int or list) as sorted non-negative axes of an ``ndim``-D input."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    for a in axes:
        if a >= ndim or a < -ndim:
            raise ValueError(f"Axis {axis} is out of bounds for an input of rank {ndim} "
                             f"({layer}).")
    return tuple(sorted(a % ndim for a in axes))


def _check_axes_in_bounds(axis, input_shape):
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    for a in axes:
        if a >= len(input_shape) or a < -len(input_shape):
            raise ValueError(f"Axis {a} is out of bounds for input shape {tuple(input_shape)}. "
                             f"Received: axis={axis}")


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``:
    ``x * min(rsqrt(sum(x^2)), 1e12)`` (Keras's ``ops.normalize`` with epsilon 1e-12).

    Args:
        axis: int or list of ints, the axes to normalize across (default -1).

    Example:
        >>> y = UnitNormalization()(np.array([[3.0, 4.0]], "float32"))
        >>> np.asarray(y, "float64").round(3).tolist()
        [[0.6, 0.8]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Invalid value for `axis` argument: expected an int or a "
                            f"list/tuple of ints. Received: axis={axis}")
        self.supports_masking = True

    def call(self, inputs):
        axes = _axes_tuple(self.axis, len(np.shape(inputs)), "UnitNormalization")
        square_sum = ops.sum(ops.square(inputs), axis=axes, keepdims=True)
        # min(rsqrt(s), 1/eps) == 1 / max(sqrt(s), eps); the latter keeps the all-zero
        # sample finite in the forward and the gradient.
        return ops.divide(inputs, ops.maximum(ops.sqrt(square_sum), np.float32(1e-12)))

    def compute_output_shape(self, input_shape):
        _check_axes_in_bounds(self.axis, input_shape)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich 2019):
    ``x * rsqrt(mean(x^2 over axis) + epsilon) * scale``, with no centering.

    Weight ``scale`` (initialised to ones) of shape ``input_shape[axis]`` (one entry per
    normalized axis). As in Keras, ``axis`` becomes a sorted list once the layer is built
    (so a built layer's config says ``axis: [-1]``).

    Args:
        axis: int or list of ints (default -1).
        epsilon: added to the mean square (default 1e-6).

    Example:
        >>> RMSNormalization()(np.ones((2, 4), "float32")).shape
        (2, 4)
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape):
        if isinstance(self.axis, (list, tuple)):
            self.axis = sorted(self.axis)
        else:
            self.axis = [self.axis]
        _check_axes_in_bounds(self.axis, input_shape)
        shape = tuple(input_shape[a] for a in self.axis)
        if any(d is None for d in shape):
            raise ValueError(f"RMSNormalization needs defined sizes on axis {self.axis}, "
                             f"received input_shape={tuple(input_shape)}")
        self._axes = tuple(sorted(a % len(input_shape) for a in self.axis))
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs):
        ndim = len(np.shape(inputs))
        mean_square = ops.mean(ops.square(inputs), axis=self._axes, keepdims=True)
        rms = ops.sqrt(ops.add(mean_square, np.float32(self.epsilon)))
        scale = self.scale
        if self._axes != tuple(range(ndim - len(self._axes), ndim)):
            # Not the trailing axes: lay the scale along its axes so it broadcasts there.
            scale = ops.reshape(scale, tuple(np.shape(inputs)[a] if a in self._axes else 1
                                             for a in range(ndim)))
        return ops.multiply(ops.divide(inputs, rms), scale)

    def compute_output_shape(self, input_shape):
        _check_axes_in_bounds(self.axis, input_shape)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config


class GroupNormalization(Layer):
    """Group normalization (Wu & He 2018): the channels on ``axis`` are split into
    ``groups`` groups; each sample is normalized with the mean and biased variance over
    each group's channels and every other non-batch axis, then ``* gamma + beta`` per
    channel. ``groups=-1`` (one group per channel) is instance normalization; ``groups=1``
    normalizes over all non-batch axes, like LayerNormalization over them.

    Weights, in Keras's order: gamma, beta, each of shape ``(channels,)``.

    Args:
        groups: number of groups (default 32), must divide the channels; -1 = channels.
        axis: the channels axis (default -1).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset ``beta``.
        scale: learn a scale ``gamma``.
        beta_initializer: initializer of ``beta`` (default zeros).
        gamma_initializer: initializer of ``gamma`` (default ones).
        beta_regularizer: penalty on ``beta``, or None.
        gamma_regularizer: penalty on ``gamma``, or None.
        beta_constraint: constraint on ``beta``, or None.
        gamma_constraint: constraint on ``gamma``, or None.

    Example:
        >>> GroupNormalization(groups=2)(np.random.rand(2, 5, 4).astype("float32")).shape
        (2, 5, 4)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if not isinstance(groups, int) or isinstance(groups, bool) or \
                (groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a "
                             "positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups}")
        super().__init__(**kwargs)
        self.supports_masking = True
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape):
        _check_axes_in_bounds(self.axis, input_shape)
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer received an input with shape "
                             f"{tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}).")
        if dim % self.groups != 0:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the "
                             f"number of channels ({dim}).")
        self._axis = self.axis % len(input_shape)
        if self._axis == 0:
            raise ValueError("GroupNormalization cannot normalize over the batch axis 0")
        self.gamma = self.add_weight(shape=(dim,), name="gamma",
                                     initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight(shape=(dim,), name="beta",
                                    initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.built = True

    def call(self, inputs):
        shape = tuple(np.shape(inputs))
        a, g = self._axis, self.groups
        # (batch, ..., groups, channels/groups, ...): statistics over everything but the
        # batch and the group axis.
        grouped = shape[:a] + (g, shape[a] // g) + shape[a + 1:]
        xr = ops.reshape(inputs, grouped)
        axes = tuple(i for i in range(1, len(grouped)) if i != a)
        mean = ops.mean(xr, axis=axes, keepdims=True)
        centred = ops.subtract(xr, mean)
        var = ops.mean(ops.square(centred), axis=axes, keepdims=True)
        y = ops.divide(centred, ops.sqrt(ops.add(var, np.float32(self.epsilon))))
        y = ops.reshape(y, shape)
        per_channel = tuple(shape[i] if i == a else 1 for i in range(len(shape)))
        if self.gamma is not None:
            y = ops.multiply(y, ops.reshape(self.gamma, per_channel))
        if self.beta is not None:
            y = ops.add(y, ops.reshape(self.beta, per_channel))
        return y

    def compute_output_shape(self, input_shape):
        _check_axes_in_bounds(self.axis, input_shape)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            **_gamma_beta_config(self),
        })
        return config
