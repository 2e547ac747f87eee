"""CIFAR-100: 50,000 training and 10,000 test colour images (32x32) of 100 fine classes
grouped in 20 coarse superclasses (A. Krizhevsky, 2009)."""
import os

import numpy as np

from nnfast.backend.global_state import image_data_format
from nnfast.datasets._cifar import load_batch, to_channels_last
from nnfast.datasets._files import get_extracted_folder

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
_SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"
_ARCHIVES = ["cifar-100-python.tar.gz"]


def load_data(label_mode="fine"):
    """Loads CIFAR-100 exactly as ``keras.datasets.cifar100.load_data``.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    Reads ``cifar-100-python/train`` and ``test``, found extracted or as
    ``cifar-100-python.tar.gz`` in ``$NNFAST_DATASETS`` or the cache (or downloaded).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels_last), int64 labels of shape (n, 1).
    """
    if label_mode not in ["fine", "coarse"]:
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: '
                         f"label_mode={label_mode}.")
    path = get_extracted_folder("cifar-100-python", _ARCHIVES, _ORIGIN, _SHA256)
    key = label_mode + "_labels"
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=key)
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=key)
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    if image_data_format() == "channels_last":
        x_train, x_test = to_channels_last(x_train), to_channels_last(x_test)
    return (x_train, y_train), (x_test, y_test)
