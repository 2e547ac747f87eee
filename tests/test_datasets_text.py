"""imdb / reuters loaders against Keras's published outputs and a pure-Python copy of
Keras's load_data algorithm."""
import os

import numpy as np
import pytest

from nnfast.datasets import imdb, reuters

DATA = os.environ.get("NNFAST_DATASETS", "")
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "imdb.npz")),
                                reason="needs the Keras dataset files in $NNFAST_DATASETS")


def keras_transform(xs, labels, start_char=1, oov_char=2, index_from=3, skip_top=0,
                    num_words=None, maxlen=None):
    """Keras's per-sequence loops (keras/src/datasets/imdb.py), for one group."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    else:
        xs = [list(x) for x in xs]
    labels = list(labels)
    if maxlen:
        keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in keep], [labels[i] for i in keep]
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    return xs, labels


def test_imdb_matches_published_keras_outputs():
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)
    assert x_train.shape == (25000,) and x_train.dtype == object
    assert x_train[0][:8] == [1, 14, 22, 16, 43, 530, 973, 1622] and len(x_train[0]) == 218
    assert list(y_train[:10]) == [1, 0, 0, 1, 0, 0, 1, 0, 1, 0]
    assert len(x_test[0]) == 68 and y_test[0] == 0
    assert max(max(x) for x in x_train) == 9999
    word_index = imdb.get_word_index()
    assert len(word_index) == 88584 and word_index["the"] == 1
    inverse = {i + 3: w for w, i in word_index.items()}
    assert " ".join(inverse.get(i, "?") for i in x_test[0][1:5]) == "please give this one"


@pytest.mark.parametrize("kwargs", [
    dict(num_words=5000, skip_top=20, maxlen=150),
    dict(oov_char=None, num_words=300, start_char=None, index_from=0),
    dict(),
])
def test_imdb_options_match_keras_algorithm(kwargs):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(**kwargs)
    with np.load(os.path.join(DATA, "imdb.npz"), allow_pickle=True) as f:
        raw_x, raw_y = f["x_train"], f["y_train"]
    rng = np.random.RandomState(113)
    idx = np.arange(len(raw_x))
    rng.shuffle(idx)
    n = 300  # the transform is per sequence, so a prefix checks it (num_words given or max)
    if kwargs.get("num_words") is None:
        kwargs = dict(kwargs, num_words=max(max(max(x) for x in x_train),
                                             max(max(x) for x in x_test)) + 1)
        kwargs["num_words"] -= 1  # Keras's quirk: the max id itself is out of range
    ref_x, ref_y = keras_transform(raw_x[idx][:n], raw_y[idx][:n], **kwargs)
    m = len(ref_x)
    assert [list(v) for v in x_train[:m]] == ref_x and list(y_train[:m]) == ref_y


def test_reuters_matches_keras_algorithm():
    kwargs = dict(num_words=10000, skip_top=5, maxlen=200, test_split=0.25, seed=7)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(**kwargs)
    with np.load(os.path.join(DATA, "reuters.npz"), allow_pickle=True) as f:
        xs, labels = f["x"], f["y"]
    rng = np.random.RandomState(7)
    idx = np.arange(len(xs))
    rng.shuffle(idx)
    ref_x, ref_y = keras_transform(xs[idx], labels[idx], num_words=10000, skip_top=5,
                                   maxlen=200)
    cut = int(len(ref_x) * 0.75)
    assert [list(v) for v in x_train] == ref_x[:cut] and list(y_train) == ref_y[:cut]
    assert [list(v) for v in x_test] == ref_x[cut:] and list(y_test) == ref_y[cut:]


def test_reuters_defaults_labels_and_index():
    (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)
    assert len(x_train) == 8982 and len(x_test) == 2246
    assert x_train[0][:10] == [1, 2, 2, 8, 43, 10, 447, 5, 25, 207] and y_train[0] == 3
    names = reuters.get_label_names()
    assert len(names) == 46 and names[3] == "earn" and int(y_train.max()) == 45
    assert len(reuters.get_word_index()) == 30979


def test_missing_file_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NNFAST_DATASETS", str(tmp_path))
    monkeypatch.setenv("NNFAST_HOME", str(tmp_path))
    import urllib.request

    def offline(*a, **k):
        raise OSError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="reuters.npz"):
        reuters.load_data()
