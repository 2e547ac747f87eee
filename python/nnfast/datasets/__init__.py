"""Datasets with Keras's ``load_data`` semantics (``nnfast.datasets.mnist.load_data()``)."""
from nnfast.datasets import digits, imdb, mnist, reuters
