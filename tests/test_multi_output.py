"""Multi-input / multi-output training: loss and metric lists/dicts, loss weights, Keras's
log keys, per-output sample weights, evaluate/predict/on_batch with several outputs."""
import numpy as np
import pytest

import nnfast
from nnfast import Input, Model, layers


def _model():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    h = layers.concatenate([layers.Dense(6, activation="relu")(a), b])
    reg = layers.Dense(1, name="reg")(h)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    return Model([a, b], [reg, cls])


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")]
    y = [rng.normal(size=(n, 1)).astype("float32"), rng.integers(0, 3, n)]
    return x, y


def test_log_keys_and_total_loss_is_weighted_sum():
    nnfast.utils.set_random_seed(0)
    model = _model()
    model.compile("adam", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[2.0, 0.5],
                  metrics=[["mae"], ["accuracy"]])
    x, y = _data()
    h = model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25)
    assert sorted(h.history) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae",
                                 "val_cls_accuracy", "val_cls_loss", "val_loss", "val_reg_loss",
                                 "val_reg_mae"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(2.0 * logs["reg_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)
    preds = model.predict(x, verbose=0)
    mse = np.mean((preds[0] - y[0]) ** 2)
    ce = -np.mean(np.log(np.clip(preds[1][np.arange(40), y[1]], 1e-7, 1)))
    assert logs["reg_loss"] == pytest.approx(mse, rel=1e-4)
    assert logs["cls_loss"] == pytest.approx(ce, rel=1e-4)
    assert logs["cls_accuracy"] == pytest.approx(np.mean(preds[1].argmax(1) == y[1]))
    values = model.evaluate(x, y, verbose=0)
    # Keras 3: the compiled metrics are one `compile_metrics` entry; evaluate lists the loss,
    # the output losses, then the output metrics.
    assert model.metrics_names == ["loss", "compile_metrics", "reg_loss", "cls_loss"]
    assert values == pytest.approx([logs[k] for k in ["loss", "reg_loss", "cls_loss",
                                                      "cls_accuracy", "reg_mae"]])


def test_dict_losses_targets_inputs_and_sample_weights():
    model = _model()
    model.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 1.0, "cls": 0.0}, metrics={"cls": "accuracy"})
    x, y = _data()
    xd = {"a": x[0], "b": x[1]}
    yd = {"reg": y[0], "cls": y[1]}
    logs = model.test_on_batch(xd, yd, return_dict=True)
    assert set(logs) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    assert logs["loss"] == pytest.approx(logs["reg_loss"], rel=1e-6)
    w = np.zeros(40, np.float32)
    w[:20] = 2.0
    half = model.test_on_batch([x[0][:20], x[1][:20]], [y[0][:20], y[1][:20]], return_dict=True)
    weighted = model.test_on_batch(xd, yd, sample_weight={"reg": w, "cls": w}, return_dict=True)
    assert weighted["reg_loss"] == pytest.approx(half["reg_loss"], rel=1e-5)
    model.fit(xd, yd, sample_weight={"reg": w}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Unknown output name"):
        model.fit(xd, {"nope": y[0], "cls": y[1]}, verbose=0)
    with pytest.raises(ValueError, match="2 outputs"):
        model.fit(x, y[0], verbose=0)


def test_single_loss_applies_to_every_output_and_outputs_without_loss():
    a = Input((3,))
    o1, o2 = layers.Dense(2, name="p")(a), layers.Dense(2, name="q")(a)
    model = Model(a, [o1, o2])
    model.compile("sgd", "mse")
    x = np.ones((4, 3), np.float32)
    logs = model.train_on_batch(x, [np.zeros((4, 2)), np.ones((4, 2))], return_dict=True)
    assert set(logs) == {"loss", "p_loss", "q_loss"}
    model.compile("sgd", loss={"p": "mse"})
    logs = model.test_on_batch(x, {"p": np.zeros((4, 2))}, return_dict=True)
    assert set(logs) == {"loss", "p_loss"}


def test_multi_output_training_learns_and_predicts_lists():
    nnfast.utils.set_random_seed(1)
    model = _model()
    model.compile(nnfast.optimizers.Adam(0.02), loss=["mse", "sparse_categorical_crossentropy"])
    x, y = _data(64)
    first = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] < 0.7 * first
    out = model.predict_on_batch(x)
    assert [o.shape for o in out] == [(64, 1), (64, 3)]
    direct = model(x, training=False)
    np.testing.assert_array_equal(np.asarray(direct[0]), out[0])


def test_class_weight_is_single_output_only():
    model = _model()
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"])
    x, y = _data()
    with pytest.raises(ValueError, match="single output"):
        model.fit(x, y, class_weight={0: 2.0}, verbose=0)
