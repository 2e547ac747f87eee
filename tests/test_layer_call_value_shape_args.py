"""Layers whose ``compute_output_shape`` takes call arguments besides the shape
(``ReversibleEmbedding.compute_output_shape(input_shape, reverse=False)``) work in
Functional and Sequential models: the extra parameter gets the call's value, not a shape."""
import numpy as np
import pytest

import nnfast as keras


def _reversible_model():
    emb = keras.layers.ReversibleEmbedding(10, 4, tie_weights=False, name="emb")
    inp = keras.Input((3,), dtype="int32")
    hidden = keras.layers.Dense(4, name="mix")(emb(inp))
    return keras.Model(inp, emb(hidden, reverse=True))


def test_reversible_embedding_functional_trains_saves_loads(tmp_path):
    keras.utils.set_random_seed(0)
    model = _reversible_model()
    # Keras 3.15 (checked in /work/kerasvenv): (None, 3, 10) and four weights.
    assert model.output_shape == (None, 3, 10)
    assert [tuple(w.shape) for w in model.weights] == [(10, 4), (4, 10), (4, 4), (4,)]
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).integers(0, 10, (16, 3))
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(x, x, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert all(np.abs(a - np.array(b)).max() > 0 for a, b in zip(before, model.get_weights()))
    path = str(tmp_path / "reversible.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_reversible_embedding_sequential_shapes():
    model = keras.Sequential([keras.Input((3,), dtype="int32"),
                              keras.layers.ReversibleEmbedding(10, 4)])
    assert model.output_shape == (None, 3, 4)


class _Scale(keras.layers.Layer):
    """Doubles the last axis when ``widen`` is set (a custom call argument that
    ``compute_output_shape`` also takes)."""

    def call(self, inputs, widen=False, factor=1.0):
        out = inputs * factor
        return keras.ops.concatenate([out, out], axis=-1) if widen else out

    def compute_output_shape(self, input_shape, widen=False):
        return tuple(input_shape[:-1]) + (input_shape[-1] * (2 if widen else 1),)


@pytest.mark.parametrize("widen, width", [(False, 5), (True, 10)])
def test_custom_compute_output_shape_gets_call_value(widen, width):
    inp = keras.Input((2, 5))
    out = _Scale()(inp, widen=widen, factor=2.0)
    assert out.shape == (None, 2, width)
    model = keras.Model(inp, out)
    x = np.ones((1, 2, 5), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.full((1, 2, width), 2.0))
