"""Kernels of the tutorial CNN's small ops: dropout with its keep mask stored as bits (the
forward's output and the backward's gradient are dropout_apply's bits, on odd lengths, every
ISA and 1 or 2 threads), and bad inputs."""
import numpy as np
import pytest

from nnfast import _core, ops

from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(5)
LENGTHS = [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 70001]


def bits(a):
    return a.view(np.uint32)


@pytest.mark.parametrize("threads", [1, 2])
def test_dropout_mask_matches_the_hashed_dropout(isa, threads):
    previous = _core.num_threads()
    _core.set_num_threads(threads)
    try:
        for n in LENGTHS:
            rate, seed, offset = 0.3, 2**63 + 12345, 77 + n
            x = RNG.standard_normal(n).astype(np.float32)
            want, got = np.empty_like(x), np.empty_like(x)
            mask = np.full((n + 7) // 8, 0xAB, np.uint8)  # stale bits must be overwritten
            _core.dropout_apply(x, want, rate, seed, offset)
            _core.dropout_forward_mask(x, got, mask, rate, seed, offset)
            np.testing.assert_array_equal(bits(got), bits(want))
            ones, keep = np.ones(n, np.float32), np.empty(n, np.float32)
            _core.dropout_apply(ones, keep, rate, seed, offset)
            unpacked = np.unpackbits(mask, bitorder="little")
            np.testing.assert_array_equal(unpacked[:n], keep != 0)
            assert not unpacked[n:].any()  # bits past the end are 0
            g = RNG.standard_normal(n).astype(np.float32)
            want_g, got_g = np.empty_like(g), np.empty_like(g)
            _core.dropout_apply(g, want_g, rate, seed, offset)
            _core.dropout_backward_mask(g, mask, got_g, rate)
            np.testing.assert_array_equal(bits(got_g), bits(want_g))
            # float64 reference of the definition: kept elements scaled by 1 / (1 - rate)
            np.testing.assert_allclose(got_g, np.where(keep != 0, g / (1 - rate), 0.0),
                                       rtol=1e-6)
    finally:
        _core.set_num_threads(previous)


def test_dropout_op_gradient_is_its_mask():
    import nnfast

    x = nnfast.Variable(RNG.standard_normal((5, 13)).astype(np.float32))
    w = RNG.standard_normal((5, 13)).astype(np.float32)
    with nnfast.GradientTape() as tape:
        y = ops.dropout(x, 0.4, seed=9, offset=3)
        loss = ops.sum(ops.multiply(y, w))
    grad = np.asarray(tape.gradient(loss, x))
    kept = np.asarray(y) != 0
    np.testing.assert_allclose(grad, np.where(kept, w / 0.6, 0.0), rtol=1e-6)


def test_dropout_mask_bad_inputs_raise():
    x = np.ones(20, np.float32)
    y = np.empty_like(x)
    with pytest.raises(ValueError, match="expected 3 bytes"):
        _core.dropout_forward_mask(x, y, np.empty(2, np.uint8), 0.5, 1, 0)
    with pytest.raises(TypeError, match="expected a uint8 array"):
        _core.dropout_forward_mask(x, y, np.empty(3, np.int32), 0.5, 1, 0)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        _core.dropout_backward_mask(x, np.empty(3, np.uint8), y, 1.0)
    with pytest.raises(ValueError, match="same size"):
        _core.dropout_backward_mask(x, np.empty(3, np.uint8), np.empty(19, np.float32), 0.5)
