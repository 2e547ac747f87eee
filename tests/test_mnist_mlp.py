"""The Keras tutorial's MNIST classifier reaches the tutorial's accuracy on the real test set."""
import numpy as np
import pytest

import nnfast
from nnfast.layers import Dense, Dropout, Flatten
from conftest import datasets_available


@pytest.mark.skipif(not datasets_available("mnist.npz"), reason="mnist.npz not in NNFAST_DATASETS")
def test_tutorial_mlp_reaches_97_5_percent():
    (x, y), (xt, yt) = nnfast.datasets.mnist.load_data()
    x, xt = x.astype("float32") / 255.0, xt.astype("float32") / 255.0
    y, yt = nnfast.utils.to_categorical(y, 10), nnfast.utils.to_categorical(yt, 10)
    nnfast.utils.set_random_seed(42)
    model = nnfast.Sequential([Flatten(input_shape=(28, 28)), Dense(128, activation="relu"),
                               Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    # The tutorial trains 10 epochs at batch 32 with validation_split=0.2; 8 epochs at
    # batch 64 on the same 48,000 images keeps CI quick.
    history = model.fit(x, y, epochs=8, batch_size=64, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.97
    loss, acc = model.evaluate(xt, yt, verbose=0)
    assert acc >= 0.975, f"test accuracy {acc:.4f}"
    predictions = model.predict(xt, verbose=0)
    assert (predictions.argmax(axis=1) == yt.argmax(axis=1)).mean() == pytest.approx(acc)
