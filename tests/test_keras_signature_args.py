"""Arguments nnfast gained to match Keras 3.15's signatures do what Keras does (numbers from
fixtures/keras_args/make_signature_fixtures.py), or raise NotImplementedError naming what
is not implemented (never silently ignored)."""
import inspect
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast import layers, losses, metrics

D = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "keras_args",
                         "signature_numbers.npz"))


@pytest.mark.parametrize("key,kwargs", [
    ("resize_aa", dict(height=5, width=7, antialias=True)),
    ("resize_aa_crop", dict(height=6, width=4, antialias=True, crop_to_aspect_ratio=True)),
    ("resize_aa_nearest", dict(height=4, width=9, interpolation="nearest", antialias=True)),
])
def test_resizing_antialias(key, kwargs):
    layer = layers.Resizing(**kwargs)
    out = np.asarray(layer(D["img"]))
    np.testing.assert_allclose(out, D[key], rtol=1e-4, atol=1e-3)
    assert layer.get_config()["antialias"] is True
    assert layers.Resizing.from_config(layer.get_config()).antialias


def test_sparse_crossentropy_ignore_class():
    fn = metrics.sparse_categorical_crossentropy(D["labels"], D["logits"], from_logits=True,
                                                 ignore_class=2)
    np.testing.assert_allclose(fn, D["scce_fn_ignore"], rtol=1e-5, atol=1e-6)
    m = metrics.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    m.update_state(D["labels"], D["logits"])
    np.testing.assert_allclose(float(m.result()), D["scce_metric_ignore"], rtol=1e-5)
    m2 = metrics.SparseCategoricalCrossentropy.from_config(m.get_config())
    assert m2.get_config()["ignore_class"] == 2
    # positional reduction comes before axis, as in Keras
    loss = losses.SparseCategoricalCrossentropy(True, None, "sum")
    np.testing.assert_allclose(float(np.asarray(loss(D["labels"], D["logits"]))),
                               D["scce_loss_sum"], rtol=1e-5)


def test_metric_functions_take_keras_arguments():
    np.testing.assert_allclose(metrics.binary_crossentropy(D["bin_t"], D["bin_p"], axis=1),
                               D["bce_axis1"], rtol=1e-5)
    np.testing.assert_allclose(metrics.huber(D["bin_t"], D["bin_p"] * 3, 0.4), D["huber_delta"],
                               rtol=1e-5)
    np.testing.assert_allclose(
        metrics.binary_focal_crossentropy(D["bin_t"], D["bin_p"], apply_class_balancing=True,
                                          alpha=0.3, gamma=1.5), D["bfce_balanced"], rtol=1e-5)
    np.testing.assert_allclose(
        metrics.categorical_focal_crossentropy(D["onehot"], D["probs"], alpha=0.4, gamma=1.0),
        D["cfce_alpha"], rtol=1e-5)


def test_metric_positional_orders():
    m = metrics.SparseTopKCategoricalAccuracy(3, "top3", None, True)
    assert (m.name, m.get_config()["k"], m.get_config()["from_sorted_ids"]) == \
        ("top3", 3, True)

    class Counter(metrics.Metric):
        def __init__(self):
            super().__init__("float32", "count")  # Keras: (dtype, name)

    c = Counter()
    assert (c.name, c.dtype) == ("count", "float32")


def test_losses_deserialize_by_keras_name():
    again = losses.deserialize(name=losses.serialize(losses.Huber(delta=0.3)))
    assert isinstance(again, losses.Huber) and again.get_config()["delta"] == 0.3


def test_layer_name_arguments():
    for cls, args in [(layers.MaxPooling1D, ()), (layers.MaxPool2D, ()),
                      (layers.AveragePooling1D, (2,)), (layers.AvgPool2D, (2,)),
                      (layers.SpatialDropout1D, (0.1,)), (layers.SpatialDropout2D, (0.1,)),
                      (layers.SpatialDropout3D, (0.1,)), (layers.RandomCrop, (2, 2))]:
        assert cls(*args, name="mine").name == "mine"
    drop = layers.SpatialDropout2D(0.5, None, 3, "sd", "float32")
    assert (drop.name, drop.seed) == ("sd", 3)
    ln = layers.LayerNormalization(-1, 1e-3, True, True, "zeros", "ones")
    assert ln.get_config()["gamma_initializer"]["class_name"] == "Ones"


def test_unimplemented_options_raise():
    with pytest.raises(NotImplementedError, match="renorm"):
        layers.BatchNormalization(renorm=True)
    layers.BatchNormalization(renorm=False, renorm_momentum=0.9)
    with pytest.raises(NotImplementedError, match="lora_alpha"):
        layers.Dense(3, lora_rank=2, lora_alpha=4)
    with pytest.raises(NotImplementedError, match="LoRA"):
        layers.Embedding(5, 3, lora_rank=2)
    with pytest.raises(NotImplementedError, match="Ragged"):
        keras.Input((3,), ragged=True)
    with pytest.raises(NotImplementedError, match="Ragged"):
        layers.InputLayer((3,), ragged=True)
    assert keras.Input((3,), ragged=False).shape == (None, 3)
    params = list(inspect.signature(layers.InputLayer.__init__).parameters)
    assert params[1:6] == ["shape", "batch_size", "dtype", "sparse", "ragged"]
