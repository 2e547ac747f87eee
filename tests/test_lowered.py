"""The lowered training program (models/lowered.py, cpp/src/runtime/program.cpp): the same
weights, losses and metrics as the interpreted (tape) path, bit for bit, at 1 and 2 threads;
what is not lowered keeps the interpreted path; bad descriptions and data raise."""
import numpy as np
import pytest

import nnfast as keras
from nnfast import config
from nnfast.backend.program import CompiledProgram
from nnfast.models import lowered


def _mlp(optimizer, hidden=("relu", "relu"), out="softmax", dropout=0.2, shape=(12, 11)):
    keras.utils.set_random_seed(3)
    layers = [keras.Input(shape)]
    if len(shape) > 1:
        layers.append(keras.layers.Flatten())
    for units, act in zip((40, 24), hidden):
        layers.append(keras.layers.Dense(units, activation=act))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(7, activation=out))
    return keras.Sequential(layers)


def _fit_both(build, x, y, compile_kwargs, monkeypatch, fit_kwargs=None):
    """Trains two fresh copies, lowered and interpreted; returns (weights, history, ran)."""
    fit_kwargs = dict({"batch_size": 16, "epochs": 2, "verbose": 0}, **(fit_kwargs or {}))
    out = []
    calls = []
    done = []  # each call's number of steps the program ran
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, b, *rest, run=lowered.LoweredTraining.run:
                        calls.append(len(b)) or done.append(run(self, b, *rest)) or done[-1])
    for enabled in (True, False):
        monkeypatch.setattr(lowered, "ENABLED", enabled)
        calls = []
        model = build()
        model.compile(**(compile_kwargs() if callable(compile_kwargs) else compile_kwargs))
        history = model.fit(x, y, **fit_kwargs)
        out.append((model.get_weights(), history.history, calls,
                    model.optimizer.iterations, done))
        done = []
    return out


def _assert_same(lowered_run, interpreted_run):
    (w1, h1, calls, it1, _), (w2, h2, none, it2, _) = lowered_run, interpreted_run
    assert calls and not none, "the lowered program did not run (or ran when disabled)"
    assert it1 == it2
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = config.get_num_threads() if hasattr(config, "get_num_threads") else None
    config.set_num_threads(request.param)
    yield request.param
    if before is not None:
        config.set_num_threads(before)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_mlp_sparse_labels_bit_identical(optimizer, threads, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.random((203, 12, 11)).astype("float32")  # 203: a short last batch
    y = rng.integers(0, 7, 203)
    runs = _fit_both(lambda: _mlp(optimizer), x, y,
                     {"optimizer": optimizer, "loss": "sparse_categorical_crossentropy",
                      "metrics": ["accuracy"]}, monkeypatch)
    _assert_same(*runs)


def test_mlp_one_hot_logits_and_options_bit_identical(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(150, 20)).astype("float64")  # float64 input: converted as Dense does
    y = keras.utils.to_categorical(rng.integers(0, 7, 150), 7)
    for make_optimizer in (lambda: keras.optimizers.Adam(amsgrad=True),
                           lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
                           lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)):
        runs = _fit_both(
            lambda: _mlp(None, hidden=("sigmoid", "gelu"), out="linear", shape=(20,)), x, y,
            lambda: {"optimizer": make_optimizer(), "loss": keras.losses.CategoricalCrossentropy(
                from_logits=True), "metrics": ["categorical_accuracy"]}, monkeypatch,
            {"shuffle": False})
        _assert_same(*runs)


def test_learning_rate_schedule_and_uint8_input(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 255, (120, 6, 5), dtype=np.uint8)
    y = rng.integers(0, 7, (120, 1))

    def compile_kwargs():
        schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 3, 0.5)
        return {"optimizer": keras.optimizers.Adam(schedule),
                "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}

    out = []
    for enabled in (True, False):
        monkeypatch.setattr(lowered, "ENABLED", enabled)
        model = _mlp(None, shape=(6, 5), dropout=0.5)
        model.compile(**compile_kwargs())
        h = model.fit(x, y, batch_size=10, epochs=2, verbose=0)
        out.append((model.get_weights(), h.history))
    assert out[0][1] == out[1][1]
    for a, b in zip(out[0][0], out[1][0]):
        np.testing.assert_array_equal(a, b)


def test_steps_per_execution_and_batch_hooks(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.random((100, 12, 11)).astype("float32")
    y = rng.integers(0, 7, 100)
    seen = {True: [], False: []}

    class Hooks(keras.callbacks.Callback):
        def __init__(self, key):
            super().__init__()
            self.key = key

        def on_train_batch_end(self, batch, logs=None):
            seen[self.key].append((batch, round(logs["loss"], 6)))

    out = []
    for enabled in (True, False):
        monkeypatch.setattr(lowered, "ENABLED", enabled)
        model = _mlp("adam")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      steps_per_execution=3)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Hooks(enabled)])
        out.append(model.get_weights())
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    # 7 batches, 3 per call: hooks after steps 2, 5 and 6 (Keras reports the last step).
    assert [b for b, _ in seen[True]] == [2, 5, 6]
    assert [b for b, _ in seen[False]] == list(range(7))
    assert [l for _, l in seen[True]] == [seen[False][i][1] for i in (2, 5, 6)]
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile(optimizer="adam", loss="mse", steps_per_execution=0)


def test_a_batch_per_call_when_a_callback_reads_batch_hooks():
    model = _mlp("adam")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    plain = keras.callbacks.CallbackList([keras.callbacks.History()], add_progbar=True)
    assert lowered.steps_per_call(model, plain) == lowered.AUTO_STEPS_PER_EXECUTION
    reads = keras.callbacks.CallbackList([keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: None)])
    assert lowered.steps_per_call(model, reads) == 1


def _count_sparse_products(monkeypatch):
    """A list that grows by one per interpreted CSR Dense product (SparseDense.forward)."""
    from nnfast.ops import sparse_dense

    seen = []
    forward = sparse_dense.SparseDense.forward
    monkeypatch.setattr(sparse_dense.SparseDense, "forward",
                        staticmethod(lambda *a, **k: seen.append(1) or forward(*a, **k)))
    return seen


def test_a_sparse_batch_runs_the_csr_product_in_the_program(monkeypatch):
    # Mostly dense data (not converted to CSR as a whole) with a run of all-zero rows: the
    # interpreted Dense takes its CSR product on that batch; the program now takes it too
    # (ops 29/30), so no step is handed back and the bits stay the same.
    rng = np.random.default_rng(4)
    x = rng.random((96, 300)).astype("float32")
    x[48:64] = 0.0
    x[50, 3] = 1.0
    x[57, 299] = -0.0  # a -0.0 counts as a nonzero in the head sample, not in the CSR form
    y = rng.integers(0, 7, 96)
    sparse = _count_sparse_products(monkeypatch)
    runs = _fit_both(lambda: _mlp("adam", shape=(300,)), x, y,
                     {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                      "metrics": ["accuracy"]}, monkeypatch,
                     {"shuffle": False, "epochs": 1, "batch_size": 8})
    _assert_same(*runs)
    assert runs[0][2] == [12]  # one call ran all 12 steps
    assert len(sparse) == 2  # batches 6 and 7, on the interpreted run only


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_sparse_hidden_activations_bit_identical(activation, threads, monkeypatch):
    # A wide relu layer with a negative bias leaves its output mostly zeros, so the next
    # Dense (300 inputs) takes the CSR product on both paths for most steps (gelu's gradient
    # needs its input: the pre-activation is kept; relu is applied in place after the
    # gather-sum) and the dense GEMM on the others.
    rng = np.random.default_rng(8)
    x = rng.normal(size=(77, 10)).astype("float32")
    x[:32] *= 5.0  # the first two batches stay dense
    y = rng.integers(0, 7, 77)

    def build():
        keras.utils.set_random_seed(9)
        return keras.Sequential([
            keras.Input((10,)),
            keras.layers.Dense(300, activation="relu", bias_initializer=keras.initializers.
                               Constant(-1.6)),
            keras.layers.Dense(16, activation=activation),
            keras.layers.Dense(7, activation="softmax")])

    sparse = _count_sparse_products(monkeypatch)
    runs = _fit_both(build, x, y, {"optimizer": "adam",
                                   "loss": "sparse_categorical_crossentropy",
                                   "metrics": ["accuracy"]}, monkeypatch,
                     {"batch_size": 16, "shuffle": False})
    _assert_same(*runs)
    assert runs[0][2] == [5, 5]  # no step handed back
    assert 0 < len(sparse) < 10, len(sparse)  # interpreted: some steps sparse, some dense


def test_what_is_not_lowered_keeps_the_interpreted_path(monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.random((40, 10)).astype("float32")
    y = rng.integers(0, 7, 40)
    made = []
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, b, *rest: made.append(1) or 0)
    cases = [
        (keras.Sequential([keras.Input((10,)), keras.layers.Dense(
            7, activation="softmax", kernel_regularizer="l2")]), {}),
        (keras.Sequential([keras.Input((10,)), keras.layers.Dense(7, activation="softmax")]),
         {"sample_weight": np.ones(40)}),
        (keras.Sequential([keras.Input((10,)), keras.layers.BatchNormalization(),
                           keras.layers.Dense(7, activation="softmax")]), {}),
    ]
    for model, extra in cases:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, verbose=0, **extra)

    class Doubled(keras.Sequential):
        def call(self, inputs, training=None, mask=None):
            return super().call(inputs * 2.0, training=training, mask=mask)

    model = Doubled([keras.Input((10,)), keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(clipnorm=1.0),
                  loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert not made


def test_bad_labels_raise_before_any_change():
    rng = np.random.default_rng(6)
    x = rng.random((32, 10)).astype("float32")
    y = rng.integers(0, 7, 32)
    y[20] = 9
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.build((None, 10))
    before = model.get_weights()
    with pytest.raises(ValueError, match="label value of 9"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    # The first two batches trained before the bad one was seen, as on the tape path.
    assert model.optimizer.iterations == 2
    assert not np.array_equal(before[0], model.get_weights()[0])


def _tiny_program(**override):
    # One step: losses of a 2x3 logits input against labels, recorded.
    buffers = np.array([[2, 0, 0, 3],    # 0: input (rows, 3)
                        [4, 0, 0, 1],    # 1: labels
                        [0, 0, 0, 3],    # 2: probabilities
                        [0, 16, 0, 1]],  # 3: per-sample loss
                       dtype=np.int64)
    ins = np.zeros((2, 17), dtype=np.int64)
    ins[0, :7] = [6, 0, -1, 1, 2, 3, -1]
    ins[0, 11:15] = [0, 1, 3, 0]
    ins[1, :7] = [15, 3, -1, -1, -1, -1, -1]
    ins[1, 11:13] = [0, 1]
    args = dict(buffers=buffers, instructions=ins, floats=np.zeros((2, 4), np.float32),
                arena_size=32, max_rows=4, input_per_row=3, target_per_row=0, label_classes=3)
    args.update(override)
    return CompiledProgram(**args)


def test_program_runs_and_checks_its_description():
    program = _tiny_program()
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], np.float32)
    labels = np.array([1, 2], np.int64)
    losses = np.zeros((1, 4), np.float32)
    done = program.run([logits], None, labels, [], np.zeros(1, np.float32), 1,
                       np.zeros(1, np.int64), losses, np.zeros((1, 1), np.int64))
    assert done == 1
    z = logits.astype(np.float64)
    want = np.log(np.exp(z).sum(1)) - z[[0, 1], labels]
    np.testing.assert_allclose(losses[0, :2], want, rtol=1e-6)
    with pytest.raises(ValueError, match="outside the arena"):
        _tiny_program(arena_size=19)
    bad = np.zeros((2, 17), np.int64)
    bad[:, 0] = 99
    with pytest.raises(ValueError, match="unknown op"):
        _tiny_program(instructions=bad)
    ins = np.zeros((2, 17), dtype=np.int64)
    ins[0, :7] = [6, 1, -1, 1, 2, 3, -1]  # the labels read as the logits
    ins[0, 11:15] = [0, 1, 3, 0]
    ins[1, :7] = [15, 3, -1, -1, -1, -1, -1]
    ins[1, 11:13] = [0, 1]
    with pytest.raises(ValueError, match="labels in buffer slot 0"):
        _tiny_program(instructions=ins)
    with pytest.raises(ValueError, match="outside the valid range"):
        program.run([logits], None, np.array([1, 3], np.int64), [], np.zeros(1, np.float32), 1,
                    np.zeros(1, np.int64), losses, np.zeros((1, 1), np.int64))
    with pytest.raises(ValueError, match="rows, expected 1 to 4"):
        program.run([np.zeros((5, 3), np.float32)], None, np.zeros(5, np.int64), [],
                    np.zeros(1, np.float32), 1, np.zeros(1, np.int64), losses,
                    np.zeros((1, 1), np.int64))
    with pytest.raises(ValueError, match="losses output holds 1"):
        program.run([logits], None, labels, [], np.zeros(1, np.float32), 1,
                    np.zeros(1, np.int64), np.zeros((1, 1), np.float32),
                    np.zeros((1, 1), np.int64))
    with pytest.raises(ValueError, match="shares memory"):
        counts = np.zeros((1, 1), np.int64)
        program.run([logits], None, labels, [], np.zeros(1, np.float32), 1, counts[0], losses,
                    counts)


@pytest.mark.parametrize("case", ["binary_sigmoid", "binary_logits", "mse", "mse_sigmoid"])
def test_binary_crossentropy_and_mse_bit_identical(case, monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(90, 9)).astype("float32")
    if case.startswith("binary"):
        y = rng.integers(0, 2, 90).astype("float32")
        out = "sigmoid" if case == "binary_sigmoid" else "linear"
        loss = keras.losses.BinaryCrossentropy(from_logits=case == "binary_logits")
        metrics = ["accuracy"] if case == "binary_sigmoid" else None
        units = 1
    else:
        y = rng.normal(size=(90, 3)).astype("float32")
        out = "sigmoid" if case == "mse_sigmoid" else "linear"
        loss, metrics, units = "mse", None, 3

    def build():
        keras.utils.set_random_seed(5)
        return keras.Sequential([keras.Input((9,)), keras.layers.Dense(16, activation="tanh"),
                                 keras.layers.Dropout(0.3),
                                 keras.layers.Dense(units, activation=out)])

    runs = _fit_both(build, x, y, lambda: {"optimizer": "rmsprop", "loss": loss,
                                           "metrics": metrics}, monkeypatch)
    _assert_same(*runs)


def test_program_refuses_a_missing_buffer_a_kernel_reads():
    # relu's gradient reads the activation's output: a description without it is refused.
    buffers = np.array([[2, 0, 0, 3], [0, 0, 0, 3], [0, 16, 0, 3]], dtype=np.int64)
    ins = np.zeros((1, 17), dtype=np.int64)
    ins[0, :7] = [2, -1, -1, 1, 2, -1, -1]
    ins[0, 7] = 1  # relu
    ins[0, 11:13] = [0, 3]
    program = CompiledProgram(buffers, ins, np.array([[0, np.inf, 0, 0]], np.float32), 32, 4, 3,
                              0, 0)
    with pytest.raises(ValueError, match="missing activation output"):
        program.run([np.ones((2, 3), np.float32)], None, None, [], np.zeros(1, np.float32), 1,
                    np.zeros(1, np.int64), np.zeros((1, 4), np.float32),
                    np.zeros((1, 1), np.int64))


def _cnn(second="relu", pool_strides=None, padding="valid"):
    """The tutorial CNN, small: Conv2D(relu) -> MaxPooling2D (a fused pair) -> Conv2D ->
    MaxPooling2D -> Flatten -> Dropout -> Dense(softmax)."""
    keras.utils.set_random_seed(11)
    return keras.Sequential([
        keras.Input((14, 13, 1)),
        keras.layers.Conv2D(6, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(8, 3, activation=second, padding=padding),
        keras.layers.MaxPooling2D(2, strides=pool_strides, padding=padding),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(5, activation="softmax")])


def _cnn_data():
    rng = np.random.default_rng(4)
    return rng.random((45, 14, 13, 1)).astype("float32"), rng.integers(0, 5, 45)  # short last


def _fit_cnn_both(build, compile_kwargs, monkeypatch, fit_kwargs=None):
    """``_fit_both`` on the CNN data, checking that the program ran every lowered step."""
    x, y = _cnn_data()
    done = []
    run = lowered.LoweredTraining.run
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, b, *rest: done.append((len(b), run(self, b, *rest)))
                        or done[-1][1])
    runs = _fit_both(build, x, y, compile_kwargs, monkeypatch, fit_kwargs)
    assert done and all(n == ran for n, ran in done), done
    return runs


@pytest.mark.parametrize("fuse", [True, False], ids=["fused_pair", "unfused"])
def test_cnn_bit_identical(fuse, threads, monkeypatch):
    from nnfast.models import fusion

    monkeypatch.setattr(fusion, "FUSE_CONV_POOL", fuse)
    _assert_same(*_fit_cnn_both(_cnn, {"optimizer": "adam",
                                       "loss": "sparse_categorical_crossentropy",
                                       "metrics": ["accuracy"]}, monkeypatch))
    model = _cnn()
    model.build((None, 14, 13, 1))
    assert bool(lowered._fused_steps(model)[0]) == fuse  # the program ran the plan's pair


def test_cnn_whose_dense_input_turns_sparse_bit_identical(threads, monkeypatch):
    # The tutorial CNN's failure mode on random data: after Flatten + Dropout the Dense input
    # (288 values) is mostly zeros, here from the second conv's negative bias; every step
    # stays in the program, with the CSR product where the interpreted path takes it.
    rng = np.random.default_rng(12)
    x = rng.random((40, 20, 20, 1)).astype("float32")
    x[:16] *= 8.0  # the first batch stays dense
    y = rng.integers(0, 5, 40)

    def build():
        keras.utils.set_random_seed(13)
        return keras.Sequential([
            keras.Input((20, 20, 1)),
            keras.layers.Conv2D(6, 3, activation="relu"), keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, activation="relu",
                                bias_initializer=keras.initializers.Constant(-0.3)),
            keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dropout(0.5),
            keras.layers.Dense(5, activation="softmax")])

    sparse = _count_sparse_products(monkeypatch)
    runs = _fit_both(build, x, y, {"optimizer": "adam",
                                   "loss": "sparse_categorical_crossentropy"}, monkeypatch,
                     {"batch_size": 16, "shuffle": False})
    _assert_same(*runs)
    assert runs[0][2] == [3, 3]
    assert 0 < len(sparse) < 6, len(sparse)


def test_cnn_with_a_winograd_conv_bit_identical(threads, monkeypatch):
    # A second conv of 16 -> 16 channels over 32 images of 7x7 (512 tiles of 2x2) takes the
    # Winograd route (4x4 tiles) on both paths (forward and kernel gradient; its input
    # gradient stays on the register tiles).
    from nnfast import _core

    rng = np.random.default_rng(14)
    x = rng.random((64, 20, 20, 1)).astype("float32")  # whole batches: 512 tiles each
    y = rng.integers(0, 5, 64)

    def build():
        keras.utils.set_random_seed(15)
        return keras.Sequential([
            keras.Input((20, 20, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(), keras.layers.Dense(5, activation="softmax")])

    runs = _fit_both(build, x, y, {"optimizer": "adam",
                                   "loss": "sparse_categorical_crossentropy"}, monkeypatch,
                     {"batch_size": 32, "shuffle": False})
    _assert_same(*runs)
    chosen = _core.selected_kernels()
    assert chosen["conv2d_forward"] == chosen["conv2d_backward_weights"] == "winograd_f4x4_3x3"


def test_cnn_linear_conv_strided_same_pool_bit_identical(monkeypatch):
    _assert_same(*_fit_cnn_both(lambda: _cnn(second="linear", pool_strides=1, padding="same"),
                                {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy",
                                 "metrics": ["accuracy"]}, monkeypatch, {"shuffle": False}))


@pytest.mark.parametrize("pool", [(None, "valid"), (1, "same")], ids=["2x2", "overlapping"])
def test_cnn_relu_mask_on_the_pooled_gradient_bit_identical(pool, monkeypatch):
    # The second conv's relu mask is applied to the pooled gradient inside the pool's
    # scatter (models/lowered.py _plan_pool_relu_backward: max_pool2d_backward's relu_y
    # slot), also where windows overlap and their gradients sum at one input; the weights
    # match the tape's relu(pool_backward(g)).
    from nnfast.models import fusion

    monkeypatch.setattr(fusion, "FUSE_CONV_POOL", False)  # both pairs unfused
    described = []
    run = lowered.LoweredTraining.run
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, *a: described.append(self.description) or run(self, *a))
    _assert_same(*_fit_cnn_both(lambda: _cnn(pool_strides=pool[0], padding=pool[1]),
                                {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                                 "metrics": ["accuracy"]}, monkeypatch, {"shuffle": False}))
    instructions = described[0].instructions
    assert not [ins for ins in instructions if ins.op == "relu_backward_from_output"]
    masks = [ins.buffers[3].name for ins in instructions
             if ins.op == "max_pool2d_backward" and len(ins.buffers) > 3 and ins.buffers[3]]
    # Only the second pair (its conv's input gradient is needed): the first conv's mask
    # stays inside its weight-gradient kernel.
    assert len(masks) == 1, masks
    assert masks[0].startswith("max_pooling2d") and masks[0].endswith("/output"), masks


def _conv_program(geometry_index=0, out_size=16):
    """One conv2d_forward instruction: (rows, 4, 4, 1) inputs, a 3x3 kernel to 2 channels,
    writing an external output of ``out_size`` floats."""
    buffers = np.array([[2, 0, 0, 16],           # 0: input
                        [1, 0, 18, 0],           # 1: kernel (external 0)
                        [1, 1, out_size, 0]],    # 2: output (external 1)
                       dtype=np.int64)
    ins = np.zeros((1, 17), dtype=np.int64)
    ins[0, :7] = [20, 0, 1, -1, 2, -1, -1]
    ins[0, 7:9] = [geometry_index, 0]
    ins[0, 11:13] = [0, 1]
    geometry = [[4, 4, 1, 2, 2, 2, 3, 3, 1, 1, 1, 1, 0, 0, 1] + [0] * 11]
    return CompiledProgram(buffers, ins, np.array([[0, np.inf, 0, 0]], np.float32), 0, 2, 16,
                           0, 0, geometries=geometry)


def test_conv_program_values_and_checks():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 4, 1)).astype(np.float32)
    kernel = rng.normal(size=(3, 3, 1, 2)).astype(np.float32)
    out = np.zeros(16, np.float32)
    run = lambda program, out: program.run(  # noqa: E731
        [x], None, None, [kernel, out], np.zeros(1, np.float32), 1, np.zeros(1, np.int64),
        np.zeros((1, 2), np.float32), np.zeros((1, 1), np.int64))
    assert run(_conv_program(), out) == 1
    want = np.zeros((2, 2, 2, 2))
    for i in range(2):
        for j in range(2):
            patch = x[:, i:i + 3, j:j + 3, :].astype(np.float64)
            want[:, i, j, :] = np.einsum("bhwc,hwco->bo", patch, kernel.astype(np.float64))
    np.testing.assert_allclose(out.reshape(2, 2, 2, 2), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="geometry 3 out of range"):
        _conv_program(geometry_index=3)
    with pytest.raises(ValueError, match="conv output has 8 elements"):
        run(_conv_program(out_size=8), np.zeros(8, np.float32))
    bad = [[4, 4, 1, 2, 2, 2, 3, 3, 0, 1, 1, 1, 0, 0, 1] + [0] * 11]  # stride 0
    with pytest.raises(ValueError, match="program instruction 0"):
        CompiledProgram(np.zeros((0, 4), np.int64), np.array([[20] + [-1] * 6 + [0] * 10]),
                        np.zeros((1, 4), np.float32), 0, 2, 16, 0, 0, geometries=bad)


def test_program_gathers_rows_of_a_source():
    program = _tiny_program()
    source = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0]], np.float32)
    labels = np.array([2, 1], np.int64)
    losses = np.zeros((1, 4), np.float32)
    args = (None, labels, [], np.zeros(1, np.float32), 1, np.zeros(1, np.int64), losses,
            np.zeros((1, 1), np.int64))
    assert program.run([np.array([1, 0], np.int64)], *args, source=source) == 1
    z = source[[1, 0]].astype(np.float64)
    want = np.log(np.exp(z).sum(1)) - z[[0, 1], labels]
    np.testing.assert_allclose(losses[0, :2], want, rtol=1e-6)
    with pytest.raises(ValueError, match="row index 3 outside"):
        program.run([np.array([1, 3], np.int64)], *args, source=source)
    with pytest.raises(ValueError, match="row index -1 outside"):
        program.run([np.array([-1, 0], np.int64)], *args, source=source)


# --- Embedding -> LSTM/GRU/SimpleRNN (the IMDB tutorial model) ----------------------------------

def _token_model(cell, vocab=60, features=8, units=6, **rnn_kwargs):
    keras.utils.set_random_seed(5)
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
           "simple": keras.layers.SimpleRNN}[cell](units, **rnn_kwargs)
    return keras.Sequential([keras.Input((9,)), keras.layers.Embedding(vocab, features), rnn,
                             keras.layers.Dense(1, activation="sigmoid")])


def _tokens(n=75, vocab=60, seed=6, dtype="int32"):
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, (n, 9)).astype(dtype), rng.integers(0, 2, n)


@pytest.mark.parametrize("cell,optimizer,options", [
    ("lstm", "adam", {}), ("gru", "rmsprop", {}), ("lstm", "sgd", {}), ("simple", "adam", {}),
    ("gru", "adam", {"reset_after": False, "go_backwards": True}),
    ("lstm", "rmsprop", {"activation": "relu", "recurrent_activation": "hard_sigmoid",
                         "use_bias": False})])
def test_embedding_recurrence_bit_identical(cell, optimizer, options, threads, monkeypatch):
    x, y = _tokens()  # 75 rows at batch 16: a short last batch
    runs = _fit_both(lambda: _token_model(cell, **options), x, y,
                     {"optimizer": optimizer, "loss": "binary_crossentropy",
                      "metrics": ["accuracy"]}, monkeypatch)
    assert sum(runs[0][4]) == 10  # every step of both epochs ran in the program
    _assert_same(*runs)


# --- functional models with several inputs (lowered from the model's plan) ----------------------

def _several_inputs(merge="concatenate", dropout=0.0, raw_second=False):
    """Inputs (13,), (6,) and, for ``add3``, (5,): Dense branches (or the raw second input)
    merged, then Dense(gelu) -> Dense(softmax)."""
    keras.utils.set_random_seed(7)
    inputs = [keras.Input((13,)), keras.Input((6,))] + ([keras.Input((5,))]
                                                         if merge == "add3" else [])
    width = 10 if merge == "concatenate" else 6
    ha = keras.layers.Dense(width, activation="relu")(inputs[0])
    if dropout:
        ha = keras.layers.Dropout(dropout)(ha)
    hb = inputs[1] if raw_second else keras.layers.Dense(width, activation="tanh")(inputs[1])
    branches = [ha, hb] + [keras.layers.Dense(width)(x) for x in inputs[2:]]
    merged = (keras.layers.Concatenate() if merge == "concatenate" else keras.layers.Add())(
        branches)
    h = keras.layers.Dense(8, activation="gelu")(merged)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(h))


def _several_input_data(three=False, n=70):
    rng = np.random.default_rng(8)
    x = [rng.normal(size=(n, 13)).astype("float32"), rng.normal(size=(n, 6))]  # float64 too
    return x + ([rng.random((n, 5)).astype("float32")] if three else []), \
        rng.integers(0, 4, n)


@pytest.mark.parametrize("merge,dropout,raw_second", [
    ("concatenate", 0.0, False), ("add3", 0.3, False), ("concatenate", 0.25, True),
    ("add", 0.0, True)])
def test_functional_several_inputs_bit_identical(merge, dropout, raw_second, threads,
                                                 monkeypatch):
    x, y = _several_input_data(merge == "add3")
    runs = _fit_both(lambda: _several_inputs(merge, dropout, raw_second), x, y,
                     {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                      "metrics": ["accuracy"]}, monkeypatch)
    assert sum(runs[0][4]) == 10  # 70 rows at batch 16: 5 steps, 2 epochs, all in C++
    _assert_same(*runs)


def test_embedding_recurrence_optimizer_options_bit_identical(monkeypatch):
    x, y = _tokens(dtype="float64")  # float ids: truncated to int64 as the Embedding does
    for make_optimizer in (lambda: keras.optimizers.RMSprop(momentum=0.5, centered=True),
                           lambda: keras.optimizers.Adam(amsgrad=True),
                           lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                           lambda: keras.optimizers.Adam(
                               keras.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5))):
        runs = _fit_both(lambda: _token_model("lstm"), x, y,
                         lambda: {"optimizer": make_optimizer(),  # noqa: B023 (called here)
                                  "loss": "binary_crossentropy", "metrics": ["accuracy"],
                                  "steps_per_execution": 2},
                         monkeypatch)
        assert sum(runs[0][4]) == 10  # 2 steps a call: the schedule's rate per step
        _assert_same(*runs)


def test_recurrent_and_graph_models_the_program_leaves_to_the_tape(monkeypatch):
    x, y = _tokens()
    made = []
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, b, *rest: made.append(1) or 0)
    for build, optimizer in (
            (lambda: _token_model("lstm", dropout=0.2), "adam"),  # input dropout: not fused
            (lambda: _token_model("gru", recurrent_dropout=0.2), "adam"),
            (lambda: _token_model("lstm", return_sequences=True), "adam"),
            (lambda: _token_model("lstm"), keras.optimizers.Adamax()),
            (lambda: _token_model("lstm"), keras.optimizers.Adam(clipvalue=0.5))):
        model = build()
        if len(model.layers) == 3 and model.layers[1].return_sequences:
            model = keras.Sequential(model.layers[:2] + [keras.layers.GlobalAveragePooling1D(),
                                                         model.layers[2]])
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
        model.fit(x, y, epochs=1, verbose=0)
    masked = keras.Sequential([keras.Input((9,)), keras.layers.Embedding(60, 8, mask_zero=True),
                               keras.layers.LSTM(6), keras.layers.Dense(1, activation="sigmoid")])
    masked.compile(optimizer="adam", loss="binary_crossentropy")
    masked.fit(x, y, epochs=1, verbose=0)
    # a functional model reading one tensor twice (its gradient would be a sum)
    a, b = keras.Input((13,)), keras.Input((6,))
    h = keras.layers.Dense(6)(a)
    out = keras.layers.Dense(4, activation="softmax")(keras.layers.Concatenate()(
        [h, keras.layers.Add()([h, keras.layers.Dense(6)(b)])]))
    shared = keras.Model([a, b], out)
    shared.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    (xa, xb), ya = _several_input_data()
    shared.fit([xa, xb], ya, epochs=1, verbose=0)
    assert not made


def test_token_batches_the_tape_would_not_fuse_are_handed_back(monkeypatch):
    # vocab 3000 > 64 * rows * steps for the last batch of 3 rows (1728): the interpreted
    # step runs Embedding then LSTM, so the program hands that step back.
    rng = np.random.default_rng(9)
    x, y = rng.integers(0, 3000, (35, 9)).astype("float32"), rng.integers(0, 2, 35)
    runs = _fit_both(lambda: _token_model("lstm", vocab=3000), x, y,
                     {"optimizer": "rmsprop", "loss": "binary_crossentropy",
                      "metrics": ["accuracy"]}, monkeypatch, {"shuffle": False})
    assert runs[0][2] == [3, 3] and runs[0][4] == [2, 2]  # each epoch: 2 of 3 steps in C++
    _assert_same(*runs)


def test_bad_token_ids_raise_as_on_the_tape(monkeypatch):
    x, y = _tokens()
    x[40, 3] = 60  # outside the table of 60 rows: the batch of rows 32-47
    errors = []
    for enabled in (True, False):
        monkeypatch.setattr(lowered, "ENABLED", enabled)
        model = _token_model("lstm")
        model.compile(optimizer="adam", loss="binary_crossentropy")
        with pytest.raises(ValueError) as info:
            model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        errors.append((str(info.value), int(model.optimizer.iterations)))
    assert errors[0] == errors[1] and errors[0][1] == 2


def _lowered_of(build, x, y, compile_kwargs, monkeypatch):
    """The LoweredTraining ``fit`` made for the model (its first run is captured)."""
    seen = []
    run = lowered.LoweredTraining.run
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, b, *rest: seen.append(self) or run(self, b, *rest))
    model = build()
    model.compile(**compile_kwargs)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return seen[0]


def _rebuild(low, buffers=None, ints=None, recurrences=None):
    d = low.description
    b, i, f = d.encode()
    return CompiledProgram(b if buffers is None else buffers, i if ints is None else ints, f,
                           d.arena_size, low.batch_size,
                           1 if low.token_vocab is not None else
                           sum(int(np.prod(shape)) for shape in low.input_shapes),
                           0 if low.loss_kind == "sparse" else low.units,
                           low.units if low.loss_kind == "sparse" else 0, d.geometries or None,
                           d.encode_recurrences() if recurrences is None else recurrences,
                           low.input_shape[0] if low.token_vocab is not None else 0)


def test_recurrent_and_graph_program_descriptions_are_checked(monkeypatch):
    x, y = _tokens()
    low = _lowered_of(lambda: _token_model("lstm"), x, y,
                      {"optimizer": "adam", "loss": "binary_crossentropy"}, monkeypatch)
    rec = low.description.encode_recurrences()
    bad = rec.copy()
    bad[0, 9 + 5] = 10_000  # h_seq: no such buffer
    with pytest.raises(ValueError, match="names buffer 10000"):
        _rebuild(low, recurrences=bad)
    bad = rec.copy()
    bad[0, 9] = bad[0, 9 + 5]  # the ids read from an arena buffer
    with pytest.raises(ValueError, match="token ids"):
        _rebuild(low, recurrences=bad)
    bad = rec.copy()
    bad[0, 9 + 8] = bad[0, 9 + 6]  # a workspace of one row's outputs: too small
    program = _rebuild(low, recurrences=bad)
    externals = [get() for get in low.description.externals]
    before = [e.copy() for e in externals]
    ids = np.zeros((16, 9), np.int64)

    def run(program, ids):
        return program.run([ids], np.zeros(16, np.float32), None, externals,
                           np.full(1, 1e-3, np.float32), 1, np.zeros(1, np.int64),
                           np.zeros((1, 16), np.float32), np.zeros((1, 1), np.int64))

    with pytest.raises(ValueError, match="workspace has"):
        run(program, ids)
    bad = low.description.encode()[1].copy()
    gemm = next(k for k, ins in enumerate(low.description.instructions) if ins.op == "gemm")
    bad[gemm, 1] = low.description.recurrences[0].buffers["ids"].id  # int64 as a GEMM's a
    with pytest.raises(ValueError, match="token ids are read by recurrences only"):
        _rebuild(low, ints=bad)
    ids[3, 4] = 60  # a table of 60 rows: checked before any kernel runs
    with pytest.raises(ValueError, match="token id 60 outside"):
        run(_rebuild(low), ids)
    for a, b in zip(externals, before):
        np.testing.assert_array_equal(a, b)
    # a functional model: Concatenate's column copies and the inputs' offsets are checked
    xs, ys = _several_input_data()
    low = _lowered_of(_several_inputs, xs, ys,
                      {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"},
                      monkeypatch)
    buffers, ints, _ = low.description.encode()
    bad = buffers.copy()
    bad[1, 1] = 15  # the second input (6 values a row) at 15 of 19
    with pytest.raises(ValueError, match="outside the step's 19 input values"):
        _rebuild(low, buffers=bad)
    bad = ints.copy()
    row = next(k for k, ins in enumerate(low.description.instructions)
               if ins.op == "copy_columns")
    bad[row, 10] = 11  # the first block's 10 columns from 11 of a 20-column output
    with pytest.raises(ValueError, match="several inputs cannot gather"):
        low.program.run([np.arange(16, dtype=np.int64)], None, np.zeros(16, np.int64),
                        [get() for get in low.description.externals],
                        np.full(1, 1e-3, np.float32), 1, np.zeros(1, np.int64),
                        np.zeros((1, 16), np.float32), np.zeros((1, 1), np.int64),
                        np.zeros((20, 19), np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        _rebuild(low, ints=bad).run(
            [np.zeros(16 * 19, np.float32)], None, np.zeros(16, np.int64),
            [get() for get in low.description.externals], np.full(1, 1e-3, np.float32), 1,
            np.zeros(1, np.int64), np.zeros((1, 16), np.float32), np.zeros((1, 1), np.int64))


def test_functional_embedding_recurrence_bit_identical(threads, monkeypatch):
    def build():
        keras.utils.set_random_seed(5)
        ids = keras.Input((9,), dtype="int32")
        h = keras.layers.GRU(6)(keras.layers.Embedding(60, 8)(ids))
        h = keras.layers.Dropout(0.3)(keras.layers.Dense(5, activation="relu")(h))
        return keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(h))

    x, y = _tokens()
    runs = _fit_both(build, x, y, {"optimizer": "adam", "loss": "binary_crossentropy",
                                   "metrics": ["accuracy"]}, monkeypatch)
    assert sum(runs[0][4]) == 10
    _assert_same(*runs)


def test_sparse_dense_ops_check_their_store():
    # dense_maybe_sparse_forward: a (rows, 256) input, a (256, 2) kernel, (rows, 2) output and
    # its CSR store, which must be the program's memory at an even offset and large enough.
    from nnfast.backend.program import OPS, csr_store_size

    fixed, per_row = csr_store_size(256)
    buffers = np.array([[2, 0, 0, 256], [1, 0, 512, 0], [0, 0, 0, 2],
                        [0, 16, fixed, per_row]], dtype=np.int64)
    ins = np.zeros((1, 17), dtype=np.int64)
    ins[0, :7] = [OPS["dense_maybe_sparse_forward"], 0, 1, 2, -1, 3, -1]
    ins[0, 11:17] = [0, 1, 2, 0, 256, 0]
    floats = np.array([[0, np.inf, 0, 0]], np.float32)
    arena = 16 + fixed + per_row * 4

    def run(program, x):
        kernel = np.arange(512, dtype=np.float32).reshape(256, 2) / 512
        program.run([x], None, None, [kernel], np.zeros(1, np.float32), 1,
                    np.zeros(1, np.int64), np.zeros((1, 4), np.float32),
                    np.zeros((1, 1), np.int64))

    run(CompiledProgram(buffers, ins, floats, arena, 4, 256, 0, 0), np.eye(4, 256, dtype="f4"))
    odd = buffers.copy()
    odd[3, 1] = 17
    with pytest.raises(ValueError, match="CSR store must be an arena buffer"):
        CompiledProgram(odd, ins, floats, arena + 1, 4, 256, 0, 0)
    small = buffers.copy()
    small[3, 3] = 2
    with pytest.raises(ValueError, match="CSR store has"):
        run(CompiledProgram(small, ins, floats, arena, 4, 256, 0, 0), np.eye(4, 256, dtype="f4"))
