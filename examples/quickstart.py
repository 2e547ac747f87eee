"""Quick start: train a small classifier on the handwritten digits that ship with nnfast.

Runs in seconds on any machine with no download:  python examples/quickstart.py
"""
import nnfast
from nnfast.layers import Dense, Dropout, Flatten

(x_train, y_train), (x_test, y_test) = nnfast.datasets.digits.load_data()
x_train, x_test = x_train / 16.0, x_test / 16.0  # pixels are 0..16

nnfast.utils.set_random_seed(0)
model = nnfast.Sequential([
    Flatten(input_shape=(8, 8)),
    Dense(64, activation="relu"),
    Dropout(0.2),
    Dense(10, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=20, batch_size=32, validation_split=0.1, verbose=2)

test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Test accuracy: {test_acc:.4f}")
print("Kernels:", nnfast.config.kernel_info())
