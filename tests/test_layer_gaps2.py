"""EinsumDense, GroupQueryAttention, SpectralNormalization, ReversibleEmbedding (and the
spectrogram layers) against Keras 3.15 numbers (tests/fixtures/layers3), with config round
trips, errors and training."""
import numpy as np
import pytest

import nnfast
from nnfast import layers, ops

from layer_contract import run_layer_test
from layers3_fixtures import META, check_case

EINSUM = ["einsum_2d", "einsum_3d", "einsum_ellipsis", "einsum_heads", "einsum_reduce",
          "einsum_right_elided"]


@pytest.mark.parametrize("name", EINSUM + ["gqa_cross", "gqa_causal_scores", "gqa_gate_key",
                                           "specnorm_dense", "specnorm_conv",
                                           "revemb_forward", "revemb_reverse"])
def test_matches_keras(name):
    check_case(name)


@pytest.mark.parametrize("equation,a,b", [
    ("ab,bc->ac", (3, 4), (4, 5)),
    ("abc,cd->ad", (2, 3, 4), (4, 5)),          # b summed away: broadcast gradient
    ("...b,bc->...c", (2, 3, 4), (4, 2)),
    ("ab...,bc->ac...", (2, 3, 4), (3, 5)),
    ("bqm,muh->bquh", (2, 3, 4), (4, 2, 3)),
])
def test_einsum_gradients_against_finite_differences(equation, a, b):
    rng = np.random.default_rng(0)
    av, bv = rng.standard_normal(a), rng.standard_normal(b)
    va, vb = nnfast.Variable(av.astype(np.float32)), nnfast.Variable(bv.astype(np.float32))
    with nnfast.GradientTape() as tape:
        out = ops.einsum(equation, va, vb)
        coef = np.cos(np.arange(out.size)).reshape(out.shape).astype(np.float32)
        loss = ops.sum(ops.multiply(out, coef))
    ga, gb = tape.gradient(loss, [va, vb])
    np.testing.assert_allclose(np.asarray(out), np.einsum(equation, av, bv), rtol=1e-4,
                               atol=1e-5)
    f = lambda x, y: float(np.sum(np.einsum(equation, x, y) * coef))
    for base, g, which in ((av, ga, 0), (bv, gb, 1)):
        for flat in range(0, base.size, max(1, base.size // 5)):
            e = np.zeros(base.size)
            e[flat] = 1e-3
            e = e.reshape(base.shape)
            args_p = (av + e, bv) if which == 0 else (av, bv + e)
            args_m = (av - e, bv) if which == 0 else (av, bv - e)
            fd = (f(*args_p) - f(*args_m)) / 2e-3
            np.testing.assert_allclose(np.asarray(g).ravel()[flat], fd, rtol=1e-3, atol=1e-3)


def test_einsum_dense_shapes_config_and_errors():
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 3, 4), bias_axes="de")
    layer(np.zeros((2, 5, 6), np.float32))
    assert [w.shape for w in layer.weights] == [(6, 3, 4), (3, 4)]
    assert layer.compute_output_shape((None, 5, 6)) == (None, 5, 3, 4)
    cfg = layer.get_config()
    assert cfg["output_shape"] == (None, 3, 4) and cfg["bias_axes"] == "de"
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab,bc,cd->ad", 3).build((2, 3))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z").build((2, 3))
    with pytest.raises(ValueError, match="do not match"):
        layers.EinsumDense("abc,cd->abd", (7, 4)).build((2, 5, 3))
    with pytest.raises(NotImplementedError, match="lora_rank"):
        layers.EinsumDense("ab,bc->ac", 3, lora_rank=2)
    # The kernel's fans are Keras's (input_axes / output_axes): glorot_uniform's limit
    # sqrt(6 / (fan_in + fan_out)) with fan_in = 6, fan_out = 12 for kernel (6, 3, 4).
    assert np.abs(np.asarray(layer.kernel.value)).max() <= np.sqrt(6 / 18) + 1e-6


@pytest.mark.parametrize("cls,kwargs,shape,out", [
    (layers.EinsumDense, dict(equation="abc,cd->abd", output_shape=(None, 4), bias_axes="d",
                              activation="relu"), (3, 2, 5), (3, 2, 4)),
    (layers.EinsumDense, dict(equation="...b,bc->...c", output_shape=3), (3, 5), (3, 3)),
])
def test_layer_contract(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, shape, expected_output_shape=out)


def test_spectral_normalization_contract():
    run_layer_test(layers.SpectralNormalization, dict(layer=layers.Dense(4)), (3, 5),
                   expected_output_shape=(3, 4), expected_num_non_trainable_weights=1)


def test_group_query_attention_trains_masks_and_config():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((4, 5, 8)).astype(np.float32)
    v = rng.standard_normal((4, 6, 8)).astype(np.float32)
    gqa = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2,
                                     dropout=0.1, seed=3)
    out, scores = gqa(q, v, return_attention_scores=True)
    assert out.shape == (4, 5, 8) and scores.shape == (4, 4, 5, 6)
    assert [w.shape for w in gqa.weights] == [(8, 4, 4), (4, 4), (8, 2, 4), (2, 4), (8, 2, 4),
                                              (2, 4), (4, 4, 8), (8,)]
    # Query heads of one group see the same keys: with equal query projections per group
    # their scores agree.
    mask = np.ones((4, 5, 6), bool)
    mask[:, :, 4:] = False
    _, masked = gqa(q, v, attention_mask=mask, return_attention_scores=True)
    assert np.all(np.asarray(masked)[..., 4:] == 0)
    np.testing.assert_allclose(np.asarray(masked).sum(-1), 1.0, rtol=1e-5)
    config = gqa.get_config()
    clone = layers.GroupQueryAttention.from_config(config)
    assert clone.get_config() == config
    with pytest.raises(ValueError, match="divisible"):
        layers.GroupQueryAttention(4, 6, 4)
    # Trains in a functional model, saves and loads.
    qi, vi = nnfast.Input((5, 8)), nnfast.Input((6, 8))
    model = nnfast.Model([qi, vi], layers.Dense(2)(layers.GroupQueryAttention(4, 4, 2)(qi, vi)))
    model.compile(optimizer="adam", loss="mse")
    y = rng.standard_normal((4, 5, 2)).astype(np.float32)
    hist = model.fit([q, v], y, epochs=3, verbose=0).history["loss"]
    assert hist[-1] < hist[0]


def test_spectral_normalization_normalizes_and_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    sn = layers.SpectralNormalization(layers.Dense(6), power_iterations=30)
    x = rng.standard_normal((3, 5)).astype(np.float32)
    sn(x, training=True)
    # Many power iterations converge to the largest singular value: the kernel's becomes 1.
    top = np.linalg.svd(np.asarray(sn.layer.kernel.value, np.float64), compute_uv=False)[0]
    np.testing.assert_allclose(top, 1.0, rtol=1e-3)
    assert [w.name for w in sn.weights] == ["kernel", "vector_u", "bias"]
    assert not sn.weights[1].trainable
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="kernel"):
        layers.SpectralNormalization(layers.ReLU()).build((2, 3))
    model = nnfast.Sequential([nnfast.Input((5,)), sn])
    path = str(tmp_path / "sn.keras")
    model.save(path)
    loaded = nnfast.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_reversible_embedding_tied_and_untied():
    rng = np.random.default_rng(3)
    emb = layers.ReversibleEmbedding(10, 4, mask_zero=True)
    ids = np.array([[0, 3, 9]])
    h = emb(ids)
    np.testing.assert_array_equal(np.asarray(h._keras_mask), [[False, True, True]])
    logits = emb(rng.standard_normal((2, 4)).astype(np.float32), reverse=True)
    assert logits.shape == (2, 10)
    assert emb.compute_output_shape((2, 4), reverse=True) == (2, 10)
    untied = layers.ReversibleEmbedding(10, 4, tie_weights=False, logit_soft_cap=1.5)
    untied.build(None)
    assert [w.name for w in untied.weights] == ["embeddings", "reverse_embeddings"]
    out = np.asarray(untied(rng.standard_normal((2, 4)).astype(np.float32) * 10, reverse=True))
    assert np.abs(out).max() <= 1.5
    cfg = untied.get_config()
    assert cfg["tie_weights"] is False and cfg["logit_soft_cap"] == 1.5
    assert layers.ReversibleEmbedding.from_config(cfg).get_config() == cfg


@pytest.mark.parametrize("name", ["mel_default", "mel_power", "stft_log", "stft_magnitude",
                                  "stft_psd", "stft_real", "stft_angle"])
def test_spectrograms_match_keras(name):
    check_case(name, rtol=2e-4, atol=2e-4)


def test_stft_spectrogram_contract_and_weights():
    layer = run_layer_test(layers.STFTSpectrogram, dict(mode="magnitude", frame_length=16),
                           (2, 64, 2), expected_output_shape=(2, 7, 18))
    assert [w.name for w in layer.weights] == ["real_kernel", "imag_kernel"]
    with pytest.raises(ValueError, match="mode"):
        layers.STFTSpectrogram(mode="phase")
    mel = layers.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=8)
    assert mel(np.zeros((3, 100), np.float32)).shape == (3, 8, 7)
    assert mel.compute_output_shape((3, 100)) == (3, 8, 7)
    assert layers.MelSpectrogram.from_config(mel.get_config()).get_config() == mel.get_config()


def test_keras_saved_model_loads_and_predicts(tmp_path):
    # Written by Keras 3.15 (fixtures/layers3/make_layers3_models.py): one branch ConvLSTM2D,
    # Conv3D, MaxPooling3D, Conv3DTranspose, AdaptiveAveragePooling3D; the other EinsumDense,
    # GroupQueryAttention, SpectralNormalization.
    import os

    from layers3_fixtures import HERE
    data = np.load(os.path.join(HERE, "models_io.npz"))
    x = [data["video_x"], data["seq_x"]]
    model = nnfast.models.load_model(os.path.join(HERE, "models.keras"))
    for _ in range(2):
        video, seq = model.predict(x, verbose=0)
        np.testing.assert_allclose(video, data["video_y"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(seq, data["seq_y"], rtol=1e-5, atol=1e-6)
        # The same layout Keras reads (checked against Keras 3.15 by hand).
        path = str(tmp_path / "again.keras")
        model.save(path)
        model = nnfast.models.load_model(path)


def test_layers_serialize_deserialize():
    layer = layers.Conv3D(4, 3, padding="same", name="c3")
    entry = layers.serialize(layer)
    assert entry["module"] == "keras.layers" and entry["class_name"] == "Conv3D"
    clone = layers.deserialize(entry)
    assert isinstance(clone, layers.Conv3D) and clone.get_config() == layer.get_config()
    assert layers.deserialize({"class_name": "Dense", "config": {"units": 3}}).units == 3
    with pytest.raises(TypeError, match="Layer"):
        layers.serialize("dense")
