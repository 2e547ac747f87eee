"""``SwapEMAWeights``: evaluate and predict with the optimizer's moving averages."""
import numpy as np

from nnfast.callbacks import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's exponential moving averages
    (``use_ema=True``) for evaluation and prediction, and back afterwards; with
    ``swap_on_epoch`` also around each epoch's end (the averages are in the model between
    epochs, and stay there after the last one).

    The swap is Keras-on-TensorFlow's add/subtract form (``a += b; b = a - b; a -= b``), so
    the values match Keras's to the last float32 bit. As in Keras 3.15, ``on_predict_end``
    leaves the averages in the model.

    Args:
        swap_on_epoch: also swap around each epoch's end, so epoch-end callbacks (checkpoints,
            early stopping) see the averaged weights (default False).

    Example:
        >>> model.compile(optimizer=keras.optimizers.SGD(use_ema=True), loss="mse")
        >>> model.fit(x, y, validation_data=(vx, vy), callbacks=[SwapEMAWeights()])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        opt = self.model.optimizer
        opt = getattr(opt, "inner_optimizer", opt)
        if not getattr(opt, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the "
                             f"optimizer. Received: use_ema={getattr(opt, 'use_ema', None)}")
        return opt

    def _swap_variables(self):
        opt = self._optimizer()
        for var, avg in zip(opt._trainable_variables, opt._ema):
            a = var.value
            a += avg
            np.subtract(a, avg, out=avg)
            a -= avg

    def _finalize_ema_values(self):
        opt = self._optimizer()
        for var, avg in zip(opt._trainable_variables, opt._ema):
            np.copyto(avg, var.value)

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_predict_end(self, logs=None):
        # NOTE: Keras 3.15 tests the flag the wrong way round here, so the averages stay.
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False
