"""Datasets with Keras's ``load_data`` semantics (``nnfast.datasets.mnist.load_data()``)."""
from nnfast.datasets import (boston_housing, california_housing, cifar10, cifar100, digits,
                             fashion_mnist, imdb, mnist, reuters)
