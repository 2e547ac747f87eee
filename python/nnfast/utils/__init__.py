"""Utilities: ``to_categorical``, ``set_random_seed``, ``Progbar``..."""
from nnfast.backend.random import set_seed as _set_seed
from nnfast.utils.numerical_utils import normalize, to_categorical
from nnfast.utils.progbar import Progbar
from nnfast.preprocessing.sequence import pad_sequences


def set_random_seed(seed):
    """Seeds Python's ``random``, NumPy and nnfast (initializers, dropout, shuffling), so
    the same seed gives the same training run (for the same thread count)."""
    _set_seed(seed)
