"""``run_layer_test``: the contract every layer must honour (as Keras's run_layer_test):
output shape, weight count, config round trip, weights round trip and one training step."""
import numpy as np

import nnfast


def run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=0,
                   input_dtype="float32", input_data=None, train=True):
    rng = np.random.default_rng(0)
    if input_data is None:
        input_data = rng.standard_normal(input_shape).astype(input_dtype)
    layer = layer_cls(**init_kwargs)
    out = np.asarray(layer(input_data))
    if expected_output_shape is not None:
        assert out.shape == tuple(expected_output_shape), (out.shape, expected_output_shape)
    symbolic = layer.compute_output_shape((None,) + tuple(input_shape[1:]))
    assert tuple(symbolic[1:]) == out.shape[1:], (symbolic, out.shape)
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights

    # Config round trip: same config, same outputs once weights are copied.
    config = layer.get_config()
    clone = layer_cls.from_config(dict(config, name=config["name"] + "_clone"))
    clone_config = clone.get_config()
    clone_config["name"] = config["name"]
    assert clone_config == config
    clone(input_data)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(input_data)), out, rtol=1e-6, atol=1e-6)

    # One training step inside a model lowers nothing in particular but must run and move
    # every trainable weight that receives a gradient.
    if train and layer.trainable_weights:
        model = nnfast.Sequential([nnfast.Input(shape=input_shape[1:], dtype=input_dtype), layer])
        model.compile(optimizer="sgd", loss="mse")
        before = [w.copy() for w in layer.get_weights()]
        model.fit(input_data, rng.standard_normal(out.shape).astype(np.float32), epochs=1,
                  batch_size=len(input_data), verbose=0)
        after = layer.get_weights()
        assert any(not np.array_equal(b, a) for b, a in zip(before, after))
    return layer
