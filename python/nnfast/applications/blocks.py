"""Building blocks shared by the applications: conv -> batch norm -> activation, and
squeeze-and-excitation. Each takes Keras's layer names so ImageNet weight files load."""
from nnfast import layers


def conv_bn(x, filters, kernel_size, strides=1, padding="same", use_bias=False,
            activation="relu", name=None, bn_name=None, act_name=None, bn_axis=-1,
            bn_scale=True, bn_epsilon=1e-3, bn_momentum=0.99,
            kernel_initializer="glorot_uniform"):
    """``Conv2D`` (no bias by default) -> ``BatchNormalization`` -> activation.

    Args:
        x: 4-D KerasTensor (B, H, W, C), channels last.
        filters, kernel_size, strides, padding, use_bias, kernel_initializer: the
            ``Conv2D`` arguments.
        activation: a name ("relu", "swish"...: an ``Activation`` layer named
            ``act_name``), a callable taking and returning a tensor (a block of its own,
            e.g. ``lambda t: layers.ReLU()(t)``), or None for no activation.
        name: the conv's name (None: auto-named, as Keras does).
        bn_name, act_name: the batch norm's and activation's names (None: auto-named).
        bn_axis, bn_scale, bn_epsilon, bn_momentum: the ``BatchNormalization`` arguments
            (the channel axis, -1 or 3, as the Keras model writes it in its config).

    Returns:
        The 4-D output tensor (B, H', W', filters).

    Example:
        >>> y = conv_bn(nnfast.Input((32, 32, 3)), 16, 3, strides=2, name="stem_conv",
        ...             bn_name="stem_bn", act_name="stem_activation")
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, kernel_initializer=kernel_initializer, name=name)(x)
    x = layers.BatchNormalization(axis=bn_axis, scale=bn_scale, epsilon=bn_epsilon,
                                  momentum=bn_momentum, name=bn_name)(x)
    return apply_activation(x, activation, act_name)


def apply_activation(x, activation, name=None):
    """``x`` through ``activation``: None (unchanged), a string/registered function (an
    ``Activation`` layer named ``name``), or a callable block ``f(tensor) -> tensor``."""
    if activation is None:
        return x
    if isinstance(activation, str):
        return layers.Activation(activation, name=name)(x)
    return activation(x)


def squeeze_excite(x, filters_se, activation, gate, reshape=True, pool_name=None,
                   reshape_name=None, reduce_name=None, expand_name=None, multiply_name=None,
                   kernel_initializer="glorot_uniform"):
    """Squeeze-and-excitation: global average pooling, a 1x1 conv to ``filters_se`` with
    ``activation``, a 1x1 conv back to the channels, ``gate``, times ``x``.

    Args:
        x: 4-D KerasTensor (B, H, W, C).
        filters_se: channels of the bottleneck.
        activation: activation of the bottleneck conv: a string fused into the conv, or a
            callable block applied after it (see ``apply_activation``).
        gate: the gate after the expansion conv: a string fused into the conv ("sigmoid")
            or a callable block (e.g. MobileNetV3's hard sigmoid).
        reshape: True pools to (B, C) then reshapes to (B, 1, 1, C) (EfficientNet); False
            pools with ``keepdims=True`` (MobileNetV3).
        *_name: Keras's layer names.

    Returns:
        (B, H, W, C): ``x`` scaled per channel.

    Example:
        >>> y = squeeze_excite(x, 8, "swish", "sigmoid", reduce_name="se_reduce",
        ...                    expand_name="se_expand")
    """
    channels = x.shape[-1]
    if reshape:
        se = layers.GlobalAveragePooling2D(name=pool_name)(x)
        se = layers.Reshape((1, 1, channels), name=reshape_name)(se)
    else:
        se = layers.GlobalAveragePooling2D(keepdims=True, name=pool_name)(x)
    fused = isinstance(activation, str)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation if fused else None,
                       kernel_initializer=kernel_initializer, name=reduce_name)(se)
    if not fused:
        se = activation(se)
    fused_gate = isinstance(gate, str)
    se = layers.Conv2D(channels, 1, padding="same", activation=gate if fused_gate else None,
                       kernel_initializer=kernel_initializer, name=expand_name)(se)
    if not fused_gate:
        se = gate(se)
    return layers.Multiply(name=multiply_name)([x, se])
