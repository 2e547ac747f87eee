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
from nnfast.ops.conv import (
    conv, conv2d_inference, conv2d_relu_max_pool, conv_fused, conv_relu_max_pool_supported,
    conv_transpose, conv_transpose_fused, depthwise_conv, separable_conv, separable_inference,
)
from nnfast.ops.norm import batch_norm_train, batch_normalization, layer_normalization
from nnfast.ops.pool import average_pool, global_pool, max_pool
from nnfast.ops.embedding import embedding
from nnfast.ops.rnn import gru, lstm, simple_rnn

# Every public op above (and in the Keras-named submodules) records a graph node when given a
# KerasTensor: keep this line last so that ops added above are covered.
from nnfast.ops.symbolic import install as _install_symbolic_dispatch  # noqa: E402
_install_symbolic_dispatch(globals())
