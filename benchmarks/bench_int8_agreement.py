"""Top-1 agreement of ``model.quantize("int8")`` with the float32 model on *trained* networks.

No pretrained ImageNet weights are available offline, and random-weight networks have nearly
tied logits (their agreement measures noise against tiny margins), so this trains the Keras
applications briefly on MNIST instead and measures there: each model is built with
``weights=None, classes=10`` at 32x32x3 (MNIST padded by 2 pixels on each side and repeated
to 3 channels, scaled to [-1, 1]), trained with Adam (batch 64; normalizations' momentum at
most 0.99) for --epochs on --train-images images, its normalizations' moving statistics
re-estimated as the mean over 30 training batches (see recalibrate_batch_norms), then copied
three times: quantized with ``quantize("int8")`` (nnfast's default rule keeps convolutions
float32 where int8 measured slower), with every convolution quantized (``filters=``), and the
same with each int8 layer running its own call (``fusion.FUSE_INT8_CHAINS`` off: per-sample
depthwise scales instead of the fused block's per-band ones). All four are run on
--test-images MNIST test images. Prints training time, both accuracies and the share of test
images whose top-1 class is the same.

    PYTHONPATH=python python3 benchmarks/bench_int8_agreement.py [--threads 1]
        [--models MobileNetV2,ResNet50] [--alpha 1.0] [--train-images 60000]
        [--resnet-train-images 12000] [--test-images 2000] [--epochs 1]
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_name, print_table


def mnist_32x32x3():
    """MNIST as 32x32 RGB images in [-1, 1] (zero-padded by 2, the gray channel repeated)."""
    import nnfast

    (x, y), (xt, yt) = nnfast.datasets.mnist.load_data()

    def prep(images):
        images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
        images = images.astype(np.float32) / 127.5 - 1.0
        return np.repeat(images[..., None], 3, axis=3)

    return prep(x), y.astype(np.int64), prep(xt), yt.astype(np.int64)


def build(name, alpha):
    import nnfast

    make = getattr(nnfast.applications, name)
    kwargs = {"alpha": alpha} if name.startswith("MobileNet") else {}
    return make(input_shape=(32, 32, 3), weights=None, classes=10, **kwargs)


def predict_classes(model, x, batch=250):
    return np.concatenate([np.argmax(model.predict_on_batch(x[i:i + batch]), 1)
                           for i in range(0, len(x), batch)])


def measure(name, alpha, data, train_images, test_images, epochs):
    """Trains one application on MNIST, quantizes two copies (the default rule, and every
    convolution) and returns their table rows."""
    import nnfast
    from nnfast.models import fusion

    x, y, xt, yt = data
    x, y = x[:train_images], y[:train_images]
    xt, yt = xt[:test_images], yt[:test_images]
    nnfast.utils.set_random_seed(0)
    model = build(name, alpha)
    for layer in model.layers:
        # MobileNetV2's normalizations use momentum 0.999, whose moving statistics are still
        # ~40% their initial (0, 1) after one epoch of ~900 steps: the inference model would
        # then score ~10%. Keras's default 0.99 has converged by then.
        if isinstance(layer, nnfast.layers.BatchNormalization):
            layer.momentum = min(layer.momentum, 0.99)
    model.compile(nnfast.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t = time.perf_counter()
    history = model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, shuffle=True)
    train_s = time.perf_counter() - t
    train_acc = history.history["accuracy"][-1]
    recalibrate_batch_norms(model, x)
    top_float = predict_classes(model, xt)
    label = f"{name} (alpha {alpha})" if name.startswith("MobileNet") else name
    rows = []
    for rule in ("default", "every conv", "every conv, layer by layer"):
        fusion.FUSE_INT8_CHAINS = rule != "every conv, layer by layer"
        try:
            int8_model = build(name, alpha)
            int8_model.set_weights(model.get_weights())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the list of convolutions kept float32
                if rule == "default":
                    int8_model.quantize("int8")
                else:
                    int8_model.quantize("int8", filters=lambda layer: hasattr(layer, "quantize"))
            quantized = sum(1 for layer in int8_model.layers
                            if layer.dtype_policy.quantization_mode == "int8")
            top_int8 = predict_classes(int8_model, xt)
        finally:
            fusion.FUSE_INT8_CHAINS = True
        rows.append([label, len(x), epochs, f"{train_s:.0f}", f"{100 * train_acc:.2f}%",
                     rule, quantized, f"{100 * np.mean(top_float == yt):.2f}%",
                     f"{100 * np.mean(top_int8 == yt):.2f}%",
                     f"{100 * np.mean(top_float == top_int8):.2f}%", len(xt)])
    return rows


def recalibrate_batch_norms(model, x, batches=30, batch_size=64):
    """Sets every BatchNormalization's moving statistics to the mean of its batch statistics
    over ``batches`` training batches (momentum k / (k + 1) at the k-th: a running mean), so
    the inference model's normalizations match the trained weights however few steps the
    moving averages had (ResNet50 on 12,000 images: 188 steps, whose momentum-0.99 averages
    still held 15% of their initial values and gave 20% test accuracy)."""
    import nnfast

    norms = [layer for layer in model.layers
             if isinstance(layer, nnfast.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    try:
        for k in range(min(batches, len(x) // batch_size)):
            for layer in norms:
                layer.momentum = k / (k + 1)
            model(x[k * batch_size:(k + 1) * batch_size], training=True)
    finally:
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--models", default="MobileNetV2,ResNet50")
    p.add_argument("--alpha", type=float, default=1.0, help="MobileNetV2's width multiplier")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-images", type=int, default=60000)
    p.add_argument("--resnet-train-images", type=int, default=12000,
                   help="training images for ResNet models (slower to train)")
    p.add_argument("--test-images", type=int, default=2000)
    args = p.parse_args()
    import nnfast

    nnfast.config.set_num_threads(args.threads)
    print(f"{cpu_name()}; {args.threads} thread(s); int8 GEMM: "
          f"{nnfast._core.gemm_int8_kernel_name()}")
    data = mnist_32x32x3()
    for name in [m for m in args.models.split(",") if m]:
        images = args.resnet_train_images if name.startswith("ResNet") else args.train_images
        rows = measure(name, args.alpha, data, images, args.test_images, args.epochs)
        print_table(["model", "train images", "epochs", "train s", "train accuracy", "quantized",
                     "int8 layers", "f32 accuracy", "int8 accuracy", "top-1 agreement",
                     "test images"], rows)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
