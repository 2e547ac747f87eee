"""Kernels of the tutorial CNN's small ops: dropout with its keep mask stored as bits (the
forward's output and the backward's gradient are dropout_apply's bits, on odd lengths, every
ISA and 1 or 2 threads); max pooling (hand-vectorised forward and tiled backward, the relu
mask folded into the backward) against a float64 NumPy reference and the reference ISA's
bits on odd shapes; bad inputs."""
import numpy as np
import pytest
from conv_reference import isa  # noqa: F401  (fixture)
from nnfast import _core, ops

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


POOL_CASES = [
    # (input shape, pool, strides, pads, output (h, w))
    ((3, 11, 11, 64), (2, 2), (2, 2), (0, 0), (5, 5)),    # the tutorial's second pool
    ((2, 9, 7, 17), (2, 2), (2, 2), (1, 0), (5, 4)),      # 'same'-style padding, 16 + 1 lanes
    ((2, 8, 9, 5), (3, 3), (2, 2), (0, 0), (3, 4)),       # overlapping windows, 5 lanes
    ((1, 6, 5, 33), (3, 2), (3, 2), (0, 0), (2, 2)),      # tiling, uneven pool, 33 lanes
]


def pool_reference(x, pool, strides, pads, out):
    """float64 max pooling, its first-maximum argmax (ih * in_w + iw) and the scatter."""
    b, h, w, c = x.shape
    y = np.full((b, *out, c), -np.inf)
    arg = np.zeros((b, *out, c), np.int64)
    for i in range(out[0]):
        for j in range(out[1]):
            h0, w0 = i * strides[0] - pads[0], j * strides[1] - pads[1]
            for ih in range(max(h0, 0), min(h0 + pool[0], h)):
                for iw in range(max(w0, 0), min(w0 + pool[1], w)):
                    v = x[:, ih, iw].astype(np.float64)
                    take = (v > y[:, i, j]) | np.isnan(v)  # NaN wins and stays
                    y[:, i, j] = np.where(take, v, y[:, i, j])
                    arg[:, i, j] = np.where(take, ih * w + iw, arg[:, i, j])
    return y, arg


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_forward_and_relu_masked_backward(case, isa):
    shape, pool, strides, pads, out = case
    x = np.maximum(RNG.standard_normal(shape), 0).astype(np.float32)  # a relu's output
    x[0, 0, 0, :3] = [np.nan, 0.0, 0.0]  # NaN wins its window; ties keep the first position
    y = np.empty((shape[0], *out, shape[3]), np.float32)
    arg = np.empty(y.shape, np.int32)
    _core.max_pool2d_forward(x, y, arg, pool, strides, pads)
    want_y, want_arg = pool_reference(x, pool, strides, pads, out)
    assert np.isnan(y[0, 0, 0, 0])
    finite = ~np.isnan(want_y)
    np.testing.assert_array_equal(y[finite], want_y[finite])
    np.testing.assert_array_equal(arg[finite], want_arg[finite])
    g = RNG.standard_normal(y.shape).astype(np.float32)
    dx, dx_relu = np.empty_like(x), np.empty_like(x)
    _core.max_pool2d_backward(g, arg, dx, pool, strides, pads)
    _core.max_pool2d_backward(g, arg, dx_relu, pool, strides, pads, relu_y=y)
    want_dx = np.zeros(x.shape)
    want_relu = np.zeros(x.shape)
    for idx in np.ndindex(y.shape):
        n, _, _, c = idx
        ih, iw = divmod(int(arg[idx]), shape[2])
        want_dx[n, ih, iw, c] += g[idx]
        want_relu[n, ih, iw, c] += g[idx] if y[idx] > 0 else 0.0
    np.testing.assert_allclose(dx, want_dx, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx_relu, want_relu, rtol=1e-6, atol=1e-6)
    # relu_y folded in == relu_backward_from_output after the plain scatter, bit for bit
    masked = np.empty_like(x)
    _core.relu_backward_from_output(x, dx, masked)
    if pool == strides:  # (overlapping windows sum first, then mask: same terms, same order)
        np.testing.assert_array_equal(bits(dx_relu), bits(masked))


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool_isas_agree_bit_for_bit(case):
    import nnfast

    shape, pool, strides, pads, out = case
    x = RNG.standard_normal(shape).astype(np.float32)
    g = RNG.standard_normal((shape[0], *out, shape[3])).astype(np.float32)
    results = []
    previous = nnfast.config.active_isa()
    try:
        for name in nnfast.config.available_isas():
            nnfast.config.set_max_isa(name)
            y = np.empty(g.shape, np.float32)
            arg = np.empty(g.shape, np.int32)
            _core.max_pool2d_forward(x, y, arg, pool, strides, pads)
            dx = np.empty_like(x)
            _core.max_pool2d_backward(g, arg, dx, pool, strides, pads, relu_y=y)
            results.append((bits(y), arg, bits(dx)))
    finally:
        nnfast.config.set_max_isa(previous)
    for got in results[1:]:
        for a, b in zip(results[0], got):
            np.testing.assert_array_equal(a, b)


def test_max_pool_backward_relu_y_must_match_the_gradient():
    g = np.ones((1, 2, 2, 3), np.float32)
    arg = np.zeros(g.shape, np.int32)
    with pytest.raises(ValueError, match="relu_y"):
        _core.max_pool2d_backward(g, arg, np.empty((1, 4, 4, 3), np.float32), (2, 2), (2, 2),
                                  (0, 0), relu_y=np.ones((1, 2, 2, 2), np.float32))


@pytest.mark.parametrize("threads", [1, 3])
def test_first_layer_conv_pool_thread_ranges_against_float64(threads):
    # The first-layer route (3x3 on one channel, <= 32 filters) walks pooled pixels from any
    # start: at 3 threads the forward's ranges and the weight gradient's 64-pixel chunks start
    # mid-row (20 images of 11 x 11 pooled pixels). Forward bits do not depend on the split;
    # the weight gradient matches a float64 sum over each window's argmax.
    x = RNG.standard_normal((20, 24, 24, 1)).astype(np.float32)
    k = RNG.standard_normal((3, 3, 1, 32)).astype(np.float32)
    b = RNG.standard_normal(32).astype(np.float32)
    g = RNG.standard_normal((20, 11, 11, 32)).astype(np.float32)
    geom = ((1, 1), (0, 0), (1, 1), (22, 22), (2, 2), (0, 0))
    previous = _core.num_threads()
    outs = []
    try:
        for t in (1, threads):
            _core.set_num_threads(t)
            pooled, arg = np.empty(g.shape, np.float32), np.empty(g.shape, np.uint8)
            _core.conv2d_relu_maxpool_forward(x, k, b, pooled, arg, *geom)
            dk, db = np.empty_like(k), np.empty_like(b)
            _core.conv2d_relu_maxpool_backward_weights(x, g, pooled, arg, dk, db, *geom)
            outs.append((pooled, arg, dk, db))
    finally:
        _core.set_num_threads(previous)
    (pooled, arg, _, _), (pooled_t, arg_t, dk, db) = outs
    np.testing.assert_array_equal(bits(pooled_t), bits(pooled))
    np.testing.assert_array_equal(arg_t, arg)
    dk_ref, db_ref = np.zeros((9, 32)), np.zeros(32)
    for n, py, px in np.ndindex(20, 11, 11):
        on = pooled[n, py, px] > 0
        j = arg[n, py, px].astype(np.int64)
        oh, ow = 2 * py + j // 2, 2 * px + j % 2
        patches = np.stack([x[n, oh + r, ow + c, 0] for r in range(3) for c in range(3)])
        dk_ref += np.where(on, patches * g[n, py, px], 0.0)
        db_ref += np.where(on, g[n, py, px], 0.0)
    np.testing.assert_allclose(dk.reshape(9, 32), dk_ref, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(db, db_ref, rtol=1e-5, atol=1e-3)
