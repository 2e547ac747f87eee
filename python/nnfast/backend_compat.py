"""Keras 2's ``keras.backend`` functions (``from keras import backend as K``), on nnfast.ops.

``from nnfast import backend as K`` gives these names (``nnfast.backend`` forwards to this
module). They keep Keras 2's argument names and defaults (``axis=None, keepdims=False``;
``K.clip(x, min_value, max_value)``; ``K.dot`` with ``np.dot``'s N-d rule; ``K.batch_dot``
with ``axes``; ``K.binary_crossentropy`` with tf_keras's ``+ epsilon`` inside the log) and
are differentiable wherever the nnfast op is.

Example:
    >>> from nnfast import backend as K
    >>> def rmse(y_true, y_pred):
    ...     return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))
    >>> model.compile(optimizer="adam", loss=rmse)
"""
import numpy as np

from nnfast import ops
from nnfast import random as _random
from nnfast.backend import global_state
from nnfast.backend.keras_tensor import KerasTensor
from nnfast.backend.tensor import Tensor, Variable, as_array, is_tensor

# --- configuration -------------------------------------------------------------------------
floatx = global_state.floatx
epsilon = global_state.epsilon
image_data_format = global_state.image_data_format
clear_session = global_state.clear_session


def set_image_data_format(data_format):
    """Sets the image layout; nnfast runs ``"channels_last"`` only.

    Example:
        >>> K.set_image_data_format("channels_last")
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("`data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    if data_format != "channels_last":
        raise NotImplementedError("K.set_image_data_format('channels_first'): nnfast keeps "
                                  "the global layout channels_last; pass data_format="
                                  "'channels_first' to the layers that need it.")


def set_floatx(value):
    """Sets the default float type; nnfast computes in ``"float32"`` only."""
    if value != "float32":
        raise NotImplementedError(f"K.set_floatx({value!r}): nnfast supports 'float32' only.")


def learning_phase():
    """Keras 2 in eager mode: 0 outside ``fit`` (layers get ``training=`` directly)."""
    return 0


def set_learning_phase(value):
    """Keras 2's global learning phase: 0 (inference) is what nnfast does outside ``fit``;
    1 is not supported (pass ``training=True`` to the model or layer call instead).

    Example:
        >>> K.set_learning_phase(0)
    """
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1. Received: value={value!r}")
    if value == 1:
        raise NotImplementedError("K.set_learning_phase(1): nnfast has no global training "
                                  "phase; call the model or layer with `training=True`.")


def image_dim_ordering():
    """Keras 1/2.0's name of the image layout: ``"tf"`` (channels last)."""
    return "tf" if image_data_format() == "channels_last" else "th"


def set_image_dim_ordering(dim_ordering):
    """Keras 1/2.0's ``set_image_dim_ordering``: ``"tf"`` is channels last (nnfast's
    layout); ``"th"`` (channels first) raises as ``set_image_data_format`` does.

    Example:
        >>> K.set_image_dim_ordering("tf")
    """
    if dim_ordering not in ("tf", "th"):
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r} (expected 'tf' or 'th').")
    set_image_data_format("channels_last" if dim_ordering == "tf" else "channels_first")


_UIDS = {}


def get_uid(prefix=""):
    """A counter per ``prefix`` starting at 1 (Keras 2's unique layer-name helper).

    Example:
        >>> K.get_uid("dense"), K.get_uid("dense")
        (1, 2)
    """
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


def reset_uids():
    """Resets the counters of ``get_uid``."""
    _UIDS.clear()


# --- tensors and variables -------------------------------------------------------------------
def variable(value, dtype=None, name=None, constraint=None):
    """A trainable ``Variable`` holding ``value`` (a NumPy array, list or scalar).

    Example:
        >>> v = K.variable(np.zeros((2, 3)))
    """
    v = Variable(np.asarray(as_array(value), dtype=dtype or floatx()), name=name or "variable",
                 dtype=dtype or floatx())
    if constraint is not None:
        v.constraint = constraint
    return v


def constant(value, dtype=None, shape=None, name=None):
    """A tensor of ``value`` (broadcast to ``shape`` when given)."""
    arr = np.asarray(as_array(value), dtype=dtype or floatx())
    if shape is not None:
        arr = np.broadcast_to(arr, tuple(shape)).copy()
    return ops.convert_to_tensor(arr)


def get_value(x):
    """The value of a variable/tensor (or a number) as NumPy."""
    if isinstance(x, (int, float, np.number)):
        return np.float32(x) if isinstance(x, float) else x
    return np.asarray(ops.convert_to_numpy(x))


def eval(x):  # noqa: A001  (Keras 2's name)
    """The value of a tensor as NumPy (same as ``get_value``)."""
    return get_value(x)


def set_value(x, value):
    """Assigns ``value`` to the variable ``x``. ``K.set_value(model.optimizer.lr, v)``
    (Keras 2's way to change the learning rate) sets the optimizer's learning rate."""
    owner = getattr(x, "_nnfast_optimizer", None)
    if owner is not None:
        owner.learning_rate = float(np.asarray(as_array(value)))
        return
    if not isinstance(x, Variable):
        raise TypeError("K.set_value expects a Variable (or an optimizer's `lr`). "
                        f"Received: x of type {type(x).__name__}")
    x.assign(np.asarray(as_array(value), dtype=np.float32).reshape(np.shape(as_array(x))))


def batch_get_value(tensors):
    """``[get_value(t) for t in tensors]``."""
    return [get_value(t) for t in tensors]


def batch_set_value(tuples):
    """``set_value(x, value)`` for each ``(x, value)`` pair."""
    for x, value in tuples:
        set_value(x, value)


def is_keras_tensor(x):
    """True for the symbolic tensors of functional models (``Input(...)`` and layer outputs)."""
    return isinstance(x, KerasTensor)


def int_shape(x):
    """The static shape as a tuple of ints (None where unknown, e.g. the batch of an Input)."""
    if isinstance(x, KerasTensor) or hasattr(x, "shape") and isinstance(x.shape, tuple):
        return tuple(None if d is None else int(d) for d in x.shape)
    return tuple(int(d) for d in np.shape(as_array(x)))


def shape(x):
    """The shape: an int32 tensor for eager tensors; for a symbolic tensor its static shape
    tuple (None for unknown sizes), which ``K.shape(x)[0]`` indexes the same way."""
    if isinstance(x, KerasTensor):
        return tuple(x.shape)
    return ops.convert_to_tensor(np.asarray(int_shape(x), dtype=np.int32))


def ndim(x):
    """Number of axes."""
    return len(int_shape(x))


def dtype(x):
    """The dtype name, e.g. ``'float32'``."""
    return str(getattr(x, "dtype", np.asarray(as_array(x)).dtype))


def count_params(x):
    """Number of scalars in ``x``."""
    return int(np.prod(int_shape(x)))


def zeros(shape, dtype=None, name=None):
    """A variable of zeros (Keras 2 returns a variable)."""
    return variable(np.zeros(shape), dtype=dtype, name=name)


def ones(shape, dtype=None, name=None):
    """A variable of ones (Keras 2 returns a variable)."""
    return variable(np.ones(shape), dtype=dtype, name=name)


def eye(size, dtype=None, name=None):
    """An identity-matrix variable."""
    return variable(np.eye(size), dtype=dtype, name=name)


def zeros_like(x, dtype=None, name=None):
    """Zeros with the shape of ``x``."""
    return ops.zeros_like(x, dtype=dtype) if dtype else ops.zeros_like(x)


def ones_like(x, dtype=None, name=None):
    """Ones with the shape of ``x``."""
    return ops.ones_like(x, dtype=dtype) if dtype else ops.ones_like(x)


def cast(x, dtype):
    """``x`` converted to ``dtype``."""
    return ops.cast(x, dtype)


def cast_to_floatx(x):
    """A NumPy array of ``x`` in ``floatx()``."""
    return np.asarray(as_array(x), dtype=floatx())


# --- reductions (axis=None, keepdims=False) ---------------------------------------------------
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (all axes when None)."""
    return ops.sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (booleans are cast to floatx first, as Keras 2)."""
    if dtype(x) == "bool":
        x = ops.cast(x, floatx())
    return ops.mean(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``."""
    return ops.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``."""
    return ops.min(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    """Product over ``axis``."""
    return ops.prod(x, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over ``axis``."""
    return ops.std(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """Population variance over ``axis``."""
    return ops.var(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=0):
    """Cumulative sum along ``axis`` (default 0, as Keras 2)."""
    return ops.cumsum(x, axis=axis)


def argmax(x, axis=-1):
    """Index of the maximum along ``axis``."""
    return ops.argmax(x, axis=axis)


def argmin(x, axis=-1):
    """Index of the minimum along ``axis``."""
    return ops.argmin(x, axis=axis)


def any(x, axis=None, keepdims=False):  # noqa: A001 (Keras 2's name)
    """Logical OR along ``axis`` (any nonzero)."""
    return ops.any(ops.cast(x, "bool"), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 (Keras 2's name)
    """Logical AND along ``axis`` (all nonzero)."""
    return ops.all(ops.cast(x, "bool"), axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` along ``axis``, computed stably."""
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


def sin(x):
    """Element-wise sine."""
    return ops.sin(x)


def cos(x):
    """Element-wise cosine."""
    return ops.cos(x)


def identity(x, name=None):
    """A tensor with the value of ``x`` (gradients pass through)."""
    return ops.copy(x)


def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x^2, axis), 1e-12))`` (tf.math.l2_normalize's rule)."""
    sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(sq, 1e-12)))


# --- element-wise ---------------------------------------------------------------------------
def square(x):
    """``x ** 2``."""
    return ops.square(x)


def sqrt(x):
    """Square root; Keras 2 clips negative inputs to 0 first."""
    return ops.sqrt(ops.maximum(x, 0.0))


def abs(x):  # noqa: A001
    """Absolute value."""
    return ops.abs(x)


def exp(x):
    """``e ** x``."""
    return ops.exp(x)


def log(x):
    """Natural logarithm."""
    return ops.log(x)


def sign(x):
    """-1, 0 or 1."""
    return ops.sign(x)


def round(x):  # noqa: A001
    """Round half to even."""
    return ops.round(x)


def pow(x, a):  # noqa: A001
    """``x ** a``."""
    return ops.power(x, a)


def clip(x, min_value, max_value):
    """Clips to ``[min_value, max_value]``; None means unbounded, and a max below the min
    is raised to the min (Keras 2's rule)."""
    if min_value is None:
        min_value = -np.inf
    if max_value is None:
        max_value = np.inf
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) \
            and max_value < min_value:
        max_value = min_value
    return ops.clip(x, min_value, max_value)


def maximum(x, y):
    """Element-wise maximum."""
    return ops.maximum(x, y)


def minimum(x, y):
    """Element-wise minimum."""
    return ops.minimum(x, y)


def equal(x, y):
    """Element-wise ``x == y`` (booleans)."""
    return ops.equal(x, y)


def not_equal(x, y):
    """Element-wise ``x != y``."""
    return ops.not_equal(x, y)


def less(x, y):
    """Element-wise ``x < y``."""
    return ops.less(x, y)


def less_equal(x, y):
    """Element-wise ``x <= y``."""
    return ops.less_equal(x, y)


def greater(x, y):
    """Element-wise ``x > y``."""
    return ops.greater(x, y)


def greater_equal(x, y):
    """Element-wise ``x >= y``."""
    return ops.greater_equal(x, y)


def switch(condition, then_expression, else_expression):
    """``then_expression`` where ``condition`` is true, else ``else_expression``
    (callables are called first, as Keras 2 allows)."""
    if callable(then_expression):
        then_expression = then_expression()
    if callable(else_expression):
        else_expression = else_expression()
    return ops.where(condition, then_expression, else_expression)


def stop_gradient(variables):
    """The value with no gradient flowing back (a list gives a list)."""
    if isinstance(variables, (list, tuple)):
        return [ops.stop_gradient(v) for v in variables]
    return ops.stop_gradient(variables)


# --- activations and losses --------------------------------------------------------------------
def sigmoid(x):
    """Logistic sigmoid."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """``clip(0.2 * x + 0.5, 0, 1)`` (Keras 2's slope)."""
    return ops.clip(ops.add(ops.multiply(x, 0.2), 0.5), 0.0, 1.0)


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def softplus(x):
    """``log(1 + e^x)``."""
    return ops.softplus(x)


def softsign(x):
    """``x / (1 + |x|)``."""
    return ops.softsign(x)


def elu(x, alpha=1.0):
    """Exponential linear unit."""
    return ops.elu(x, alpha=alpha)


def softmax(x, axis=-1):
    """Softmax along ``axis``."""
    return ops.softmax(x, axis=axis)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit with Keras 2's ``alpha`` (slope below the threshold),
    ``max_value`` and ``threshold``."""
    return ops.relu(x, negative_slope=alpha, max_value=max_value, threshold=threshold)


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy (no reduction). On probabilities, as tf_keras:
    ``output`` is clipped to ``[eps, 1 - eps]`` and the loss is
    ``-(t * log(o + eps) + (1 - t) * log(1 - o + eps))``."""
    if from_logits:
        return ops.binary_crossentropy(target, output, from_logits=True)
    eps = epsilon()
    output = ops.clip(output, eps, 1.0 - eps)
    pos = ops.multiply(target, ops.log(ops.add(output, eps)))
    neg = ops.multiply(ops.subtract(1.0, target), ops.log(ops.add(ops.subtract(1.0, output), eps)))
    return ops.negative(ops.add(pos, neg))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy summed over ``axis`` (one-hot ``target``). On probabilities, as
    tf_keras: ``output`` is rescaled to sum to 1, clipped to ``[eps, 1 - eps]``."""
    if from_logits:
        return ops.negative(ops.sum(ops.multiply(target, ops.log_softmax(output, axis=axis)),
                                    axis=axis))
    output = ops.divide(output, ops.sum(output, axis=axis, keepdims=True))
    output = ops.clip(output, epsilon(), 1.0 - epsilon())
    return ops.negative(ops.sum(ops.multiply(target, ops.log(output)), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy with integer ``target`` labels."""
    num_classes = int_shape(output)[axis]
    onehot = ops.one_hot(ops.cast(target, "int32"), num_classes, axis=axis)
    return categorical_crossentropy(onehot, output, from_logits=from_logits, axis=axis)


# --- shapes ----------------------------------------------------------------------------------
def reshape(x, shape):
    """``x`` with the new ``shape`` (-1 allowed once)."""
    return ops.reshape(x, tuple(shape))


def transpose(x):
    """Reverses the axes (a matrix transpose for 2-D)."""
    return ops.transpose(x)


def permute_dimensions(x, pattern):
    """Permutes the axes, e.g. ``(0, 2, 1)``."""
    return ops.transpose(x, axes=tuple(pattern))


def expand_dims(x, axis=-1):
    """Inserts a length-1 axis at ``axis`` (default last)."""
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    """Removes the length-1 axis ``axis``."""
    return ops.squeeze(x, axis=axis)


def flatten(x):
    """A 1-D tensor of all elements."""
    return ops.reshape(x, (-1,))


def batch_flatten(x):
    """``(batch, ...)`` to ``(batch, prod(...))``."""
    return ops.reshape(x, (-1, int(np.prod(int_shape(x)[1:]))))


def concatenate(tensors, axis=-1):
    """Joins ``tensors`` along ``axis``."""
    return ops.concatenate(list(tensors), axis=axis)


def stack(x, axis=0):
    """Stacks the tensors of the list ``x`` along a new ``axis``."""
    return ops.stack(list(x), axis=axis)


def tile(x, n):
    """Repeats ``x`` ``n[i]`` times along axis ``i``."""
    return ops.tile(x, n if isinstance(n, (list, tuple)) else [n])


def repeat_elements(x, rep, axis):
    """Repeats each element ``rep`` times along ``axis`` (``np.repeat``)."""
    return ops.repeat(x, rep, axis=axis)


def one_hot(indices, num_classes):
    """One-hot encoding along a new last axis."""
    return ops.one_hot(indices, num_classes)


def arange(start, stop=None, step=1, dtype="int32"):
    """``start, start + step, ...`` below ``stop`` (one argument: ``0 .. start - 1``)."""
    return ops.arange(start, stop, step, dtype=dtype)


def gather(reference, indices):
    """Rows ``indices`` of ``reference`` (along axis 0); differentiable in ``reference``."""
    return ops.take(reference, indices, axis=0)


def reverse(x, axes):
    """``x`` reversed along ``axes`` (an int or a list)."""
    return ops.flip(x, axis=tuple(axes) if isinstance(axes, (list, tuple)) else axes)


def bias_add(x, bias, data_format=None):
    """``x + bias`` with ``bias`` on the channel axis (channels last, or axis 1 with
    ``data_format="channels_first"``); ``bias`` is 1-D or of rank ``ndim(x) - 1``."""
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format!r}")
    nb = len(int_shape(bias))
    if nb != 1 and nb != ndim(x) - 1:
        raise ValueError(f"Unexpected bias dimensions {nb}, expected 1 or {ndim(x) - 1}. "
                         f"Received: x.shape={int_shape(x)}, bias.shape={int_shape(bias)}")
    if data_format == "channels_first" and ndim(x) > 2:
        if nb == 1:
            bias = ops.reshape(bias, (-1,) + (1,) * (ndim(x) - 2))
        else:
            bias = ops.moveaxis(bias, -1, 0)
    return ops.add(x, bias)


def temporal_padding(x, padding=(1, 1)):
    """Zero-pads axis 1 of a ``(batch, steps, features)`` tensor by ``(left, right)``."""
    return ops.pad(x, [(0, 0), tuple(padding), (0, 0)])


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zero-pads the two spatial axes of a 4-D tensor by ``((top, bottom), (left, right))``."""
    data_format = data_format or image_data_format()
    pads = [tuple(padding[0]), tuple(padding[1])]
    if data_format == "channels_first":
        return ops.pad(x, [(0, 0), (0, 0)] + pads)
    return ops.pad(x, [(0, 0)] + pads + [(0, 0)])


def map_fn(fn, elems, name=None, dtype=None):
    """``fn`` applied to each slice of ``elems`` along axis 0, results stacked."""
    return ops.map(fn, elems)


def get_variable_shape(x):
    """``int_shape(x)`` (Keras 2's older name)."""
    return int_shape(x)


def update(x, new_x):
    """Assigns ``new_x`` to the variable ``x`` and returns it."""
    _require_variable(x, "update")
    x.assign(new_x)
    return x


def update_add(x, increment):
    """``x += increment`` on the variable ``x``."""
    _require_variable(x, "update_add")
    x.assign_add(increment)
    return x


def update_sub(x, decrement):
    """``x -= decrement`` on the variable ``x``."""
    _require_variable(x, "update_sub")
    x.assign_sub(decrement)
    return x


def _require_variable(x, name):
    if not isinstance(x, Variable):
        raise TypeError(f"K.{name} expects a Variable (K.variable(...)). Received: {type(x)}")


def in_train_phase(x, alt, training=None):
    """``x`` in training, else ``alt`` (callables are called); ``training=None`` uses the
    learning phase (0 outside ``fit``)."""
    if training is None:
        training = learning_phase()
    chosen = x if training else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x, alt, training=None):
    """``alt`` in training, else ``x``."""
    return in_train_phase(alt, x, training=training)


# --- products --------------------------------------------------------------------------------
def dot(x, y):
    """Matrix product with ``np.dot``'s N-d rule: the last axis of ``x`` against the
    second-to-last of ``y``; result shape ``x.shape[:-1] + y.shape[:-2] + y.shape[-1:]``.

    Example:
        >>> K.dot(K.ones((2, 3)), K.ones((3, 4))).shape
        (2, 4)
    """
    xs, ys = int_shape(x), int_shape(y)
    if len(xs) <= 2 and len(ys) <= 2:
        return ops.matmul(x, y)
    if len(ys) == 1:
        return ops.sum(ops.multiply(x, y), axis=-1)
    n = xs[-1]
    y_rest = ys[:-2] + ys[-1:]
    y2 = ops.reshape(ops.moveaxis(y, -2, 0), (n, -1))
    out = ops.matmul(ops.reshape(x, (-1, n)), y2)
    return ops.reshape(out, tuple(-1 if d is None else d for d in xs[:-1]) + y_rest)


def batch_dot(x, y, axes=None):
    """Per-sample dot product of the batches ``x`` and ``y`` (axis 0 is the batch).

    ``axes``: an int (the same axis of both) or a pair; by default the last axis of ``x``
    against the second-to-last of ``y`` (the last when ``y`` is 2-D). The result has the
    remaining axes of ``x`` then those of ``y``; a 1-D result becomes ``(batch, 1)``.

    Example:
        >>> K.batch_dot(K.ones((32, 20)), K.ones((32, 20)), axes=1).shape
        (32, 1)
    """
    xs, ys = int_shape(x), int_shape(y)
    if len(xs) < 2 or len(ys) < 2:
        raise ValueError("K.batch_dot needs tensors of rank >= 2. Received: "
                         f"x.shape={xs}, y.shape={ys}")
    if axes is None:
        axes = (len(xs) - 1, len(ys) - 2 if len(ys) > 2 else len(ys) - 1)
    elif isinstance(axes, int):
        axes = (axes, axes)
    ax, ay = (a % len(s) for a, s in zip(axes, (xs, ys)))
    if 0 in (ax, ay):
        raise ValueError(f"K.batch_dot cannot contract the batch axis. Received: axes={axes}")
    if xs[ax] != ys[ay]:
        raise ValueError("K.batch_dot: the contracted axes differ in size. Received: "
                         f"x.shape={xs}, y.shape={ys}, axes={axes}")
    x_rest = [d for i, d in enumerate(xs) if i not in (0, ax)]
    y_rest = [d for i, d in enumerate(ys) if i not in (0, ay)]
    n = xs[ax]
    x3 = ops.reshape(ops.moveaxis(x, ax, -1), (-1, int(np.prod(x_rest)), n))
    y3 = ops.reshape(ops.moveaxis(y, ay, 1), (-1, n, int(np.prod(y_rest))))
    out = ops.matmul(x3, y3)
    shape_out = tuple(x_rest + y_rest) or (1,)
    return ops.reshape(out, (-1,) + shape_out)


# --- random ------------------------------------------------------------------------------------
def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2)."""
    return _random.normal(tuple(shape), mean=mean, stddev=stddev, dtype=dtype, seed=seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of U[minval, maxval)."""
    return _random.uniform(tuple(shape), minval=minval, maxval=maxval, dtype=dtype, seed=seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2) redrawn beyond two standard deviations."""
    return _random.truncated_normal(tuple(shape), mean=mean, stddev=stddev, dtype=dtype,
                                    seed=seed)


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """0/1 samples, 1 with probability ``p``."""
    u = _random.uniform(tuple(shape), seed=seed)
    return ops.cast(ops.less(u, p), dtype or floatx())


def dropout(x, level, noise_shape=None, seed=None):
    """Zeroes entries of ``x`` with probability ``level`` and scales the rest by
    ``1 / (1 - level)``."""
    return _random.dropout(x, level, noise_shape=noise_shape, seed=seed)


# --- CTC (the OCR examples of Keras 2) -----------------------------------------------------------
def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """Keras 2's CTC loss per sample, ``(batch, 1)``: ``y_pred`` holds softmax
    probabilities ``(batch, time, classes)`` whose last class is the blank, ``y_true`` the
    labels ``(batch, max_label_length)``, ``input_length``/``label_length`` ``(batch, 1)``
    (as tf_keras: the probabilities' log plus epsilon are the logits).

    Example:
        >>> loss = K.ctc_batch_cost(labels, softmax_out, input_len, label_len)
    """
    classes = int_shape(y_pred)[-1]
    logits = ops.log(ops.add(y_pred, epsilon()))
    il = ops.cast(ops.reshape(input_length, (-1,)), "int32")
    ll = ops.cast(ops.reshape(label_length, (-1,)), "int32")
    loss = ops.ctc_loss(ops.cast(y_true, "int32"), logits, ll, il, mask_index=classes - 1)
    return ops.expand_dims(loss, 1)


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Keras 2's CTC decoding of softmax outputs (blank = last class): returns
    ``(decoded, log_prob)`` with ``decoded`` a list of ``top_paths`` arrays
    ``(batch, time)`` padded with -1, and ``log_prob`` ``(batch, 1)`` (greedy: minus the
    sum of the best log-probabilities) or ``(batch, top_paths)`` (beam search). The beam
    search ranks beams as Keras 3 does; tf_keras's TF 1 decoder can order the lower paths
    differently when labels repeat.

    Example:
        >>> decoded, _ = K.ctc_decode(pred, np.full(len(pred), pred.shape[1]))
        >>> labels = decoded[0]
    """
    classes = int_shape(y_pred)[-1]
    logits = ops.log(ops.add(y_pred, epsilon()))
    lengths = ops.cast(ops.reshape(input_length, (-1,)), "int32")
    decoded, scores = ops.ctc_decode(logits, lengths,
                                     strategy="greedy" if greedy else "beam_search",
                                     beam_width=beam_width, top_paths=top_paths,
                                     mask_index=classes - 1)
    decoded = np.asarray(ops.convert_to_numpy(decoded))
    if greedy:
        return [decoded[0]], ops.reshape(scores, (-1, 1))
    # TF 1's beam search decoder (tf_keras's) also merges repeated labels of a beam that a
    # blank separated: [1, 3, 3, 1] is emitted as [1, 3, 1].
    return [_merge_repeats(d) for d in decoded], scores


def _merge_repeats(rows):
    out = np.full_like(rows, -1)
    for i, row in enumerate(rows):
        labels = [int(v) for v in row if v >= 0]
        kept = [v for j, v in enumerate(labels) if j == 0 or v != labels[j - 1]]
        out[i, :len(kept)] = kept
    return out


# --- graph-era functions -------------------------------------------------------------------------
def function(inputs, outputs, updates=None, name=None, **kwargs):
    """Keras 2's ``K.function(inputs, outputs)`` on a functional graph: returns ``f`` with
    ``f(list_of_arrays) -> list_of_arrays`` (one per output), e.g. to read a hidden layer.

    Example:
        >>> get_hidden = K.function([model.input], [model.layers[1].output])
        >>> hidden = get_hidden([x])[0]
    """
    if updates:
        raise NotImplementedError("K.function(updates=...): graph-mode updates do not exist "
                                  "in nnfast; use a GradientTape or a custom train_step.")
    from nnfast.models import Model

    single = not isinstance(outputs, (list, tuple))
    in_list = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    out_list = [outputs] if single else list(outputs)
    model = Model(inputs=in_list, outputs=out_list)

    def call(values):
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        result = model(values if len(values) > 1 else values[0], training=False)
        result = list(result) if isinstance(result, (list, tuple)) else [result]
        arrays = [np.asarray(ops.convert_to_numpy(r)) for r in result]
        return arrays[0] if single else arrays

    return call


def gradients(loss, variables):
    """Not available: Keras 2 itself refuses ``K.gradients`` in eager mode (TF 2); nnfast
    computes gradients with ``nnfast.GradientTape``."""
    raise RuntimeError("K.gradients is not supported in eager mode (as in tf.keras 2): use "
                       "`with nnfast.GradientTape() as tape: loss = ...` then "
                       "`tape.gradient(loss, variables)`.")


__all__ = [n for n in dir() if not n.startswith("_") and n not in {
    "np", "ops", "global_state", "KerasTensor", "Tensor", "Variable", "as_array", "is_tensor"}]
