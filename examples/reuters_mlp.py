"""Newswire topic classification on Reuters with a multi-hot MLP (the Keras tutorial from
"Deep Learning with Python", nnfast imports).

    NNFAST_DATASETS=/path/to/datasets python examples/reuters_mlp.py
"""
import numpy as np

import nnfast
from nnfast import layers
from nnfast.datasets import reuters
from nnfast.preprocessing.text import Tokenizer
from nnfast.utils import to_categorical

num_words = 10000
(x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=num_words)
print(len(x_train), "train newswires,", len(x_test), "test newswires,",
      len(reuters.get_label_names()), "topics")

tokenizer = Tokenizer(num_words=num_words)
x_train = tokenizer.sequences_to_matrix(list(x_train), mode="binary").astype(np.float32)
x_test = tokenizer.sequences_to_matrix(list(x_test), mode="binary").astype(np.float32)
y_train = to_categorical(y_train, 46)
y_test = to_categorical(y_test, 46)

model = nnfast.Sequential([
    layers.Dense(64, activation="relu", input_shape=(num_words,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(46, activation="softmax"),
])
model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=9, batch_size=512, validation_split=0.1)
loss, acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Test loss: {loss:.4f}  test accuracy: {acc:.4f}")
