"""Reuters newswire topics: 11,228 newswires as word-id lists, 46 topics."""
import json

import numpy as np

from nnfast.datasets._files import get_file
from nnfast.datasets.imdb import transform_sequences

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_INDEX_SHA256 = "9b56000edc4b34a32e89fd5a23b2605594682c74efcf7d8f4e2a5514b771e633"

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the Reuters newswires exactly as ``keras.datasets.reuters.load_data``.

    One ``np.random.RandomState(seed)`` shuffle of the whole set, then the id transform of
    ``imdb.load_data`` (start_char, index_from, maxlen, skip_top/num_words -> oov_char),
    then the first ``int(len * (1 - test_split))`` samples are the training set.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x as 1-D object arrays of int lists, y
        int64 topic ids in [0, 46).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)
    """
    if "nb_words" in kwargs:
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    file = get_file(path, _BASE + "reuters.npz", _SHA256)
    with np.load(file, allow_pickle=True) as f:
        xs, labels = f["x"], f["y"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]
    [(xs, labels)] = transform_sequences([(xs, labels)], start_char, oov_char, index_from,
                                         skip_top, num_words, maxlen)
    idx = int(len(xs) * (1 - test_split))
    return (xs[:idx], np.array(labels[:idx])), (xs[idx:], np.array(labels[idx:]))


def get_word_index(path="reuters_word_index.json"):
    """The word -> rank dictionary; ids in ``load_data`` are ``rank + index_from``."""
    file = get_file(path, _BASE + "reuters_word_index.json", _INDEX_SHA256)
    with open(file, encoding="utf-8") as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, indexed by label id."""
    return _LABEL_NAMES
