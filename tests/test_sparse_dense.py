"""Sparse-input Dense: CSR kernels (every ISA variant) against float64 NumPy on odd shapes,
the op's gradients, the dense/sparse choice, training equivalence with the dense path, and
SciPy sparse inputs to fit/predict/evaluate."""
import numpy as np
import pytest

import nnfast
from nnfast import _core, ops
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor, Variable
from nnfast.ops import sparse_dense
from nnfast.ops.sparse_dense import CSRBatch

rng = np.random.default_rng(3)


def multi_hot(rows, cols, density, seed=0):
    r = np.random.default_rng(seed)
    x = (r.random((rows, cols)) < density).astype(np.float32)
    other = r.random((rows, cols)) < density / 4  # some values other than 1
    x[other] = r.standard_normal(int(other.sum())).astype(np.float32)
    return x


def csr_of(x):
    rows, cols = np.nonzero(x)
    indptr = np.searchsorted(rows, np.arange(x.shape[0] + 1)).astype(np.int64)
    return indptr, cols.astype(np.int64), x[rows, cols].astype(np.float32)


SHAPES = [(1, 257, 1), (7, 300, 5), (33, 611, 17), (19, 1000, 64), (5, 513, 70), (9, 260, 131)]


@pytest.mark.parametrize("rows,cols,units", SHAPES)
def test_csr_kernels_match_float64_on_every_isa(isa, rows, cols, units):
    x = multi_hot(rows, cols, 0.04, seed=rows + units)
    x[0, :] = 0.0  # an empty row
    w = rng.standard_normal((cols, units)).astype(np.float32)
    b = rng.standard_normal(units).astype(np.float32)
    dy = rng.standard_normal((rows, units)).astype(np.float32)
    indptr, indices, values = _core.csr_from_dense(x, x.size)
    want = csr_of(x)
    for got, ref in zip((indptr, indices, values), want):
        np.testing.assert_array_equal(got, ref)
    y = np.empty((rows, units), np.float32)
    _core.csr_matmul(indptr, indices, values, w, y, bias=b)
    np.testing.assert_allclose(y, x.astype(np.float64) @ w + b, rtol=1e-5, atol=1e-5)
    _core.csr_matmul(indptr, indices, values, w, y)
    np.testing.assert_allclose(y, x.astype(np.float64) @ w, rtol=1e-5, atol=1e-5)
    dw = np.full((cols, units), np.nan, np.float32)  # overwritten, not accumulated
    _core.csr_matmul_t(indptr, indices, values, dy, dw)
    np.testing.assert_allclose(dw, x.T.astype(np.float64) @ dy, rtol=1e-5, atol=1e-5)
    start = rng.standard_normal((cols, units)).astype(np.float32)
    acc = start.copy()
    _core.csr_matmul_t(indptr, indices, values, dy, acc, accumulate=True)
    np.testing.assert_allclose(acc, start + x.T.astype(np.float64) @ dy, rtol=1e-5, atol=1e-5)


def test_scan_stops_when_too_dense_and_keeps_nan(isa):
    x = multi_hot(6, 300, 0.05)
    nnz = np.count_nonzero(x)
    assert _core.csr_from_dense(x, nnz - 1) is None
    assert len(_core.csr_from_dense(x, nnz)[1]) == nnz
    x[2, 17] = np.nan
    indptr, indices, values = _core.csr_from_dense(x, x.size)
    k = indptr[2] + np.searchsorted(indices[indptr[2]:indptr[3]], 17)
    assert indices[k] == 17 and np.isnan(values[k])


def test_kernel_gradient_has_the_same_bits_for_any_thread_count():
    x = multi_hot(64, 2000, 0.03)
    dy = rng.standard_normal((64, 96)).astype(np.float32)
    parts = _core.csr_from_dense(x, x.size)
    out = []
    previous = _core.num_threads()
    try:
        for threads in (1, 2, 3):
            nnfast.config.set_num_threads(threads)
            dw = np.empty((2000, 96), np.float32)
            _core.csr_matmul_t(*parts, dy, dw)
            out.append(dw)
    finally:
        nnfast.config.set_num_threads(previous)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])


def test_bad_csr_is_rejected_with_a_clear_error():
    w = np.ones((10, 4), np.float32)
    y = np.empty((2, 4), np.float32)
    vals = np.ones(2, np.float32)
    with pytest.raises(ValueError, match="out of range"):
        _core.csr_matmul(np.array([0, 1, 2]), np.array([3, 10]), vals, w, y)
    with pytest.raises(ValueError, match="non-decreasing"):
        _core.csr_matmul(np.array([0, 2, 1]), np.array([3, 4]), vals, w, y)
    with pytest.raises(ValueError, match="indptr\\[-1\\]"):
        _core.csr_matmul_t(np.array([0, 1, 1]), np.array([3, 4]), vals, y, w)
    with pytest.raises(ValueError, match="expected shape"):
        _core.csr_matmul(np.array([0, 1, 2]), np.array([3, 4]), vals, w, np.empty((3, 4), np.float32))
    with pytest.raises(TypeError, match="int64"):
        _core.csr_matmul(np.array([0, 1, 2], np.int32), np.array([3, 4]), vals, w, y)


@pytest.mark.parametrize("activation", [None, "relu", "softmax", "tanh"])
def test_sparse_op_matches_dense_forward_and_gradients(activation):
    x = multi_hot(13, 700, 0.02)
    assert sparse_dense.sparse_rows(x, 700) is not None
    w0 = rng.standard_normal((700, 11)).astype(np.float32) * 0.1
    b0 = rng.standard_normal(11).astype(np.float32)
    g = rng.standard_normal((13, 11)).astype(np.float32)

    def run(force_dense):
        k, b = Variable(w0.copy()), Variable(b0.copy())
        xt = Tensor(x.copy())
        with GradientTape() as tape:
            tape.watch(xt)
            if force_dense:
                old = sparse_dense.MAX_DENSITY
                sparse_dense.MAX_DENSITY = 0.0
            try:
                y = ops.dense(xt, k, b, activation)
            finally:
                if force_dense:
                    sparse_dense.MAX_DENSITY = old
            loss = ops.sum(ops.multiply(y, g))
        return (y.value,) + tuple(np.asarray(getattr(v, "value", v)) for v in tape.gradient(loss, [k, b, xt]))

    sparse, dense = run(False), run(True)
    for s, d in zip(sparse, dense):
        np.testing.assert_allclose(s, d, rtol=1e-4, atol=1e-5)


def test_dense_inputs_and_narrow_inputs_take_the_dense_path():
    assert sparse_dense.sparse_rows(multi_hot(16, 700, 0.3), 700) is None
    assert sparse_dense.sparse_rows(multi_hot(16, 100, 0.01), 100) is None  # too narrow
    assert sparse_dense.sparse_rows(multi_hot(16, 700, 0.01).astype(np.float64), 700) is None
    # Sparse first rows, dense rest: the full scan stops and the dense path runs.
    x = multi_hot(64, 700, 0.5)
    x[:8] = 0.0
    assert sparse_dense.sparse_rows(x, 700) is None


def test_csr_batch_rows_and_dense_view():
    x = multi_hot(20, 300, 0.03)
    b = CSRBatch.from_dense(x)
    np.testing.assert_array_equal(np.asarray(b), x)
    idx = np.array([5, 0, 19, 5, -1])
    np.testing.assert_array_equal(b[idx].toarray(), x[idx])
    np.testing.assert_array_equal(b[3:9].toarray(), x[3:9])
    np.testing.assert_array_equal(b[::2].toarray(), x[::2])
    assert len(b) == 20 and b.shape == (20, 300) and b[:1].shape == (1, 300)
    assert CSRBatch.from_dense(multi_hot(4, 300, 0.5)) is None
    with pytest.raises(ValueError, match="Dense: input's last dimension must be 301"):
        sparse_dense.sparse_rows(b, 301)


def _model(seed):
    from nnfast import layers

    nnfast.utils.set_random_seed(seed)
    model = nnfast.Sequential([nnfast.Input((600,)), layers.Dense(16, activation="relu"),
                               layers.Dense(16, activation="relu"),
                               layers.Dense(4, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_training_on_the_sparse_path_equals_the_dense_path(monkeypatch):
    x = multi_hot(200, 600, 0.02, seed=5)
    y = (np.argmax(x[:, :4], axis=1) + (x.sum(1) > 12)).astype(np.int64) % 4
    calls = []
    real = _core.csr_matmul
    monkeypatch.setattr(_core, "csr_matmul", lambda *a, **k: calls.append(1) or real(*a, **k))
    sparse_model = _model(1)
    h1 = sparse_model.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False,
                          validation_data=(x[:40], y[:40]))
    assert len(calls) >= 3 * 7  # the first layer of every training step ran sparse
    monkeypatch.setattr(_core, "csr_matmul", real)
    monkeypatch.setattr(sparse_dense, "MAX_DENSITY", 0.0)
    dense_model = _model(1)
    h2 = dense_model.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False,
                         validation_data=(x[:40], y[:40]))
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1.history["val_loss"], h2.history["val_loss"], rtol=1e-4)
    for a, b in zip(sparse_model.get_weights(), dense_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_scipy_sparse_inputs_to_fit_predict_evaluate(fmt):
    sp = pytest.importorskip("scipy.sparse")
    x = multi_hot(150, 600, 0.02, seed=9)
    y = (x[:, :300].sum(1) > x[:, 300:].sum(1)).astype(np.int64)
    xs = getattr(sp, f"{fmt}_matrix")(x.astype(np.float64))
    a, b = _model(2), _model(2)
    ha = a.fit(x, y, batch_size=40, epochs=2, verbose=0, validation_split=0.2,
                  shuffle=False)
    hb = b.fit(xs, y, batch_size=40, epochs=2, verbose=0, validation_split=0.2,
                  shuffle=False)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(ha.history["val_loss"], hb.history["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(xs, verbose=0), rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(a.evaluate(x, y, verbose=0), b.evaluate(xs, y, verbose=0),
                               rtol=1e-5)


def test_scipy_sparse_input_to_a_functional_model_and_a_non_dense_first_layer():
    sp = pytest.importorskip("scipy.sparse")
    from nnfast import layers

    x = multi_hot(40, 300, 0.03, seed=4)
    xs = sp.csr_matrix(x)
    inp = nnfast.Input((300,))
    out = layers.Dense(3)(inp)
    functional = nnfast.Model(inp, out)
    np.testing.assert_allclose(functional.predict(xs, verbose=0), functional.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    # A layer that is not Dense sees the dense rows.
    seq = nnfast.Sequential([nnfast.Input((300,)), layers.Dropout(0.5), layers.Dense(3)])
    np.testing.assert_allclose(seq.predict(xs, verbose=0), seq.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_fit_scans_multi_hot_rows_once_only_for_a_model_that_starts_with_dense():
    from nnfast import layers
    from nnfast.models import data_adapter as da

    x = multi_hot(50, 300, 0.02)
    starts_dense = nnfast.Sequential([nnfast.Input((300,)), layers.Dense(2)])
    starts_dropout = nnfast.Sequential([nnfast.Input((300,)), layers.Dropout(0.1),
                                        layers.Dense(2)])
    converted = da.sparse_input_for(starts_dense, x)
    assert type(converted) is CSRBatch
    np.testing.assert_array_equal(converted.toarray(), x)
    assert da.sparse_input_for(starts_dropout, x) is x
    inp = nnfast.Input((300,))
    functional = nnfast.Model(inp, layers.Dense(2)(layers.Dense(4)(inp)))
    assert type(da.sparse_input_for(functional, x)) is CSRBatch
    two_readers = nnfast.Model(inp, layers.Add()([layers.Dense(300)(inp), inp]))
    assert da.sparse_input_for(two_readers, x) is x
    dense = multi_hot(50, 300, 0.4)
    assert da.sparse_input_for(starts_dense, dense) is dense
