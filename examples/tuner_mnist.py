"""The Keras Tuner tutorial's search over the width of an MNIST classifier, with the imports
changed. Interrupt it and run it again: it resumes from its project folder and does not redo
finished trials. The folder is <output>/tuner_mnist/mnist_units, where <output> is the first
command-line argument or, by default, nnfast_examples/ under the system's temporary folder
(never the current directory).

Needs mnist.npz: found in $NNFAST_DATASETS, in ~/.nnfast/datasets, or downloaded.
"""
import os
import sys
import tempfile

import nnfast
import nnfast.tuner as kt
from nnfast.datasets import mnist
from nnfast.layers import Dense, Flatten

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0


def build_model(hp):
    model = nnfast.Sequential([
        Flatten(input_shape=(28, 28)),
        Dense(hp.Int("units", min_value=32, max_value=512, step=32), activation="relu"),
        Dense(10, activation="softmax"),
    ])
    learning_rate = hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])
    model.compile(optimizer=nnfast.optimizers.Adam(learning_rate=learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


output = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "nnfast_examples")
tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=4, seed=0,
                        directory=os.path.join(output, "tuner_mnist"), project_name="mnist_units")
tuner.search_space_summary()
stop_early = nnfast.callbacks.EarlyStopping(monitor="val_loss", patience=2)
tuner.search(x_train, y_train, epochs=3, validation_split=0.2, callbacks=[stop_early],
             verbose=2)
tuner.results_summary(num_trials=3)

best_hp = tuner.get_best_hyperparameters(num_trials=1)[0]
print(f"Best units: {best_hp.get('units')}, learning rate: {best_hp.get('learning_rate')}")
best_model = tuner.get_best_models(num_models=1)[0]
loss, acc = best_model.evaluate(x_test, y_test, verbose=0)
print(f"Best model test accuracy: {acc:.4f}")
