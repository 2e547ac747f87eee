"""bfloat16 recurrences (`_core.rnn_forward/backward(precision="bfloat16")`, mixed_bfloat16's
LSTM/GRU/SimpleRNN): every bf16 implementation this CPU runs (AMX tiles, AVX512_BF16,
rounded copies through the fp32 step kernels) under every ISA cap, forward and backward,
against a float64 NumPy recurrence that rounds each matrix product's operands to bf16 at the
same places (input projection, each step's recurrent product, the backward products) and
keeps the gates in float64. A bf16 x bf16 product is exact in fp32, so nnfast differs from
it by fp32 summation and gate rounding, plus the rare h element that lands on the other side
of a bf16 rounding boundary."""
import numpy as np
import pytest

import nnfast
from nnfast import _core

from test_gemm_bf16 import bf16

ISAS = nnfast.config.available_isas()
CELL_IDS = {"lstm": 0, "gru": 1, "simple": 2}
G = {"lstm": 4, "gru": 3, "simple": 1}


def _variants_under(isa):
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(isa)
    try:
        return list(_core.gemm_bf16_variants())
    finally:
        nnfast.config.set_max_isa(previous)


# (isa cap, bf16 variant) pairs this CPU runs: AMX/AVX512_BF16 only under avx512.
ROUTES = [(isa, v) for isa in ISAS for v in _variants_under(isa)]


@pytest.fixture(params=ROUTES, ids=lambda r: f"{r[0]}-{r[1]}")
def route(request):
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(request.param[0])
    yield request.param[1]
    nnfast.config.set_max_isa(previous)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference(cell, x, W, U, b, h0, c0, mask, rmask, go_backwards, reset_after, dseq, dlast,
              dclast, rnd):
    """float64 forward and backward through time; ``rnd`` rounds each product's operands.
    Returns (h_seq, h_last, c_last, dx, dW, dU, db, dh0, dc0)."""
    B, T, _ = x.shape
    u = U.shape[0]
    order = list(range(T - 1, -1, -1)) if go_backwards else list(range(T))
    h = np.zeros((B, u)) if h0 is None else h0.astype(np.float64)
    c = np.zeros((B, u)) if c0 is None else c0.astype(np.float64)
    rm = np.ones((B, u)) if rmask is None else rmask.astype(np.float64)
    W64, U64 = W.astype(np.float64), U.astype(np.float64)
    rW, rU = rnd(W64), rnd(U64)
    bias = np.zeros((2, G[cell] * u) if cell == "gru" and reset_after else G[cell] * u) \
        if b is None else b.astype(np.float64)
    tape, seq = [], []
    for tt in order:
        xt = x[:, tt].astype(np.float64)
        hm = h * rm
        m = np.ones((B, 1), bool) if mask is None else mask[:, tt][:, None].astype(bool)
        rec = {"h": h, "c": c, "hm": hm, "m": m, "xt": xt, "tt": tt}
        if cell == "lstm":
            z = rnd(xt) @ rW + bias + rnd(hm) @ rU
            i, f, g, o = (_sig(z[:, :u]), _sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]),
                          _sig(z[:, 3 * u:]))
            cn = f * c + i * g
            hn = o * np.tanh(cn)
            rec.update(i=i, f=f, g=g, o=o, cn=cn)
        elif cell == "gru" and reset_after:
            xz = rnd(xt) @ rW + bias[0]
            rz = rnd(hm) @ rU + bias[1]
            z = _sig(xz[:, :u] + rz[:, :u])
            r = _sig(xz[:, u:2 * u] + rz[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + r * rz[:, 2 * u:])
            hn, cn = z * h + (1 - z) * hh, c
            rec.update(z=z, r=r, hh=hh, rzh=rz[:, 2 * u:])
        elif cell == "gru":
            xz = rnd(xt) @ rW + bias
            zr = xz[:, :2 * u] + rnd(hm) @ rU[:, :2 * u]
            z, r = _sig(zr[:, :u]), _sig(zr[:, u:])
            rh = r * hm
            hh = np.tanh(xz[:, 2 * u:] + rnd(rh) @ rU[:, 2 * u:])
            hn, cn = z * h + (1 - z) * hh, c
            rec.update(z=z, r=r, hh=hh, rh=rh)
        else:
            hn = np.tanh(rnd(xt) @ rW + bias + rnd(hm) @ rU)
            cn = c
            rec.update(hn=hn)
        h, c = np.where(m, hn, h), np.where(m, cn, c)
        tape.append(rec)
        seq.append(h)
    h_seq = np.stack(seq, 1)
    h_last, c_last = h, c

    dx = np.zeros(x.shape)
    dW, dU, db = np.zeros(W.shape), np.zeros(U.shape), np.zeros(bias.shape)
    dh = np.zeros((B, u)) if dlast is None else dlast.astype(np.float64)
    dc = np.zeros((B, u)) if dclast is None else dclast.astype(np.float64)
    for t in range(T - 1, -1, -1):
        rec = tape[t]
        m, hp, hm = rec["m"], rec["h"], rec["hm"]
        if dseq is not None:
            dh = dh + dseq[:, t]
        if cell == "lstm":
            i, f, g, o, cn = rec["i"], rec["f"], rec["g"], rec["o"], rec["cn"]
            tc = np.tanh(cn)
            dcc = dc + dh * o * (1 - tc ** 2)
            dz = np.concatenate([dcc * g * i * (1 - i), dcc * rec["c"] * f * (1 - f),
                                 dcc * i * (1 - g ** 2), dh * tc * o * (1 - o)], 1) * m
            dgh, direct = dz, 0.0
            dc = np.where(m, dcc * f, dc)
        elif cell == "gru":
            z, r, hh = rec["z"], rec["r"], rec["hh"]
            dz_pre = dh * (hp - hh) * z * (1 - z) * m
            dhh_pre = dh * (1 - z) * (1 - hh ** 2) * m
            direct = dh * z
            if reset_after:
                dr_pre = dhh_pre * rec["rzh"] * r * (1 - r)
                dz = np.concatenate([dz_pre, dr_pre, dhh_pre], 1)
                dgh = np.concatenate([dz_pre, dr_pre, dhh_pre * r], 1)
            else:
                drh = rnd(dhh_pre) @ rU[:, 2 * u:].T
                dr_pre = drh * hm * r * (1 - r)
                dz = np.concatenate([dz_pre, dr_pre, dhh_pre], 1)
                dgh = None
        else:
            dz = dh * (1 - rec["hn"] ** 2) * m
            dgh, direct = dz, 0.0
        tt = rec["tt"]
        dx[:, tt] = rnd(dz) @ rW.T
        dW += rnd(rec["xt"]).T @ rnd(dz)
        if cell == "gru" and not reset_after:
            dU[:, :2 * u] += rnd(hm).T @ rnd(dz[:, :2 * u])
            dU[:, 2 * u:] += rnd(rec["rh"]).T @ rnd(dz[:, 2 * u:])
            dhm = drh * r + rnd(dz[:, :2 * u]) @ rU[:, :2 * u].T
            db += dz.sum(0)
        else:
            dU += rnd(hm).T @ rnd(dgh)
            dhm = rnd(dgh) @ rU.T
            if cell == "gru":
                db[0] += dz.sum(0)
                db[1] += dgh.sum(0)
            else:
                db += dz.sum(0)
        dh = np.where(m, direct + dhm * rm, dh)
    return h_seq, h_last, c_last, dx, dW, dU, db, dh, dc


def make(cell, B, T, I, u, reset_after, seed, state, masked, rmasked):
    rng = np.random.default_rng(seed)
    g = G[cell]
    f32 = np.float32
    case = {
        "x": rng.normal(size=(B, T, I)).astype(f32),
        "W": (rng.normal(size=(I, g * u)) / np.sqrt(I)).astype(f32),
        "U": (rng.normal(size=(u, g * u)) / np.sqrt(u)).astype(f32),
        "b": (rng.normal(size=(2, g * u) if cell == "gru" and reset_after else (g * u,))
              * 0.3).astype(f32),
        "h0": rng.normal(size=(B, u)).astype(f32) if state else None,
        "c0": rng.normal(size=(B, u)).astype(f32) if state and cell == "lstm" else None,
        "mask": None, "rmask": None,
        "dseq": rng.normal(size=(B, T, u)).astype(f32),
        "dlast": rng.normal(size=(B, u)).astype(f32),
        "dclast": rng.normal(size=(B, u)).astype(f32) if cell == "lstm" else None,
    }
    if masked:
        m = rng.random((B, T)) > 0.3
        m[0] = True
        case["mask"] = m.astype(np.uint8)
    if rmasked:
        case["rmask"] = ((rng.random((B, u)) > 0.3) / 0.7).astype(f32)
    return case


def run_core(cell, case, go_backwards, reset_after, precision, variant="best"):
    """nnfast's forward (training) and backward: the reference's outputs, in its order."""
    x, W, U = case["x"], case["W"], case["U"]
    B, T, _ = x.shape
    u = U.shape[0]
    cid = CELL_IDS[cell]
    ws = np.zeros(_core.rnn_workspace_size(cid, x, u, reset_after, True), np.float32)
    h_seq = np.zeros((B, T, u), np.float32)
    h_last = np.zeros((B, u), np.float32)
    c_last = np.zeros((B, u), np.float32) if cell == "lstm" else None
    common = dict(activation=3, recurrent_activation=2, go_backwards=go_backwards,
                  reset_after=reset_after, precision=precision, bf16_variant=variant)
    _core.rnn_forward(cid, x, W, U, case["b"], case["h0"], case["c0"], case["mask"],
                      case["rmask"], h_seq, h_last, c_last, ws, True, **common)
    dx, dW, dU = np.zeros_like(x), np.zeros_like(W), np.zeros_like(U)
    db, dh0 = np.zeros_like(case["b"]), np.zeros((B, u), np.float32)
    dc0 = np.zeros((B, u), np.float32) if cell == "lstm" else None
    _core.rnn_backward(cid, x, W, U, case["h0"], case["c0"], case["mask"], case["rmask"], h_seq,
                       ws, case["dseq"], case["dlast"], case["dclast"], dx, dW, dU, db, dh0,
                       dc0, **common)
    return h_seq, h_last, c_last, dx, dW, dU, db, dh0, dc0


def run_reference(cell, case, go_backwards, reset_after, rnd):
    return reference(cell, case["x"], case["W"], case["U"], case["b"], case["h0"], case["c0"],
                     case["mask"], case["rmask"], go_backwards, reset_after, case["dseq"],
                     case["dlast"], case["dclast"], rnd)


def _round64(a):
    return bf16(np.asarray(a, np.float32)).astype(np.float64)


NAMES = ("h_seq", "h_last", "c_last", "dx", "dkernel", "drecurrent_kernel", "dbias", "dh0",
         "dc0")


def _errors(got, want):
    """Per output: the largest and the mean error, relative to the output's scale."""
    out = {}
    for name, g, w in zip(NAMES, got, want):
        if g is None:
            continue
        err = np.abs(g.astype(np.float64) - w) / (np.abs(w).max() + 1e-3)
        out[name] = (err.max(), err.mean())
    return out


CELLS = [("lstm", True), ("gru", True), ("gru", False), ("simple", True)]
# (batch, steps, input, units): odd sizes around AMX's 32-row tiles / 16-pair chunks and
# AVX512_BF16's 14 rows; units past one 64-column block; 300 units, so backward's step
# product is deeper than one packed depth block (G*units > 1024 / 512 pairs' worth).
SHAPES = [(3, 5, 7, 5), (33, 4, 19, 17), (15, 3, 40, 33), (3, 2, 5, 300)]


@pytest.mark.parametrize("cell,reset_after", CELLS)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_bf16_rounded_float64_reference(route, cell, reset_after, shape):
    B, T, I, u = shape
    for seed, (state, masked, rmasked, back) in enumerate(
            [(False, False, False, False), (True, True, True, True)]):
        case = make(cell, B, T, I, u, reset_after, seed, state, masked, rmasked)
        got = run_core(cell, case, back, reset_after, "bfloat16", route)
        want = run_reference(cell, case, back, reset_after, _round64)
        exact = run_reference(cell, case, back, reset_after, lambda a: a)
        far = _errors(got, exact)
        for name, (worst, mean) in _errors(got, want).items():
            # fp32 summation, plus the rare bf16 rounding flip (~1/256 of one product) that
            # then spreads through the following steps
            assert worst < 5e-3, (name, worst)
            # ... and measurably bf16: the unrounded recurrence is much further away
            assert mean * 5 < far[name][1], (name, mean, far[name][1])


def test_float32_precision_unchanged_and_variants_agree():
    """precision="float32" is the fp32 path (bf16 arguments ignored); the bf16 variants
    differ from each other by fp32 summation order only."""
    case = make("lstm", 9, 6, 11, 7, True, 3, True, True, False)
    plain = run_core("lstm", case, False, True, "float32")
    for v in _core.gemm_bf16_variants():
        assert all(np.array_equal(a, b) for a, b in
                   zip(plain, run_core("lstm", case, False, True, "float32", v)))
    results = [run_core("lstm", case, False, True, "bfloat16", v)
               for v in _core.gemm_bf16_variants()]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.allclose(a, b, rtol=1e-3, atol=1e-3)


def test_same_bits_for_every_thread_count():
    case = make("gru", 40, 5, 9, 16, True, 5, True, False, False)
    saved = _core.num_threads()
    try:
        _core.set_num_threads(1)
        one = run_core("gru", case, False, True, "bfloat16")
        _core.set_num_threads(2)
        two = run_core("gru", case, False, True, "bfloat16")
    finally:
        _core.set_num_threads(saved)
    for a, b in zip(one, two):
        assert a is None or np.array_equal(a, b)


def test_bad_precision_and_variant_raise():
    case = make("lstm", 2, 3, 4, 5, True, 0, False, False, False)
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16'"):
        run_core("lstm", case, False, True, "float16")
    with pytest.raises(ValueError, match="bf16_variant"):
        run_core("lstm", case, False, True, "bfloat16", "fast")
    if "amx" in _core.gemm_bf16_variants():
        previous = nnfast.config.active_isa()
        nnfast.config.set_max_isa("avx2")
        try:
            with pytest.raises(ValueError, match="cannot run on this CPU under the current ISA"):
                run_core("lstm", case, False, True, "bfloat16", "amx")
        finally:
            nnfast.config.set_max_isa(previous)


def test_ops_lstm_runs_bf16_under_mixed_precision_policy():
    """ops.lstm inside a bfloat16 compute scope takes the bf16 route, forward and backward
    (the gradient of the kernel is the bf16 reference's, not the fp32 one)."""
    from nnfast import GradientTape, ops
    from nnfast.backend.tensor import Variable
    from nnfast.ops.precision import compute_precision

    case = make("lstm", 4, 5, 6, 7, True, 11, False, False, False)
    kernel = Variable(case["W"])
    with compute_precision("bfloat16"):
        with GradientTape() as tape:
            seq, _, _ = ops.lstm(case["x"], kernel, case["U"], case["b"])
            loss = ops.sum(seq * case["dseq"])
        dk = tape.gradient(loss, kernel)
    want = run_reference("lstm", dict(case, dlast=None, dclast=None), False, True, _round64)
    exact = run_reference("lstm", dict(case, dlast=None, dclast=None), False, True,
                          lambda a: a)
    near = np.abs(np.asarray(dk) - want[4]).max()
    assert near < 1e-3 * np.abs(want[4]).max()
    assert np.abs(want[4] - exact[4]).max() > 10 * near


def test_kernel_info_reports_the_bf16_products():
    """The step products run gemm_bf16's micro-kernel and record it as gemm_bf16's choice
    (``nnfast.config.kernel_info()["selected_kernels"]``); the gates stay on the rnn family."""
    case = make("simple", 3, 4, 5, 6, True, 2, False, False, False)
    run_core("simple", case, False, True, "bfloat16")
    chosen = nnfast.config.kernel_info()["selected_kernels"]
    assert chosen["gemm_bf16"] == _core.gemm_bf16_kernel_name()
    assert chosen["rnn"] == _core.rnn_kernel_name()
