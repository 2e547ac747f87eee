"""Keras 2's ``keras.utils.np_utils`` module path: ``to_categorical`` and ``normalize``.

Example:
    >>> from nnfast.utils.np_utils import to_categorical
    >>> to_categorical([0, 2], num_classes=3)
"""
from nnfast.utils.numerical_utils import normalize, to_categorical

__all__ = ["to_categorical", "normalize"]
