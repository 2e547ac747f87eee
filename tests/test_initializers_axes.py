"""VarianceScaling family's ``input_axes``/``output_axes`` (Keras 3.15): the fans are the
products of the weight shape's sizes along those axes. Checked against Keras's recorded
fans and draw statistics (fixtures/optimizer_args/make_initializer_fans.py)."""
import json
import math
import os

import numpy as np
import pytest

from nnfast import initializers as I

with open(os.path.join(os.path.dirname(__file__), "fixtures", "optimizer_args",
                       "initializer_fans.json")) as f:
    CASES = json.load(f)

SCALE_MODE = {"GlorotNormal": (1.0, "fan_avg"), "GlorotUniform": (1.0, "fan_avg"),
              "HeNormal": (2.0, "fan_in"), "HeUniform": (2.0, "fan_in"),
              "LecunNormal": (1.0, "fan_in"), "LecunUniform": (1.0, "fan_in")}


def _expected_std(kind, fans):
    scale, mode = SCALE_MODE[kind]
    fan = fans[0] if mode == "fan_in" else (fans[0] + fans[1]) / 2.0
    return math.sqrt(scale / max(1.0, fan))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['shape']}-{c['input_axes']}-"
                                                       f"{c['output_axes']}")
def test_std_follows_keras_fans(case):
    shape = tuple(case["shape"])
    for kind, keras_std in case["std"].items():
        expected = _expected_std(kind, case["fans"])
        # Keras's own draw confirms the fan meaning; nnfast's draw matches both.
        assert keras_std == pytest.approx(expected, rel=0.05), kind
        init = getattr(I, kind)(seed=5, input_axes=case["input_axes"],
                                output_axes=case["output_axes"])
        w = init(shape)
        assert w.shape == shape
        assert w.std() == pytest.approx(expected, rel=0.05), kind
        assert w.std() == pytest.approx(keras_std, rel=0.06), kind
        if kind.endswith("Uniform"):  # the limit is sharp: sqrt(3) * std exactly
            limit = math.sqrt(3.0) * expected
            assert np.abs(w).max() <= limit * (1 + 1e-6) and np.abs(w).max() > 0.98 * limit


def test_config_matches_keras_and_round_trips():
    for case in CASES:
        config = I.HeNormal(input_axes=case["input_axes"],
                            output_axes=case["output_axes"]).get_config()
        assert config == case["config"]
        again = I.get({"class_name": "HeNormal", "config": config})
        assert again.input_axes == case["input_axes"]
    vs = I.VarianceScaling(2.0, "fan_out", "uniform", 1, [0], [1, 2])
    assert I.VarianceScaling.from_config(vs.get_config()).output_axes == [1, 2]
    assert I.variance_scaling is I.VarianceScaling and I.he_normal is I.HeNormal


def test_fan_out_mode_uses_output_axes():
    w = I.VarianceScaling(1.0, "fan_out", "uniform", seed=0, input_axes=[0],
                          output_axes=[1, 2])((50, 4, 25))
    limit = math.sqrt(3.0 / 100)
    assert np.abs(w).max() <= limit * (1 + 1e-6) and np.abs(w).max() > 0.98 * limit


def test_bad_axes_raise():
    with pytest.raises(ValueError, match="input_axes"):
        I.GlorotUniform(input_axes=[3], output_axes=[0])((4, 5))
