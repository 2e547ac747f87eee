"""Pooling kernels, ops and layers against float64 NumPy references of Keras's definitions
('same' max pads with -inf, 'same' average divides by the valid count), for every ISA."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

import conv_reference as ref
from conv_reference import isa  # noqa: F401  (fixture)

RNG = np.random.default_rng(1)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


POOL_CASES = [((2, 2), None, "valid"), ((3, 3), (2, 2), "same"), ((2, 3), (1, 2), "valid"),
              ((3, 2), (3, 1), "same"), ((2, 2), (2, 2), "same")]


@pytest.mark.parametrize("pool,strides,padding", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_forward_and_gradient(pool, strides, padding, kind, isa):
    x = rand(2, 7, 9, 5)
    fn = ops.max_pool if kind == "max" else ops.average_pool
    s = strides or pool
    want = ref.pool2d(x, pool, s, padding, kind)
    got = fn(x, pool, strides, padding)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)
    # Max pooling is piecewise linear: small differences keep each argmax, so the numeric
    # gradient of the float64 reference is exact up to rounding.
    ref.check_grads(lambda t: fn(t, pool, strides, padding),
                    lambda t: ref.pool2d(t, pool, s, padding, kind), [x], eps=1e-6)


def test_pool1d_and_channels_first():
    x = rand(3, 11, 4)
    got = ops.max_pool(x, 3, 2, "same")
    want = ref.pool2d(x[:, None], (1, 3), (1, 2), "same", "max")[:, 0]
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    x4 = rand(2, 3, 6, 7)
    got = ops.average_pool(x4, 2, None, "same", data_format="channels_first")
    want = ref.pool2d(x4.transpose(0, 2, 3, 1), (2, 2), (2, 2), "same", "avg").transpose(0, 3, 1, 2)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_global_pooling(kind, isa):
    x = rand(3, 5, 4, 6)
    red = np.max if kind == "max" else np.mean
    got = ops.global_pool(x, kind)
    np.testing.assert_allclose(np.asarray(got), red(x.astype(np.float64), axis=(1, 2)),
                               rtol=1e-5, atol=1e-6)
    ref.check_grads(lambda t: ops.global_pool(t, kind),
                    lambda t: red(t, axis=(1, 2)), [x], eps=1e-3)
    kd = ops.global_pool(x, kind, keepdims=True)
    assert kd.shape == (3, 1, 1, 6)


def test_pooling_layers_shapes_and_config():
    cases = [
        (layers.MaxPooling2D, {}, (2, 8, 9, 3), (2, 4, 4, 3)),
        (layers.MaxPooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 9, 3),
         (2, 4, 5, 3)),
        (layers.AveragePooling2D, {"pool_size": (2, 3)}, (1, 6, 6, 2), (1, 3, 2, 2)),
        (layers.MaxPooling1D, {}, (2, 9, 3), (2, 4, 3)),
        (layers.AveragePooling1D, {"pool_size": 3, "padding": "same"}, (2, 10, 3), (2, 4, 3)),
        (layers.GlobalAveragePooling2D, {}, (2, 5, 5, 7), (2, 7)),
        (layers.GlobalMaxPooling2D, {"keepdims": True}, (2, 5, 5, 7), (2, 1, 1, 7)),
        (layers.GlobalAveragePooling1D, {}, (2, 5, 7), (2, 7)),
        (layers.GlobalMaxPooling1D, {"data_format": "channels_first"}, (2, 5, 7), (2, 5)),
        (layers.MaxPooling2D, {"data_format": "channels_first"}, (2, 3, 8, 6), (2, 3, 4, 3)),
    ]
    for cls, kwargs, in_shape, out_shape in cases:
        layer = cls(**kwargs)
        out = layer(rand(*in_shape))
        assert out.shape == out_shape, (cls.__name__, kwargs, out.shape)
        assert layer.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]
        config = layer.get_config()
        clone = cls.from_config(config)
        assert clone.get_config() == config
    assert layers.MaxPooling2D().get_config()["strides"] == (2, 2)


def test_pooling_bad_inputs():
    with pytest.raises(ValueError, match="padding"):
        ops.max_pool(rand(1, 4, 4, 1), 2, padding="full")
    with pytest.raises(ValueError, match="empty|larger"):
        ops.max_pool(rand(1, 2, 2, 1), 3)
    with pytest.raises(ValueError, match="3-D|4-D"):
        ops.max_pool(rand(4, 4), 2)
    from nnfast import _core

    with pytest.raises(TypeError, match="int32"):
        _core.max_pool2d_forward(rand(1, 4, 4, 1), np.empty((1, 2, 2, 1), np.float32),
                                 np.empty((1, 2, 2, 1), np.int64), (2, 2), (2, 2), (0, 0))
