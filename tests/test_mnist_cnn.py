"""The Keras tutorial CNN (Conv2D 32 -> MaxPooling2D -> Flatten -> Dense 128 -> Dropout ->
Dense 10) trained on the real MNIST reaches >= 98.5% test accuracy.

NOTE: this small model needs a few epochs for 98.5%: with this seed nnfast measured 97.8%,
98.2%, 98.5%, 98.7% test accuracy after epochs 1-4 at batch 64 (PyTorch, same model, Glorot
init, Adam eps 1e-7, batch 128: 97.3%, 98.0%, 98.2% after epochs 1-3). An epoch at batch 64
takes about 8 s on an idle 2-core AVX-512 box."""
import os
import time

import numpy as np
import pytest

_SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets"))
if not os.environ.get("NNFAST_DATASETS") and os.path.isdir(_SHARED):
    os.environ["NNFAST_DATASETS"] = _SHARED

import nnfast  # noqa: E402
from nnfast import layers  # noqa: E402

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(os.environ.get("NNFAST_DATASETS", ""), "mnist.npz")),
    reason="needs mnist.npz in NNFAST_DATASETS")


def tutorial_cnn():
    return nnfast.Sequential([
        nnfast.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def test_tutorial_cnn_reaches_98_5_percent_on_mnist():
    nnfast.utils.set_random_seed(1234)
    (x_train, y_train), (x_test, y_test) = nnfast.datasets.mnist.load_data()
    x_train = (x_train.astype("float32") / 255.0)[..., None]
    x_test = (x_test.astype("float32") / 255.0)[..., None]
    y_train = nnfast.utils.to_categorical(y_train, 10)
    y_test = nnfast.utils.to_categorical(y_test, 10)
    model = tutorial_cnn()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=64, epochs=4, verbose=0)
    elapsed = time.perf_counter() - start
    loss, acc = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    print(f"tutorial CNN: 4 epochs (batch 64) in {elapsed:.1f}s, test accuracy {acc:.4f}, loss {loss:.4f}")
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert acc >= 0.985, f"test accuracy {acc:.4f} < 0.985"
