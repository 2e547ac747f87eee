"""Dataset helpers of keras.utils: ``timeseries_dataset_from_array``, ``text_dataset_from_directory`` and ``split_dataset``.

The datasets are Python iterables of NumPy batches with ``len`` and indexing, the
``PyDataset`` protocol ``fit``/``evaluate``/``predict`` take (no ``tf.data``)."""
import math

import numpy as np

from nnfast.utils.image_dataset import (ImageDataset, _split, check_dataset_format,
                                         index_directory)


class ArrayBatches:
    """Batches of in-memory samples: element ``i`` of each array in ``arrays`` (a tuple of
    arrays with the same first axis, or a function ``make(indices)`` returning one batch),
    ``batch_size`` at a time (None: one sample per element), in ``order``.

    ``len(ds)`` batches; ``ds[i]``; iteration; ``on_epoch_end``; ``map``/``take``/
    ``cache``/``prefetch``/``unbatch``/``batch`` for ``tf.data``-style code."""

    def __init__(self, count, make, batch_size=None, order=None, single=False):
        self._count, self._make, self.batch_size = int(count), make, batch_size
        self._order = np.arange(self._count) if order is None else np.asarray(order)
        self._single = single

    @classmethod
    def from_arrays(cls, arrays, batch_size=None, order=None):
        single = not isinstance(arrays, tuple)
        parts = (arrays,) if single else arrays

        def make(idx):
            out = tuple(np.asarray(a)[idx] for a in parts)
            return out[0] if single else out

        count = len(parts[0]) if order is None else len(order)
        return cls(count, make, batch_size, order, single)

    def __len__(self):
        if self.batch_size is None:
            return self._count
        return math.ceil(self._count / self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        index %= len(self)
        if self.batch_size is None:
            return self._make(self._order[index])
        return self._make(self._order[index * self.batch_size:(index + 1) * self.batch_size])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
        self.on_epoch_end()

    def on_epoch_end(self):
        pass

    @property
    def num_batches(self):
        return len(self)

    def batch(self, batch_size, drop_remainder=False):
        """The same samples in batches of ``batch_size`` (only on an unbatched dataset)."""
        if self.batch_size is not None:
            raise NotImplementedError("batch() of an already batched dataset; use unbatch() first.")
        order = self._order
        if drop_remainder:
            order = order[:len(order) - len(order) % batch_size]
        return ArrayBatches(len(order), self._make, int(batch_size), order)

    def unbatch(self):
        """The same samples one at a time."""
        return ArrayBatches(self._count, self._make, None, self._order)

    def take(self, count):
        """The first ``count`` elements."""
        n = min(count, len(self)) if count >= 0 else len(self)
        if self.batch_size is None:
            return ArrayBatches(n, self._make, None, self._order[:n])
        order = self._order[:n * self.batch_size]
        return ArrayBatches(len(order), self._make, self.batch_size, order)

    def skip(self, count):
        """All but the first ``count`` elements."""
        step = 1 if self.batch_size is None else self.batch_size
        order = self._order[count * step:]
        return ArrayBatches(len(order), self._make, self.batch_size, order)

    def map(self, fn):
        """Elements ``fn(*element)`` (or ``fn(element)``)."""
        make = self._make

        def mapped(idx):
            out = make(idx)
            return fn(*out) if isinstance(out, tuple) else fn(out)

        return ArrayBatches(self._count, mapped, self.batch_size, self._order)

    def cache(self, filename=""):
        return self

    def prefetch(self, buffer_size=None):
        return self

    def as_numpy_iterator(self):
        return iter(self)


class _ShuffledArrayBatches(ArrayBatches):
    """Re-draws the sample order after every pass (``RandomState(seed)``)."""

    def __init__(self, count, make, batch_size, seed):
        self._rng = np.random.RandomState(seed)
        super().__init__(count, make, batch_size, self._rng.permutation(count))

    def on_epoch_end(self):
        self._order = self._rng.permutation(self._count)




def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Sliding windows over a time series: window ``i`` starts at
    ``start_index + i * sequence_stride`` and holds ``sequence_length`` steps taken every
    ``sampling_rate`` rows of ``data``; its target is ``targets[start]`` (Keras's rule).

    Args:
        data: array (steps, ...).
        targets: array aligned with ``data`` or None (windows only).
        sequence_length: the number of time steps in each window.
        sequence_stride: the step between the starts of consecutive windows.
        sampling_rate: the step between the rows inside a window.
        batch_size: windows per batch (None: one window per element).
        shuffle: shuffle the windows (``RandomState(seed)``); Keras then also runs a
            buffered ``tf.data`` shuffle whose order nnfast does not reproduce.
        seed: the shuffle's seed.
        start_index: the first row of ``data`` used.
        end_index: the row after the last one used (None: the end).
        format: "tf" (nnfast's batched dataset; see ``check_dataset_format``).

    Returns:
        A dataset of ``(windows, targets)`` batches (windows ``(batch, sequence_length,
        ...)``), or of windows alone when ``targets`` is None.

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3,
        ...                                    batch_size=2)
        >>> ds[0]   # [[0, 1, 2], [1, 2, 3]]
        array([[0, 1, 2],
               [1, 2, 3]])
    """
    check_dataset_format(format)
    data = np.asarray(data)
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length {n}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {n}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for arg, val in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if val <= 0:
            raise ValueError(f"`{arg}` must be higher than 0. Received: {arg}={val}")
        if val >= n:
            raise ValueError(f"`{arg}` must be lower than the length of the data. Received: "
                             f"{arg}={val}, for data of length {n}")
    start = start_index or 0
    end = n if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    offsets = np.arange(0, sequence_length * sampling_rate, sampling_rate)

    def make(idx):
        pos = positions[np.atleast_1d(idx)]
        windows = data[start + pos[:, None] + offsets[None, :]]
        if np.ndim(idx) == 0:
            windows, pos = windows[0], pos[0]
        if targets is None:
            return windows
        return windows, targets[start + pos]

    return ArrayBatches(len(positions), make, batch_size)


class TextDataset(ImageDataset):
    """Batches of ``(texts, labels)`` read from text files: texts are a NumPy array of
    ``str`` (object dtype), truncated to ``max_length`` characters; labels as
    ``ImageDataset``'s."""

    def __init__(self, file_paths, labels, class_names, label_mode, batch_size, shuffle, seed,
                 max_length=None, encoding="utf-8"):
        super().__init__(file_paths, labels, class_names, label_mode, (1, 1), 1, "bilinear",
                         batch_size, shuffle, seed)
        self.max_length, self.encoding = max_length, encoding

    def _text(self, i):
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        with open(self.file_paths[i], "rb") as f:
            text = f.read().decode(self.encoding, errors="replace")
        if self.max_length is not None:
            text = text[:self.max_length]
        if self._cache is not None:
            self._cache[i] = text
        return text

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for a dataset of {len(self)} "
                             f"batches.")
        index %= len(self)
        if self.batch_size is None:
            idx = self._order[index:index + 1]
        else:
            idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        texts = np.empty(len(idx), dtype=object)
        texts[:] = [self._text(int(i)) for i in idx]
        labels = self._batch_labels(idx)
        if self.batch_size is None:
            texts = texts[0]
            labels = None if labels is None else labels[0]
        return texts if labels is None else (texts, labels)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                batch_size=32, max_length=None, shuffle=True, seed=None,
                                validation_split=None, subset=None, follow_links=False,
                                format="tf", verbose=True):
    """A dataset of ``(texts, labels)`` from ``.txt`` files in a class-per-folder tree
    (``directory/class_a/*.txt``), with Keras's file order, shuffling (by ``seed``) and
    ``validation_split``/``subset`` rules (``subset="both"`` returns two datasets).

    Args:
        directory: the folder holding one sub-folder per class.
        labels: ``"inferred"`` (labels from the sub-folder names), None (no labels), or a
            list/tuple of integer labels, one per file in alphanumeric order of paths. Defaults to
            ``"inferred"``.
        label_mode: ``"int"`` (class ids), ``"categorical"`` (one-hot), ``"binary"`` (0/1 floats,
            two classes) or None (no labels). Defaults to ``"int"``.
        class_names: the list of sub-folder names to use, in this order (only with
            ``labels="inferred"``); None: all, alphanumerically.
        batch_size: texts per batch (None: unbatched texts). Defaults to ``32``.
        max_length: cut each text to at most this many characters (None: whole texts).
        shuffle: whether to shuffle the samples (else alphanumeric order). Defaults to ``True``.
        seed: random seed for shuffling and transformations.
        validation_split: fraction in (0, 1) of the files kept apart for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"`` (with ``validation_split``).
        follow_links: whether to visit sub-folders reached through symbolic links. Defaults to
            ``False``.
        format: the dataset type returned; ``"tf"`` gives nnfast's batched dataset (no TensorFlow
            needed). Defaults to ``"tf"``.
        verbose: print how many files and classes were found. Defaults to ``True``.

    Example:
        >>> train = text_dataset_from_directory("aclImdb/train", batch_size=32,
        ...                                      validation_split=0.2, subset="training", seed=1)
        >>> texts, labels = train[0]

    ``format``: "tf" (nnfast's batched dataset; see ``check_dataset_format``).
    """
    check_dataset_format(format)
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the "
                         "same size as the number of text files in the target directory. If you "
                         "wish to infer the labels from the subdirectory names in the target "
                         'directory, pass `labels="inferred"`. If you wish to get a dataset that '
                         "only contains text samples (no labels), pass `labels=None`.")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError('`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a "
                         "`seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_arr, class_names = index_directory(
        directory, labels, formats=(".txt",), class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")

    def make(p, lab):
        return TextDataset(p, lab, class_names, label_mode, batch_size, shuffle, seed,
                           max_length)

    if subset == "both":
        return [make(*_split(paths, label_arr, validation_split, "training", verbose)),
                make(*_split(paths, label_arr, validation_split, "validation", verbose))]
    if subset is not None:
        paths, label_arr = _split(paths, label_arr, validation_split, subset, verbose)
    return make(paths, label_arr)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Splits arrays (or a tuple/dict of arrays with one first axis) into two unbatched
    datasets of ``left_size`` and ``right_size`` samples (ints = counts, floats in (0, 1) =
    fractions; one of them may be None for "the rest"). Call ``.batch(n)`` on each to feed
    ``fit``.

    Args:
        dataset: a NumPy array, a tuple/list of arrays, a dict of arrays, a ``PyDataset`` or a
            torch ``Dataset``.
        left_size: an int (samples) or a float in (0, 1) (fraction) for the left part; None: the
            rest after ``right_size``.
        right_size: likewise for the right part; None: the rest after ``left_size``.
        shuffle: shuffle before splitting. Defaults to ``False``.
        seed: seed of the shuffling.
        preferred_backend: accepted for compatibility (nnfast returns its own datasets).

    Example:
        >>> left, right = split_dataset((x, y), left_size=0.8)
        >>> model.fit(left.batch(32), validation_data=right.batch(32))
    """
    if isinstance(dataset, dict):
        raise NotImplementedError("split_dataset of a dict of arrays: pass a tuple of arrays.")
    if isinstance(dataset, list):
        dataset = tuple(dataset)
    arrays = dataset if isinstance(dataset, tuple) else (dataset,)
    arrays = tuple(np.asarray(a) for a in arrays)
    total = len(arrays[0])
    if any(len(a) != total for a in arrays):
        raise ValueError("All arrays of `dataset` must have the same length. Received lengths "
                         f"{[len(a) for a in arrays]}")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")

    def count(size, name):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0 < size < 1:
                raise ValueError(f"`{name}` should be a float in (0, 1) or an integer. "
                                 f"Received: {name}={size}")
            return int(size * total)
        if not 0 <= size <= total:
            raise ValueError(f"`{name}` should be at most the dataset size {total}. "
                             f"Received: {name}={size}")
        return int(size)

    left, right = count(left_size, "left_size"), count(right_size, "right_size")
    if left is None:
        left = total - right
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` is greater than the total "
                         f"number of samples. Received: left_size={left}, right_size={right}, "
                         f"total size={total}")
    order = np.arange(total)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(order)
    parts = arrays if isinstance(dataset, tuple) else arrays[0]
    return (ArrayBatches.from_arrays(parts, None, order[:left]),
            ArrayBatches.from_arrays(parts, None, order[left:left + right]))
