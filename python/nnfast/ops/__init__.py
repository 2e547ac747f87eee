"""``nnfast.ops``: the public op set, named as ``keras.ops``.

Every op accepts NumPy arrays, Python numbers and nnfast tensors, returns a ``Tensor``,
and is differentiable under ``nnfast.GradientTape`` (custom layers written with these ops
get gradients for free). Heavy ops run on nnfast's C++ kernels.
"""
from nnfast.ops.array import (
    arange, argsort, broadcast_to, cast, concatenate, convert_to_numpy, convert_to_tensor, eye,
    expand_dims, flatten, full, get_item, moveaxis, one_hot, ones, ones_like, pad, repeat, reshape,
    shape, sort, split, squeeze, stack, stop_gradient, swapaxes, tile, top_k, transpose, where,
    zeros, zeros_like,
)
from nnfast.ops.math import (
    abs, absolute, add, argmax, argmin, clip, cos, cumsum, divide, dot, equal, exp, floor, greater,
    greater_equal, less, less_equal, log, log1p, logical_and, logical_or, logsumexp, matmul, max,
    maximum, mean, min, minimum, multiply, negative, not_equal, power, prod, round, sign, sin,
    sqrt, square, std, subtract, sum, true_divide, var,
)
from nnfast.ops.nn import (
    binary_crossentropy, categorical_crossentropy, dense, dropout, elu, exponential, gelu,
    hard_sigmoid, hard_silu, hard_swish, leaky_relu, linear, log_softmax, mean_absolute_error,
    mean_squared_error, mish, relu, relu6, selu, sigmoid, silu, softmax, softplus, softsign,
    sparse_categorical_crossentropy, swish, tanh,
)
from nnfast.ops.conv import conv, conv_transpose, depthwise_conv, separable_conv
# NOTE: not keras.ops names; kept under the names existing callers use. Fusion-only ops live
# in nnfast.ops.fused.
from nnfast.ops.conv import conv_bias_activation as conv_fused
from nnfast.ops.conv import conv_transpose_bias_activation as conv_transpose_fused
from nnfast.ops.norm import batch_norm_train, batch_normalization, layer_normalization
from nnfast.ops.pool import average_pool, global_pool, max_pool
from nnfast.ops.embedding import embedding
from nnfast.ops.rnn import gru, lstm, simple_rnn
# Core names (control flow, custom_gradient, scatter/segment/top-k, special functions): these
# take over cast/convert_to_*/shape/stop_gradient/top_k/logsumexp with Keras's signatures.
from nnfast.ops.core import (
    associative_scan, cast, cdist, cond, convert_to_numpy, convert_to_tensor, custom_gradient,
    erf, erfc, erfinv, fori_loop, in_top_k, is_tensor, logdet, logsumexp, map, rearrange,
    rsqrt, saturate_cast, scan, scatter, scatter_update, segment_max, segment_min, segment_prod,
    segment_sum, shape, slice, slice_update, stop_gradient, switch, top_k, unstack,
    vectorized_map, view_as_complex, view_as_real, while_loop,
)
from nnfast.ops.signal import extract_sequences, fft, fft2, ifft2, irfft, istft, rfft, stft
# keras.ops.nn / image / linalg: public submodules, with the nn and linalg names also at top level.
from nnfast.ops.nn import (  # noqa: E402,F811
    adaptive_average_pool, adaptive_max_pool, batch_normalization, celu, ctc_decode, ctc_loss,
    depth_to_space,
    dot_product_attention, fold, glu, hard_shrink, hard_tanh, layer_normalization, log_sigmoid,
    moments, multi_hot, normalize, one_hot, polar, psnr, rms_normalization, soft_shrink,
    space_to_depth, sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold,
    unfold,
)
from nnfast.ops import image, linalg  # noqa: E402
from nnfast.ops.linalg import (  # noqa: E402
    cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, lstsq, lu_factor, matrix_rank, norm,
    pinv, qr, solve, solve_triangular, svd,
)
# keras.ops.numpy, also exported at top level as Keras does (after nn: ops.tanh is numpy's).
from nnfast.ops import numpy  # noqa: E402
from nnfast.ops.numpy import *  # noqa: E402,F401,F403
from nnfast.ops._dtype import dtype  # noqa: E402,F401

# Every public op above (and in the Keras-named submodules) records a graph node when given a
# KerasTensor: keep this line last so that ops added above are covered.
from nnfast.ops.symbolic import install as _install_symbolic_dispatch  # noqa: E402
_install_symbolic_dispatch(globals())
