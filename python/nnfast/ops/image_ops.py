"""Spatial reshaping ops for image layers (zero padding, nearest upsampling), with gradients.
Cropping uses ``ops.get_item``."""
import numpy as np

from nnfast.backend.tape import Function
from nnfast.ops._util import f32


class ZeroPad(Function):
    """Zero padding with ``pads`` = ((before, after), ...) per axis."""

    @staticmethod
    def forward(ctx, x, pads):
        x = f32(x)
        ctx.slices = tuple(slice(b, b + n) for (b, _), n in zip(pads, x.shape))
        return np.pad(x, pads)

    @staticmethod
    def backward(ctx, g):
        return np.ascontiguousarray(g[ctx.slices])


def zero_pad(x, pads):
    """Pads ``x`` with zeros; ``pads`` has one (before, after) pair per axis."""
    return ZeroPad.apply(x, tuple((int(b), int(a)) for b, a in pads))


class RepeatSpatial(Function):
    """Nearest-neighbour upsampling: repeats axis i ``sizes[i]`` times (1 = unchanged)."""

    @staticmethod
    def forward(ctx, x, sizes):
        x = f32(x)
        ctx.params = (x.shape, sizes)
        y = x
        for axis, s in enumerate(sizes):
            if s != 1:
                y = np.repeat(y, s, axis=axis)
        return np.ascontiguousarray(y)

    @staticmethod
    def backward(ctx, g):
        shape, sizes = ctx.params
        split = []
        for n, s in zip(shape, sizes):
            split += [n, s]
        # Sum each block of repeated copies back onto its source element.
        return np.ascontiguousarray(
            g.reshape(split).sum(axis=tuple(range(1, 2 * len(shape), 2)), dtype=np.float32))


def repeat_spatial(x, sizes):
    """Repeats each element ``sizes[i]`` times along axis i (nearest upsampling)."""
    return RepeatSpatial.apply(x, tuple(int(s) for s in sizes))
