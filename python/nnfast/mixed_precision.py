"""``keras.mixed_precision``: the global dtype policy and the dtype policy classes.

    nnfast.mixed_precision.set_global_policy("mixed_bfloat16")
    model = nnfast.Sequential([...])        # layers compute in bfloat16, keep float32 weights

On a CPU with AMX or AVX512_BF16 the Dense/EinsumDense/matmul products then run on the
bfloat16 units (see ``nnfast.dtype_policies``).
"""
from nnfast.dtype_policies import DTypePolicy, global_dtype_policy, set_global_dtype_policy
from nnfast.optimizers.loss_scale_optimizer import LossScaleOptimizer  # noqa: F401

Policy = DTypePolicy


def set_global_policy(policy):
    """Sets the dtype policy of layers created from now on.

    Args:
        policy: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``, a ``DTypePolicy``,
            or ``None`` (back to ``floatx()``).

    Example:
        >>> nnfast.mixed_precision.set_global_policy("mixed_bfloat16")
        >>> nnfast.layers.Dense(4).compute_dtype
        'bfloat16'
        >>> nnfast.mixed_precision.set_global_policy("float32")
    """
    set_global_dtype_policy(policy)


def global_policy():
    """The global ``DTypePolicy`` (``"float32"`` unless set)."""
    return global_dtype_policy()


set_dtype_policy = set_global_policy
dtype_policy = global_policy
