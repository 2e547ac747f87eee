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
