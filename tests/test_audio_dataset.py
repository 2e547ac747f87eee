"""keras.utils.audio_dataset_from_directory against Keras 3.15's batches
(fixtures/audio/make_audio_dataset.py): file order, padding, cutting, labels."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "audio")
sys.path.insert(0, HERE)
from audio_files import write_tree  # noqa: E402

from nnfast import utils  # noqa: E402

D = np.load(os.path.join(HERE, "audio_batches.npz"))


@pytest.mark.parametrize("name,kwargs", [
    ("padded", dict(batch_size=3)),
    ("fixed", dict(batch_size=4, output_sequence_length=6, label_mode="categorical")),
])
def test_batches_match_keras(tmp_path, name, kwargs):
    root = write_tree(str(tmp_path))
    ds = utils.audio_dataset_from_directory(root, shuffle=False, verbose=False, **kwargs)
    assert ds.class_names == ["no", "yes"]
    assert len(ds) == int(D[f"{name}_batches"])
    for i, (audio, labels) in enumerate(ds):
        np.testing.assert_array_equal(audio, D[f"{name}_audio{i}"])
        np.testing.assert_array_equal(labels, D[f"{name}_labels{i}"])


def test_splits_and_unsupported_options(tmp_path):
    root = write_tree(str(tmp_path))
    train, val = utils.audio_dataset_from_directory(root, validation_split=0.3, subset="both",
                                                    seed=3, batch_size=2, verbose=False)
    assert len(train.file_paths) + len(val.file_paths) == 7
    assert not set(train.file_paths) & set(val.file_paths)
    with pytest.raises(NotImplementedError, match="sampling_rate"):
        utils.audio_dataset_from_directory(root, sampling_rate=8000)
    with pytest.raises(NotImplementedError, match="ragged"):
        utils.audio_dataset_from_directory(root, ragged=True)
    with pytest.raises(ValueError, match="label_mode"):
        utils.audio_dataset_from_directory(root, label_mode="sparse")
