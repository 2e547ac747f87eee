"""Recurrent kernels (LSTM, GRU, SimpleRNN) against float64 NumPy, gradients against finite
differences, and the recurrent layers' Keras contract."""
import numpy as np
import pytest

import nnfast
from nnfast import GradientTape, layers, ops
from nnfast.backend.tensor import Tensor, Variable

ISAS = nnfast.config.available_isas()


@pytest.fixture(params=ISAS)
def isa(request):
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(request.param)
    yield request.param
    nnfast.config.set_max_isa(previous)


# --- float64 reference -----------------------------------------------------------------------

def _act(name, x):
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "hard_sigmoid":
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if name == "relu":
        return np.maximum(x, 0.0)
    return x


def ref_rnn(cell, x, W, U, b, h0=None, c0=None, mask=None, rmask=None, act="tanh",
            ract="sigmoid", go_backwards=False, reset_after=True):
    B, T, _ = x.shape
    u = U.shape[0]
    h = np.zeros((B, u)) if h0 is None else h0.astype(np.float64)
    c = np.zeros((B, u)) if c0 is None else c0.astype(np.float64)
    seq = []
    for tt in (range(T - 1, -1, -1) if go_backwards else range(T)):
        xt = x[:, tt]
        hm = h * rmask if rmask is not None else h
        cn = c
        if cell == "lstm":
            z = xt @ W + hm @ U + (0 if b is None else b)
            i, f = _act(ract, z[:, :u]), _act(ract, z[:, u:2 * u])
            g, o = _act(act, z[:, 2 * u:3 * u]), _act(ract, z[:, 3 * u:])
            cn = f * c + i * g
            hn = o * _act(act, cn)
        elif cell == "gru" and reset_after:
            xz = xt @ W + (0 if b is None else b[0])
            rz = hm @ U + (0 if b is None else b[1])
            z = _act(ract, xz[:, :u] + rz[:, :u])
            r = _act(ract, xz[:, u:2 * u] + rz[:, u:2 * u])
            hh = _act(act, xz[:, 2 * u:] + r * rz[:, 2 * u:])
            hn = z * h + (1 - z) * hh
        elif cell == "gru":
            xz = xt @ W + (0 if b is None else b)
            z = _act(ract, xz[:, :u] + hm @ U[:, :u])
            r = _act(ract, xz[:, u:2 * u] + hm @ U[:, u:2 * u])
            hh = _act(act, xz[:, 2 * u:] + (r * hm) @ U[:, 2 * u:])
            hn = z * h + (1 - z) * hh
        else:
            hn = _act(act, xt @ W + hm @ U + (0 if b is None else b))
        if mask is not None:
            m = mask[:, tt][:, None].astype(bool)
            hn = np.where(m, hn, h)
            cn = np.where(m, cn, c)
        h, c = hn, cn
        seq.append(h)
    return np.stack(seq, 1), h, c


G = {"lstm": 4, "gru": 3, "simple": 1}


def make_case(cell, B=3, T=5, I=4, u=3, reset_after=True, seed=0, with_state=False,
              with_mask=False, with_rmask=False):
    rng = np.random.default_rng(seed)
    g = G[cell]
    case = {
        "x": rng.normal(size=(B, T, I)), "W": rng.normal(size=(I, g * u)) * 0.5,
        "U": rng.normal(size=(u, g * u)) * 0.5,
        "b": rng.normal(size=(2, g * u) if cell == "gru" and reset_after else (g * u,)) * 0.3,
        "h0": rng.normal(size=(B, u)) if with_state else None,
        "c0": rng.normal(size=(B, u)) if with_state and cell == "lstm" else None,
        "mask": None, "rmask": None,
    }
    if with_mask:
        m = rng.random((B, T)) > 0.35
        m[0, :] = True
        m[1, -1] = False  # a masked last step
        case["mask"] = m
    if with_rmask:
        case["rmask"] = (rng.random((B, u)) > 0.3) / 0.7
    return case


def run_op(cell, case, act="tanh", ract="sigmoid", go_backwards=False, reset_after=True,
           return_sequences=True, input_ids=None):
    f = lambda k: None if case[k] is None else case[k].astype(np.float32)  # noqa: E731
    state = None
    if case["h0"] is not None:
        state = [f("h0")] + ([f("c0")] if cell == "lstm" else [])
    kw = dict(bias=f("b"), initial_state=state, mask=case["mask"], recurrent_mask=f("rmask"),
              activation=act, go_backwards=go_backwards, return_sequences=return_sequences,
              input_ids=input_ids)
    if cell == "lstm":
        return ops.lstm(f("x"), f("W"), f("U"), recurrent_activation=ract, **kw)
    if cell == "gru":
        return ops.gru(f("x"), f("W"), f("U"), recurrent_activation=ract,
                       reset_after=reset_after, **kw)
    return ops.simple_rnn(f("x"), f("W"), f("U"), **kw)


VARIANTS = [
    ("lstm", True), ("gru", True), ("gru", False), ("simple", True),
]


@pytest.mark.parametrize("cell,reset_after", VARIANTS)
@pytest.mark.parametrize("opts", [
    {}, {"go_backwards": True}, {"with_mask": True}, {"with_state": True},
    {"with_rmask": True, "with_mask": True, "go_backwards": True, "with_state": True},
])
def test_forward_matches_float64(isa, cell, reset_after, opts):
    opts = dict(opts)
    gb = opts.pop("go_backwards", False)
    # odd sizes: units not a multiple of any vector width, batch not of the GEMM tile
    case = make_case(cell, B=7, T=6, I=5, u=19, reset_after=reset_after, **opts)
    seq, last, states = run_op(cell, case, go_backwards=gb, reset_after=reset_after)
    rs, rh, rc = ref_rnn(cell, case["x"], case["W"], case["U"], case["b"], case["h0"],
                         case["c0"], case["mask"], case["rmask"], go_backwards=gb,
                         reset_after=reset_after)
    np.testing.assert_allclose(seq.numpy(), rs, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(last.numpy(), rh, atol=2e-5, rtol=1e-4)
    if cell == "lstm":
        np.testing.assert_allclose(states[1].numpy(), rc, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("act,ract", [("relu", "hard_sigmoid"), ("linear", "tanh"),
                                      ("hard_sigmoid", "relu")])
@pytest.mark.parametrize("cell,reset_after", VARIANTS)
def test_other_activations(isa, cell, reset_after, act, ract):
    case = make_case(cell, B=4, T=4, I=3, u=17, reset_after=reset_after, seed=3)
    seq, _, _ = run_op(cell, case, act=act, ract=ract, reset_after=reset_after)
    rs, _, _ = ref_rnn(cell, case["x"], case["W"], case["U"], case["b"], act=act,
                       ract=ract if cell != "simple" else "sigmoid", reset_after=reset_after)
    # linear/relu states grow unboundedly: float32 rounding compounds, hence rtol 1e-3
    np.testing.assert_allclose(seq.numpy(), rs, atol=1e-4, rtol=1e-3)


def test_wide_units_use_full_vectors(isa):
    # 64 units: every gate a whole number of 16-lane vectors and several GEMM tiles
    case = make_case("lstm", B=13, T=3, I=9, u=64, seed=5, with_mask=True)
    seq, last, _ = run_op("lstm", case)
    rs, rh, _ = ref_rnn("lstm", case["x"], case["W"] * 1, case["U"] * 1, case["b"],
                        mask=case["mask"])
    np.testing.assert_allclose(seq.numpy(), rs, atol=5e-5, rtol=1e-4)


# --- gradients against finite differences of the float64 reference --------------------------

def _loss_ref(cell, case, R, reset_after, gb):
    rs, rh, rc = ref_rnn(cell, case["x"], case["W"], case["U"], case["b"], case["h0"],
                         case["c0"], case["mask"], case["rmask"], go_backwards=gb,
                         reset_after=reset_after)
    out = np.sum(rs * R[0]) + np.sum(rh * R[1])
    if cell == "lstm":
        out += np.sum(rc * R[2])
    return out


def _numeric_grad(fn, arr, eps=1e-6):
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + eps
        up = fn()
        arr[i] = old - eps
        down = fn()
        arr[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


@pytest.mark.parametrize("cell,reset_after", VARIANTS)
@pytest.mark.parametrize("opts", [
    {"with_state": True},
    {"with_state": True, "with_mask": True, "with_rmask": True, "go_backwards": True},
])
def test_gradients_match_finite_differences(isa, cell, reset_after, opts):
    opts = dict(opts)
    gb = opts.pop("go_backwards", False)
    case = make_case(cell, B=3, T=4, I=3, u=5, reset_after=reset_after, seed=11, **opts)
    rng = np.random.default_rng(1)
    R = [rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 5)), rng.normal(size=(3, 5))]
    names = ["x", "W", "U", "b", "h0"] + (["c0"] if cell == "lstm" else [])
    tensors = {k: Variable(case[k].astype(np.float32), name=k) for k in names}
    with GradientTape() as tape:
        state = [tensors["h0"]] + ([tensors["c0"]] if cell == "lstm" else [])
        kw = dict(bias=tensors["b"], initial_state=state, mask=case["mask"],
                  recurrent_mask=None if case["rmask"] is None else case["rmask"].astype(np.float32),
                  go_backwards=gb)
        if cell == "lstm":
            seq, last, st = ops.lstm(tensors["x"], tensors["W"], tensors["U"], **kw)
        elif cell == "gru":
            seq, last, st = ops.gru(tensors["x"], tensors["W"], tensors["U"],
                                    reset_after=reset_after, **kw)
        else:
            seq, last, st = ops.simple_rnn(tensors["x"], tensors["W"], tensors["U"], **kw)
        loss = ops.sum(seq * R[0].astype(np.float32)) + ops.sum(last * R[1].astype(np.float32))
        if cell == "lstm":
            loss = loss + ops.sum(st[1] * R[2].astype(np.float32))
    grads = tape.gradient(loss, [tensors[k] for k in names])
    for k, g in zip(names, grads):
        num = _numeric_grad(lambda: _loss_ref(cell, case, R, reset_after, gb), case[k])
        np.testing.assert_allclose(np.asarray(g), num, atol=2e-4, rtol=2e-3, err_msg=k)


def test_same_bits_for_every_thread_count():
    case = make_case("lstm", B=24, T=5, I=6, u=32, seed=2)
    outs = []
    for n in (1, 2):
        nnfast.config.set_num_threads(n)
        outs.append(run_op("lstm", case)[0].numpy().copy())
    nnfast.config.set_num_threads(2)
    np.testing.assert_array_equal(outs[0], outs[1])


def test_bad_inputs_raise():
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="kernel"):
        ops.lstm(x, np.zeros((5, 8), np.float32), np.zeros((2, 8), np.float32))
    with pytest.raises(ValueError, match="features"):
        ops.lstm(np.zeros((2, 4), np.float32), np.zeros((4, 8), np.float32),
                 np.zeros((2, 8), np.float32))
    with pytest.raises(ValueError, match="mask"):
        ops.lstm(x, np.zeros((4, 8), np.float32), np.zeros((2, 8), np.float32),
                 mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="recurrent"):
        ops.simple_rnn(x, np.zeros((4, 2), np.float32), np.zeros((2, 2), np.float32),
                       activation="softplus")


# --- embedding input (input_ids): the inference fusion Embedding -> RNN ------------------

@pytest.mark.parametrize("cell,reset_after", VARIANTS)
@pytest.mark.parametrize("opts", [{}, {"go_backwards": True, "with_mask": True},
                                  {"with_state": True, "with_mask": True}])
@pytest.mark.parametrize("vocab", [13, 200])
def test_input_ids_matches_embedding_then_op_and_float64(isa, cell, reset_after, opts, vocab):
    opts = dict(opts)
    gb = opts.pop("go_backwards", False)
    # odd sizes; 42 lookups from fewer (repeats) or more table rows than that
    case = make_case(cell, B=7, T=6, I=5, u=19, reset_after=reset_after, seed=9, **opts)
    rng = np.random.default_rng(10)
    table = rng.normal(size=(vocab, 5))
    ids = rng.integers(0, vocab, size=(7, 6))
    case["x"] = table[ids]
    seq, last, states = run_op(cell, case, go_backwards=gb, reset_after=reset_after)
    fused = run_op(cell, dict(case, x=table), go_backwards=gb, reset_after=reset_after,
                   input_ids=ids)
    np.testing.assert_allclose(fused[0].numpy(), seq.numpy(), rtol=1e-5, atol=1e-5)
    for a, b in zip([fused[1]] + fused[2], [last] + states):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    ref_seq, ref_h, _ = ref_rnn(cell, case["x"], case["W"], case["U"], case["b"], case["h0"],
                                case["c0"], case["mask"], go_backwards=gb,
                                reset_after=reset_after)
    np.testing.assert_allclose(fused[0].numpy(), ref_seq, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(fused[1].numpy(), ref_h, rtol=2e-4, atol=2e-4)
    # return_sequences=False leaves the sequence empty, the last state unchanged
    short = run_op(cell, dict(case, x=table), go_backwards=gb, reset_after=reset_after,
                   input_ids=ids, return_sequences=False)
    assert short[0].shape == (7, 0, 19)
    np.testing.assert_array_equal(short[1].numpy(), fused[1].numpy())


@pytest.mark.parametrize("cell,reset_after", VARIANTS)
@pytest.mark.parametrize("opts", [{"with_mask": True},
                                  {"with_rmask": True, "with_mask": True, "go_backwards": True,
                                   "with_state": True}])
@pytest.mark.parametrize("vocab", [11, 300])
def test_input_ids_gradients_match_embedding_then_op(isa, cell, reset_after, opts, vocab):
    """Training from the table: every gradient (table rows summed per distinct id first)
    matches ops.embedding followed by the op, whose gradients are checked against finite
    differences above."""
    opts = dict(opts)
    gb = opts.pop("go_backwards", False)
    case = make_case(cell, B=5, T=7, I=6, u=19, reset_after=reset_after, seed=12, **opts)
    rng = np.random.default_rng(13)
    table = rng.normal(size=(vocab, 6)).astype(np.float32)
    ids = rng.integers(0, vocab, size=(5, 7))
    g = rng.normal(size=(5, 7, 19)).astype(np.float32)
    fn = {"lstm": ops.lstm, "gru": ops.gru, "simple": ops.simple_rnn}[cell]
    f = lambda k: None if case[k] is None else case[k].astype(np.float32)  # noqa: E731
    kw = dict(mask=case["mask"], recurrent_mask=f("rmask"), go_backwards=gb)
    if cell == "gru":
        kw["reset_after"] = reset_after

    def grads(fused):
        ws = [Variable(table), Variable(f("W")), Variable(f("U")), Variable(f("b"))]
        st = None
        if case["h0"] is not None:
            st = [Variable(f("h0"))] + ([Variable(f("c0"))] if cell == "lstm" else [])
        with GradientTape() as tape:
            if fused:
                seq, last, _ = fn(ws[0], ws[1], ws[2], ws[3], st, input_ids=ids, **kw)
            else:
                seq, last, _ = fn(ops.embedding(ids, ws[0]), ws[1], ws[2], ws[3], st, **kw)
            loss = ops.sum(seq * g) + ops.sum(last)
        return [np.array(d) for d in tape.gradient(loss, ws + (st or []))]

    want = grads(False)
    got = grads(True)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not got[0][np.setdiff1d(np.arange(vocab), ids)].any()


def test_input_ids_table_gradient_buffer_is_reused_clean():
    rng = np.random.default_rng(14)
    table = Variable(rng.normal(size=(50, 4)).astype(np.float32))
    k = rng.normal(size=(4, 12)).astype(np.float32)
    rk = rng.normal(size=(3, 12)).astype(np.float32)
    for step in range(3):
        ids = rng.integers(0, 50 if step < 2 else 5, size=(2, 6))
        with GradientTape() as tape:
            loss = ops.sum(ops.lstm(table, k, rk, input_ids=ids)[1])
        (dt,) = tape.gradient(loss, [table])
        with GradientTape() as tape:
            loss = ops.sum(ops.lstm(ops.embedding(ids, table), k, rk)[1])
        (want,) = tape.gradient(loss, [table])
        np.testing.assert_allclose(dt, want, rtol=1e-5, atol=1e-6)
        assert not dt[np.setdiff1d(np.arange(50), ids)].any()
        del dt, want


def test_input_ids_same_bits_for_every_thread_count():
    rng = np.random.default_rng(3)
    table = rng.normal(size=(40, 6)).astype(np.float32)
    ids = rng.integers(0, 40, size=(24, 5))
    k = rng.normal(size=(6, 128)).astype(np.float32) * 0.3
    rk = rng.normal(size=(32, 128)).astype(np.float32) * 0.3
    outs = []
    for n in (1, 2):
        nnfast.config.set_num_threads(n)
        outs.append(ops.lstm(table, k, rk, input_ids=ids)[0].numpy().copy())
    nnfast.config.set_num_threads(2)
    np.testing.assert_array_equal(outs[0], outs[1])


def test_input_ids_bad_inputs_raise():
    table = np.zeros((10, 4), np.float32)
    k, rk = np.zeros((4, 8), np.float32), np.zeros((2, 8), np.float32)
    with pytest.raises(ValueError, match="out of range"):
        ops.lstm(table, k, rk, input_ids=np.array([[1, 10]]))
    with pytest.raises(ValueError, match="out of range"):
        ops.lstm(table, k, rk, input_ids=np.array([[-1, 2]]))
    with pytest.raises(ValueError, match="batch, steps"):
        ops.lstm(table, k, rk, input_ids=np.array([1, 2]))
    with pytest.raises(ValueError, match="vocab, features"):
        ops.lstm(np.zeros((2, 10, 4), np.float32), k, rk, input_ids=np.array([[1, 2]]))
    with pytest.raises(ValueError, match="kernel"):
        ops.lstm(table, np.zeros((5, 8), np.float32), rk, input_ids=np.array([[1, 2]]))
    with pytest.raises(TypeError, match="integers"):
        ops.lstm(table, k, rk, input_ids=np.array([["a", "b"]]))


@pytest.mark.parametrize("rnn", [
    lambda: layers.LSTM(7, return_sequences=True, go_backwards=True),
    lambda: layers.LSTM(7, return_state=True),
    lambda: layers.GRU(7, reset_after=False, return_sequences=True),
    lambda: layers.GRU(7),
    lambda: layers.SimpleRNN(7, return_sequences=True),
])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_sequential_embedding_rnn_predicts_fused_like_unfused(rnn, mask_zero):
    """Sequential runs Embedding -> RNN from the table at inference; predictions (and masks
    through return_sequences) match the layers called one by one, and training still goes
    through the unfused pair."""
    nnfast.utils.set_random_seed(4)
    layer = rnn()
    head = [] if layer.return_state else [layers.Dense(2)]
    model = nnfast.Sequential([layers.Embedding(23, 5, mask_zero=mask_zero), layer] + head)
    model.build((None, 9))
    ids = np.random.default_rng(5).integers(0, 23, size=(6, 9))
    ids[:2, :4] = 0  # padding
    emb = model.layers[0]

    def unfused(x):
        out = layer(emb(x))
        return [o.numpy() for o in out] if isinstance(out, list) else head[0](out).numpy()

    fused_calls = []
    fused = layer._call_on_embedding
    layer._call_on_embedding = lambda *a, **k: fused_calls.append(1) or fused(*a, **k)
    got = model.predict_on_batch(ids)
    assert fused_calls == [1]
    want = unfused(ids)
    # float ids (as fit/predict often receive them) take the same path
    np.testing.assert_array_equal(model.predict_on_batch(ids.astype(np.float32)), got)
    assert fused_calls == [1, 1]
    del fused_calls[1:]
    for a, b in zip(got if isinstance(got, list) else [got],
                    want if isinstance(want, list) else [want]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    # fewer distinct rows in a smaller batch: the same numbers for the same samples
    small = model.predict_on_batch(ids[:2])
    np.testing.assert_allclose(small if not isinstance(small, list) else small[0],
                               (got if not isinstance(got, list) else got[0])[:2],
                               rtol=1e-5, atol=1e-6)
    assert fused_calls == [1, 1]
    if layer.return_sequences:
        out = nnfast.Sequential([emb, layer])(ids)  # fused; the mask rides on the output
        if mask_zero:
            np.testing.assert_array_equal(out._keras_mask, ids != 0)
        else:
            assert out._keras_mask is None
    if not layer.return_state:
        model.compile(optimizer="sgd", loss="mse")
        y = np.zeros(np.shape(got), np.float32)
        before = [w.copy() for w in model.get_weights()]
        model.train_on_batch(ids, y)
        assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("rnn", [
    lambda: layers.LSTM(6, recurrent_dropout=0.3, seed=3),
    lambda: layers.GRU(6, return_sequences=True, go_backwards=True),
    lambda: layers.SimpleRNN(6, dropout=0.4, seed=2),  # input dropout: not fused
])
def test_sequential_embedding_rnn_trains_fused_like_unfused(rnn):
    nnfast.utils.set_random_seed(8)
    layer = rnn()
    model = nnfast.Sequential([layers.Embedding(31, 5, mask_zero=True), layer,
                               layers.Dense(1)])
    model.build((None, 8))
    model.compile(optimizer="sgd", loss="mse")
    emb, head = model.layers[0], model.layers[2]
    ids = np.random.default_rng(9).integers(0, 31, size=(9, 8))
    ids[:3, :2] = 0
    fused_calls = []
    fused = layer._call_on_embedding
    layer._call_on_embedding = lambda *a, **k: fused_calls.append(1) or fused(*a, **k)
    offset = layer._offset
    with GradientTape() as tape:
        loss = ops.sum(model(ids, training=True))
    got = tape.gradient(loss, model.trainable_weights)
    layer._offset = offset  # the same dropout masks for the unfused pass
    with GradientTape() as tape:
        loss = ops.sum(head(layer(emb(ids), training=True)))
    want = tape.gradient(loss, model.trainable_weights)
    # training fuses for an optimizer linear in the gradient (SGD), never with input dropout
    assert fused_calls == ([] if layer.dropout else [1])
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-6)


def test_sequential_skips_the_fusion_for_tables_far_larger_than_the_lookups():
    model = nnfast.Sequential([layers.Embedding(5000, 4), layers.LSTM(3)])
    model.build((None, 5))
    layer = model.layers[1]
    calls = []
    fused = layer._call_on_embedding
    layer._call_on_embedding = lambda *a, **k: calls.append(1) or fused(*a, **k)
    ids = np.random.default_rng(0).integers(0, 5000, size=(2, 5))
    got = model.predict_on_batch(ids)
    assert calls == []
    np.testing.assert_allclose(got, layer(model.layers[0](ids)).numpy(), rtol=1e-6, atol=1e-7)
    got_big = model.predict_on_batch(np.tile(ids, (10, 1)))  # 100 * 64 >= 5000: fused
    assert calls == [1]
    np.testing.assert_allclose(got_big[:2], got, rtol=1e-5, atol=1e-7)


# --- layers ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,gates,bias_shape", [
    (layers.LSTM, 4, (24,)), (layers.GRU, 3, (2, 18)), (layers.SimpleRNN, 1, (6,))])
def test_layer_weights_match_keras_layout_and_reference(cls, gates, bias_shape):
    layer = cls(6, return_sequences=True)
    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
    out = layer(x)
    kernel, rec, bias = layer.get_weights()
    assert kernel.shape == (4, gates * 6) and rec.shape == (6, gates * 6)
    assert bias.shape == bias_shape
    # orthogonal recurrent kernel: (6, 6g) has orthonormal rows
    np.testing.assert_allclose(rec @ rec.T, np.eye(6), atol=1e-5)
    cell = {layers.LSTM: "lstm", layers.GRU: "gru", layers.SimpleRNN: "simple"}[cls]
    ref, _, _ = ref_rnn(cell, x.astype(np.float64), kernel, rec, bias)
    np.testing.assert_allclose(out.numpy(), ref, atol=2e-5)


def test_lstm_unit_forget_bias_and_gru_reset_after_false():
    lstm = layers.LSTM(3)
    lstm.build((None, 2, 4))
    np.testing.assert_array_equal(lstm.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    lstm2 = layers.LSTM(3, unit_forget_bias=False)
    lstm2.build((None, 2, 4))
    assert not lstm2.get_weights()[2].any()
    gru = layers.GRU(3, reset_after=False)
    gru.build((None, 2, 4))
    assert gru.get_weights()[2].shape == (9,)


def test_return_state_sequences_and_shapes():
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
    out, h, c = layers.LSTM(5, return_sequences=True, return_state=True)(x)
    assert out.shape == (2, 4, 5) and h.shape == (2, 5) and c.shape == (2, 5)
    np.testing.assert_array_equal(out.numpy()[:, -1], h.numpy())
    out, h = layers.GRU(5, return_state=True)(x)
    np.testing.assert_array_equal(out.numpy(), h.numpy())
    assert layers.LSTM(5, return_state=True).compute_output_shape((None, 4, 3)) == [
        (None, 5), (None, 5), (None, 5)]
    back = layers.SimpleRNN(5, return_sequences=True, go_backwards=True)
    fwd = layers.SimpleRNN(5, return_sequences=True)
    fwd.build((None, 4, 3))
    back.build((None, 4, 3))
    back.set_weights(fwd.get_weights())
    np.testing.assert_allclose(back(x).numpy(), fwd(x[:, ::-1]).numpy(), atol=1e-6)


def test_initial_state_and_stateful():
    x = np.random.default_rng(2).normal(size=(2, 6, 3)).astype(np.float32)
    full = layers.LSTM(4)
    full.build((None, 6, 3))
    stateful = layers.LSTM(4, stateful=True)
    stateful.build((None, 3, 3))
    stateful.set_weights(full.get_weights())
    stateful(x[:, :3])
    np.testing.assert_allclose(stateful(x[:, 3:]).numpy(), full(x).numpy(), atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(x[:, :3]).numpy(), full(x[:, :3]).numpy(), atol=1e-6)
    _, h, c = full(x[:, :3], initial_state=None), None, None
    seq = layers.LSTM(4, return_state=True)
    seq.build((None, 3, 3))
    seq.set_weights(full.get_weights())
    _, h, c = seq(x[:, :3])
    np.testing.assert_allclose(full(x[:, 3:], initial_state=[h, c]).numpy(), full(x).numpy(),
                               atol=1e-6)


def test_dropout_masks_only_in_training():
    x = np.random.default_rng(3).normal(size=(4, 5, 3)).astype(np.float32)
    layer = layers.GRU(6, dropout=0.5, recurrent_dropout=0.5, seed=1)
    a = layer(x, training=False).numpy()
    np.testing.assert_array_equal(a, layer(x).numpy())
    assert not np.allclose(layer(x, training=True).numpy(), a)


def test_config_round_trip():
    for layer in (layers.LSTM(7, activation="relu", recurrent_activation="hard_sigmoid",
                              return_sequences=True, dropout=0.1, go_backwards=True),
                  layers.GRU(3, reset_after=False, stateful=True),
                  layers.SimpleRNN(2, use_bias=False, unroll=True)):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config
    assert "unit_forget_bias" in layers.LSTM(2).get_config()
    with pytest.raises(ValueError, match="softplus"):
        layers.LSTM(2, activation="softplus")
    with pytest.raises(ValueError, match="units"):
        layers.GRU(0)


@pytest.mark.parametrize("rnn", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_a_small_sequence_model_learns(rnn):
    nnfast.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8, 3)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.float32)
    model = nnfast.Sequential([rnn(16), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nnfast.optimizers.Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]


# --- wrappers and Masking ---------------------------------------------------------------------

@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merges_forward_and_flipped_backward(merge_mode):
    x = np.random.default_rng(4).normal(size=(3, 5, 4)).astype(np.float32)
    bi = layers.Bidirectional(layers.GRU(6, return_sequences=True), merge_mode=merge_mode)
    out = bi(x)
    fwd_w = bi.get_weights()[:3]
    bwd_w = bi.get_weights()[3:]
    assert bi.forward_layer.name.startswith("forward_")
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    f, _, _ = ref_rnn("gru", x.astype(np.float64), *fwd_w)
    b, _, _ = ref_rnn("gru", x.astype(np.float64), *bwd_w, go_backwards=True)
    b = b[:, ::-1]
    want = {"concat": np.concatenate([f, b], -1), "sum": f + b, "mul": f * b,
            "ave": (f + b) / 2, None: None}[merge_mode]
    if merge_mode is None:
        np.testing.assert_allclose(out[0].numpy(), f, atol=2e-5)
        np.testing.assert_allclose(out[1].numpy(), b, atol=2e-5)
    else:
        np.testing.assert_allclose(out.numpy(), want, atol=2e-5)
        assert bi.compute_output_shape((None, 5, 4))[-1] == want.shape[-1]
    clone = layers.Bidirectional.from_config(bi.get_config())
    assert clone.merge_mode == merge_mode and clone.forward_layer.units == 6


def test_bidirectional_return_state_and_training():
    x = np.random.default_rng(5).normal(size=(2, 4, 3)).astype(np.float32)
    bi = layers.Bidirectional(layers.LSTM(4, return_state=True))
    out, hf, cf, hb, cb = bi(x)
    assert out.shape == (2, 8) and hb.shape == (2, 4)
    np.testing.assert_array_equal(out.numpy()[:, :4], hf.numpy())
    nnfast.utils.set_random_seed(0)
    model = nnfast.Sequential([layers.Embedding(30, 8, mask_zero=True),
                               layers.Bidirectional(layers.LSTM(8, return_sequences=True)),
                               layers.Bidirectional(layers.SimpleRNN(4)),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    ids = np.random.default_rng(0).integers(0, 30, size=(64, 6))
    hist = model.fit(ids, (ids[:, -1] > 15).astype(np.float32), epochs=3, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert len(model.get_weights()) == 1 + 6 + 6 + 2


def test_masking_and_time_distributed():
    x = np.random.default_rng(6).normal(size=(2, 6, 3)).astype(np.float32)
    x[:, :2] = 0.0  # pre-padding
    model = nnfast.Sequential([layers.Masking(0.0), layers.LSTM(5)])
    model.build((None, 6, 3))
    ref = layers.LSTM(5)
    ref.build((None, 4, 3))
    ref.set_weights(model.layers[1].get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), ref(x[:, 2:]).numpy(), atol=1e-6)
    td = layers.TimeDistributed(layers.Dense(7))
    y = td(x)
    assert y.shape == (2, 6, 7) and td.compute_output_shape((None, 6, 3)) == (None, 6, 7)
    k, b = td.get_weights()
    np.testing.assert_allclose(y.numpy(), x @ k + b, atol=1e-5)
    assert layers.TimeDistributed.from_config(td.get_config()).layer.units == 7
    assert layers.Masking(-1.0).get_config()["mask_value"] == -1.0
