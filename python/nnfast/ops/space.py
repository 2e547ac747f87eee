"""Rearranging ops of ``keras.ops.nn``: ``depth_to_space`` / ``space_to_depth`` (reshapes
and transposes) and PyTorch-style ``unfold`` / ``fold`` (sliding blocks of NCHW batches)."""
import numpy as np

from nnfast.ops._util import value
from nnfast.ops.conv import normalize_tuple
from nnfast.ops.array import get_item, pad, reshape, transpose
from nnfast.ops.patches import extract, geometry, SumPatches


def _block(block_size):
    b = int(block_size)
    if b < 2:
        raise ValueError(f"block_size must be an integer >= 2, received block_size={block_size}")
    return b


def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves blocks of channels into spatial blocks: ``(N, H, W, C*b*b)`` ->
    ``(N, H*b, W*b, C)`` (TF's DCR order).

    Args:
        x: 4-D tensor.
        block_size: the side ``b`` of each spatial block (>= 2).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Example:
        >>> ops.depth_to_space(np.zeros((1, 2, 2, 8), "float32"), 2).shape
        (1, 4, 4, 2)
    """
    b = _block(block_size)
    shape = np.shape(value(x))
    if len(shape) != 4:
        raise ValueError(f"depth_to_space expects a 4-D input, received x.shape={shape}")
    if data_format == "channels_first":
        n, c, h, w = shape
    else:
        n, h, w, c = shape
    if c % (b * b):
        raise ValueError(f"depth_to_space: channels ({c}) must be divisible by "
                         f"block_size**2 ({b * b}); received x.shape={shape}")
    co = c // (b * b)
    if data_format == "channels_first":
        t = transpose(reshape(x, (n, b, b, co, h, w)), (0, 3, 4, 1, 5, 2))
        return reshape(t, (n, co, h * b, w * b))
    t = transpose(reshape(x, (n, h, w, b, b, co)), (0, 1, 3, 2, 4, 5))
    return reshape(t, (n, h * b, w * b, co))


def space_to_depth(x, block_size, data_format="channels_last"):
    """Inverse of ``depth_to_space``: ``(N, H*b, W*b, C)`` -> ``(N, H, W, C*b*b)``.

    Args:
        x: 4-D tensor whose height and width are multiples of ``block_size``.
        block_size: the side ``b`` of each spatial block (>= 2).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.

    Example:
        >>> ops.space_to_depth(np.zeros((1, 4, 4, 2), "float32"), 2).shape
        (1, 2, 2, 8)
    """
    b = _block(block_size)
    shape = np.shape(value(x))
    if len(shape) != 4:
        raise ValueError(f"space_to_depth expects a 4-D input, received x.shape={shape}")
    if data_format == "channels_first":
        n, c, h, w = shape
    else:
        n, h, w, c = shape
    if h % b or w % b:
        raise ValueError(f"space_to_depth: height and width must be divisible by "
                         f"block_size={b}; received x.shape={shape}")
    if data_format == "channels_first":
        t = transpose(reshape(x, (n, c, h // b, b, w // b, b)), (0, 3, 5, 1, 2, 4))
        return reshape(t, (n, c * b * b, h // b, w // b))
    t = transpose(reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
    return reshape(t, (n, h // b, w // b, c * b * b))


def _fold_args(kernel_size, dilation, padding, stride):
    return (normalize_tuple(kernel_size, 2, "kernel_size"), normalize_tuple(dilation, 2, "dilation"),
            normalize_tuple(padding, 2, "padding"), normalize_tuple(stride, 2, "stride"))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of an NCHW batch (``torch.nn.functional.unfold``):
    ``(N, C, H, W)`` -> ``(N, C*kh*kw, L)``, L the number of block positions.

    Args:
        x: ``(N, C, H, W)`` batch.
        kernel_size: int or pair: the block size.
        dilation: int or pair (default 1).
        padding: int or pair of zero padding added on both sides (default 0).
        stride: int or pair (default 1).

    Example:
        >>> ops.unfold(np.zeros((1, 3, 4, 4), "float32"), 2).shape
        (1, 12, 9)
    """
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride)
    shape = np.shape(value(x))
    if len(shape) != 4:
        raise ValueError(f"unfold expects a 4-D (N, C, H, W) input, received x.shape={shape}")
    n, c = shape[:2]
    t = transpose(x, (0, 2, 3, 1))
    if p != (0, 0):
        t = pad(t, ((0, 0), (p[0], p[0]), (p[1], p[1]), (0, 0)))
    patches = extract(t, k, s, d, "valid")  # (N, oh, ow, kh*kw*C)
    oh, ow = patches.shape[1:3]
    blocks = transpose(reshape(patches, (n, oh, ow, k[0], k[1], c)), (0, 5, 3, 4, 1, 2))
    return reshape(blocks, (n, c * k[0] * k[1], oh * ow))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums sliding blocks back into an NCHW batch (``torch.nn.functional.fold``, the
    adjoint of ``unfold``): ``(N, C*kh*kw, L)`` -> ``(N, C, *output_size)``.

    Args:
        x: ``(N, C*kh*kw, L)`` blocks.
        output_size: int or ``(H, W)``: the output's spatial size.
        kernel_size: int or pair: the block size.
        dilation: int or pair (default 1).
        padding: int or pair of implicit zero padding (default 0).
        stride: int or pair (default 1).

    Example:
        >>> ops.fold(np.ones((1, 12, 9), "float32"), (4, 4), 2).shape
        (1, 3, 4, 4)
    """
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride)
    oh_w = normalize_tuple(output_size, 2, "output_size")
    shape = np.shape(value(x))
    if len(shape) != 3 or shape[1] % (k[0] * k[1]):
        raise ValueError(f"fold expects (N, C*{k[0]}*{k[1]}, L), received x.shape={shape}")
    n, ckk, length = shape
    c = ckk // (k[0] * k[1])
    padded = (oh_w[0] + 2 * p[0], oh_w[1] + 2 * p[1])
    out, _ = geometry(padded, k, s, d, "valid")
    if out[0] * out[1] != length:
        raise ValueError(f"fold: output_size={oh_w} with kernel_size={k}, dilation={d}, "
                         f"padding={p}, stride={s} gives {out[0] * out[1]} blocks, but "
                         f"x has L={length}")
    t = transpose(reshape(x, (n, c, k[0], k[1], out[0], out[1])), (0, 4, 5, 2, 3, 1))
    t = reshape(t, (n, out[0], out[1], k[0] * k[1] * c))
    img = SumPatches.apply(t, x_shape=(n,) + padded + (c,), xp_shape=(n,) + padded + (c,),
                           size=k, strides=s, dilation=d, pads=((0, 0), (0, 0)), out=out)
    img = transpose(img, (0, 3, 1, 2))
    if p != (0, 0):
        img = get_item(img, (slice(None), slice(None), slice(p[0], p[0] + oh_w[0]),
                             slice(p[1], p[1] + oh_w[1])))
    return img
