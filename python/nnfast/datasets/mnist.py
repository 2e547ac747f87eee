"""MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels."""
import numpy as np

from nnfast.datasets._files import get_file

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Loads MNIST exactly as ``keras.datasets.mnist.load_data``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,). Pixel values 0..255, labels 0..9.
    """
    file = get_file(path, _ORIGIN, _SHA256)
    with np.load(file, allow_pickle=True) as f:
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
    return (x_train, y_train), (x_test, y_test)
