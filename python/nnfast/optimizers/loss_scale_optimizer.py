"""``LossScaleOptimizer``: dynamic loss scaling around another optimizer (Keras 3's), for
float16 training where small gradients would underflow."""
import numpy as np

from nnfast.optimizers.optimizer import Optimizer


class LossScaleOptimizer(Optimizer):
    """Scales the loss up before differentiation and the gradients back down, adapting the
    scale: every step whose gradients are all finite is applied by ``inner_optimizer`` and,
    after ``dynamic_growth_steps`` such steps in a row, the scale doubles; a step with an
    inf/NaN gradient is skipped and halves the scale. ``fit`` (and the default
    ``train_step``) call ``scale_loss``; a custom training loop calls it too::

        with nnfast.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            scaled = optimizer.scale_loss(loss)
        optimizer.apply(tape.gradient(scaled, model.trainable_variables),
                        model.trainable_variables)

    ``compile(auto_scale_loss=True)`` (the default) wraps the optimizer in one when the
    model's dtype policy is ``"mixed_float16"``, as Keras does.

    Args:
        inner_optimizer: the ``Optimizer`` that applies the unscaled gradients.
        initial_scale: the first loss scale (default ``2**15``).
        dynamic_growth_steps: finite steps in a row before the scale doubles (default 2000).
        name: the optimizer's name (default ``"loss_scale_optimizer"``).
        **kwargs: the base optimizer arguments (Keras accepts them; they do not apply).

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> opt = nnfast.optimizers.LossScaleOptimizer(nnfast.optimizers.SGD(0.01))
        >>> model.compile(optimizer=opt, loss="mse")
    """

    def __init__(self, inner_optimizer, initial_scale=32768.0, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError("Argument `inner_optimizer` must be an instance of "
                             f"`keras.optimizers.Optimizer`. Received: {inner_optimizer}")
        if "loss_scale_factor" in kwargs and kwargs["loss_scale_factor"] is not None:
            raise ValueError("Argument `loss_scale_factor` is not supported by "
                             "LossScaleOptimizer: it scales the loss itself.")
        kwargs.pop("loss_scale_factor", None)
        super().__init__(learning_rate=0.0, name=name or "loss_scale_optimizer", **kwargs)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self._dynamic_scale = np.array(self.initial_scale, np.float32)
        self._step_counter = np.array(0, np.int64)

    @property
    def dynamic_scale(self):
        """The current loss scale."""
        return float(self._dynamic_scale)

    @property
    def step_counter(self):
        """Finite steps since the scale last changed."""
        return int(self._step_counter)

    def scale_loss(self, loss):
        """``loss`` times the current scale."""
        return loss * np.float32(self._dynamic_scale)

    def build(self, var_list):
        if self.built:
            return
        self.inner_optimizer.build(var_list)
        self._trainable_variables = list(var_list)
        self.built = True

    def apply(self, grads, trainable_variables=None):
        """Applies ``grads / scale`` through the inner optimizer when all are finite (then
        maybe doubles the scale); otherwise skips the step and halves the scale."""
        grads = list(grads)
        if trainable_variables is not None and not self.built:
            self.build(list(trainable_variables))
        finite = all(g is None or np.isfinite(np.asarray(g)).all() for g in grads)
        if not finite:
            self._step_counter[...] = 0
            self._dynamic_scale[...] = self._dynamic_scale / np.float32(2.0)
            return
        inner = self.inner_optimizer
        # The inner optimizer divides the scale out (tokens of embedding gradients too).
        saved, inner.loss_scale_factor = inner.loss_scale_factor, float(self._dynamic_scale)
        try:
            inner.apply(grads, trainable_variables)
        finally:
            inner.loss_scale_factor = saved
        self._iterations += 1
        if self._step_counter == self.dynamic_growth_steps - 1:
            self._step_counter[...] = 0
            self._dynamic_scale[...] = self._dynamic_scale * np.float32(2.0)
        else:
            self._step_counter += 1

    def apply_gradients(self, grads_and_vars):
        grads, variables = zip(*list(grads_and_vars))
        return self.apply(list(grads), list(variables))

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value):
        self.inner_optimizer.iterations = value

    @property
    def variables(self):
        """``[step_counter, dynamic_scale]`` then the inner optimizer's variables."""
        return [self._step_counter, self._dynamic_scale] + list(self.inner_optimizer.variables)

    def set_weights(self, weights):
        weights = list(weights)
        self._step_counter[...] = np.asarray(weights[0])
        self._dynamic_scale[...] = np.asarray(weights[1])
        self.inner_optimizer.set_weights(weights[2:])

    def finalize_variable_values(self, var_list=None):
        finalize = getattr(self.inner_optimizer, "finalize_variable_values", None)
        if finalize is not None:
            finalize(var_list)

    def get_config(self):
        from nnfast.optimizers import serialize

        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from nnfast.optimizers import deserialize

        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"), custom_objects)
        return cls(inner, **config)
