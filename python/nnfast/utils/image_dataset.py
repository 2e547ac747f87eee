"""``image_dataset_from_directory``: a batched dataset of images read from a class-per-folder
tree, with Keras 3's indexing, shuffling and train/validation split rules."""
import math
import os

import numpy as np

from nnfast.preprocessing import _transforms
from nnfast.utils import io_utils

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_PIL_FILTERS = {"bicubic": "BICUBIC", "area": "BOX", "lanczos3": "LANCZOS",
                "lanczos5": "LANCZOS"}


def _iter_valid_files(directory, follow_links, formats):
    walk = os.walk(directory, followlinks=follow_links)
    for root, _, files in sorted(walk, key=lambda t: t[0]):
        for fname in sorted(files):
            if fname.lower().endswith(formats):
                yield root, fname


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """Keras's ``dataset_utils.index_directory``: the image paths and labels under
    ``directory`` and the class names, in class order then sorted walk order, then (with
    ``shuffle``) permuted by ``np.random.RandomState(seed)``."""
    if not os.path.isdir(directory):
        raise ValueError(f"Directory {directory!r} does not exist or is not a directory.")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)))
        if class_names is not None:
            if set(class_names) != set(subdirs):
                raise ValueError(f"The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: {subdirs}, "
                                 f"but received: {class_names}")
            subdirs = list(class_names)  # the given order sets the labels
        class_names = subdirs
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`.')
    class_indices = {name: i for i, name in enumerate(class_names or [])}
    filenames, label_list = [], []
    for sub in subdirs:
        for root, fname in _iter_valid_files(os.path.join(directory, sub), follow_links,
                                             formats):
            filenames.append(os.path.join(root, fname))
            label_list.append(class_indices.get(sub, 0))
    if labels == "inferred":
        labels_arr = np.array(label_list, dtype="int32")
    elif labels is None:
        labels_arr = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in "
                             f"the target directory. len(labels) is {len(labels)} while we "
                             f"found {len(filenames)} files in directory {directory}.")
        labels_arr = np.array(labels)
        class_names = [str(label) for label in sorted(set(labels_arr.tolist()))]
    if verbose:
        if labels_arr is None:
            io_utils.print_msg(f"Found {len(filenames)} files.")
        else:
            io_utils.print_msg(f"Found {len(filenames)} files belonging to {len(class_names)} "
                               "classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        # NOTE: Keras shuffles the path list and the label array with two RandomStates of
        # the same seed; one permutation of indices gives the same arrangement.
        order = np.arange(len(filenames))
        np.random.RandomState(seed).shuffle(order)
        filenames = [filenames[i] for i in order]
        if labels_arr is not None:
            labels_arr = labels_arr[order]
    return filenames, labels_arr, class_names


def _split(paths, labels, validation_split, subset, verbose):
    num_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            io_utils.print_msg(f"Using {len(paths) - num_val} files for training.")
        sel = slice(None, len(paths) - num_val)
    else:
        if verbose:
            io_utils.print_msg(f"Using {num_val} files for validation.")
        sel = slice(len(paths) - num_val, None)
    return paths[sel], None if labels is None else labels[sel]


class ImageDataset:
    """Batches of ``(images, labels)`` decoded on demand from image files.

    A Python iterable (one pass = one epoch; with ``shuffle`` the order is re-drawn after
    each pass) that also has ``len(ds)`` (batches per epoch), ``ds[i]`` (batch ``i``) and
    ``on_epoch_end()`` like a ``PyDataset``. ``class_names`` and ``file_paths`` are the
    classes and files in dataset order. ``map``, ``take``, ``cache``, ``prefetch`` and
    ``shuffle`` cover the ``tf.data`` calls of the Keras image tutorials.

    Images are float32 ``(batch, height, width, channels)`` with values 0..255; labels are
    int32 ``(batch,)`` (``label_mode="int"``), float32 one-hot (``"categorical"``) or float32
    ``(batch, 1)`` (``"binary"``).
    """

    def __init__(self, file_paths, labels, class_names, label_mode, image_size, num_channels,
                 interpolation, batch_size, shuffle, seed, crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, data_format="channels_last"):
        self.file_paths = list(file_paths)
        self._labels = labels
        self.class_names = class_names
        self.label_mode = label_mode
        self.image_size = tuple(int(v) for v in image_size)
        self.num_channels = num_channels
        self.interpolation = interpolation
        self.batch_size = batch_size
        self._shuffle = shuffle
        self._rng = np.random.RandomState(seed)
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.data_format = data_format
        self._order = np.arange(len(self.file_paths))
        self._cache = None

    # --- PyDataset protocol ------------------------------------------------------------
    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return math.ceil(len(self.file_paths) / self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for a dataset of {len(self)} "
                             f"batches.")
        index %= len(self)
        if self.batch_size is None:
            idx = self._order[index:index + 1]
        else:
            idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        images = np.stack([self._image(int(i)) for i in idx])
        if self.data_format == "channels_first":
            images = images.transpose(0, 3, 1, 2)
        labels = self._batch_labels(idx)
        if self.batch_size is None:
            images = images[0]
            labels = None if labels is None else labels[0]
        return images if labels is None else (images, labels)

    def on_epoch_end(self):
        if self._shuffle:
            self._order = self._rng.permutation(len(self.file_paths))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
        self.on_epoch_end()

    @property
    def num_batches(self):
        return len(self)

    @property
    def labels(self):
        return self._labels

    # --- decoding -------------------------------------------------------------------------
    def _image(self, i):
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        x = load_image(self.file_paths[i], self.image_size, self.num_channels,
                       self.interpolation, self.crop_to_aspect_ratio, self.pad_to_aspect_ratio)
        if self._cache is not None:
            self._cache[i] = x
        return x

    def _batch_labels(self, idx):
        if self._labels is None:
            return None
        y = self._labels[idx]
        if self.label_mode == "categorical":
            out = np.zeros((len(idx), len(self.class_names)), dtype="float32")
            out[np.arange(len(idx)), y.astype(np.int64)] = 1.0
            return out
        if self.label_mode == "binary":
            return y.astype("float32").reshape(-1, 1)
        return y.astype("int32")

    # --- tf.data-style helpers -------------------------------------------------------------
    def map(self, fn):
        """A dataset whose elements are ``fn(images, labels)`` (or ``fn(images)``)."""
        return _MappedDataset(self, fn)

    def take(self, count):
        """A dataset of the first ``count`` batches."""
        return _TakeDataset(self, count)

    def cache(self, filename=""):
        """Keeps decoded images in memory after their first use."""
        if filename:
            raise NotImplementedError("ImageDataset.cache() caches in memory only.")
        if self._cache is None:
            self._cache = {}
        return self

    def prefetch(self, buffer_size=None):
        """Returns the dataset (batches are decoded when requested)."""
        return self

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True):
        """Shuffles the order of the files at every pass."""
        self._shuffle = True
        if seed is not None:
            self._rng = np.random.RandomState(seed)
        self._order = self._rng.permutation(len(self.file_paths))
        return self

    def as_numpy_iterator(self):
        return iter(self)


class _MappedDataset:
    def __init__(self, parent, fn):
        self._parent = parent
        self._fn = fn
        self.class_names = getattr(parent, "class_names", None)

    def _apply(self, element):
        out = self._fn(*element) if isinstance(element, tuple) else self._fn(element)
        return tuple(np.asarray(o) for o in out) if isinstance(out, tuple) else np.asarray(out)

    def __len__(self):
        return len(self._parent)

    def __getitem__(self, index):
        return self._apply(self._parent[index])

    def __iter__(self):
        for element in self._parent:
            yield self._apply(element)

    def on_epoch_end(self):
        self._parent.on_epoch_end()

    map = ImageDataset.map
    take = ImageDataset.take

    def prefetch(self, buffer_size=None):
        return self

    def cache(self, filename=""):
        self._parent.cache(filename)
        return self


class _TakeDataset(_MappedDataset):
    def __init__(self, parent, count):
        super().__init__(parent, None)
        self._count = int(count)

    def _apply(self, element):
        return element

    def __len__(self):
        n = len(self._parent)
        return n if self._count < 0 else min(n, self._count)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for {len(self)} batches.")
        return self._parent[index % len(self)]

    def __iter__(self):
        for i, element in enumerate(self._parent):
            if i >= len(self):
                break
            yield element


def load_image(path, image_size, num_channels, interpolation="bilinear",
               crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
    """Decodes one image file with Pillow to float32 ``(height, width, num_channels)`` and
    resizes it as ``tf.image.resize`` does (bilinear/nearest; bicubic, area and lanczos go
    through Pillow's filters)."""
    from PIL import Image

    with Image.open(path) as img:
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[num_channels]
        if img.mode != mode:
            img = img.convert(mode)
        height, width = image_size
        if interpolation in _PIL_FILTERS:
            w, h = img.size
            box = None
            if crop_to_aspect_ratio:
                top, left, ch, cw = _transforms._crop_box(h, w, height, width)
                box = (left, top, left + cw, top + ch)
            img = img.resize((width, height), getattr(Image, _PIL_FILTERS[interpolation]),
                             box=box)
            x = np.asarray(img, dtype=np.float32)
            return x.reshape(x.shape[:2] + (num_channels,))
        x = np.asarray(img, dtype=np.float32)
    x = x.reshape(x.shape[:2] + (num_channels,))
    return _transforms.resize(x, height, width, interpolation, crop_to_aspect_ratio,
                              pad_to_aspect_ratio)


def check_dataset_format(format):
    """Keras 3.15's ``format`` argument of the dataset builders: "tf" asks for the framework's
    batched dataset, which in nnfast is nnfast's own (what ``fit`` takes, in place of a
    ``tf.data.Dataset``); "grain" (a ``grain.IterDataset``) is not implemented."""
    if format == "grain":
        raise NotImplementedError('format="grain" (a grain.IterDataset) is not implemented in '
                                  'nnfast; use format="tf" (nnfast\'s batched dataset).')
    if format != "tf":
        raise ValueError(f'`format` should be either "tf" or "grain". Received: format={format}')


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf",
                                 verbose=True):
    """A dataset of image batches from ``directory/<class_name>/<image files>``.

    Args:
        labels: ``"inferred"`` (from the sorted subdirectory names), a list of integer
            labels in sorted file-path order, or ``None`` (images only).
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` (exactly 2 classes) or None.
        class_names: with ``labels="inferred"``, the subdirectories to use, in label order.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"`` (1, 3 or 4 channels).
        batch_size: batch size, or ``None`` for single images.
        image_size: ``(height, width)`` every image is resized to.
        shuffle: shuffle the files.
        seed: the shuffle's seed (give one with ``validation_split`` so the two subsets
            don't overlap).
        validation_split: the fraction of the files held out for validation.
        subset: ``"training"`` keeps the first ``n - int(validation_split * n)`` files after
            the shuffle, ``"validation"`` the last ``int(validation_split * n)``, ``"both"``
            returns both datasets.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"``, ``"area"``,
            ``"lanczos3"``, ``"lanczos5"``.
        crop_to_aspect_ratio: crop the largest centred window of the target aspect ratio
            before resizing.
        pad_to_aspect_ratio: pad (instead of crop) to the target aspect ratio.
        format: "tf" (nnfast's batched dataset, see ``check_dataset_format``).
        directory: the folder holding one sub-folder per class.
        follow_links: whether to visit sub-folders reached through symbolic links. Defaults to
            ``False``.
        data_format: ``"channels_last"`` (inputs ``(batch, ..., channels)``) or
            ``"channels_first"`` (``(batch, channels, ...)``); None uses
            ``keras.config.image_data_format()``.
        verbose: print how many files and classes were found. Defaults to ``True``.

    Returns:
        An ``ImageDataset`` (or a list of two for ``subset="both"``) with ``class_names``.

    Example:
        >>> train_ds = image_dataset_from_directory("flowers", validation_split=0.2,
        ...     subset="training", seed=123, image_size=(180, 180), batch_size=32)
        >>> train_ds.class_names
        ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']
    """
    check_dataset_format(format)
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the "
                             "same size as the number of image files in the target directory. "
                             "If you wish to infer the labels from the subdirectory names in "
                             "the target directory, pass `labels=\"inferred\"`. If you wish to "
                             "get a dataset that only contains images (no labels), pass "
                             "`labels=None`.")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        labels = None
        label_mode = None
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if channels is None:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. '
                         f"Received: color_mode={color_mode}")
    if interpolation not in _transforms.INTERPOLATIONS and interpolation not in _PIL_FILTERS:
        raise ValueError(f"Invalid interpolation {interpolation!r}; expected one of "
                         f"{_transforms.INTERPOLATIONS + tuple(_PIL_FILTERS)}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", '
                         f"received: {subset}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a "
                         "`seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")
    if batch_size is not None and int(batch_size) <= 0:
        raise ValueError(f"batch_size must be a positive integer or None, received {batch_size}")
    data_format = data_format or "channels_last"
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_arr, class_names = index_directory(
        directory, labels, formats=ALLOWLIST_FORMATS, class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if not paths:
        raise ValueError(f"No images found in directory {directory}. Allowed formats: "
                         f"{ALLOWLIST_FORMATS}")

    def make(p, l):
        if not p:
            raise ValueError(f"No images found in the {subset} subset of directory {directory}.")
        return ImageDataset(p, l, class_names, label_mode, image_size, channels, interpolation,
                            batch_size, shuffle, seed, crop_to_aspect_ratio, pad_to_aspect_ratio,
                            data_format)

    if subset == "both":
        train = _split(paths, label_arr, validation_split, "training", verbose)
        val = _split(paths, label_arr, validation_split, "validation", verbose)
        return [make(*train), make(*val)]
    if subset is not None:
        paths, label_arr = _split(paths, label_arr, validation_split, subset, verbose)
    return make(paths, label_arr)
