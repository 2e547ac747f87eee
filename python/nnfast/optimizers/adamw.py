"""AdamW: Adam with decoupled weight decay (on by default)."""
from nnfast.optimizers.adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay ``w -= w * weight_decay * lr`` before each update
    (Loshchilov & Hutter), fused into the same pass.

    Args:
        learning_rate: default 0.001.
        weight_decay: default 0.004 (must not be None).
        beta_1: decay rate of the first-moment estimate (default 0.9).
        beta_2: decay rate of the second-moment estimate (default 0.999).
        epsilon: added to the denominator for stability (default 1e-7).
        amsgrad: use the running maximum of the second moment.
        clipnorm: clip each gradient to this L2 norm (None: no clipping).
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]`` (None: no clipping).
        global_clipnorm: clip all gradients together so that their joint L2 norm is at most this
            (None: no clipping; exclusive with ``clipnorm``).
        use_ema: keep an exponential moving average of the weights (written into the model every
            ``ema_overwrite_frequency`` steps and by ``finalize_variable_values``). Defaults to
            ``False``.
        ema_momentum: momentum of that moving average, ``ema = m * ema + (1 - m) * w`` (used with
            ``use_ema=True``). Defaults to ``0.99``.
        ema_overwrite_frequency: every how many iterations the moving average overwrites the
            weights (None: only at the end of ``fit``).
        loss_scale_factor: multiply the loss by this before computing gradients and divide the
            gradients by it (None: no scaling), for low-precision training.
        gradient_accumulation_steps: apply the mean gradient of this many steps once, every that
            many steps (None: every step).
        name: name of the optimizer (prefixes its variables); None: the class name in snake case.

    Example:
        >>> opt = AdamW(learning_rate=1e-3, weight_decay=1e-2)
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name or "adamw", **kwargs)
