"""``keras.layers.Pipeline`` with plain functions among its layers works on symbolic
inputs too (in a Functional model), not only eagerly. Keras 3.15 fails on a function in a
Pipeline in both modes (checked in /work/kerasvenv: ``'function' object has no attribute
'_call_has_mask_arg'``); nnfast accepts them as a superset."""
import numpy as np
import pytest

import nnfast as keras


def _first_two_doubled(x):
    return keras.ops.multiply(x[:, :2], 2.0)


def test_pipeline_with_functions_in_functional_model():
    pipeline = keras.layers.Pipeline([keras.layers.Rescaling(0.5, offset=1.0),
                                      _first_two_doubled,
                                      keras.layers.RandomFlip("horizontal"),
                                      lambda x: x - 1.0])
    inp = keras.Input((3,))
    out = pipeline(inp, training=False)
    assert out.shape == (None, 2) and out.dtype == "float32"
    assert pipeline.compute_output_shape((None, 3)) == (None, 2)
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    expected = (x[:, :2].astype(np.float64) * 0.5 + 1.0) * 2.0 - 1.0
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(pipeline(x, training=False)), expected, rtol=1e-6)


def test_pipeline_refuses_non_callables():
    with pytest.raises(ValueError, match="Pipeline expects a list of layers"):
        keras.layers.Pipeline([keras.layers.Rescaling(2.0), 3])
