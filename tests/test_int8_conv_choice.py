"""Model.quantize("int8") keeps float32 the convolutions where int8 is slower (nnfast's choice:
Keras quantizes no convolution): which layers, what it says, and that such a model saves, loads
and predicts as before."""
import warnings

import numpy as np
import pytest

import nnfast
from nnfast.layers.int8_conv_choice import int8_kept_float32_reason

L = nnfast.layers


def _built(layer, input_shape):
    layer.build(input_shape)
    return layer


@pytest.mark.parametrize("layer,input_shape,kept", [
    (L.Conv2D(32, 3), (None, 9, 9, 3), None),  # a shallow stem: ops.quantized_stem
    (L.Conv2D(32, 3), (None, 9, 9, 4), "reduction depth 36 (3x3x4) under 64"),
    (L.Conv2D(32, 3, dilation_rate=2), (None, 9, 9, 3), "reduction depth 27 (3x3x3) under 64"),
    (L.Conv2D(96, 1), (None, 9, 9, 16), "reduction depth 16 (1x1x16) under 64"),  # an expand
    (L.Conv2D(24, 1), (None, 9, 9, 96), "24 filters under 64"),  # a thin projection
    (L.Conv2D(64, 1), (None, 9, 9, 64), None),
    (L.Conv2D(64, 3), (None, 9, 9, 8), None),  # depth 72
    (L.DepthwiseConv2D(3), (None, 9, 9, 32), "32 depthwise channels under 64"),
    (L.DepthwiseConv2D(3, depth_multiplier=3), (None, 9, 9, 16), "48 depthwise channels"),
    (L.DepthwiseConv2D(3), (None, 9, 9, 64), None),
    (L.DepthwiseConv2D(3), (None, 9, 9, 144), None),
    (L.DepthwiseConv2D(3, depth_multiplier=3), (None, 9, 9, 32), None),  # 96 channels
    (L.Dense(4), (None, 8), None),
])
def test_which_layers_stay_float32(layer, input_shape, kept):
    reason = int8_kept_float32_reason(_built(layer, input_shape))
    if kept is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(kept)
    assert int8_kept_float32_reason(L.Conv2D(8, 3)) is None  # unbuilt: nothing to say


def test_quantizing_an_int8_conv_again_still_raises():
    stem = _built(L.Conv2D(16, 3), (None, 9, 9, 4))
    stem.quantize("int8")
    assert int8_kept_float32_reason(stem) is None
    model = nnfast.Sequential([nnfast.Input((9, 9, 4)), stem])
    with pytest.raises(ValueError, match="already quantized"):
        model.quantize("int8")


def _mobile_block_model(hidden=384):
    """A MobileNetV2-like model: a thin stem on 4 channels (kept float32), a thin expand 1x1
    conv, a depthwise on ``hidden`` channels, a thin 1x1 projection (both following the
    depthwise layer's choice) and a Dense head (quantized)."""
    inp = nnfast.Input((6, 6, 4))
    x = L.Conv2D(16, 3, padding="same", name="stem")(inp)
    x = L.Conv2D(hidden, 1, name="expand")(x)
    x = L.ReLU(6.0)(L.BatchNormalization(name="expand_bn")(x))
    x = L.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = L.Conv2D(24, 1, name="project")(L.ReLU(6.0)(x))
    x = L.Dense(5, name="head")(L.GlobalAveragePooling2D()(x))
    model = nnfast.Model(inp, x)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.2
                       + (1.0 if "variance" in w.path else 0.0) for w in model.weights])
    return model


def test_model_quantize_keeps_slow_convs_float32_and_says_so(tmp_path):
    model = _mobile_block_model()
    x = np.random.default_rng(1).normal(size=(3, 6, 6, 4)).astype(np.float32)
    y_float = model.predict(x, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize("int8")
    said = [str(w.message) for w in caught if "kept 1 convolution(s) float32" in str(w.message)]
    assert len(said) == 1 and "stem: reduction depth 36" in said[0]
    modes = {l.name: l.dtype_policy.quantization_mode for l in model.layers}
    assert modes["stem"] is None
    # The thin expand and project convs follow their depthwise layer into int8.
    assert modes["expand"] == modes["dw"] == modes["project"] == modes["head"] == "int8"
    assert model.get_layer("stem").int8_kept_float32.startswith("reduction depth 36")
    assert not hasattr(model.get_layer("project"), "int8_kept_float32")
    y = model.predict(x, verbose=0)
    assert np.abs(y - y_float).max() < 0.05 * np.abs(y_float).max()  # int8 error, not a bug
    # Saved and loaded as it is: float32 where kept, int8 elsewhere, the same outputs.
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = nnfast.saving.load_model(path)
    assert {l.name: l.dtype_policy.quantization_mode for l in loaded.layers} == modes
    assert str(loaded.get_layer("stem").kernel.dtype) == "float32"
    assert str(loaded.get_layer("project").kernel.dtype) == "int8"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), y, rtol=1e-5, atol=1e-6)


def test_convs_around_a_float32_depthwise_stay_float32():
    model = _mobile_block_model(hidden=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize("int8")
    assert any("kept 4 convolution(s) float32" in str(w.message) for w in caught)
    modes = {l.name: l.dtype_policy.quantization_mode for l in model.layers}
    assert modes["stem"] is modes["expand"] is modes["dw"] is modes["project"] is None
    assert modes["head"] == "int8"
    assert model.get_layer("expand").int8_kept_float32.startswith(
        "next to dw, kept float32 (32 depthwise channels under 64)")
    assert model.get_layer("project").int8_kept_float32.startswith("next to dw")


def test_depthwise_partners_follow_the_graph():
    from nnfast.layers.int8_conv_choice import depthwise_partners

    model = _mobile_block_model()
    partners = depthwise_partners(model)
    assert {id(model.get_layer(n)) for n in ("expand", "project")} == set(partners)
    assert all(p is model.get_layer("dw") for p in partners.values())
    # An expand conv whose output something else reads too is not a partner.
    inp = nnfast.Input((6, 6, 4))
    e = L.Conv2D(16, 1, name="e")(inp)
    x = L.DepthwiseConv2D(3, padding="same", name="d")(e)
    model = nnfast.Model(inp, L.Add()([x, e]))
    assert depthwise_partners(model) == {}


def test_filters_quantize_every_chosen_conv():
    model = _mobile_block_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize("int8", filters=["stem", "expand"])
    modes = {l.name: l.dtype_policy.quantization_mode for l in model.layers}
    assert modes["stem"] == modes["expand"] == "int8"
    assert modes["dw"] is None and modes["head"] is None  # not chosen


def test_a_shallow_stem_and_the_depthwise_block_it_feeds_go_int8_together():
    from nnfast.layers.int8_conv_choice import stem_fed_depthwise

    inp = nnfast.Input((12, 12, 3))
    x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(16, 3, strides=2, padding="same",
                                                     name="stem")(inp)))
    x = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", name="dw")(x)))
    x = L.BatchNormalization()(L.Conv2D(8, 1, name="project")(x))
    model = nnfast.Model(inp, L.Dense(3, name="head")(L.GlobalAveragePooling2D()(x)))
    assert stem_fed_depthwise(model) == {id(model.get_layer("dw"))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.quantize("int8")
    modes = {l.name: l.dtype_policy.quantization_mode for l in model.layers}
    assert modes["stem"] == modes["dw"] == modes["project"] == modes["head"] == "int8"
    # A depthwise layer under 64 channels fed by anything else stays float32.
    inp = nnfast.Input((12, 12, 4))
    x = L.DepthwiseConv2D(3, name="dw")(L.Conv2D(16, 3, name="deep_stem")(inp))
    assert stem_fed_depthwise(nnfast.Model(inp, L.Conv2D(8, 1)(x))) == set()
