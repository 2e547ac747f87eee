"""Issue 14: `_core` outputs that share memory with inputs (or with other outputs) are refused
with a ValueError, except where a kernel is elementwise and so in place by design (activation
forward/backward, dropout), where the in-place call must give the separate call's numbers."""
import glob
import os
import re

import numpy as np
import pytest

import nnfast
from nnfast import _core

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def overlap(fn, *args, **kwargs):
    with pytest.raises(ValueError, match="shares memory with"):
        fn(*args, **kwargs)


def test_issue_reproducers_raise():
    x = rand(6, 5)
    labels = np.arange(6, dtype=np.int64) % 5
    overlap(_core.softmax_cross_entropy_forward, x, None, labels, x, np.zeros(6, "f4"))
    overlap(_core.batch_norm_forward_training, x, None, None, 1e-3, x, np.zeros(5, "f4"),
            np.zeros(5, "f4"))
    overlap(_core.sum_over_rows, x, x[2])  # a row of the input as the output
    src = rand(1, 4, 4, 2)
    dst = src.reshape(-1)[:8].reshape(1, 2, 2, 2)  # the output is the input's first bytes
    overlap(_core.max_pool2d_forward, src, dst, None, (2, 2), (2, 2), (0, 0))


def test_outputs_overlapping_each_other_raise():
    x = rand(6, 5)
    stats = np.zeros(5, "f4")
    overlap(_core.batch_norm_forward_training, x, None, None, 1e-3, np.empty_like(x), stats,
            stats)
    w, g = rand(7), rand(7)
    m = np.zeros(7, "f4")
    overlap(_core.adam_update, w, g, m, m, None, 1e-3, 0.9, 0.999, 1e-7, 1)
    overlap(_core.adam_update, w, w, np.zeros(7, "f4"), np.zeros(7, "f4"), None, 1e-3, 0.9,
            0.999, 1e-7, 1)  # the gradient is the variable


def test_partial_overlap_raises_and_names_both_buffers():
    a = rand(8, 8)
    flat = np.zeros(8 * 8 + 8, "f4")
    c = flat[8:].reshape(8, 8)
    b = flat[:64].reshape(8, 8)  # overlaps c by 56 floats
    with pytest.raises(ValueError, match=r"gemm: gemm c \(written\) shares memory with gemm b"):
        _core.gemm(a, b, c)


def test_inputs_may_share_memory():
    a = rand(9, 9)
    c = np.zeros((9, 9), "f4")
    _core.gemm(a, a, c)
    np.testing.assert_allclose(c, a.astype(np.float64) @ a, rtol=1e-4, atol=1e-4)
    p, y = rand(4, 3), rand(4, 3)
    loss = np.zeros(4, "f4")
    _core.mean_squared_error_forward(p, p, loss)  # prediction == target: zero loss
    np.testing.assert_array_equal(loss, 0)


def test_separate_buffers_still_work_after_a_refusal():
    x = rand(6, 5)
    overlap(_core.sum_over_rows, x, x[0])
    out = np.zeros(5, "f4")
    _core.sum_over_rows(x, out)
    np.testing.assert_allclose(out, x.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("isa", nnfast.config.available_isas())
def test_elementwise_kernels_are_right_in_place(isa):
    from nnfast.ops.nn import ACTIVATION_IDS

    before = nnfast.config.kernel_info()["active_isa"]
    nnfast.config.set_max_isa(isa)
    try:
        x = rand(3, 37) * 3  # odd size: vector body and tail
        for name, act in ACTIVATION_IDS.items():
            y = np.empty_like(x)
            _core.activation_forward(act, x, y, 0.1, 6.0, 0.0)
            inplace = x.copy()
            _core.activation_forward(act, inplace, inplace, 0.1, 6.0, 0.0)
            np.testing.assert_array_equal(inplace, y, err_msg=name)
            dy = rand(3, 37)
            dx = np.empty_like(x)
            _core.activation_backward(act, x, y, dy, dx, 0.1, 6.0, 0.0)
            for which in ("x", "y", "dy"):
                args = {"x": x.copy(), "y": y.copy(), "dy": dy.copy()}
                _core.activation_backward(act, args["x"], args["y"], args["dy"], args[which],
                                          0.1, 6.0, 0.0)
                np.testing.assert_array_equal(args[which], dx, err_msg=f"{name} dx is {which}")
        ref = np.empty_like(x)
        _core.dropout_apply(x, ref, 0.3, 1234, 5)
        inplace = x.copy()
        _core.dropout_apply(inplace, inplace, 0.3, 1234, 5)
        np.testing.assert_array_equal(inplace, ref)
        # in place means the very same buffer: a shifted overlap is still refused
        flat = x.reshape(-1).copy()
        overlap(_core.activation_forward, 1, flat[1:], flat[:-1])
        overlap(_core.dropout_apply, flat[1:], flat[:-1], 0.3, 1, 0)
    finally:
        nnfast.config.set_max_isa(before)


def test_every_entry_point_taking_arrays_opens_a_buffer_scope():
    """The overlap check lives in the array checks and runs only inside a BufferScope: every
    binding lambda that takes arrays must open one (a new entry point without it would skip
    the check silently)."""
    missing = []
    for path in glob.glob(os.path.join(HERE, "..", "cpp", "bindings", "bind_*.cpp")):
        if os.path.basename(path) in ("bind_cuda.cpp", "bind_memory.cpp", "bind_runtime.cpp"):
            continue  # device pointers / no arrays
        src = open(path).read()
        for m in re.finditer(r'm\.def\(\s*([^,]+),\s*\[[^\]]*\]\(', src):
            depth, i = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(src[i], 0)
                i += 1
            params, body = src[m.end():i], src[i:i + 200]
            if ("py::array" in params or "py::object" in params) and "BufferScope" not in body:
                missing.append(f"{os.path.basename(path)}: {m.group(1).strip()}")
    assert not missing, missing
