"""Transfer learning as in the Keras tutorial: a frozen MobileNetV2 base, a new classifier head.

    python examples/transfer_learning.py [--epochs 3] [--weights none|imagenet|PATH]
        [--alpha 0.35]

The base is ``MobileNetV2(include_top=False)``. With ``--weights imagenet`` Keras's ImageNet
file is loaded (from ~/.nnfast/models or downloaded) and with a path, that weight file.
With ``--weights none`` (the default, works offline) the base is a fixed random feature
extractor. Keras's default initialization makes a random MobileNetV2's outputs nearly
constant (glorot-uniform depthwise kernels shrink the activations block after block, to
~1e-11 at the end), so the script re-draws the random kernels with a variance-preserving
(He) scale: the random features then carry enough information for the head to learn.
The base is frozen (``base.trainable = False``) and called with ``training=False`` so its
BatchNormalization layers stay in inference mode; only the new head (global average pooling,
dropout, Dense softmax) trains. The data are the scikit-learn digits (8x8, bundled with
nnfast) upscaled to 32x32 RGB. At the end the script checks that no base weight changed.
"""
import argparse
import time

import numpy as np

import nnfast as keras
from nnfast import layers
from nnfast.applications import MobileNetV2, mobilenet_v2


def load_digits_rgb(size=32):
    """Digits as (n, size, size, 3) images with pixel values in [0, 255]."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()

    def to_rgb(x):
        x = x.astype("float32") * (255.0 / 16.0)
        x = np.kron(x, np.ones((size // 8, size // 8), "float32"))  # nearest upscaling
        return np.repeat(x[..., None], 3, axis=-1)

    return (to_rgb(x_train), y_train), (to_rgb(x_test), y_test)


def rescale_random_kernels(model, seed=0):
    """Re-draws conv kernels as N(0, 2 / fan_in) so a random network keeps its activation
    scale through depth (depthwise kernels: fan_in = kernel height * width)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)):
            weights = layer.get_weights()
            kernel = weights[0]
            fan_in = kernel.shape[0] * kernel.shape[1]
            if not isinstance(layer, layers.DepthwiseConv2D):
                fan_in *= kernel.shape[2]
            weights[0] = (rng.standard_normal(kernel.shape) *
                          np.sqrt(2.0 / fan_in)).astype("float32")
            layer.set_weights(weights)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--weights", default="none",
                        help='"none" (random, the default), "imagenet" or a weight file path')
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = load_digits_rgb()
    x_train = mobilenet_v2.preprocess_input(x_train)
    x_test = mobilenet_v2.preprocess_input(x_test)
    print(f"{len(x_train)} train / {len(x_test)} test images of shape {x_train.shape[1:]}")

    weights = None if args.weights == "none" else args.weights
    base = MobileNetV2(input_shape=(32, 32, 3), alpha=args.alpha, include_top=False,
                       weights=weights)
    if weights is None:
        rescale_random_kernels(base)
    base.trainable = False

    inputs = keras.Input(shape=(32, 32, 3))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.summary()

    base_before = [w.copy() for w in base.get_weights()]
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.1, verbose=2)
    print(f"training took {time.perf_counter() - start:.1f} s")
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {acc:.4f}")

    unchanged = all(np.array_equal(a, b) for a, b in zip(base.get_weights(), base_before))
    print("frozen base unchanged (kernels and BatchNormalization statistics):", unchanged)
    if not unchanged:
        raise SystemExit("the frozen base changed during training")


if __name__ == "__main__":
    main()
