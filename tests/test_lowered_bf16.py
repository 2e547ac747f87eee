"""mixed_bfloat16 training in the lowered program (ProgramOp 60-64,
cpp/src/runtime/program_bf16.cpp): the same weights, losses and metrics as the interpreted
(tape) path bit for bit, at 1 and 2 threads, on the bf16 units and on the rounding route a CPU
without them runs; the ops' values against NumPy; policies without a route stay interpreted."""
import numpy as np
import pytest

import nnfast as keras
from nnfast import _core, config
from nnfast.backend.program import OPS, CompiledProgram
from nnfast.models import fusion, lowered

from test_lowered import _assert_same, _fit_both  # noqa: E402


@pytest.fixture(autouse=True)
def mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(params=[(1, None), (2, None)] + [(1, isa) for isa in config.available_isas()
                                                  if isa != config.cpu_best_isa()],
                ids=lambda p: f"{p[0]}thread_{p[1] or 'best'}")
def threads_isa(request):
    """Threads and ISA cap: the best bf16 kernels (AMX / AVX512_BF16 where present), and under
    a lower cap the route that rounds to fp32 and runs the fp32 kernels."""
    threads, isa = request.param
    before_threads, before_isa = config.get_num_threads(), config.active_isa()
    config.set_num_threads(threads)
    if isa:
        config.set_max_isa(isa)
    yield request.param
    config.set_num_threads(before_threads)
    config.set_max_isa(before_isa)


def _mlp(last="float32", out="softmax"):
    keras.utils.set_random_seed(5)
    return keras.Sequential([
        keras.Input((9, 8)), keras.layers.Flatten(),
        keras.layers.Dense(40, activation="relu"), keras.layers.Dropout(0.25),
        keras.layers.Dense(24, activation="elu"),  # its gradient reads the GEMM's output
        keras.layers.Dense(16, activation="relu"),  # reads the elu output unrounded
        keras.layers.Dense(7, activation=out, dtype=last)])


def _cnn(second="relu", padding="valid"):
    """The tutorial CNN, small; the output layer float32 as Keras's guide says."""
    keras.utils.set_random_seed(11)
    return keras.Sequential([
        keras.Input((14, 13, 1)),
        keras.layers.Conv2D(6, 3, activation="relu"), keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(8, 3, activation=second, padding=padding),
        keras.layers.Conv2D(8, 2, activation="relu"),  # reads the conv output unrounded
        keras.layers.MaxPooling2D(2, padding=padding), keras.layers.Flatten(),
        keras.layers.Dropout(0.5), keras.layers.Dense(5, activation="softmax", dtype="float32")])


def _fit_checked(build, x, y, compile_kwargs, monkeypatch, fit_kwargs=None):
    """``_fit_both``, checking that the program ran every step it was given."""
    done = []
    run = lowered.LoweredTraining.run
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, b, *rest: done.append((len(b), run(self, b, *rest)))
                        or done[-1][1])
    runs = _fit_both(build, x, y, compile_kwargs, monkeypatch, fit_kwargs)
    assert done and all(n == ran for n, ran in done), done
    return runs


def test_mlp_bit_identical(threads_isa, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.random((83, 9, 8)).astype("float32")  # 83: a short last batch
    y = rng.integers(0, 7, 83)
    _assert_same(*_fit_checked(_mlp, x, y, {"optimizer": "adam", "metrics": ["accuracy"],
                                            "loss": "sparse_categorical_crossentropy"},
                               monkeypatch))


def test_mlp_bf16_output_layer_bit_identical(monkeypatch):
    # A bf16 output (logits rounded as Keras's compute dtype leaves them), one-hot targets,
    # float64 inputs (fit hands both paths float32 batches).
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 9, 8))
    y = keras.utils.to_categorical(rng.integers(0, 7, 50), 7)
    _assert_same(*_fit_checked(
        lambda: _mlp(last="mixed_bfloat16", out="linear"), x, y,
        lambda: {"optimizer": keras.optimizers.SGD(0.05, momentum=0.9),
                 "loss": keras.losses.CategoricalCrossentropy(from_logits=True),
                 "metrics": ["categorical_accuracy"]}, monkeypatch))


def test_sparse_batch_is_handed_back_as_the_tape_rounds_it(monkeypatch):
    # A batch of tiny denormals (nonzero in float32, zero once rounded to bfloat16) and one of
    # -0.0 (nonzero bits, as sparse_rows counts them): the interpreted Dense tests its rounded
    # input and takes its CSR product on batch 2 only; the program, reading the input
    # unrounded, hands back exactly that one.
    rng = np.random.default_rng(6)
    x = rng.random((48, 300)).astype("float32")
    x[16:24] = np.float32(1e-44)
    x[16, 5] = 1.0
    x[40:48] = np.float32(-0.0)
    y = rng.integers(0, 7, 48)

    def build():
        keras.utils.set_random_seed(2)
        return keras.Sequential([keras.Input((300,)), keras.layers.Dense(16, activation="relu"),
                                 keras.layers.Dense(7, activation="softmax", dtype="float32")])

    runs = _fit_both(build, x, y, {"optimizer": "adam", "metrics": ["accuracy"],
                                   "loss": "sparse_categorical_crossentropy"}, monkeypatch,
                     {"shuffle": False, "epochs": 1, "batch_size": 8})
    _assert_same(*runs)
    assert runs[0][2] == [6, 3]  # 6 steps: stops before batch 2, takes the rest again


@pytest.mark.parametrize("fuse", [True, False], ids=["fused_pair", "unfused"])
def test_cnn_bit_identical(fuse, threads_isa, monkeypatch):
    monkeypatch.setattr(fusion, "FUSE_CONV_POOL", fuse)
    rng = np.random.default_rng(4)
    x, y = rng.random((45, 14, 13, 1)).astype("float32"), rng.integers(0, 5, 45)
    _assert_same(*_fit_checked(_cnn, x, y, {"optimizer": "adam", "metrics": ["accuracy"],
                                            "loss": "sparse_categorical_crossentropy"},
                               monkeypatch))


def test_cnn_on_the_amx_direct_convolution_bit_identical(threads_isa, monkeypatch):
    """Channels in 16s put the middle convolutions on the AMX direct route where it runs; the
    program hands it the output gradient unrounded (it rounds while packing), the tape its
    rounded copy: the same bits."""
    def build():
        keras.utils.set_random_seed(13)
        return keras.Sequential([
            keras.Input((12, 11, 3)),
            keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.Conv2D(16, 2, activation="relu"),
            keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dropout(0.5),
            keras.layers.Dense(5, activation="softmax", dtype="float32")])

    described = []
    run = lowered.LoweredTraining.run
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, *a: described.append(self.description) or run(self, *a))
    rng = np.random.default_rng(8)
    x, y = rng.random((37, 12, 11, 3)).astype("float32"), rng.integers(0, 5, 37)
    _assert_same(*_fit_checked(build, x, y, {"optimizer": "adam",
                                             "loss": "sparse_categorical_crossentropy"},
                               monkeypatch))
    # The convs round their own outputs and the gradient the conv-pool pair reads; only the
    # model input, the pair's kernel and the dropout output keep a separate rounding pass.
    rounded = [ins.buffers[1].name for ins in described[0].instructions
               if ins.op == "round_to_bfloat16"]
    assert len(rounded) == 3, rounded
    assert all(name.endswith(("/rounded", "/rounded_kernel")) or name.startswith("dropout")
               for name in rounded), rounded
    direct = "amx" in _core.gemm_bf16_variants() and threads_isa[1] is None
    for name in ("conv2d_forward_bf16", "conv2d_backward_data_bf16",
                 "conv2d_backward_weights_bf16"):
        assert (_core.selected_kernels()[name] == "bf16_conv_direct_amx") == direct


def test_cnn_linear_same_conv_bit_identical(monkeypatch):
    rng = np.random.default_rng(4)
    x, y = rng.random((40, 14, 13, 1)).astype("float32"), rng.integers(0, 5, 40)
    _assert_same(*_fit_checked(lambda: _cnn(second="linear", padding="same"), x, y,
                               {"optimizer": "rmsprop",
                                "loss": "sparse_categorical_crossentropy"}, monkeypatch,
                               {"shuffle": False}))


def test_other_policies_keep_the_interpreted_path(monkeypatch):
    made = []
    monkeypatch.setattr(lowered.LoweredTraining, "run", lambda self, b, *rest: made.append(1) or 0)
    rng = np.random.default_rng(2)
    x, y = rng.random((20, 10)).astype("float32"), rng.integers(0, 7, 20)
    keras.mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(7, activation="softmax", dtype="float32")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    # A bf16 softmax output runs softmax on the tape (not lowered).
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(7, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert not made
    layer = keras.layers.Dense(3, dtype="mixed_bfloat16")
    assert lowered.layer_precision(layer) == "bfloat16"
    assert lowered.layer_precision(keras.layers.Dense(3, dtype="float32")) == "float32"
    assert lowered.layer_precision(keras.layers.Dense(3, dtype="mixed_float16")) is None


def _one_op_program(op, ints, m, n, k, sizes):
    """One instruction on external arrays of ``sizes`` (the run passes them)."""
    buffers = np.array([[2, 0, 0, 1]] + [[1, i, s, 0] for i, s in enumerate(sizes)], np.int64)
    row = np.zeros((1, 17), np.int64)
    ids = list(range(1, len(sizes) + 1))
    row[0, :7] = [OPS[op]] + ids + [-1] * (6 - len(ids))
    row[0, 7:7 + len(ints)] = ints
    row[0, 11:17] = [m, 0, n, 0, k, 0]
    floats = np.array([[0, np.inf, 0, 0]], np.float32)
    return CompiledProgram(buffers, row, floats, 0, 1, 1, 0, 0)


def _run(program, externals):
    return program.run([np.zeros((1, 1), np.float32)], None, None, externals,
                       np.zeros(1, np.float32), 1, np.zeros(1, np.int64),
                       np.zeros((1, 1), np.float32), np.zeros((1, 1), np.int64))


def test_bf16_ops_values_and_checks():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(37) * 3).astype("float32")
    out = np.empty_like(x)
    assert _run(_one_op_program("round_to_bfloat16", (), 37, 0, 0, (37, 37)), [x, out]) == 1
    bits = x.view(np.uint32).astype(np.uint64)  # nearest even, by integer arithmetic
    want = (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16).astype(np.uint32)
    np.testing.assert_array_equal(out.view(np.uint32), want)
    # gemm_bf16 (relu fused): the products of the rounded operands, summed in float64.
    m, n, k = 5, 7, 13
    a, b = rng.standard_normal((m, k)).astype("float32"), rng.standard_normal((k, n))
    b = b.astype("float32")
    c = np.empty((m, n), np.float32)
    _run(_one_op_program("gemm_bf16", (0, 0, 1, 0), m, n, k, (m * k, k * n, m * n)), [a, b, c])
    ra, rb = (np.empty_like(v) for v in (a, b))
    _core.round_to_bfloat16(a, ra)
    _core.round_to_bfloat16(b, rb)
    np.testing.assert_allclose(c, np.maximum(ra.astype(np.float64) @ rb, 0), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ValueError, match="c has 34 elements"):
        _run(_one_op_program("gemm_bf16", (0, 0, 0, 0), m, n, k, (m * k, k * n, 34)),
             [a, b, np.empty(34, np.float32)])
    with pytest.raises(ValueError, match="destination has 36 elements"):
        _run(_one_op_program("round_to_bfloat16", (), 37, 0, 0, (37, 36)),
             [x, np.empty(36, np.float32)])


def test_bf16_gemm_packs_a_value_as_its_rounded_copy():
    # The program hands a bf16 layer's GEMM its input unrounded where the tape rounds it first
    # (round_to_bfloat16): every variant and packing must give the same bits either way, also
    # for the denormals that round up to the smallest normal (vcvtne2ps2bf16 alone flushes
    # them) and for NaN, infinities and -0.0.
    rng = np.random.default_rng(7)
    special = np.array([0x007FFFFF, 0x807F8000, 0x007F7FFF, 0x00000001, 0x80008001, 0x7FC00001,
                        0xFF800000, 0x80000000, 0x3F808000, 0x3F818000], np.uint32)
    for variant in _core.gemm_bf16_variants():
        for trans_a, trans_b in ((False, False), (True, False), (False, True), (True, True)):
            m, n, k = 37, 35, 41
            a = rng.standard_normal((k, m) if trans_a else (m, k)).astype("float32")
            b = rng.standard_normal((n, k) if trans_b else (k, n)).astype("float32")
            for x in (a, b):
                flat = x.reshape(-1).view(np.uint32)
                flat[rng.choice(flat.size, 60, replace=False)] = np.resize(special, 60)
            results = []
            for x, w in ((a, b), tuple(_rounded(v) for v in (a, b))):
                c = np.empty((m, n), np.float32)
                _core.gemm(x, w, c, trans_a=trans_a, trans_b=trans_b, precision="bfloat16",
                           bf16_variant=variant)
                results.append(c.view(np.uint32))
            np.testing.assert_array_equal(*results, err_msg=f"{variant} {trans_a} {trans_b}")


def _rounded(x):
    out = np.empty_like(x)
    _core.round_to_bfloat16(x, out)
    return out


@pytest.mark.parametrize("n", [1, 15, 17, 4099])
def test_round_to_bfloat16_every_isa(isa, n):
    # The rounding a bf16 layer applies to its inputs, outputs and gradients: ties to even on
    # the dropped 16 bits, NaN kept and quiet, denormals rounded (not flushed).
    rng = np.random.default_rng(n)
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    special = np.array([0x3F808000, 0x3F818000, 0x007FFFFF, 0x00008000, 0x00018000, 0x7F7FFFFF,
                        0x7F800000, 0xFF800001, 0x7F810000, 0x80000000, 0xBF7FFFFF], np.uint32)
    bits[:min(n, special.size)] = special[:n]
    x = bits.view(np.float32)
    out = np.empty_like(x)
    _core.round_to_bfloat16(x, out)
    wide = bits.astype(np.uint64)
    rounded = ((wide + 0x7FFF + ((wide >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    want = np.where(nan, (bits | 0x00400000) & 0xFFFF0000, rounded)
    np.testing.assert_array_equal(out.view(np.uint32), want)
    inplace = x.copy()
    _core.round_to_bfloat16(inplace, inplace)
    np.testing.assert_array_equal(inplace.view(np.uint32), want)


def test_cnn_relu_mask_on_the_pooled_gradient_bit_identical(monkeypatch):
    # A mixed_bfloat16 relu conv's pool reads the conv's rounded copy; the conv's relu mask
    # still goes into the pool's scatter (pooled > 0: a positive float32 rounds to a
    # positive bf16), and training matches the tape's relu(pool_backward(g)) bit for bit.
    monkeypatch.setattr(fusion, "FUSE_CONV_POOL", False)
    described = []
    run = lowered.LoweredTraining.run
    monkeypatch.setattr(lowered.LoweredTraining, "run",
                        lambda self, *a: described.append(self.description) or run(self, *a))
    rng = np.random.default_rng(6)
    x, y = rng.random((40, 14, 13, 1)).astype("float32"), rng.integers(0, 5, 40)
    _assert_same(*_fit_checked(_cnn, x, y, {"optimizer": "adam",
                                            "loss": "sparse_categorical_crossentropy"},
                               monkeypatch, {"shuffle": False}))
    instructions = described[0].instructions
    masks = [ins.buffers[3].name for ins in instructions
             if ins.op == "max_pool2d_backward" and len(ins.buffers) > 3 and ins.buffers[3]]
    assert len(masks) == 1, masks  # the last pair's; the first conv needs no input gradient
    # The first conv (no pool mask: its pair is unfused and its input needs no gradient)
    # and the middle one (a conv follows it) keep their own relu backward; the last does not.
    assert sum(ins.op == "relu_backward_from_output" for ins in instructions) == 2
