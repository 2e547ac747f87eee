"""IMDB movie-review sentiment: 25,000 training and 25,000 test reviews as word-id lists."""
import itertools
import json

import numpy as np

from nnfast.datasets._files import get_file

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_INDEX_SHA256 = "027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6"


def _object_array(lists):
    """A 1-D object array of Python lists (never a 2-D array, even if lengths agree)."""
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def transform_sequences(groups, start_char=1, oov_char=2, index_from=3, skip_top=0,
                        num_words=None, maxlen=None):
    """Keras's word-id transform, vectorized over all sequences at once.

    ``groups`` is a list of ``(sequences, labels)`` (e.g. train and test). In Keras's order:
    each sequence becomes ``[start_char] + [w + index_from ...]``; with ``maxlen``,
    sequences of length >= maxlen (start char included) are dropped; then ids outside
    ``skip_top <= w < num_words`` become ``oov_char`` (or are removed when it is None), with
    ``num_words`` defaulting to the largest id over all groups. Returns the groups as
    ``(object array of lists, labels)``.
    """
    shift = index_from if (start_char is not None or index_from) else 0
    lengths, flats, labels = [], [], []
    for seqs, labs in groups:
        n = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        flat = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int64, count=int(n.sum()))
        flat = flat + shift
        if start_char is not None:
            starts = np.concatenate([[0], np.cumsum(n)[:-1]]) if len(n) else n
            flat = np.insert(flat, starts, start_char)
            n = n + 1
        labs = np.asarray(labs)
        if maxlen:
            keep = n < maxlen
            seq_id = np.repeat(np.arange(len(n)), n)
            flat, n, labs = flat[keep[seq_id]], n[keep], labs[keep]
        lengths.append(n)
        flats.append(flat)
        labels.append(labs)
    if maxlen and any(len(n) == 0 for n in lengths):
        raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                         "sequence was kept. Increase maxlen.")
    if not num_words:
        num_words = max(int(f.max()) for f in flats if f.size)
    out = []
    for flat, n, labs in zip(flats, lengths, labels):
        valid = (flat >= skip_top) & (flat < num_words)
        if oov_char is not None:
            flat = np.where(valid, flat, oov_char)
        else:
            seq_id = np.repeat(np.arange(len(n)), n)
            flat = flat[valid]
            n = np.bincount(seq_id[valid], minlength=len(n))
        ends = np.cumsum(n)
        values = flat.tolist()
        lists = [values[e - k:e] for e, k in zip(ends.tolist(), n.tolist())]
        out.append((_object_array(lists), labs))
    return out


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3, **kwargs):
    """Loads the IMDB dataset exactly as ``keras.datasets.imdb.load_data``.

    Train and test are each shuffled with one ``np.random.RandomState(seed)`` (train
    first); every review becomes ``[start_char] + [rank + index_from ...]``; ``maxlen``
    drops reviews whose length (start char included) is >= maxlen; ids outside
    ``skip_top <= id < num_words`` become ``oov_char`` (removed if None). ``num_words``
    defaults to the largest id, which itself then becomes OOV (Keras's quirk).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x as 1-D object arrays of int lists, y as
        int64 arrays of 0 (negative) / 1 (positive).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)
    """
    if "nb_words" in kwargs:
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
    file = get_file(path, _BASE + "imdb.npz", _SHA256)
    with np.load(file, allow_pickle=True) as f:
        x_train, labels_train = f["x_train"], f["y_train"]
        x_test, labels_test = f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    (x_train, y_train), (x_test, y_test) = transform_sequences(
        [(x_train, labels_train), (x_test, labels_test)], start_char, oov_char, index_from,
        skip_top, num_words, maxlen)
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path="imdb_word_index.json"):
    """The word -> rank dictionary (1 = most frequent). Ids in ``load_data`` are
    ``rank + index_from`` (3 by default); 0, 1, 2 are padding, start and OOV."""
    file = get_file(path, _BASE + "imdb_word_index.json", _INDEX_SHA256)
    with open(file, encoding="utf-8") as f:
        return json.load(f)
