"""The Keras tutorial's MNIST digit classifier, with only the imports changed.

Needs mnist.npz: found in $NNFAST_DATASETS, in ~/.nnfast/datasets, or downloaded.
"""
from nnfast.models import Sequential
from nnfast.layers import Dense, Flatten, Dropout
from nnfast.datasets import mnist
from nnfast.utils import to_categorical

# Load MNIST dataset (28x28 grayscale digit images)
(x_train, y_train), (x_test, y_test) = mnist.load_data()

# Normalize images to [0, 1]
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0

# One-hot encode labels
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)

model = Sequential([
    Flatten(input_shape=(28, 28)),
    Dense(128, activation="relu"),
    Dropout(0.2),
    Dense(10, activation="softmax"),
])
model.summary()

model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=10, batch_size=32, validation_split=0.2)

test_loss, test_acc = model.evaluate(x_test, y_test)
print(f"Test accuracy: {test_acc:.4f}")

predictions = model.predict(x_test)
predicted_classes = predictions.argmax(axis=1)
print("First predictions:", predicted_classes[:10], "labels:", y_test[:10].argmax(axis=1))
