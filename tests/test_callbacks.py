"""Callbacks on real (tiny) training runs: hook order, EarlyStopping, ModelCheckpoint,
ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback,
BackupAndRestore (resume after a crash), TensorBoard event files, RemoteMonitor."""
import csv
import http.server
import json
import os
import threading

import numpy as np
import pytest

import nnfast
from nnfast import callbacks, layers, optimizers

rng = np.random.default_rng(0)
X = rng.standard_normal((64, 4)).astype(np.float32)
Y = (X @ rng.standard_normal((4, 1)) + 0.1).astype(np.float32)
XV = rng.standard_normal((16, 4)).astype(np.float32)
YV = (XV @ np.ones((4, 1)) * 0.5).astype(np.float32)


def make_model(optimizer=None, seed=1):
    nnfast.utils.set_random_seed(seed)
    model = nnfast.Sequential([layers.Input((4,)), layers.Dense(8, activation="tanh"),
                               layers.Dense(1)])
    model.compile(optimizer=optimizer or optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


class Scripted(callbacks.Callback):
    """Overwrites a log key with scripted values and records the weights per epoch."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values, self.weights = key, values, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def test_hook_order_params_and_stop_training():
    events = []

    class Recorder(callbacks.Callback):
        def __getattribute__(self, name):
            attr = object.__getattribute__(self, name)
            if name.startswith("on_") and callable(attr):
                def wrapped(*args, **kwargs):
                    events.append((name,) + tuple(a for a in args if isinstance(a, int)))
                    return attr(*args, **kwargs)
                return wrapped
            return attr

    # Override every hook so the CallbackList dispatches them all.
    for hook in callbacks._HOOKS:
        setattr(Recorder, hook, lambda self, *a, **k: None)
    rec = Recorder()
    model = make_model()
    model.fit(X, Y, batch_size=32, epochs=2, verbose=0, validation_data=(XV, YV), callbacks=[rec])
    assert rec.params["epochs"] == 2 and rec.params["steps"] == 2 and rec.model is model
    epoch0 = [("on_epoch_begin", 0), ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
              ("on_train_batch_begin", 1), ("on_train_batch_end", 1), ("on_test_begin",),
              ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_end",),
              ("on_epoch_end", 0)]
    assert events[0] == ("on_train_begin",)
    assert events[1:1 + len(epoch0)] == epoch0
    assert events[-1] == ("on_train_end",)

    class StopAtBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.seen = batch
            if batch == 0:
                self.model.stop_training = True

    stop = StopAtBatch()
    hist = make_model().fit(X, Y, batch_size=16, epochs=5, verbose=0, callbacks=[stop])
    assert stop.seen == 0 and len(hist.epoch) == 1


def test_early_stopping_stops_at_right_epoch_and_restores_best():
    scripted = Scripted("val_loss", [1.0, 0.5, 0.6, 0.55, 0.3, 0.2, 0.1])
    es = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model = make_model()
    hist = model.fit(X, Y, epochs=7, verbose=0, callbacks=[scripted, es])
    # Best at epoch 1; epochs 2 and 3 do not improve -> wait reaches 2 at epoch 3.
    assert hist.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best_epoch == 1
    for got, want in zip(model.get_weights(), scripted.weights[1]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_min_delta_baseline_start_epoch_and_mode():
    # min_delta: 0.5 -> 0.45 is not an improvement of 0.1.
    s = Scripted("val_loss", [1.0, 0.5, 0.45, 0.42, 0.1])
    es = callbacks.EarlyStopping(min_delta=0.1, patience=2)
    assert make_model().fit(X, Y, epochs=5, verbose=0, callbacks=[s, es]).epoch == [0, 1, 2, 3]
    # baseline never beaten: improvements do not reset wait, so the first plateau stops
    # one epoch earlier than without a baseline.
    s = Scripted("val_loss", [0.9, 0.8, 0.85, 0.86, 0.87])
    es = callbacks.EarlyStopping(baseline=0.5, patience=2)
    assert make_model().fit(X, Y, epochs=5, verbose=0, callbacks=[s, es]).epoch == [0, 1, 2]
    s = Scripted("val_loss", [0.9, 0.8, 0.85, 0.86, 0.87])
    es = callbacks.EarlyStopping(patience=2)
    assert make_model().fit(X, Y, epochs=5, verbose=0, callbacks=[s, es]).epoch == [0, 1, 2, 3]
    # start_from_epoch: the first epochs are not monitored.
    s = Scripted("val_loss", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    es = callbacks.EarlyStopping(patience=1, start_from_epoch=3)
    assert make_model().fit(X, Y, epochs=6, verbose=0, callbacks=[s, es]).epoch == [0, 1, 2, 3, 4]
    # auto mode reads the metric's direction: accuracy-like is maximized.
    model = make_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[nnfast.metrics.AUC(name="auc")])
    s = Scripted("val_auc", [0.5, 0.7, 0.6, 0.65])
    es = callbacks.EarlyStopping(monitor="val_auc", patience=2)
    yb = (Y > 0).astype(np.float32)
    model.fit(X, yb, epochs=4, verbose=0, callbacks=[s, es])
    assert es.monitor_op is np.greater and es.best == 0.7 and es.stopped_epoch == 3
    with pytest.raises(ValueError, match="automatically determine"):
        make_model().fit(X, Y, epochs=1, verbose=0,
                         callbacks=[Scripted("val_foo", [1.0]),
                                    callbacks.EarlyStopping(monitor="val_foo")])


def test_early_stopping_restores_at_train_end_without_stop():
    scripted = Scripted("val_loss", [0.3, 0.1, 0.2])
    model = make_model()
    model.fit(X, Y, epochs=3, verbose=0,
              callbacks=[scripted, callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
    for got, want in zip(model.get_weights(), scripted.weights[1]):
        np.testing.assert_array_equal(got, want)


def _fake_save(model, saved):
    """Stand-in for model.save/save_weights (another engineer's module): writes the weights
    with NumPy and records the path."""
    def save(filepath, overwrite=True, **kwargs):
        with open(filepath, "wb") as f:
            np.savez(f, *model.get_weights())
        saved.append(os.path.basename(filepath))
    return save


def test_model_checkpoint_templates_best_only_and_reload(tmp_path, monkeypatch):
    model = make_model(optimizers.SGD(0.05))
    saved = []
    monkeypatch.setattr(model, "save", _fake_save(model, saved), raising=False)
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.4f}.keras"),
                                     save_best_only=True)
    hist = model.fit(X, Y, epochs=4, verbose=0, validation_data=(XV, YV), callbacks=[ckpt])
    vl = hist.history["val_loss"]
    best_so_far, expected = np.inf, []
    for e, v in enumerate(vl):
        if v < best_so_far:
            best_so_far = v
            expected.append(f"m-{e + 1:02d}-{v:.4f}.keras")
    assert saved == expected and sorted(os.listdir(tmp_path)) == sorted(expected)
    # The best file reloads with the logged val_loss.
    with np.load(tmp_path / expected[-1]) as data:
        model.set_weights([data[f"arr_{i}"] for i in range(len(data.files))])
    assert model.evaluate(XV, YV, verbose=0)[0] == pytest.approx(min(vl), rel=1e-5)

    saved.clear()
    monkeypatch.setattr(model, "save_weights", _fake_save(model, saved), raising=False)
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}-{batch}.weights.h5"),
                                     save_weights_only=True, save_freq=3)
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, callbacks=[ckpt])
    assert saved == ["w-1-3.weights.h5", "w-2-2.weights.h5"]
    with pytest.raises(ValueError, match=".weights.h5"):
        callbacks.ModelCheckpoint("x.keras", save_weights_only=True)
    with pytest.raises(ValueError, match=".keras"):
        callbacks.ModelCheckpoint("x.txt")
    with pytest.raises(KeyError, match="Failed to format"):
        ckpt = callbacks.ModelCheckpoint(str(tmp_path / "{nope}.keras"))
        ckpt.set_model(model)
        ckpt.on_epoch_end(0, {"loss": 1.0})


def test_model_checkpoint_real_files(tmp_path):
    model = make_model()
    if not hasattr(model, "save") or not hasattr(model, "save_weights"):
        pytest.skip("model.save/model.save_weights (the saving module) are not in this build")
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "r-{epoch:02d}.weights.h5"),
                                     save_weights_only=True)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["r-01.weights.h5", "r-02.weights.h5"]


def test_reduce_lr_on_plateau_lowers_rate_and_logs_it():
    scripted = Scripted("val_loss", [1.0, 0.9, 0.95, 0.97, 0.96, 0.99, 0.98])
    rlr = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03, cooldown=1)
    model = make_model(optimizers.SGD(0.1))
    hist = model.fit(X, Y, epochs=7, verbose=0, callbacks=[scripted, rlr])
    # Rate in effect during each epoch (logged before any reduction): no improvement at
    # epochs 2, 3 -> halved after epoch 3; epoch 4 ends the cooldown and counts again
    # (Keras), epoch 5 -> halved again but floored at min_lr.
    np.testing.assert_allclose(hist.history["learning_rate"],
                               [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.03], rtol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    with pytest.raises(ValueError, match="factor"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_learning_rate_scheduler():
    model = make_model(optimizers.SGD(0.1))
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch > 0 else lr)
    hist = model.fit(X, Y, epochs=3, verbose=0, callbacks=[sched])
    np.testing.assert_allclose(hist.history["learning_rate"], [0.1, 0.05, 0.025], rtol=1e-6)
    sched = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    hist = make_model().fit(X, Y, epochs=2, verbose=0, callbacks=[sched])
    np.testing.assert_allclose(hist.history["learning_rate"], [0.01, 0.02], rtol=1e-6)
    with pytest.raises(ValueError, match="float"):
        make_model().fit(X, Y, epochs=1, verbose=0,
                         callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "x")])


def test_csv_logger_append(tmp_path):
    path = tmp_path / "log.csv"
    model = make_model()
    model.fit(X, Y, epochs=2, verbose=0, validation_data=(XV, YV),
              callbacks=[callbacks.CSVLogger(str(path))])
    model.fit(X, Y, epochs=1, verbose=0, validation_data=(XV, YV),
              callbacks=[callbacks.CSVLogger(str(path), append=True)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"] and len(rows) == 4
    assert float(rows[2][1]) > 0


def test_terminate_on_nan():
    xbad = X.copy()
    xbad[:] = np.nan
    hist = make_model().fit(xbad, Y, batch_size=16, epochs=3, verbose=0,
                            callbacks=[callbacks.TerminateOnNaN()])
    assert len(hist.epoch) == 1 and np.isnan(hist.history["loss"][0])
    with pytest.raises(RuntimeError, match="NaN or Inf"):
        make_model().fit(xbad, Y, epochs=1, verbose=0,
                         callbacks=[callbacks.TerminateOnNaN(raise_error=True)])


def test_lambda_callback():
    seen = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.append("begin"),
        on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch, round(logs["loss"], 6) > 0)),
        on_train_batch_end=lambda batch, logs: seen.append(("batch", batch)),
        on_train_end=lambda logs: seen.append("end"))
    make_model().fit(X, Y, batch_size=32, epochs=1, verbose=0, callbacks=[cb])
    assert seen == ["begin", ("batch", 0), ("batch", 1), ("epoch", 0, True), "end"]


class Crash(callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("simulated crash")


def test_backup_and_restore_resumes_with_identical_weights(tmp_path):
    backup = str(tmp_path / "backup")
    model_a = make_model(optimizers.Adam(0.01))
    init = model_a.get_weights()
    nnfast.utils.set_random_seed(7)
    model_a.fit(X, Y, batch_size=16, epochs=5, verbose=0, shuffle=True)

    model_b = make_model(optimizers.Adam(0.01))
    model_b.set_weights(init)
    nnfast.utils.set_random_seed(7)
    with pytest.raises(RuntimeError, match="simulated crash"):
        model_b.fit(X, Y, batch_size=16, epochs=5, verbose=0, shuffle=True,
                    callbacks=[callbacks.BackupAndRestore(backup), Crash(2)])
    meta = json.load(open(os.path.join(backup, "training_metadata.json")))
    assert meta["epoch"] == 3

    # A fresh process would rebuild the model: new weights, new optimizer, other RNG.
    model_c = make_model(optimizers.Adam(0.01), seed=99)
    nnfast.utils.set_random_seed(123)
    hist = model_c.fit(X, Y, batch_size=16, epochs=5, verbose=0, shuffle=True,
                       callbacks=[callbacks.BackupAndRestore(backup)])
    assert hist.epoch == [3, 4]
    for got, want in zip(model_c.get_weights(), model_a.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert model_c.optimizer.iterations == model_a.optimizer.iterations
    assert not os.path.exists(backup)  # deleted when training finishes


def test_tensorboard_event_files_read_back(tmp_path):
    try:
        callbacks.TensorBoard._writer_class()
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        pytest.skip("tensorboardX/tensorboard not installed (optional dependency)")
    log_dir = tmp_path / "tb"
    tb = callbacks.TensorBoard(log_dir=str(log_dir), update_freq=2, histogram_freq=1)
    make_model().fit(X, Y, batch_size=16, epochs=2, verbose=0, validation_data=(XV, YV),
                     callbacks=[tb])
    train = EventAccumulator(str(log_dir / "train"))
    train.Reload()
    tags = train.Tags()["scalars"]
    assert {"epoch_loss", "epoch_mae", "batch_loss"} <= set(tags)
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1]
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]
    assert train.Tags()["histograms"]
    val = EventAccumulator(str(log_dir / "validation"))
    val.Reload()
    assert [e.step for e in val.Scalars("epoch_loss")] == [0, 1]


def _event_tags(run_dir):
    """{tag: (plugin, steps)} of every summary in a run folder, read by TensorBoard itself."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "images": 0,
                                                        "histograms": 0, "scalars": 0})
    acc.Reload()
    tags = {}
    for tag in acc.Tags()["tensors"]:
        tags[tag] = (acc.SummaryMetadata(tag).plugin_data.plugin_name,
                     [e.step for e in acc.Tensors(tag)])
    for kind, get in (("scalars", acc.Scalars), ("histograms", acc.Histograms),
                      ("images", acc.Images)):
        for tag in acc.Tags()[kind]:
            tags[tag] = (kind, [e.step for e in get(tag)])
    return acc, tags


def test_tensorboard_writes_what_keras_writes(tmp_path):
    """The same fit as tests/fixtures/tensorboard/make_tensorboard_tags.py (Keras 3.15): the
    same tags, plugins and steps in train/ and validation/. Keras prefixes the weights of a
    Sequential model with the model's name (``sequential/dense/kernel``); nnfast's weight
    paths are ``dense/kernel``, so that prefix is compared without."""
    pytest.importorskip("tensorboard")
    fixture = os.path.join(os.path.dirname(__file__), "fixtures", "tensorboard", "keras_tags.json")
    with open(fixture) as f:
        keras_tags = json.load(f)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, size=(64,))
    model = nnfast.Sequential([
        nnfast.Input((6, 6, 1)),
        nnfast.layers.Conv2D(2, 3, name="conv"),
        nnfast.layers.Flatten(name="flatten"),
        nnfast.layers.Dense(3, activation="softmax", name="dense"),
    ])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    tb = callbacks.TensorBoard(str(tmp_path), histogram_freq=1, write_images=True,
                               write_graph=True, update_freq=2, write_steps_per_second=True)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x[:16], y[:16]),
              callbacks=[tb])
    assert sorted(os.listdir(tmp_path)) == sorted(keras_tags)
    for run, want in keras_tags.items():
        acc, got = _event_tags(tmp_path / run)
        want = {tag.replace("sequential/", "", 1): (v["plugin"], v["steps"]) for tag, v in want.items()}
        assert got == want, run
    acc, _ = _event_tags(tmp_path / "train")
    graph = json.loads(acc.Tensors("keras")[0].tensor_proto.string_val[0])
    assert graph["class_name"] == "Sequential"
    assert [l["config"]["name"] for l in graph["config"]["layers"]][-3:] == ["conv", "flatten", "dense"]
    image = acc.Images("conv/kernel/image")[0]
    assert (image.width, image.height) > (0, 0)
    hist = acc.Histograms("dense/kernel/histogram")[-1].histogram_value
    kernel = model.layers[-1].kernel.numpy()
    assert hist.num == kernel.size and hist.min == pytest.approx(float(kernel.min()))


def test_tensorboard_embeddings_and_profile_batch(tmp_path):
    model = nnfast.Sequential([nnfast.Input((4,), dtype="int32"),
                               nnfast.layers.Embedding(10, 3, name="emb"),
                               nnfast.layers.GlobalAveragePooling1D(), nnfast.layers.Dense(1)])
    model.compile("sgd", "mse")
    ids = np.random.default_rng(1).integers(0, 10, size=(8, 4))
    tb = callbacks.TensorBoard(str(tmp_path), embeddings_freq=1,
                               embeddings_metadata={"emb": "meta.tsv"}, profile_batch="2,3")
    with pytest.warns(UserWarning, match="no profiler"):
        model.fit(ids, np.zeros((8, 1)), epochs=1, verbose=0, callbacks=[tb])
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"' in config
    assert 'metadata_path: "meta.tsv"' in config
    assert (tmp_path / "train" / "keras_embedding.ckpt-0.weights.h5").exists()
    with pytest.raises(ValueError, match="Unrecognized `Embedding` layer names"):
        model.fit(ids, np.zeros((8, 1)), epochs=1, verbose=0, callbacks=[
            callbacks.TensorBoard(str(tmp_path / "b"), embeddings_freq=1,
                                  embeddings_metadata={"nope": "m.tsv"})])
    for bad in (-1, (3, 2), "a,b", (1, 2, 3)):
        with pytest.raises(ValueError, match="profile_batch must be"):
            callbacks.TensorBoard(str(tmp_path), profile_batch=bad)


def test_tensorboard_missing_dependency_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("tensorboardX"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        make_model().fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.TensorBoard("x")])


def test_remote_monitor_posts_epoch_logs():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}"
        make_model().fit(X, Y, epochs=2, verbose=0,
                         callbacks=[callbacks.RemoteMonitor(root=root, send_as_json=True)])
    finally:
        server.shutdown()
    payloads = [json.loads(r) for r in received]
    assert [p["epoch"] for p in payloads] == [0, 1] and "loss" in payloads[0]


def test_ema_weights_become_final_weights():
    model = make_model(optimizers.SGD(0.05, use_ema=True, ema_momentum=0.5))
    model.fit(X, Y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.trainable_weights[0].value,
                                  model.optimizer._ema[0])


def test_weighted_metrics_use_sample_weight():
    model = make_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mse"])
    sw = np.zeros(len(X), np.float32)
    sw[:8] = 1.0
    logs = model.evaluate(X, Y, sample_weight=sw, verbose=0, return_dict=True)
    pred = model.predict(X, verbose=0)
    per = np.mean((pred - Y) ** 2, -1)
    assert logs["mse"] == pytest.approx(per[:8].mean(), rel=1e-5)
    assert logs["mae"] == pytest.approx(np.mean(np.abs(pred - Y)), rel=1e-5)
