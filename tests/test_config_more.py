"""keras.config: every name of Keras 3.15 resolves; floatx/epsilon/image_data_format,
interactive logging, max epochs/steps, unsafe deserialization."""
import logging

import numpy as np
import pytest

import nnfast as keras
from nnfast import config, layers, losses

KERAS_CONFIG_NAMES = [l.split("\t")[0].split(".")[-1] for l in """\
backend disable_flash_attention disable_interactive_logging disable_traceback_filtering
dtype_policy enable_flash_attention enable_interactive_logging enable_traceback_filtering
enable_unsafe_deserialization epsilon floatx image_data_format is_flash_attention_enabled
is_interactive_logging_enabled is_nnx_enabled is_traceback_filtering_enabled max_epochs
max_steps_per_epoch set_backend set_dtype_policy set_epsilon set_floatx
set_image_data_format set_max_epochs set_max_steps_per_epoch""".split()]


def test_all_keras_config_names_resolve():
    assert len(KERAS_CONFIG_NAMES) == 25
    assert [n for n in KERAS_CONFIG_NAMES if not callable(getattr(config, n, None))] == []
    assert config.backend() == "nnfast" and config.is_nnx_enabled() is False


def test_floatx_float32_or_float64_and_clear_errors():
    assert config.floatx() == "float32"
    config.set_floatx("float32")
    with pytest.raises(NotImplementedError, match="mixed_bfloat16"):
        config.set_floatx("float16")  # 16-bit weights: not supported (float64: test_float64)
    with pytest.raises(ValueError, match="Unknown `floatx`"):
        config.set_floatx("int8")
    assert config.floatx() == "float32"
    with pytest.raises(NotImplementedError):
        config.set_dtype_policy("bfloat16")  # bfloat16 weights: not supported
    assert config.dtype_policy().name == "float32"
    config.set_dtype_policy("mixed_float16")  # tests/test_mixed_precision.py
    try:
        assert config.dtype_policy().name == "mixed_float16"
    finally:
        config.set_dtype_policy(None)
    assert config.dtype_policy().name == "float32"


def test_epsilon_reaches_losses():
    y_true = np.array([[0.0, 1.0]], np.float32)
    y_pred = np.array([[0.0, 1.0]], np.float32)
    try:
        config.set_epsilon(0.01)
        assert config.epsilon() == 0.01
        got = float(np.asarray(losses.binary_crossentropy(y_true, y_pred)).reshape(-1)[0])
        # both terms clipped at eps: -log(1 - eps) on each element
        np.testing.assert_allclose(got, -np.log(1 - 0.01), rtol=1e-4)
    finally:
        config.set_epsilon(1e-7)
    with pytest.raises(ValueError):
        config.set_epsilon(-1.0)


def test_image_data_format_is_the_default_of_new_layers():
    try:
        config.set_image_data_format("channels_first")
        assert layers.Conv2D(2, 3).data_format == "channels_first"
        assert layers.Conv2D(2, 3, data_format="channels_last").data_format == "channels_last"
    finally:
        config.set_image_data_format("channels_last")
    assert layers.Conv2D(2, 3).data_format == "channels_last"
    with pytest.raises(ValueError, match="data_format"):
        config.set_image_data_format("nchw")


def _model():
    m = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    m.compile("sgd", "mse")
    return m


def test_interactive_logging_switches_the_progress_bar_to_log_lines(capsys, caplog):
    x, y = np.ones((8, 2), np.float32), np.ones((8, 1), np.float32)
    try:
        config.disable_interactive_logging()
        assert not config.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="nnfast"):
            _model().fit(x, y, epochs=2, batch_size=4, verbose=1)
        assert capsys.readouterr().out == ""
        messages = [r.getMessage() for r in caplog.records if r.name == "nnfast"]
        assert messages[0] == "Epoch 1/2" and messages[2] == "Epoch 2/2"
        assert messages[1].startswith("2/2 ") and "loss:" in messages[1]
        assert not any("\r" in m for m in messages)
    finally:
        config.enable_interactive_logging()
    _model().fit(x, y, epochs=2, batch_size=4, verbose=1)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_max_epochs_and_steps_cap_fit():
    x, y = np.ones((16, 2), np.float32), np.ones((16, 1), np.float32)
    try:
        config.set_max_epochs(2)
        config.set_max_steps_per_epoch(3)
        m = _model()
        with pytest.warns(UserWarning, match="Limiting"):
            hist = m.fit(x, y, epochs=5, batch_size=2, verbose=0)
        assert len(hist.history["loss"]) == 2
        assert m.optimizer.iterations == 6
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None


def test_flags():
    assert config.is_flash_attention_enabled() is None
    config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is True
    config.disable_flash_attention()
    assert config.is_flash_attention_enabled() is False
    config.disable_traceback_filtering()
    assert config.is_traceback_filtering_enabled() is False
    with pytest.raises(NotImplementedError):
        config.enable_traceback_filtering()
    with pytest.raises(ValueError):
        config.set_backend("jax")


def test_enable_unsafe_deserialization_allows_lambda_layers(tmp_path):
    from nnfast.saving import serialization

    model = keras.Sequential([keras.Input((2,)), layers.Lambda(lambda t: t * 2.0)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(Exception):
        keras.models.load_model(path)
    try:
        config.enable_unsafe_deserialization()
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(np.ones((1, 2)), verbose=0), [[2.0, 2.0]])
    finally:
        serialization.set_default_safe_mode(True)
