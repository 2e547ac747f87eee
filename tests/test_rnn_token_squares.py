"""A recurrent layer run straight from its embedding table, training with an optimizer that
squares the table's gradient per token (Keras's Adam, RMSprop, ...): the fused backward keeps
each table row's per-token sum of squares (``TokenRowsGradient.squares``). Checked against
the unfused per-token rows grouped in float64, on every ISA variant; the Keras replays of
``test_embedding_optimizers_more.py`` check the optimizers' results end to end. Also the
blocked recurrent GEMMs (packed recurrent kernel, k blocks) at widths with partial blocks."""
import numpy as np
import pytest

import nnfast
from nnfast import GradientTape, _core, ops
from nnfast.backend.tensor import Variable
from nnfast.ops.embedding import TokenRowsGradient

ISAS = nnfast.config.available_isas()
FNS = {"lstm": ops.lstm, "gru": ops.gru, "simple": ops.simple_rnn}
GATES = {"lstm": 4, "gru": 3, "simple": 1}


@pytest.fixture(params=ISAS)
def isa(request):
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(request.param)
    yield request.param
    nnfast.config.set_max_isa(previous)


def _case(cell, reset_after, vocab, seed):
    rng = np.random.default_rng(seed)
    B, T, I, u = 5, 7, 9, 19  # odd sizes: vector tails everywhere
    g = GATES[cell]
    bias_shape = (2, g * u) if cell == "gru" and reset_after else (g * u,)
    return {
        "table": rng.normal(size=(vocab, I)).astype(np.float32),
        "ids": rng.integers(0, vocab, size=(B, T)),
        "W": (rng.normal(size=(I, g * u)) * 0.5).astype(np.float32),
        "U": (rng.normal(size=(u, g * u)) * 0.5).astype(np.float32),
        "b": (rng.normal(size=bias_shape) * 0.3).astype(np.float32),
        "g": rng.normal(size=(B, T, u)).astype(np.float32),
        "mask": rng.random((B, T)) > 0.3,
    }


def _kwargs(cell, reset_after, mask):
    kw = {"mask": mask}
    if cell == "gru":
        kw["reset_after"] = reset_after
    return kw


@pytest.mark.parametrize("cell,reset_after", [("lstm", True), ("gru", True), ("gru", False),
                                              ("simple", True)])
@pytest.mark.parametrize("vocab", [6, 300])
def test_token_squares_match_grouped_per_token_rows(isa, cell, reset_after, vocab):
    c = _case(cell, reset_after, vocab, seed=vocab)
    fn = FNS[cell]
    kw = _kwargs(cell, reset_after, c["mask"])

    # unfused: each token's row of d(input), checked against finite differences in test_rnn
    x = Variable(c["table"][c["ids"]])
    with GradientTape() as tape:
        seq, last, _ = fn(x, c["W"], c["U"], c["b"], **kw)
        loss = ops.sum(seq * c["g"]) + ops.sum(last)
    dx = np.asarray(tape.gradient(loss, [x])[0], np.float64).reshape(-1, c["table"].shape[1])
    flat = c["ids"].reshape(-1)
    want_sum = np.zeros(c["table"].shape)
    want_sq = np.zeros(c["table"].shape)
    np.add.at(want_sum, flat, dx)
    np.add.at(want_sq, flat, dx * dx)

    table = Variable(c["table"])
    weights = [table, Variable(c["W"]), Variable(c["U"]), Variable(c["b"])]
    with GradientTape() as tape:
        seq, last, _ = fn(*weights, input_ids=c["ids"], token_squares=True, **kw)
        loss = ops.sum(seq * c["g"]) + ops.sum(last)
    grads = tape.gradient(loss, weights)
    dt = grads[0]
    assert isinstance(dt, TokenRowsGradient) and dt.squares is not None
    distinct = np.unique(flat)
    assert sorted(dt.ids.tolist()) == distinct.tolist()  # each table row once
    np.testing.assert_allclose(np.asarray(dt), want_sum, rtol=1e-4, atol=1e-5)
    order = np.argsort(dt.ids)
    np.testing.assert_allclose(dt.rows[order], want_sum[distinct], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dt.squares[order], want_sq[distinct], rtol=1e-4, atol=1e-6)
    assert (dt.squares >= 0).all()

    # the other gradients are those of the fused path without squares
    with GradientTape() as tape:
        seq, last, _ = fn(*weights, input_ids=c["ids"], **kw)
        loss = ops.sum(seq * c["g"]) + ops.sum(last)
    plain = tape.gradient(loss, weights)
    assert getattr(plain[0], "squares", None) is None
    for a, b in zip(grads, plain):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def _grouped(vocab, ids, rows, first_seen=False):
    """A table gradient of per-token ``rows`` grouped per id, as the fused backward gives
    (``first_seen``: ids in order of first appearance and marked distinct, exactly the
    fused backward's output, which the optimizers take without regrouping)."""
    distinct, inverse = np.unique(ids, return_inverse=True)
    if first_seen:
        order = np.argsort([np.flatnonzero(ids == k)[0] for k in distinct], kind="stable")
        distinct = distinct[order]
        inverse = np.argsort(order)[inverse]
    sums = np.zeros((len(distinct), rows.shape[1]), np.float32)
    sq = np.zeros_like(sums)
    np.add.at(sums, inverse, rows)
    np.add.at(sq, inverse, rows * rows)
    g = np.zeros((vocab, rows.shape[1]), np.float32).view(TokenRowsGradient)
    g[distinct] = sums
    g.ids, g.rows, g.squares = distinct, sums, sq
    g.distinct = first_seen
    return g


def _per_token(vocab, ids, rows):
    g = np.zeros((vocab, rows.shape[1]), np.float32)
    np.add.at(g, ids, rows)
    g = g.view(TokenRowsGradient)
    g.ids, g.rows = ids, rows
    return g


@pytest.mark.parametrize("make", [
    lambda: nnfast.optimizers.Adam(0.1), lambda: nnfast.optimizers.RMSprop(0.05),
    lambda: nnfast.optimizers.Adagrad(0.2), lambda: nnfast.optimizers.Adam(0.1, clipnorm=0.5),
    lambda: nnfast.optimizers.Adam(0.1, loss_scale_factor=8.0),
    lambda: nnfast.optimizers.Nadam(0.1), lambda: nnfast.optimizers.Adadelta(1.0),
])
def test_optimizers_apply_grouped_squares_as_per_token_rows(make):
    rng = np.random.default_rng(5)
    ids = np.array([6, 4, 1, 1, 6, 4, 1])
    rows = rng.normal(size=(7, 3)).astype(np.float32)
    start = rng.normal(size=(8, 3)).astype(np.float32)
    results = []
    for grad in (_per_token(8, ids, rows), _grouped(8, ids, rows),
                 _grouped(8, ids, rows, first_seen=True)):
        opt = make()
        assert opt._accepts_token_squares()
        v = Variable(start.copy())
        opt.apply([grad], [v])
        opt.apply([grad], [v])
        results.append(np.array(v.value))
    assert not np.allclose(results[0], start)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(results[2], results[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("vocab,dim,n", [(11, 37, 7), (300, 17, 150), (5, 1, 0)])
def test_shift_square_rows_kernel_matches_float64(vocab, dim, n):
    # the slot shift Adam/RMSprop/Nadam/Adadelta apply before their dense kernel
    rng = np.random.default_rng(vocab + dim)
    slot = rng.random((vocab, dim)).astype(np.float32)
    ids = rng.permutation(vocab)[:n].astype(np.int64) if n <= vocab else None
    g = rng.normal(size=(n, dim)).astype(np.float32)
    sq = (g * g + rng.random((n, dim))).astype(np.float32)
    want = slot.astype(np.float64)
    want[ids] += (sq.astype(np.float64) - g.astype(np.float64) ** 2) * np.float32(0.25)
    _core.embedding_shift_square_rows(slot, ids, g, sq, 0.25)
    np.testing.assert_allclose(slot, want, rtol=1e-6, atol=1e-6)


def test_shift_square_rows_kernel_refuses_bad_input():
    slot = np.zeros((4, 3), np.float32)
    rows = np.ones((2, 3), np.float32)
    with pytest.raises((ValueError, IndexError), match="out of range"):
        _core.embedding_shift_square_rows(slot, np.array([1, 4]), rows, rows, 0.5)
    assert not slot.any()
    with pytest.raises(ValueError, match="6 floats"):
        _core.embedding_shift_square_rows(slot, np.array([1, 2]), rows, rows[:1], 0.5)


def test_grouped_gradients_add_keeping_every_token():
    rng = np.random.default_rng(6)
    a_rows = rng.normal(size=(4, 2)).astype(np.float32)
    b_rows = rng.normal(size=(3, 2)).astype(np.float32)
    both = _grouped(5, np.array([1, 2, 1, 3]), a_rows) + _per_token(5, np.array([2, 0, 2]),
                                                                    b_rows)
    want = _grouped(5, np.array([1, 2, 1, 3, 2, 0, 2]), np.concatenate([a_rows, b_rows]))
    np.testing.assert_allclose(np.asarray(both), np.asarray(want), rtol=1e-6)
    for k in range(5):
        sel = both.ids == k
        np.testing.assert_allclose(both.squares[sel].sum(0), want.squares[want.ids == k].sum(0),
                                   rtol=1e-5)


def test_grouped_squares_refuse_clipping_by_value_and_abs_statistic():
    g = _grouped(4, np.array([1, 1, 2]), np.ones((3, 2), np.float32))
    for opt in (nnfast.optimizers.Adam(0.1, clipvalue=0.5), nnfast.optimizers.Adamax(0.1)):
        assert not opt._accepts_token_squares()
        with pytest.raises(NotImplementedError, match="grouped per row"):
            opt.apply([g], [Variable(np.zeros((4, 2), np.float32))])


def test_d_rows_sq_needs_ids_and_the_right_shape():
    rng = np.random.default_rng(7)
    table = rng.normal(size=(10, 4)).astype(np.float32)
    ids = rng.integers(0, 10, size=(2, 3))
    k, rk = rng.normal(size=(4, 8)).astype(np.float32), rng.normal(size=(2, 8)).astype(
        np.float32)
    ws = np.empty(_core.rnn_embedded_workspace_size(0, table, ids, 2, True, True), np.float32)
    h_seq = np.empty((2, 3, 2), np.float32)
    _core.rnn_forward(0, table, k, rk, None, None, None, None, None, h_seq,
                      np.empty((2, 2), np.float32), np.empty((2, 2), np.float32), ws, True,
                      ids=ids)
    common = dict(dh_seq=np.ones_like(h_seq), dh_last=None, dc_last=None, dx=None,
                  dkernel=None, drecurrent_kernel=None, dbias=None, dh0=None, dc0=None)
    cap = min(10, ids.size)
    good = dict(ids=ids, distinct_ids=np.empty(cap, np.int64),
                d_rows=np.empty((cap, 4), np.float32))
    with pytest.raises(ValueError, match="d_rows_sq"):
        _core.rnn_backward(0, table, k, rk, None, None, None, None, h_seq, ws, **common,
                           d_rows_sq=np.empty((cap - 1, 4), np.float32), **good)
    x = table[ids]
    ws2 = np.empty(_core.rnn_workspace_size(0, x, 2, True, True), np.float32)
    _core.rnn_forward(0, x, k, rk, None, None, None, None, None, h_seq,
                      np.empty((2, 2), np.float32), np.empty((2, 2), np.float32), ws2, True)
    with pytest.raises(ValueError, match="needs ids"):
        _core.rnn_backward(0, x, k, rk, None, None, None, None, h_seq, ws2, **common,
                           d_rows_sq=np.empty((cap, 4), np.float32))


@pytest.mark.parametrize("cell,reset_after", [("lstm", True), ("gru", True), ("gru", False)])
def test_wide_units_blocked_recurrent_gemms_match_float64(isa, cell, reset_after):
    """150 units: the packed recurrent kernel has several 64-column blocks and a partial one,
    the backward's dG @ U^T several 128-deep k blocks and a partial one. Forward against a
    float64 LSTM/GRU, every gradient against the scalar reference variant (itself checked
    against finite differences in test_rnn)."""
    rng = np.random.default_rng(21)
    B, T, I, u = 7, 4, 5, 150
    g = GATES[cell]
    x = rng.normal(size=(B, T, I)).astype(np.float32)
    W = (rng.normal(size=(I, g * u)) * 0.3).astype(np.float32)
    U = (rng.normal(size=(u, g * u)) * 0.1).astype(np.float32)
    b = (rng.normal(size=(2, g * u) if cell == "gru" and reset_after else (g * u,)) * 0.2
         ).astype(np.float32)
    dout = rng.normal(size=(B, T, u)).astype(np.float32)
    kw = {} if cell == "lstm" else {"reset_after": reset_after}

    def run():
        ws = [Variable(x), Variable(W), Variable(U), Variable(b)]
        with GradientTape() as tape:
            seq, last, _ = FNS[cell](*ws, **kw)
            loss = ops.sum(seq * dout)
        return seq.numpy().copy(), [np.array(d) for d in tape.gradient(loss, ws)]

    seq, grads = run()
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    x64, W64, U64, b64 = (a.astype(np.float64) for a in (x, W, U, b))
    h, c, want = np.zeros((B, u)), np.zeros((B, u)), []
    for t in range(T):
        if cell == "lstm":
            z = x64[:, t] @ W64 + h @ U64 + b64
            c = sig(z[:, u:2 * u]) * c + sig(z[:, :u]) * np.tanh(z[:, 2 * u:3 * u])
            h = sig(z[:, 3 * u:]) * np.tanh(c)
        else:
            xb = b64[0] if reset_after else b64
            xz = x64[:, t] @ W64 + xb
            if reset_after:
                rz = h @ U64 + b64[1]
                z, r = sig(xz[:, :u] + rz[:, :u]), sig(xz[:, u:2 * u] + rz[:, u:2 * u])
                hh = np.tanh(xz[:, 2 * u:] + r * rz[:, 2 * u:])
            else:
                z = sig(xz[:, :u] + h @ U64[:, :u])
                r = sig(xz[:, u:2 * u] + h @ U64[:, u:2 * u])
                hh = np.tanh(xz[:, 2 * u:] + (r * h) @ U64[:, 2 * u:])
            h = z * h + (1 - z) * hh
        want.append(h)
    np.testing.assert_allclose(seq, np.stack(want, 1), rtol=1e-4, atol=2e-5)
    nnfast.config.set_max_isa("ref")
    _, ref_grads = run()
    nnfast.config.set_max_isa(isa)  # the isa fixture restores the cap it found
    for got, ref in zip(grads, ref_grads):
        np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("vocab,dim,n,decay", [(13, 37, 5, 0.0), (40, 17, 40, 0.01),
                                               (9, 3, 0, 0.0)])
def test_adam_token_rows_kernel_matches_float64(isa, vocab, dim, n, decay):
    # Keras's Adam on a row-sliced gradient: zero gradient on untouched rows, the summed
    # rows and their per-token squares on the touched ones (ids distinct, any order)
    rng = np.random.default_rng(vocab * dim + n)
    w = rng.normal(size=(vocab, dim)).astype(np.float32)
    m = (rng.normal(size=(vocab, dim)) * 0.1).astype(np.float32)
    v = rng.random((vocab, dim)).astype(np.float32) * 0.1
    ids = rng.permutation(vocab)[:n].astype(np.int64)
    g = rng.normal(size=(n, dim)).astype(np.float32)
    sq = (g * g + rng.random((n, dim))).astype(np.float32)
    lr, b1, b2, eps, step = 0.01, 0.9, 0.999, 1e-7, 3
    G = np.zeros((vocab, dim))
    S = np.zeros((vocab, dim))
    G[ids], S[ids] = g, sq
    # (1 - beta) taken in float32, as Keras and the kernel do
    m64 = m + (G - m) * float(np.float32(1) - np.float32(b1))
    v64 = v + (S - v) * float(np.float32(1) - np.float32(b2))
    alpha = lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
    w64 = w - w * np.float32(decay) - m64 * alpha / (np.sqrt(v64) + eps)
    _core.adam_update_token_rows(w, m, v, ids, g, sq, lr, b1, b2, eps, step, decay=decay)
    np.testing.assert_allclose(m, m64, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(v, v64, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(w, w64, rtol=1e-5, atol=1e-6)


def test_adam_token_rows_kernel_refuses_bad_input():
    w, m, v = (np.zeros((4, 3), np.float32) for _ in range(3))
    rows = np.ones((2, 3), np.float32)
    for ids, match in (([1, 4], "out of range"), ([2, 2], "repeats")):
        with pytest.raises(ValueError, match=match):
            _core.adam_update_token_rows(w, m, v, np.array(ids), rows, rows, 0.1, 0.9, 0.999,
                                         1e-7, 1)
    with pytest.raises(ValueError, match="6 floats"):
        _core.adam_update_token_rows(w, m, v, np.array([0, 1]), rows, rows[:1], 0.1, 0.9,
                                     0.999, 1e-7, 1)
    with pytest.raises(ValueError, match="step"):
        _core.adam_update_token_rows(w, m, v, np.array([0, 1]), rows, rows, 0.1, 0.9, 0.999,
                                     1e-7, 0)
    assert not w.any() and not m.any() and not v.any()


@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.05}, {"amsgrad": True},
                                    {"clipnorm": 0.5}])
def test_adam_token_rows_path_matches_the_dense_kernel_with_shifted_squares(kwargs):
    # the one-pass table update against the former route (dense gradient, slot shifted by
    # the per-token squares, dense kernel), over several steps
    from nnfast.optimizers import optimizer as base

    rng = np.random.default_rng(8)
    ids = np.array([3, 0, 3, 7, 3, 0])
    rows = rng.normal(size=(6, 4)).astype(np.float32)
    start = rng.normal(size=(9, 4)).astype(np.float32)
    results = []
    for one_pass in (True, False):
        opt = nnfast.optimizers.Adam(0.05, **kwargs)
        if not one_pass:
            opt._update_token_rows = lambda *a: False
        v = Variable(start.copy())
        for _ in range(3):
            opt.apply([_grouped(9, ids, rows, first_seen=True)], [v])
        results.append(np.array(v.value))
    assert base.Optimizer._update_token_rows is not None
    assert not np.allclose(results[0], start)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)
