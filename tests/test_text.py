"""Text and sequence preprocessing (Cython hot loops) against pure-Python copies of Keras's
algorithms (tests/keras_text_reference.py), on hand-made edge cases and IMDB reviews."""
import os

import numpy as np
import pytest

import keras_text_reference as ref
from nnfast.preprocessing import sequence, text
from nnfast.utils import pad_sequences

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!!", "", "  spaces   and\ttabs\n",
         "Ünïcödé stays, CAPS don't", "the the the cat"]


@pytest.mark.parametrize("kwargs", [{}, {"maxlen": 2}, {"maxlen": 6, "padding": "post"},
                                    {"maxlen": 3, "truncating": "post", "value": -1},
                                    {"dtype": "float32", "maxlen": 4}, {"dtype": "int64"}])
def test_pad_sequences_matches_keras(kwargs):
    seqs = [[1, 2, 3, 4, 5], [], [7], np.array([8, 9]), (10, 11, 12)]
    got = pad_sequences(seqs, **kwargs)
    want = ref.pad_sequences(seqs, **kwargs)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert sequence.pad_sequences is pad_sequences


def test_pad_sequences_general_cases():
    seqs = [np.ones((2, 3)), np.zeros((4, 3))]
    out = pad_sequences(seqs, maxlen=3, dtype="float32")
    assert out.shape == (2, 3, 3) and out[0, 0].sum() == 0 and out[0, 1:].sum() == 6
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    with pytest.raises(ValueError, match="Padding"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])


@pytest.mark.parametrize("kwargs", [{}, {"lower": False}, {"filters": "", "split": " "},
                                    {"split": "a"}])
def test_text_to_word_sequence(kwargs):
    for t in TEXTS:
        assert text.text_to_word_sequence(t, **kwargs) == ref.text_to_word_sequence(t, **kwargs)


def test_hashing_trick_and_one_hot():
    for t in TEXTS:
        assert text.hashing_trick(t, 17) == ref.hashing_trick(t, 17)
        assert text.one_hot(t, 50) == ref.hashing_trick(t, 50)
        md5 = text.hashing_trick(t, 1000, hash_function="md5")
        assert all(1 <= i < 1000 for i in md5)
    assert text.hashing_trick("a b a", 1000, "md5") == text.hashing_trick("A B A", 1000, "md5")


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 5}, {"num_words": 5, "oov_token": "<oov>"},
                                    {"char_level": True}, {"lower": False, "oov_token": "?"}])
def test_tokenizer_matches_keras_on_small_texts(kwargs):
    ours, theirs = text.Tokenizer(**kwargs), ref.Tokenizer(**kwargs)
    ours.fit_on_texts(TEXTS)
    theirs.fit_on_texts(TEXTS)
    assert ours.word_index == theirs.word_index
    assert list(ours.word_counts.items()) == list(theirs.word_counts.items())
    assert dict(ours.index_docs) == dict(theirs.index_docs)
    probe = TEXTS + ["unknown words here the"]
    assert ours.texts_to_sequences(probe) == theirs.texts_to_sequences(probe)
    for mode in ("binary", "count", "freq", "tfidf"):
        np.testing.assert_array_equal(ours.texts_to_matrix(probe, mode),
                                      theirs.texts_to_matrix(probe, mode))


def test_tokenizer_round_trips_and_json():
    tok = text.Tokenizer(num_words=20, oov_token="<unk>")
    tok.fit_on_texts(TEXTS)
    seqs = tok.texts_to_sequences(["the cat ate a zebra"])
    assert tok.sequences_to_texts(seqs) == ["the cat ate <unk> <unk>"]
    clone = text.tokenizer_from_json(tok.to_json())
    assert clone.word_index == tok.word_index and clone.num_words == 20
    assert clone.texts_to_sequences(["the cat ate a zebra"]) == seqs
    np.testing.assert_array_equal(clone.texts_to_matrix(TEXTS, "tfidf"),
                                  tok.texts_to_matrix(TEXTS, "tfidf"))
    with pytest.raises(ValueError, match="fit"):
        text.Tokenizer().texts_to_matrix(["a"])
    with pytest.raises(ValueError, match="mode"):
        tok.texts_to_matrix(["a"], mode="nope")


@pytest.mark.skipif(not os.path.exists(os.path.join(os.environ.get("NNFAST_DATASETS", ""),
                                                    "imdb.npz")), reason="needs imdb.npz")
def test_tokenizer_matches_keras_on_imdb_reviews():
    texts = ref.imdb_texts(1500)
    ours, theirs = text.Tokenizer(num_words=2000), ref.Tokenizer(num_words=2000)
    ours.fit_on_texts(texts)
    theirs.fit_on_texts(texts)
    assert ours.word_index == theirs.word_index
    a, b = ours.texts_to_sequences(texts), theirs.texts_to_sequences(texts)
    assert a == b
    np.testing.assert_array_equal(pad_sequences(a, maxlen=200), ref.pad_sequences(b, maxlen=200))
    np.testing.assert_array_equal(ours.sequences_to_matrix(a[:300], "tfidf"),
                                  theirs.sequences_to_matrix(b[:300], "tfidf"))
