"""Merge layers: combine a list of tensors into one (``Concatenate``, ``Add``, ``Dot``...).

Each class has a functional shortcut (``concatenate([a, b])`` = ``Concatenate()([a, b])``).
Elementwise merges broadcast as Keras does: inputs of the same shape, or shapes that
broadcast against each other (batch axis included).
"""
from nnfast import ops
from nnfast.layers.layer import Layer


def _broadcast_shapes(shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shapes}")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _Merge(Layer):
    """Base of the merge layers: checks the input list and reduces it pairwise."""

    _min_inputs = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras's merge mask: a step is kept where every input's mask keeps it."""
        if mask is None or not isinstance(mask, (list, tuple)):
            return None
        masks = [m for m in mask if m is not None]
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = ops.logical_and(out, m)
        return out

    def _check(self, shapes):
        if not isinstance(shapes, (list, tuple)) or not shapes or not isinstance(shapes[0], (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"input_shape={shapes} (not a list of shapes)")
        if len(shapes) < self._min_inputs:
            raise ValueError(f"A merge layer should be called on a list of at least "
                             f"{self._min_inputs} inputs. Got {len(shapes)} inputs. Full input_shape "
                             f"received: {shapes}")

    def build(self, input_shape):
        self._check(input_shape)
        _broadcast_shapes([tuple(s) for s in input_shape])
        self.built = True

    def _merge(self, inputs):
        raise NotImplementedError

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: "
                             f"inputs={inputs} (not a list of tensors)")
        return self._merge(list(inputs))

    def compute_output_shape(self, input_shape):
        return _broadcast_shapes([tuple(s) for s in input_shape])


class Add(_Merge):
    """Elementwise sum of a list of tensors of the same shape.

    Call arguments: a list of tensors of the same (or broadcastable) shapes; the output has
    the broadcast shape. Keras masks combine: a step is kept where every input keeps it.
    Raises ValueError when called on something other than a list.

    Example:
        >>> x1, x2 = np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")
        >>> keras.layers.Add()([x1, x2]).numpy()
        array([[3., 3., 3.],
               [3., 3., 3.]], dtype=float32)
        >>> a, b = keras.Input((3,)), keras.Input((3,))
        >>> keras.Model([a, b], keras.layers.add([a, b])).output_shape
        (None, 3)
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs of the same shape).

    Raises ValueError for another number of inputs.

    Example:
        >>> Subtract()([np.full((1, 2), 5.0, "float32"), np.ones((1, 2), "float32")]).numpy()
        array([[4., 4.]], dtype=float32)
    """

    _min_inputs = 2

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={input_shape}")

    def _merge(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: {len(inputs)} inputs")
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """Elementwise product of a list of tensors (gating, attention masks).

    Call arguments: a list of tensors of the same (or broadcastable) shapes; the output has
    the broadcast shape. Keras masks combine: a step is kept where every input keeps it.
    Raises ValueError when called on something other than a list.

    Example:
        >>> Multiply()([np.full((1, 2), 3.0, "float32"), np.full((1, 2), 2.0, "float32")]).numpy()
        array([[6., 6.]], dtype=float32)
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.multiply(out, x)
        return out


class Average(_Merge):
    """Elementwise mean of a list of tensors (e.g. averaging an ensemble's outputs).

    Call arguments: a list of tensors of the same (or broadcastable) shapes; the output has
    the broadcast shape. Keras masks combine: a step is kept where every input keeps it.
    Raises ValueError when called on something other than a list.

    Example:
        >>> Average()([np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")]).numpy()
        array([[0.5, 0.5]], dtype=float32)
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return ops.divide(out, float(len(inputs)))


class Maximum(_Merge):
    """Elementwise maximum of a list of tensors.

    Call arguments: a list of tensors of the same (or broadcastable) shapes; the output has
    the broadcast shape. Keras masks combine: a step is kept where every input keeps it.
    Raises ValueError when called on something other than a list.

    Example:
        >>> a, b = np.array([[1.0, 5.0]], "float32"), np.array([[3.0, 2.0]], "float32")
        >>> Maximum()([a, b]).numpy()
        array([[3., 5.]], dtype=float32)
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.maximum(out, x)
        return out


class Minimum(_Merge):
    """Elementwise minimum of a list of tensors.

    Call arguments: a list of tensors of the same (or broadcastable) shapes; the output has
    the broadcast shape. Keras masks combine: a step is kept where every input keeps it.
    Raises ValueError when called on something other than a list.

    Example:
        >>> a, b = np.array([[1.0, 5.0]], "float32"), np.array([[3.0, 2.0]], "float32")
        >>> Minimum()([a, b]).numpy()
        array([[1., 2.]], dtype=float32)
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Concatenates a list of tensors along ``axis`` (default -1, the feature axis).

    All other axes must match.

    Args:
        axis: the axis to join along (default -1).

    Call arguments: a list of tensors. Raises ValueError when the shapes differ on another
    axis.

    Example:
        >>> Concatenate()([np.ones((2, 4), "float32"), np.ones((2, 3), "float32")]).shape
        (2, 7)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def build(self, input_shape):
        self._check(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def _merge(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: each input's mask (all True when it has none) widened to the
        input's shape, concatenated along ``axis``, then reduced with "any" over the last
        axis."""
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            full = ops.ones_like(x, dtype="bool")
            if m is None:
                masks.append(full)
            elif len(m.shape) < len(x.shape):
                masks.append(ops.logical_and(ops.expand_dims(m, -1), full))
            else:
                masks.append(m)
        joined = ops.concatenate(masks, axis=self.axis)
        if hasattr(ops, "any"):
            return ops.any(joined, axis=-1)
        # NOTE: until nnfast.ops has `any`: the same reduction as a max over 0/1 values.
        return ops.greater(ops.max(ops.cast(joined, "float32"), axis=-1), 0.0)

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"A `Concatenate` layer should be called on a list of inputs with "
                             f"the same rank. Received: input_shape={shapes}")
        axis = self.axis % rank
        out = list(shapes[0])
        for s in shapes[1:]:
            for i in range(rank):
                if i == axis:
                    continue
                if out[i] is not None and s[i] is not None and out[i] != s[i]:
                    raise ValueError(
                        "A `Concatenate` layer requires inputs with matching shapes except for "
                        f"the concatenation axis. Received: input_shape={shapes}")
                if out[i] is None:
                    out[i] = s[i]
        sizes = [s[axis] for s in shapes]
        out[axis] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """Dot product between samples of two tensors along ``axes``.

    Args:
        axes: int or pair of ints, the axes to contract (axis 0 is the batch axis, so
            ``axes=1`` for 2-D inputs).
        normalize: L2-normalise both inputs along ``axes`` first (cosine similarity).

    Call arguments: a list of exactly two tensors. For two ``(batch, d)`` inputs and
    ``axes=1`` the output is ``(batch, 1)``; for ``(batch, n, d)`` and ``(batch, m, d)``
    with ``axes=2`` it is ``(batch, n, m)``.

    Example:
        >>> Dot(axes=1)([np.ones((2, 8), "float32"), np.ones((2, 8), "float32")]).numpy()
        array([[8.],
               [8.]], dtype=float32)
    """

    _min_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int) and not (isinstance(axes, (list, tuple)) and len(axes) == 2):
            raise ValueError(f"Invalid format for argument `axes`: expected an int or a list/tuple "
                             f"of 2 ints. Received: axes={axes}")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = bool(normalize)

    def _axes(self, r1, r2):
        a = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        return [a[0] % r1, a[1] % r2]

    def build(self, input_shape):
        self._check(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        self.compute_output_shape(input_shape)
        self.built = True

    def _merge(self, inputs):
        x, y = inputs
        r1, r2 = len(x.shape), len(y.shape)
        a1, a2 = self._axes(r1, r2)
        if self.normalize:
            x = _l2_normalize(x, a1)
            y = _l2_normalize(y, a2)
        if r1 == 2 and r2 == 2:
            return ops.sum(ops.multiply(x, y), axis=1, keepdims=True)
        # Batched contraction: move the contracted axes last / first and matmul per sample.
        if a1 != r1 - 1:
            perm = [i for i in range(r1) if i != a1] + [a1]
            x = ops.transpose(x, perm)
        if a2 != 1:
            perm = [0, a2] + [i for i in range(1, r2) if i != a2]
            y = ops.transpose(y, perm)
        if r1 == 2:
            x = ops.expand_dims(x, 1)
        if r2 == 2:
            y = ops.expand_dims(y, 2)
        out = ops.matmul(x, y)
        if r1 == 2:
            out = ops.squeeze(out, axis=1)
        if r2 == 2:
            out = ops.squeeze(out, axis=-1)
        if len(out.shape) == 1:
            out = ops.expand_dims(out, 1)
        return out

    def compute_output_shape(self, input_shape):
        s1, s2 = (list(s) for s in input_shape)
        a1, a2 = self._axes(len(s1), len(s2))
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[a1]} (at axis {a1}) != "
                             f"{s2[a2]} (at axis {a2}). Full input shapes: {s1}, {s2}")
        del s1[a1]
        del s2[a2]
        out = s1 + s2[1:]
        if len(out) == 1:
            out.append(1)
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def _l2_normalize(x, axis):
    norm = ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), 1e-12))
    return ops.divide(x, norm)


def add(inputs, **kwargs):
    """Functional form of ``Add``: ``add([x1, x2])``.

    Args:
        inputs: a list of tensors of the same (or broadcastable) shapes.
        **kwargs: passed to the ``Add`` layer (``name``, ...).

    Returns:
        Their elementwise sum.

    Example:
        >>> add([np.ones((2, 3), "float32"), np.ones((2, 3), "float32")]).shape
        (2, 3)
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of ``Subtract``.

    Args:
        inputs: a list of exactly two tensors of the same shape.
        **kwargs: passed to the ``Subtract`` layer.

    Returns:
        ``inputs[0] - inputs[1]``.

    Example:
        >>> a, b = keras.Input((2,)), keras.Input((2,))
        >>> model = keras.Model([a, b], keras.layers.subtract([a, b]))
        >>> model.predict([np.ones((1, 2)), np.full((1, 2), 3.0)], verbose=0)
        array([[-2., -2.]], dtype=float32)
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of ``Multiply``.

    Args:
        inputs: a list of tensors of the same (or broadcastable) shapes.
        **kwargs: passed to the ``Multiply`` layer.

    Returns:
        Their elementwise product.

    Example:
        >>> a, b = np.full((1, 2), 2.0, "float32"), np.full((1, 2), 3.0, "float32")
        >>> keras.layers.multiply([a, b]).numpy()
        array([[6., 6.]], dtype=float32)
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of ``Average``.

    Args:
        inputs: a list of tensors of the same (or broadcastable) shapes.
        **kwargs: passed to the ``Average`` layer.

    Returns:
        Their elementwise mean.

    Example:
        >>> a, b = np.full((1, 2), 2.0, "float32"), np.full((1, 2), 3.0, "float32")
        >>> keras.layers.average([a, b]).numpy()
        array([[2.5, 2.5]], dtype=float32)
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of ``Maximum``.

    Args:
        inputs: a list of tensors of the same (or broadcastable) shapes.
        **kwargs: passed to the ``Maximum`` layer.

    Returns:
        Their elementwise maximum.

    Example:
        >>> a, b = np.array([[1.0, 4.0]], "float32"), np.array([[3.0, 2.0]], "float32")
        >>> keras.layers.maximum([a, b]).numpy()
        array([[3., 4.]], dtype=float32)
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of ``Minimum``.

    Args:
        inputs: a list of tensors of the same (or broadcastable) shapes.
        **kwargs: passed to the ``Minimum`` layer.

    Returns:
        Their elementwise minimum.

    Example:
        >>> a, b = np.array([[1.0, 4.0]], "float32"), np.array([[3.0, 2.0]], "float32")
        >>> keras.layers.minimum([a, b]).numpy()
        array([[1., 2.]], dtype=float32)
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of ``Concatenate``: ``concatenate([a, b], axis=-1)``.

    Args:
        inputs: a list of tensors whose shapes agree except along ``axis``.
        axis: the axis to join along (default -1, the feature axis).
        **kwargs: passed to the ``Concatenate`` layer.

    Returns:
        The joined tensor.

    Example:
        >>> concatenate([np.ones((2, 4), "float32"), np.ones((2, 3), "float32")]).shape
        (2, 7)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of ``Dot``.

    Args:
        inputs: a list of two tensors.
        axes: int or pair of ints: the axes contracted (axis 0 is the batch axis).
        normalize: L2-normalise both inputs along ``axes`` first (the result is then the
            cosine similarity).
        **kwargs: passed to the ``Dot`` layer.

    Returns:
        The batched dot product, e.g. ``(batch, 1)`` for two ``(batch, d)`` inputs with
        ``axes=1``.

    Example:
        >>> a = np.array([[1.0, 2.0]], "float32")
        >>> keras.layers.dot([a, a], axes=1).numpy()
        array([[5.]], dtype=float32)
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
