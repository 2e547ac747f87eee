"""3-D convolution layers: ``Conv3D`` and ``Conv3DTranspose`` (``Convolution3D``,
``Convolution3DTranspose``).

Tensors are NDHWC (``channels_last``, Keras's default); ``channels_first`` is transposed at the
boundary. Kernels use Keras's layouts, (kd, kh, kw, in/groups, filters) and (kd, kh, kw,
filters, in), so weights move between Keras and nnfast with ``set_weights``. Convolution, bias
and activation run as one C++ call (``nnfast.ops.conv3d``).
"""
from nnfast.layers.convolutional import BaseConvND, _ConvTransposeBase
from nnfast.ops.conv3d import conv3d_bias_activation, conv3d_transpose_bias_activation


class Conv3D(BaseConvND):
    """3-D convolution (volumes, video): ``activation(conv3d(inputs, kernel) + bias)``.

    Args:
        filters: number of output channels.
        kernel_size: int or (kd, kh, kw).
        strides: int or triple, default 1.
        padding: ``"valid"`` (no padding) or ``"same"`` (output ``ceil(n / stride)``).
        data_format: ``"channels_last"`` (default, the fast path) or ``"channels_first"``.
        dilation_rate: int or triple: the spacing of the kernel's taps.
        groups: split the input channels into this many independent groups.
        activation: applied to the result (name, function or None for linear).
        use_bias: add a learned bias per output channel.
        kernel_initializer: default ``"glorot_uniform"``.
        bias_initializer: default ``"zeros"``.
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: constraint applied to the kernel after each update, or None.
        bias_constraint: constraint applied to the bias after each update, or None.

    Kernel ``(kd, kh, kw, in/groups, filters)``; input ``(batch, d, h, w, in)``; output
    ``(batch, od, oh, ow, filters)``.

    Example:
        >>> Conv3D(8, 3, activation="relu")(np.zeros((2, 10, 12, 12, 1), "float32")).shape
        (2, 8, 10, 10, 8)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1, 1), groups=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         groups, activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)

    def call(self, inputs):
        out = conv3d_bias_activation(inputs, self.kernel, self.bias, self.strides, self.padding,
                                     self.dilation_rate, activation=self._kernel_activation,
                                     data_format=self.data_format)
        return self._apply(out)


class Conv3DTranspose(_ConvTransposeBase):
    """Transposed 3-D convolution (the gradient of ``Conv3D`` with respect to its input).

    Kernel ``(kd, kh, kw, filters, in)`` (Keras's layout). Output size per axis as
    ``Conv2DTranspose``: 'valid' ``(n - 1) * s + max(k_eff, s)``, 'same' ``n * s``, and with
    ``output_padding`` op ``(n - 1) * s + k_eff + op`` ('valid') or
    ``(n - 1) * s + k_eff % 2 + op`` ('same').

    Args:
        filters: number of output channels.
        kernel_size: int or triple: the window's extent along each spatial axis.
        strides: int or triple: the step between windows (default 1).
        padding: ``"valid"`` or ``"same"`` (see the output size above).
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        output_padding: None or int or triple: extra rows added on one side of the output, each
            smaller than its stride.
        dilation_rate: int or triple: the spacing of the kernel's taps (1: contiguous).
        activation: applied to the result (a name, a function, or None for linear).
        use_bias: whether to add a learned bias per output channel.
        kernel_initializer: initializer of the kernel (default ``"glorot_uniform"``).
        bias_initializer: initializer of the bias (default ``"zeros"``).
        kernel_regularizer: penalty on the kernel added to the model's losses, or None.
        bias_regularizer: penalty on the bias, or None.
        activity_regularizer: penalty on the layer's output, or None.
        kernel_constraint: function applied to the kernel after each optimizer update, or None.
        bias_constraint: function applied to the bias after each update, or None.

    Example:
        >>> Conv3DTranspose(4, 3, strides=2, padding="same")(
        ...     np.zeros((1, 3, 4, 5, 2), "float32")).shape
        (1, 6, 8, 10, 4)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid",
                 data_format=None, output_padding=None, dilation_rate=(1, 1, 1),
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)

    def call(self, inputs):
        out = conv3d_transpose_bias_activation(inputs, self.kernel, self.bias, self.strides,
                                               self.padding, self.output_padding,
                                               self.dilation_rate,
                                               activation=self._kernel_activation,
                                               data_format=self.data_format)
        return self._apply(out)


Convolution3D = Conv3D
Convolution3DTranspose = Conv3DTranspose
