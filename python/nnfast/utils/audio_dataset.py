"""``keras.utils.audio_dataset_from_directory``: batches of ``(audio, labels)`` from
``.wav`` files in a class-per-folder tree, with Keras's file order, labels, splits and
padding."""
import wave

import numpy as np

from nnfast.utils.image_dataset import ImageDataset, _split, index_directory


def decode_wav(path):
    """A 16-bit PCM ``.wav`` file as float32 ``(samples, channels)`` in [-1, 1) (sample /
    32768, as ``tf.audio.decode_wav``) and its sampling rate."""
    with wave.open(path, "rb") as f:
        if f.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM .wav files are supported (as "
                             f"tf.audio.decode_wav); this one has {8 * f.getsampwidth()}-bit "
                             "samples.")
        channels, rate = f.getnchannels(), f.getframerate()
        frames = f.readframes(f.getnframes())
    data = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
    return data.astype(np.float32) / np.float32(32768.0), rate


class AudioDataset(ImageDataset):
    """Batches of ``(audio, labels)`` decoded on demand from ``.wav`` files: float32 audio
    ``(batch, samples, channels)``, each batch zero-padded to its longest clip (Keras's
    ``padded_batch``) or cut/padded to ``output_sequence_length``; labels as
    ``image_dataset_from_directory``'s. Iterable, indexable, with ``len`` and
    ``class_names``."""

    def __init__(self, file_paths, labels, class_names, label_mode, batch_size, shuffle, seed,
                 output_sequence_length):
        super().__init__(file_paths, labels, class_names, label_mode, (1, 1), 1, "bilinear",
                         batch_size, shuffle, seed)
        self.output_sequence_length = output_sequence_length

    def _image(self, i):
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        audio, _ = decode_wav(self.file_paths[i])
        n = self.output_sequence_length
        if n is not None:
            audio = audio[:n]
            if len(audio) < n:
                audio = np.concatenate([audio, np.zeros((n - len(audio), audio.shape[1]),
                                                        np.float32)])
        if self._cache is not None:
            self._cache[i] = audio
        return audio

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"Batch index {index} out of range for a dataset of {len(self)} "
                             f"batches.")
        index %= len(self)
        if self.batch_size is None:
            idx = self._order[index:index + 1]
        else:
            idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        clips = [self._image(int(i)) for i in idx]
        longest = max(len(c) for c in clips)
        channels = clips[0].shape[1]
        if any(c.shape[1] != channels for c in clips):
            raise ValueError("All clips of a batch must have the same number of channels.")
        audio = np.zeros((len(clips), longest, channels), np.float32)
        for k, c in enumerate(clips):
            audio[k, :len(c)] = c
        labels = self._batch_labels(idx)
        if self.batch_size is None:
            audio = audio[0]
            labels = None if labels is None else labels[0]
        return audio if labels is None else (audio, labels)


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False, verbose=True):
    """A dataset of audio batches from ``directory/<class_name>/<clip>.wav`` (16-bit PCM).

    Args:
        output_sequence_length: cut or zero-pad every clip to this many samples (None: each
            batch is padded to its longest clip).
        sampling_rate: resampling (Keras does it with tensorflow-io) is not implemented:
            a value raises NotImplementedError.
        ragged: ragged batches are not supported (True raises NotImplementedError).
        directory: the folder holding one sub-folder of ``.wav`` files per class.
        labels: ``"inferred"`` (from sub-folder names), None, or a list of integer labels. Defaults
            to ``"inferred"``.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or None. Defaults to ``"int"``.
        class_names: the sub-folder names to use, in this order (None: all).
        batch_size: clips per batch (None: unbatched). Defaults to ``32``.
        shuffle: shuffle the files. Defaults to ``True``.
        seed: seed of the shuffling and split.
        validation_split: fraction of the files kept apart for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"``.
        follow_links: visit sub-folders reached through symbolic links. Defaults to ``False``.
        verbose: print how many files and classes were found. Defaults to ``True``.

    Returns:
        An ``AudioDataset`` of ``(audio (batch, samples, channels), labels)`` (a list of two
        for ``subset="both"``), with ``class_names``. Keras also shuffles through a
        ``tf.data`` buffer whose order nnfast does not reproduce.

    Example:
        >>> ds = audio_dataset_from_directory("speech_commands", batch_size=64,
        ...                                   output_sequence_length=16000)
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("The `labels` argument should be a list/tuple of integer labels, "
                             "of the same size as the number of audio files in the target "
                             'directory. If you wish to infer the labels from the '
                             'subdirectory names in the target directory, pass '
                             '`labels="inferred"`. If you wish to get a dataset that only '
                             "contains audio samples (no labels), pass `labels=None`.")
        if class_names:
            raise ValueError('You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError('`label_mode` argument must be one of "int", "categorical", '
                         f'"binary", or None. Received: label_mode={label_mode}')
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if ragged:
        raise NotImplementedError("Ragged audio batches (ragged=True) are not supported by "
                                  "nnfast; batches are zero-padded.")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int) or sampling_rate <= 0:
            raise ValueError("`sampling_rate` should be a positive integer. Received: "
                             f"sampling_rate={sampling_rate}")
        raise NotImplementedError("Resampling (sampling_rate=...) is not implemented in "
                                  "nnfast (Keras uses tensorflow-io for it).")
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
        raise ValueError("If using `validation_split` and shuffling the data, you must "
                         "provide a `seed` argument, to make sure that there is no overlap "
                         "between the training and validation subset.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_arr, class_names = index_directory(
        directory, labels, formats=(".wav",), class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")

    def make(p, lab):
        return AudioDataset(p, lab, class_names, label_mode, batch_size, shuffle, seed,
                            output_sequence_length)

    if subset == "both":
        return [make(*_split(paths, label_arr, validation_split, "training", verbose)),
                make(*_split(paths, label_arr, validation_split, "validation", verbose))]
    if subset is not None:
        paths, label_arr = _split(paths, label_arr, validation_split, subset, verbose)
    return make(paths, label_arr)
