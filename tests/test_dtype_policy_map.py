"""keras.dtype_policies.DTypePolicyMap against Keras 3.15 (fixtures written by
tests/fixtures/dtype_policy_map/make_dtype_policy_map.py)."""
import json
import os

import nnfast
import numpy as np
import pytest
from nnfast.dtype_policies import DTypePolicy, DTypePolicyMap

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "dtype_policy_map")


def _record():
    with open(os.path.join(HERE, "dtype_policy_map.json")) as f:
        return json.load(f)


def _encoder_map():
    policies = DTypePolicyMap(default_policy="float32")
    policies["encoder/layer_0/dense"] = "bfloat16"
    policies["encoder/.*"] = "float16"
    policies["decoder"] = "mixed_bfloat16"
    return policies


def test_lookup_and_name_as_keras():
    record = _record()
    policies = _encoder_map()
    assert policies.name == record["name"]
    for path, name in record["lookups"].items():
        assert policies[path].name == name
    assert len(policies) == 3 and "decoder" in policies and "decoder/x" not in policies
    assert policies.compute_dtype == "float32"


def test_ambiguous_duplicate_and_bad_values_raise():
    policies = _encoder_map()
    policies["encoder/attention/.*"] = "float32"
    with pytest.raises(ValueError, match="matches multiple"):
        policies["encoder/attention/query"]
    with pytest.raises(ValueError, match="already exist"):
        policies["decoder"] = "float32"
    with pytest.raises(ValueError, match="Cannot interpret"):
        policies["other"] = 3.5
    with pytest.raises(ValueError, match="cannot be a `DTypePolicyMap`"):
        DTypePolicyMap(default_policy=policies)
    with pytest.raises(TypeError, match="must be a dict"):
        DTypePolicyMap(policy_map=[("a", "float32")])
    del policies["decoder"]
    assert policies["decoder"].name == "float32"


def test_serialization_as_keras_and_back():
    record = _record()
    assert nnfast.saving.serialize_keras_object(_encoder_map()) == record["serialized"]
    no_default = DTypePolicyMap()
    no_default["x"] = "mixed_float16"
    assert nnfast.saving.serialize_keras_object(no_default) == record["serialized_no_default"]
    back = nnfast.dtype_policies.get(record["serialized"])
    assert isinstance(back, DTypePolicyMap)
    assert back == _encoder_map()
    back = nnfast.dtype_policies.deserialize(record["serialized_no_default"])
    assert back["x"].name == nnfast.config.dtype_policy().name  # nameless: the global policy


def test_layer_takes_its_entry_and_keeps_the_map():
    policies = DTypePolicyMap("float32", policy_map={"fast": "mixed_bfloat16"})
    layer = nnfast.layers.Dense(3, name="fast", dtype=policies)
    assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    assert layer.dtype_policy is policies
    other = nnfast.layers.Dense(3, name="plain", dtype=policies)
    assert other.compute_dtype == "float32"
    other.dtype_policy = "mixed_float16"  # Keras writes the new policy into the map
    assert policies["plain"].name == "mixed_float16" and other.compute_dtype == "float16"
    config = layer.get_config()["dtype"]
    assert config["class_name"] == "DTypePolicyMap"
    assert nnfast.layers.Dense.from_config(layer.get_config()).compute_dtype == "bfloat16"
    assert isinstance(DTypePolicyMap(), DTypePolicy)


def test_keras_model_with_a_map_loads_and_predicts():
    model = nnfast.saving.load_model(os.path.join(HERE, "map_model.keras"))
    io = np.load(os.path.join(HERE, "map_model_io.npz"))
    head = model.get_layer("head")
    assert isinstance(head.dtype_policy, DTypePolicyMap)
    assert head.compute_dtype == "float32"
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y"], rtol=1e-5, atol=1e-6)
