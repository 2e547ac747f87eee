"""The Keras newswire tutorial on Reuters: multi-hot 10,000 -> Dense(64, relu) ->
Dense(64, relu) -> Dense(46, softmax), rmsprop, categorical crossentropy, 9 epochs of
batch 512, then >= 77% test accuracy (Keras reaches about 78-80%)."""
import os

import numpy as np
import pytest

import nnfast
from nnfast import layers
from nnfast.datasets import reuters
from nnfast.preprocessing.text import Tokenizer


def _rmsprop_available():
    try:
        nnfast.optimizers.get("rmsprop")
        return True
    except (ValueError, ImportError):
        return False


pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(os.path.join(os.environ.get("NNFAST_DATASETS", ""), "reuters.npz")),
        reason="needs reuters.npz in $NNFAST_DATASETS"),
    pytest.mark.skipif(not _rmsprop_available(),
                       reason="RMSprop is not in this branch yet (written in parallel; the "
                              "lead enables this test when it is merged)"),
]


def test_reuters_mlp_reaches_77_percent():
    nnfast.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)
    tok = Tokenizer(num_words=10000)
    x_train = tok.sequences_to_matrix(list(x_train), mode="binary").astype(np.float32)
    x_test = tok.sequences_to_matrix(list(x_test), mode="binary").astype(np.float32)
    y_train = nnfast.utils.to_categorical(y_train, 46)
    y_test = nnfast.utils.to_categorical(y_test, 46)
    model = nnfast.Sequential([
        layers.Dense(64, activation="relu", input_shape=(10000,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(46, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=9, batch_size=512, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.77, f"test accuracy {accuracy:.4f} < 0.77"
