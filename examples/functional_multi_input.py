"""Functional API: a model with two inputs and two outputs, trained on the digits that ship
with nnfast, then saved and reloaded.

The image goes through a Dense stack; a second input carries two hand-made features (ink
amount and its vertical centre). One output classifies the digit, the other regresses the
"is it >= 5" flag. Runs in seconds:  python examples/functional_multi_input.py
"""
import os
import tempfile

import numpy as np

import nnfast
from nnfast import Input, Model, layers

(x_train, y_train), (x_test, y_test) = nnfast.datasets.digits.load_data()
x_train, x_test = x_train / 16.0, x_test / 16.0


def features(x):
    ink = x.reshape(len(x), -1).sum(1) / 64.0
    rows = np.arange(8)[None, :]
    centre = (x.sum(2) * rows).sum(1) / np.maximum(x.sum((1, 2)), 1e-6) / 8.0
    return np.stack([ink, centre], 1).astype("float32")


nnfast.utils.set_random_seed(0)
image = Input((8, 8), name="image")
extra = Input((2,), name="extra")
h = layers.Dense(64, activation="relu")(layers.Flatten()(image))
h = layers.concatenate([h, layers.Dense(8, activation="relu")(extra)])
h = layers.Dropout(0.2)(h)
digit = layers.Dense(10, activation="softmax", name="digit")(h)
high = layers.Dense(1, activation="sigmoid", name="high")(h)
model = Model(inputs=[image, extra], outputs=[digit, high])
model.summary()

model.compile(optimizer="adam",
              loss={"digit": "sparse_categorical_crossentropy", "high": "binary_crossentropy"},
              loss_weights={"digit": 1.0, "high": 0.5},
              metrics={"digit": ["accuracy"], "high": ["accuracy"]})
targets = {"digit": y_train, "high": (y_train >= 5).astype("float32")}
model.fit({"image": x_train, "extra": features(x_train)}, targets, epochs=15, batch_size=32,
          validation_split=0.1, verbose=2)

test = model.evaluate([x_test, features(x_test)],
                      [y_test, (y_test >= 5).astype("float32")], verbose=0, return_dict=True)
print({k: round(v, 4) for k, v in test.items()})

path = os.path.join(tempfile.mkdtemp(), "multi_input.keras")
model.save(path)
restored = nnfast.models.load_model(path)
a = model.predict([x_test, features(x_test)], verbose=0)
b = restored.predict([x_test, features(x_test)], verbose=0)
print("reloaded from", path, "- same predictions:", all(np.array_equal(p, q) for p, q in zip(a, b)))
