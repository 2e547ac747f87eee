"""Keras 2's ``Sequential.predict_classes`` and ``predict_proba`` (Keras 2.0-2.5; removed
in TF 2.6 / Keras 3), mixed into ``Sequential``."""
import warnings

import numpy as np


class Keras2SequentialMethods:
    """``predict_classes`` / ``predict_proba`` as Keras 2's ``Sequential`` had them."""

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class ids for ``x``: ``argmax`` over the last axis when the model has several
        outputs per sample, else ``int32(probability > 0.5)`` (a sigmoid output).

        Returns: an int array, ``(batch,)`` for a softmax model, ``(batch, 1)`` for a
        single sigmoid unit.

        Example:
            >>> classes = model.predict_classes(x_test)
        """
        proba = np.asarray(self.predict(x, batch_size=batch_size, verbose=verbose))
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """The model's output (``predict``), warning, as Keras 2 did, when values fall
        outside ``[0, 1]`` (the last layer is not a sigmoid/softmax).

        Example:
            >>> proba = model.predict_proba(x_test)
        """
        preds = np.asarray(self.predict(x, batch_size=batch_size, verbose=verbose))
        if preds.size and (preds.min() < 0.0 or preds.max() > 1.0):
            warnings.warn("Network returning invalid probability values. The last layer "
                          "might not normalize predictions into probabilities (like "
                          "softmax or sigmoid would).", stacklevel=2)
        return preds
