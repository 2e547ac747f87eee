"""Image preprocessing and augmentation as in the Keras tutorials, on the handwritten digits
that ship with nnfast (no download): images written to a class-per-folder tree, read back with
image_dataset_from_directory, augmented by layers inside the model and by ImageDataGenerator.

    python examples/image_augmentation.py
"""
import os
import tempfile

import numpy as np

import nnfast
from nnfast.layers import (Dense, Flatten, RandomRotation, RandomTranslation, RandomZoom,
                           Rescaling)
from nnfast.preprocessing.image import ImageDataGenerator, save_img
from nnfast.utils import image_dataset_from_directory

(x_train, y_train), (x_test, y_test) = nnfast.datasets.digits.load_data()
x_train = x_train[..., None].astype("float32") * (255 / 16)  # 0..255 grayscale (n, 8, 8, 1)
x_test = x_test[..., None].astype("float32") * (255 / 16)

# 1. A folder of PNG files per class, then a batched dataset with a seeded 80/20 split.
root = tempfile.mkdtemp()
for i, (img, label) in enumerate(zip(x_train[:600], y_train[:600])):
    os.makedirs(os.path.join(root, str(label)), exist_ok=True)
    save_img(os.path.join(root, str(label), f"{i}.png"), img, scale=False)
train_ds = image_dataset_from_directory(root, validation_split=0.2, subset="training", seed=123,
                                        image_size=(8, 8), color_mode="grayscale", batch_size=32)
val_ds = image_dataset_from_directory(root, validation_split=0.2, subset="validation", seed=123,
                                      image_size=(8, 8), color_mode="grayscale", batch_size=32)
print("Classes:", train_ds.class_names)
images, labels = train_ds[0]
print("One batch:", images.shape, labels.shape)

# 2. Augmentation layers: active in fit, the identity in evaluate/predict.
nnfast.utils.set_random_seed(0)
model = nnfast.Sequential([
    nnfast.Input((8, 8, 1)),
    RandomRotation(0.05), RandomZoom(0.1), RandomTranslation(0.1, 0.1),
    Rescaling(1 / 255),
    Flatten(),
    Dense(64, activation="relu"),
    Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
batches = list(train_ds)  # one pass (each pass re-shuffles, as tf.data does)
x_ds = np.concatenate([b[0] for b in batches])
y_ds = np.concatenate([b[1] for b in batches])
model.fit(x_ds, y_ds, epochs=30, batch_size=32, verbose=0)
print("Augmentation layers, test accuracy: %.3f" % model.evaluate(x_test, y_test, verbose=0)[1])

# 3. The legacy ImageDataGenerator: random warps per batch, featurewise standardization.
gen = ImageDataGenerator(rotation_range=10, width_shift_range=0.1, height_shift_range=0.1,
                         zoom_range=0.1, featurewise_center=True,
                         featurewise_std_normalization=True)
gen.fit(x_train)
flow = gen.flow(x_train, y_train, batch_size=64, seed=0)
model2 = nnfast.Sequential([nnfast.Input((8, 8, 1)), Flatten(), Dense(64, activation="relu"),
                            Dense(10, activation="softmax")])
model2.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
for epoch in range(15):
    for step in range(len(flow)):
        xb, yb = flow[step]
        model2.train_on_batch(xb, yb)
    flow.on_epoch_end()
x_test_std = gen.standardize(x_test.copy())
print("ImageDataGenerator, test accuracy: %.3f"
      % model2.evaluate(x_test_std, y_test, verbose=0)[1])
