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


def test_smart_resize_matches_keras():
    from nnfast.preprocessing.image import smart_resize

    np.testing.assert_allclose(smart_resize(D["smart_in"], (8, 9)), D["smart_out"], rtol=1e-5,
                               atol=1e-3)
    np.testing.assert_allclose(
        smart_resize(D["smart_cf_in"], (6, 6), interpolation="nearest",
                     data_format="channels_first"), D["smart_cf_out"], rtol=1e-6)
    with pytest.raises(ValueError, match="rank"):
        smart_resize(np.zeros((4, 4)), (2, 2))
    assert keras.preprocessing.image.smart_resize is smart_resize


def test_progbar_averages_stateless_values_as_keras():
    bar = keras.utils.Progbar(10, verbose=0, stateful_metrics=["acc"])
    shown = []
    for step, loss, acc in [(1, 4.0, 0.1), (3, 2.0, 0.5), (4, 1.0, 0.7), (8, 0.5, 0.9),
                            (10, 0.25, 1.0)]:
        bar.update(step, [("loss", loss), ("acc", acc)])
        shown.append([bar._values[k][0] / bar._values[k][1] for k in ("loss", "acc")])
    np.testing.assert_allclose(shown, D["progbar_shown"])
    with pytest.raises(ValueError, match="Only one"):
        keras.utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
    # stateless_metrics=set(): everything shown as given (what fit uses)
    bar = keras.utils.Progbar(4, verbose=0, stateless_metrics=set())
    bar.update(1, [("loss", 3.0)])
    bar.update(2, [("loss", 1.0)])
    assert bar._values["loss"] == [1.0, 1]


def test_dataset_builders_format_argument(tmp_path):
    from nnfast import preprocessing, utils

    ds = utils.timeseries_dataset_from_array(np.arange(10), None, 3, batch_size=2, format="tf")
    np.testing.assert_array_equal(np.asarray(ds[0]), [[0, 1, 2], [1, 2, 3]])
    with pytest.raises(NotImplementedError, match="grain"):
        utils.timeseries_dataset_from_array(np.arange(10), None, 3, format="grain")
    with pytest.raises(ValueError, match="format"):
        preprocessing.timeseries_dataset_from_array(np.arange(10), None, 3, format="np")
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "1.txt").write_text(f"text {cls}")
    texts = preprocessing.text_dataset_from_directory(str(tmp_path), batch_size=2,
                                                      shuffle=False, format="tf")
    assert texts.class_names == ["a", "b"]
    with pytest.raises(NotImplementedError, match="grain"):
        utils.text_dataset_from_directory(str(tmp_path), format="grain")
    with pytest.raises(NotImplementedError, match="grain"):
        preprocessing.image_dataset_from_directory(str(tmp_path), format="grain")


def test_saving_signatures():
    from nnfast import saving

    class Thing:
        pass

    with saving.custom_object_scope({"Thing": Thing}):
        assert saving.get_registered_object("Thing") is Thing
    with pytest.raises(TypeError, match="dict"):
        saving.CustomObjectScope(["Thing"])
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    with pytest.raises(NotImplementedError, match="max_shard_size"):
        saving.save_weights(model, "m.weights.json", max_shard_size=1)
    with pytest.raises(NotImplementedError, match="max_shard_size"):
        model.save_weights("m.weights.json", max_shard_size=1)
    with pytest.raises(ValueError, match="Invalid keyword"):
        saving.load_weights(model, "m.weights.h5", bogus=1)


def test_deserialize_safe_mode_default_and_scope():
    from nnfast import saving

    model = keras.Sequential([keras.Input((2,)), layers.Lambda(lambda x: x * 2)])
    config = saving.serialize_keras_object(model.layers[0])
    with pytest.raises(ValueError, match="unsafe|safe_mode"):
        saving.deserialize_keras_object(config)  # default safe_mode=True
    layer = saving.deserialize_keras_object(config, safe_mode=False)
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 2), "float32"))), [[2.0, 2.0]])
    with pytest.raises(ValueError, match="unsafe|safe_mode"):  # no leftover state
        saving.deserialize_keras_object(config)


def test_metric_keras2_positional_name_still_works():
    class Legacy(metrics.Metric):
        def __init__(self):
            super().__init__("legacy_metric")  # tf.keras order (name, dtype)

    # tf_keras 2.21 and Keras 3.15 both give the metric floatx's dtype when none is given.
    assert (Legacy().name, Legacy().dtype) == ("legacy_metric", "float32")
