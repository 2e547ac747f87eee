"""CIFAR-10: 50,000 training and 10,000 test colour images (32x32) of 10 classes
(A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009)."""
import os

import numpy as np

from nnfast.backend.global_state import image_data_format
from nnfast.datasets._cifar import load_batch, to_channels_last
from nnfast.datasets._files import get_extracted_folder

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# The original archive name, and the name Keras's cache gives the download.
_ARCHIVES = ["cifar-10-python.tar.gz", "cifar-10-batches-py.tar.gz"]

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]


def load_data():
    """Loads CIFAR-10 exactly as ``keras.datasets.cifar10.load_data``.

    Reads the python batches ``cifar-10-batches-py/data_batch_1..5`` and ``test_batch``,
    found extracted or as ``cifar-10-python.tar.gz`` in ``$NNFAST_DATASETS`` or the cache
    (or downloaded).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels_last), uint8 labels of shape (50000, 1) and (10000, 1).
    """
    path = get_extracted_folder("cifar-10-batches-py", _ARCHIVES, _ORIGIN, _SHA256)
    xs, ys = [], []
    for i in range(1, 6):
        x, y = load_batch(os.path.join(path, f"data_batch_{i}"))
        xs.append(x)
        ys.append(np.asarray(y, dtype=np.uint8))
    x_train = np.concatenate(xs)
    y_train = np.concatenate(ys)
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test), (len(y_test), 1)).astype(y_train.dtype)
    if image_data_format() == "channels_last":
        x_train, x_test = to_channels_last(x_train), to_channels_last(x_test)
    return (x_train, y_train), (x_test.astype(x_train.dtype), y_test)
