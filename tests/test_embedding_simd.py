"""The embedding row kernels on every ISA variant (cpp/src/kernels/embedding/: the reference
and the bodies over the shared vector vocabulary): gathers, scatter-adds with repeated and
cleared ids, and the squaring optimizers' slot shift, on row widths around the vector widths,
against NumPy; the scatter-adds keep the reference's order, so every ISA gives its bits."""
import numpy as np
import pytest

import nnfast
from nnfast import _core

ISAS = nnfast.config.available_isas()
DIMS = [1, 7, 16, 17, 33, 100]


@pytest.fixture
def cap():
    """Sets the ISA cap for one test and restores the cap it found (NNFAST_MAX_ISA's) after."""
    previous = nnfast.config.active_isa()
    yield nnfast.config.set_max_isa
    nnfast.config.set_max_isa(previous)


def _run(dim, isa, cap):
    cap(isa)
    rng = np.random.default_rng(dim)
    vocab, n = 11, 29
    table = rng.standard_normal((vocab, dim)).astype(np.float32)
    ids = rng.integers(0, vocab, n).astype(np.int64)  # repeats
    out = np.empty((n, dim), np.float32)
    _core.embedding_forward(table, ids, out)
    ddst = rng.standard_normal((n, dim)).astype(np.float32)
    dtable = rng.standard_normal((vocab, dim)).astype(np.float32)
    clear = np.unique(ids)
    _core.embedding_backward(ddst, ids, dtable, clear)
    slot0 = rng.random((vocab, dim)).astype(np.float32)
    uniq = rng.permutation(vocab)[:5].astype(np.int64)
    g = rng.standard_normal((5, dim)).astype(np.float32)
    sq = (g * g + rng.random((5, dim))).astype(np.float32)
    slot = slot0.copy()
    _core.embedding_shift_square_rows(slot, uniq, g, sq, 0.25)
    assert _core.selected_kernels()["embedding"] == f"f32_embedding_{isa}"
    return table, ids, out, ddst, dtable, clear, slot, (slot0, uniq, g, sq)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dim", DIMS)
def test_embedding_kernels_every_isa(isa, dim, cap):
    table, ids, out, ddst, dtable, clear, slot, (slot0, uniq, g, sq) = _run(dim, isa, cap)
    np.testing.assert_array_equal(out, table[ids])
    want = np.zeros_like(dtable, dtype=np.float64)
    np.add.at(want, ids, ddst.astype(np.float64))
    np.testing.assert_allclose(dtable[clear], want[clear], rtol=1e-6, atol=1e-6)
    # the reference's bits on every ISA for the gather and the scatter-add (ids ascending,
    # plain adds); the slot shift may fuse its multiply-add (an ulp)
    ref = _run(dim, "ref", cap)
    np.testing.assert_array_equal(dtable, ref[4])
    np.testing.assert_allclose(slot, ref[6], rtol=2e-7, atol=1e-7)
    want_slot = slot0.astype(np.float64)
    want_slot[uniq] += (sq.astype(np.float64) - g.astype(np.float64) ** 2) * 0.25
    np.testing.assert_allclose(slot, want_slot, rtol=1e-6, atol=1e-6)
