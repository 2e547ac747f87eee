"""ONNX export (``Model.export(format="onnx")``, ``keras.export.ExportArchive``): for every
built-in layer kind, the tutorial models and MobileNetV2/ResNet50, ONNX Runtime's outputs
equal nnfast's ``predict`` within 1e-5 relative (to the output's largest magnitude).
Skips when ``onnx``/``onnxruntime`` are absent (``pip install nnfast[onnx,test]``)."""
import os

import nnfast as keras
import numpy as np
import pytest
from nnfast import layers, ops

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from nnfast.export import ExportError
from nnfast.export.model_export import model_to_onnx

RTOL = 1e-5


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _assert_close(got, want, what):
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(float(np.max(np.abs(want))), 1e-6)
    err = float(np.max(np.abs(got - want))) / scale if want.size else 0.0
    assert err <= RTOL, f"{what}: relative error {err:.3g} > {RTOL}"


def check_model(model, *xs):
    """Exports ``model``, runs it in ONNX Runtime on ``xs`` and compares with predict."""
    proto = model_to_onnx(model)
    sess = _session(proto)
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs)}
    got = sess.run(None, feeds)
    want = model.predict(xs[0] if len(xs) == 1 else list(xs), verbose=0)
    if isinstance(want, dict):  # ONNX outputs follow Keras's flat order: sorted keys
        want = [want[k] for k in sorted(want)]
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _assert_close(g, w, model.name)
    return proto


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _one_layer(layer, shape, dtype="float32"):
    x = keras.Input(shape, dtype=dtype)
    return keras.Model(x, layer(x))


def _randomize_bn(model, seed=1):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.2, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
            if layer.gamma is not None:
                layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
            if layer.beta is not None:
                layer.beta.assign(rng.normal(0, 0.2, n).astype(np.float32))


# (id, layer factory, input shape without batch) -- one model per row, input N(0, 1).
SINGLE_LAYER_CASES = [
    ("dense_relu", lambda: layers.Dense(5, activation="relu"), (7,)),
    ("dense_3d_nobias", lambda: layers.Dense(4, use_bias=False), (3, 6)),
    ("relu_layer", lambda: layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2), (9,)),
    ("leaky_relu", lambda: layers.LeakyReLU(0.3), (9,)),
    ("elu", lambda: layers.ELU(0.7), (9,)),
    ("softmax_axis1", lambda: layers.Softmax(axis=1), (4, 3)),
    ("prelu", lambda: layers.PReLU(alpha_initializer="random_uniform"), (3, 4)),
    ("conv1d_same_stride", lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (9, 3)),
    ("conv1d_causal_dilated", lambda: layers.Conv1D(3, 3, padding="causal", dilation_rate=2,
                                                   activation="tanh"), (10, 2)),
    ("conv2d_groups", lambda: layers.Conv2D(4, 3, groups=2, activation="sigmoid"), (7, 8, 4)),
    ("conv2d_same_s2", lambda: layers.Conv2D(5, (3, 2), strides=2, padding="same"), (9, 7, 3)),
    ("conv2d_channels_first", lambda: layers.Conv2D(3, 3, data_format="channels_first"),
     (2, 6, 7)),
    ("conv3d", lambda: layers.Conv3D(3, 2, padding="same", activation="relu"), (4, 5, 3, 2)),
    ("depthwise2d_mult2", lambda: layers.DepthwiseConv2D(3, depth_multiplier=2,
                                                         padding="same"), (6, 7, 3)),
    ("depthwise1d", lambda: layers.DepthwiseConv1D(3, strides=2), (9, 3)),
    ("separable2d", lambda: layers.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu"),
     (7, 6, 3)),
    ("separable1d", lambda: layers.SeparableConv1D(4, 3, padding="same"), (8, 3)),
    ("conv2d_transpose_same", lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
     (4, 5, 2)),
    ("conv2d_transpose_valid_op", lambda: layers.Conv2DTranspose(
        2, 3, strides=2, output_padding=1), (3, 4, 2)),
    ("conv1d_transpose", lambda: layers.Conv1DTranspose(2, 4, strides=3, padding="same"),
     (5, 3)),
    ("conv3d_transpose", lambda: layers.Conv3DTranspose(2, 2, strides=2), (2, 3, 2, 2)),
    ("maxpool2d_same", lambda: layers.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 2)),
    ("avgpool2d_same", lambda: layers.AveragePooling2D(3, strides=2, padding="same"),
     (7, 6, 2)),
    ("maxpool1d", lambda: layers.MaxPooling1D(2), (9, 3)),
    ("avgpool1d", lambda: layers.AveragePooling1D(3, strides=1, padding="same"), (8, 2)),
    ("maxpool3d", lambda: layers.MaxPooling3D(2), (4, 4, 5, 2)),
    ("avgpool3d", lambda: layers.AveragePooling3D(2, padding="same"), (3, 4, 5, 2)),
    ("gap2d_keepdims", lambda: layers.GlobalAveragePooling2D(keepdims=True), (4, 5, 3)),
    ("gmp2d", lambda: layers.GlobalMaxPooling2D(), (4, 5, 3)),
    ("gap1d", lambda: layers.GlobalAveragePooling1D(), (6, 3)),
    ("gmp1d", lambda: layers.GlobalMaxPooling1D(), (6, 3)),
    ("gap3d", lambda: layers.GlobalAveragePooling3D(), (2, 3, 4, 3)),
    ("gmp3d", lambda: layers.GlobalMaxPooling3D(), (2, 3, 4, 3)),
    ("batchnorm_axis1", lambda: layers.BatchNormalization(axis=1), (3, 5)),
    ("layernorm", lambda: layers.LayerNormalization(), (4, 6)),
    ("layernorm_axes", lambda: layers.LayerNormalization(axis=[1, 2], center=False), (3, 4)),
    ("layernorm_rms", lambda: layers.LayerNormalization(rms_scaling=True, axis=-1), (5,)),
    ("rmsnorm", lambda: layers.RMSNormalization(), (3, 5)),
    ("groupnorm", lambda: layers.GroupNormalization(groups=2), (3, 4, 6)),
    ("unitnorm", lambda: layers.UnitNormalization(), (6,)),
    ("simple_rnn", lambda: layers.SimpleRNN(4, return_sequences=True), (5, 3)),
    ("simple_rnn_relu_back", lambda: layers.SimpleRNN(3, activation="relu", go_backwards=True),
     (5, 3)),
    ("lstm", lambda: layers.LSTM(4), (6, 3)),
    ("lstm_seq_back", lambda: layers.LSTM(3, return_sequences=True, go_backwards=True), (5, 2)),
    ("lstm_hard_sigmoid", lambda: layers.LSTM(3, recurrent_activation="hard_sigmoid",
                                              unit_forget_bias=False), (4, 2)),
    ("lstm_state", lambda: layers.LSTM(3, return_state=True), (4, 2)),
    ("gru", lambda: layers.GRU(4, return_sequences=True), (6, 3)),
    ("gru_reset_before", lambda: layers.GRU(3, reset_after=False), (5, 2)),
    ("gru_state_nobias", lambda: layers.GRU(3, return_state=True, use_bias=False), (5, 2)),
    ("bidirectional_lstm", lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
     (5, 2)),
    ("bidirectional_gru_sum", lambda: layers.Bidirectional(layers.GRU(3), merge_mode="sum"),
     (5, 2)),
    ("flatten", lambda: layers.Flatten(), (3, 4, 2)),
    ("reshape", lambda: layers.Reshape((4, -1)), (3, 4, 2)),
    ("permute", lambda: layers.Permute((2, 1)), (3, 4)),
    ("repeat_vector", lambda: layers.RepeatVector(3), (4,)),
    ("zero_padding1d", lambda: layers.ZeroPadding1D((1, 2)), (4, 2)),
    ("zero_padding2d", lambda: layers.ZeroPadding2D(((1, 0), (2, 1))), (3, 4, 2)),
    ("zero_padding3d", lambda: layers.ZeroPadding3D(1), (2, 3, 2, 1)),
    ("cropping1d", lambda: layers.Cropping1D((1, 2)), (6, 2)),
    ("cropping2d", lambda: layers.Cropping2D(((1, 0), (0, 2))), (5, 6, 2)),
    ("cropping3d", lambda: layers.Cropping3D(1), (4, 4, 4, 1)),
    ("upsampling1d", lambda: layers.UpSampling1D(3), (4, 2)),
    ("upsampling2d", lambda: layers.UpSampling2D((2, 3)), (3, 2, 2)),
    ("upsampling2d_bilinear", lambda: layers.UpSampling2D(2, interpolation="bilinear"),
     (3, 4, 2)),
    ("upsampling3d", lambda: layers.UpSampling3D(2), (2, 2, 3, 1)),
    ("dropout", lambda: layers.Dropout(0.5), (5,)),
    ("spatial_dropout", lambda: layers.SpatialDropout1D(0.3), (4, 3)),
    ("gaussian_noise", lambda: layers.GaussianNoise(0.3), (5,)),
    ("rescaling", lambda: layers.Rescaling(1 / 127.5, offset=-1), (4, 3)),
    ("identity", lambda: layers.Identity(), (3,)),
    ("einsum_dense", lambda: layers.EinsumDense("abc,cd->abd", (3, 4), bias_axes="d",
                                                activation="relu"), (3, 5)),
    ("random_flip", lambda: layers.RandomFlip(), (4, 4, 3)),
    ("random_rotation", lambda: layers.RandomRotation(0.2), (4, 4, 3)),
    ("center_crop", lambda: layers.CenterCrop(3, 2), (5, 5, 2)),
    ("time_distributed_dense", lambda: layers.TimeDistributed(layers.Dense(3, "relu")), (4, 5)),
    ("time_distributed_conv", lambda: layers.TimeDistributed(layers.Conv2D(2, 3)), (3, 5, 5, 2)),
]


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("make,shape", [c[1:] for c in SINGLE_LAYER_CASES],
                         ids=[c[0] for c in SINGLE_LAYER_CASES])
def test_single_layer_matches_onnx_runtime(make, shape):
    keras.utils.set_random_seed(0)
    model = _one_layer(make(), shape)
    _randomize_bn(model)
    check_model(model, _rand(3, *shape))


ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu",
               "gelu", "silu", "swish", "softplus", "softsign", "exponential", "hard_sigmoid",
               "hard_silu", "mish", "leaky_relu", "celu", "log_sigmoid", "hard_tanh",
               "tanh_shrink", "linear"]


def test_every_builtin_activation_matches_onnx_runtime():
    x = keras.Input((7,))
    outs = [layers.Activation(a, name=f"act_{a}")(x) for a in ACTIVATIONS]
    check_model(keras.Model(x, outs), _rand(4, 7) * 2)


def test_embedding_merges_and_dot():
    keras.utils.set_random_seed(0)
    ids = keras.Input((5,), dtype="int32")
    e = layers.Embedding(11, 4)(ids)
    a, b = layers.Dense(4)(e), layers.Dense(4, activation="tanh")(e)
    merged = [layers.Add()([a, b, e]), layers.Subtract()([a, b]), layers.Multiply()([a, b]),
              layers.Average()([a, b]), layers.Maximum()([a, b]), layers.Minimum()([a, b]),
              layers.Concatenate(axis=1)([a, b]), layers.Dot(axes=(2, 2))([a, b]),
              layers.Dot(axes=1, normalize=True)([layers.Flatten()(a), layers.Flatten()(b)])]
    model = keras.Model(ids, merged)
    check_model(model, np.random.default_rng(0).integers(0, 11, (3, 5)).astype(np.int32))


@pytest.mark.parametrize("kwargs", [{}, {"use_causal_mask": True}, {"cross": True}])
def test_multi_head_attention(kwargs):
    keras.utils.set_random_seed(0)
    q = keras.Input((5, 6))
    v = keras.Input((4, 6))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2)
    if kwargs.get("cross"):
        model = keras.Model([q, v], mha(q, v))
        check_model(model, _rand(2, 5, 6), _rand(2, 4, 6, seed=1))
    else:
        model = keras.Model(q, mha(q, q, **kwargs))
        check_model(model, _rand(2, 5, 6))


@pytest.mark.parametrize("make", [
    lambda: layers.Attention(use_scale=True), lambda: layers.Attention(score_mode="concat"),
    lambda: layers.AdditiveAttention()], ids=["dot", "concat", "additive"])
def test_attention_layers(make):
    keras.utils.set_random_seed(0)
    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    layer = make()
    out, scores = layer([q, v], return_attention_scores=True)
    causal = make()([q, q], use_causal_mask=True)
    check_model(keras.Model([q, v], [out, scores, causal]), _rand(2, 3, 4), _rand(2, 5, 4, seed=1))


def test_adapted_normalization():
    norm = layers.Normalization(axis=-1)
    norm.adapt(_rand(20, 3) * 3 + 1)
    check_model(_one_layer(norm, (3,)), _rand(4, 3))


def test_attention_mask_and_scores():
    keras.utils.set_random_seed(0)
    q, m = keras.Input((4, 6)), keras.Input((4, 4))
    out, scores = layers.MultiHeadAttention(2, 3)(q, q, attention_mask=m,
                                                  return_attention_scores=True)
    mask = (np.random.default_rng(2).random((2, 4, 4)) > 0.3).astype(np.float32)
    mask[0, 1] = 0  # a fully masked row
    check_model(keras.Model([q, m], [out, scores]), _rand(2, 4, 6), mask)


def test_symbolic_ops_nodes():
    x = keras.Input((4, 3))
    y = x * 2.0 + ops.mean(x, axis=1, keepdims=True)
    z = ops.transpose(y, (0, 2, 1))
    z = ops.reshape(ops.softmax(z, axis=-1), (-1, 12))
    w = ops.squeeze(ops.expand_dims(ops.sum(ops.sqrt(ops.abs(x)), axis=2), 1), 1)
    out = ops.concatenate([z, ops.gelu(w), ops.maximum(w, 0.5) - ops.exp(-w)], axis=1)
    sliced = [x[:, 1:3, ::2], x[..., 0], x[:, None, -1], x[:, ::-1, 1:], x[:, -2]]
    check_model(keras.Model(x, [out] + sliced), _rand(3, 4, 3))


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_opset_versions(opset):
    x = keras.Input((4, 3))
    y = layers.GlobalAveragePooling1D()(layers.LayerNormalization()(x))
    model = keras.Model(x, ops.max(y, axis=1, keepdims=True))
    proto = model_to_onnx(model, opset_version=opset)
    assert proto.opset_import[0].version == opset
    got = _session(proto).run(None, {proto.graph.input[0].name: _rand(2, 4, 3)})[0]
    _assert_close(got, model.predict(_rand(2, 4, 3), verbose=0), f"opset {opset}")
    with pytest.raises(ValueError, match="opsets 17 to 21"):
        model_to_onnx(model, opset_version=13)


def test_batch_norm_folds_into_conv_and_dense():
    keras.utils.set_random_seed(0)
    x = keras.Input((6, 6, 3))
    y = layers.BatchNormalization()(layers.Conv2D(4, 3, use_bias=False)(x))
    y = layers.ReLU()(y)
    y = layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same")(y))
    y = layers.Flatten()(y)
    y = layers.BatchNormalization()(layers.Dense(5)(y))
    model = keras.Model(x, y)
    _randomize_bn(model)
    proto = check_model(model, _rand(2, 6, 6, 3))
    # The three normalizations went into the kernels: no per-channel Mul/Add pass remains.
    assert not any(n.op_type == "Mul" for n in proto.graph.node)


def test_nested_models_and_multiple_outputs():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="relu")])
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    ha, hb = inner(a), inner(b)
    model = keras.Model([a, b], {"sum": layers.Add(name="sum")([ha, hb]),
                                 "prod": layers.Multiply(name="prod")([ha, hb])})
    proto = check_model(model, _rand(2, 4), _rand(2, 4, seed=1))
    assert [i.name for i in proto.graph.input] == ["a", "b"]


# --- tutorial and application models ---------------------------------------------------------
def test_mnist_mlp_and_cnn_tutorial_models():
    keras.utils.set_random_seed(0)
    mlp = keras.Sequential([keras.Input((28, 28)), layers.Flatten(),
                            layers.Dense(128, activation="relu"), layers.Dropout(0.2),
                            layers.Dense(10, activation="softmax")])
    check_model(mlp, _rand(4, 28, 28))
    cnn = keras.Sequential([keras.Input((28, 28, 1)),
                            layers.Conv2D(32, (3, 3), activation="relu"),
                            layers.MaxPooling2D((2, 2)), layers.Flatten(),
                            layers.Dense(128, activation="relu"), layers.Dropout(0.5),
                            layers.Dense(10, activation="softmax")])
    check_model(cnn, _rand(4, 28, 28, 1))


def test_imdb_lstm_tutorial_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([layers.Embedding(1000, 16), layers.LSTM(8),
                              layers.Dense(1, activation="sigmoid")])
    ids = np.random.default_rng(0).integers(0, 1000, (3, 20)).astype(np.int32)
    model.predict(ids, verbose=0)  # builds it, as fit would
    check_model(model, ids.astype(np.float32))


@pytest.mark.parametrize("app", ["MobileNetV2", "ResNet50"])
def test_application_models(app):
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, app)(weights=None, input_shape=(32, 32, 3), classes=7,
                                             classifier_activation=None)
    _randomize_bn(model)
    check_model(model, _rand(1, 32, 32, 3))


# --- the public API ---------------------------------------------------------------------------
def test_model_export_writes_an_onnx_file(tmp_path, capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx")
    assert "Saved artifact at" in capsys.readouterr().out
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _rand(5, 3)
    _assert_close(sess.run(None, {sess.get_inputs()[0].name: x})[0],
                  model.predict(x, verbose=0), "export")
    # input_signature fixes the batch size; the batch axis is otherwise dynamic.
    model.export(tmp_path / "b2.onnx", format="onnx", verbose=False,
                 input_signature=[keras.InputSpec(shape=(2, 3), dtype="float32")])
    dims = onnx.load(str(tmp_path / "b2.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 3]


@pytest.mark.parametrize("fmt", ["tf_saved_model", "litert", "openvino", "torch"])
def test_other_formats_raise_not_implemented(fmt, tmp_path):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    with pytest.raises(NotImplementedError, match=f"format='{fmt}'.*onnx"):
        model.export(tmp_path / "m", format=fmt)
    with pytest.raises(ValueError, match="Unrecognized format"):
        model.export(tmp_path / "m", format="pickle")


def test_unexportable_layers_raise_naming_them():
    x = keras.Input((3,))
    model = keras.Model(x, layers.Lambda(lambda t: t * 2, name="my_lambda")(x))
    with pytest.raises(ExportError, match="my_lambda.*Lambda"):
        model_to_onnx(model)
    ids = keras.Input((4,))
    masked = layers.Embedding(9, 3, mask_zero=True)(ids)
    model = keras.Model(ids, layers.LSTM(2, name="masked_lstm")(masked))
    with pytest.raises(ExportError, match="masked_lstm.*mask"):
        model_to_onnx(model)

    class NumpyCall(keras.Model):
        def call(self, inputs):
            return ops.convert_to_numpy(inputs) * 2

    sub = NumpyCall()
    sub(np.zeros((1, 3), np.float32))
    with pytest.raises(ExportError, match="subclassed.*could not be traced"):
        model_to_onnx(sub)
    with pytest.raises(ExportError, match="not been called yet"):
        model_to_onnx(NumpyCall())


def test_subclassed_model_is_traced():
    keras.utils.set_random_seed(0)

    class Residual(keras.Model):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(4, activation="relu")
            self.out = layers.Dense(4)

        def call(self, x):
            return self.out(self.inner(x)) + x

    model = Residual()
    x = _rand(3, 4)
    model(x)
    check_model(model, x)
    # nested in a functional model, traced at the node's input shapes
    inp = keras.Input((4,))
    check_model(keras.Model(inp, layers.Dense(2)(model(inp))), x)


def test_every_layer_class_is_exported_or_listed():
    """Each public layer class has a converter, or is one the export names as unsupported
    (preprocessing that runs on strings or random augmentation, and a few others)."""
    from nnfast.export import onnx_layers
    from nnfast.export.coverage import NOT_EXPORTED

    missing = []
    for name in dir(layers):
        cls = getattr(layers, name)
        if not isinstance(cls, type) or not issubclass(cls, layers.Layer) or name in (
                "Layer", "InputLayer", "Wrapper") or name in NOT_EXPORTED:
            continue
        probe = cls.__new__(cls)
        if onnx_layers.converter_for(probe) is None:
            missing.append(name)
    assert not missing, f"layers with no converter and not listed: {missing}"


def test_export_archive_endpoints(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"),
                              layers.Dense(2)])
    archive = keras.export.ExportArchive(format="onnx")
    archive.track(model)
    archive.add_endpoint("serve", model.__call__,
                         input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32")])
    archive.add_endpoint("doubled", lambda x: model(x) * 2.0,
                         input_signature=[keras.InputSpec(shape=(None, 3))])
    paths = archive.write_out(str(tmp_path / "archive"), verbose=False)
    assert sorted(os.path.basename(p) for p in paths) == ["doubled.onnx", "serve.onnx"]
    x = _rand(4, 3)
    want = model.predict(x, verbose=0)
    for path, scale in zip(paths, (1.0, 2.0)):
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        _assert_close(sess.run(None, {sess.get_inputs()[0].name: x})[0], want * scale, path)
    single = keras.export.ExportArchive(format="onnx")
    single.track_and_add_endpoint("serve", model, input_signature=[(None, 3)])
    (path,) = single.write_out(str(tmp_path / "one.onnx"), verbose=False)
    assert os.path.isfile(path)


def test_export_archive_errors():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    with pytest.raises(NotImplementedError, match="saved_model.*onnx"):
        keras.export.ExportArchive()
    archive = keras.export.ExportArchive(format="onnx")
    with pytest.raises(ValueError, match="input_signature"):
        archive.add_endpoint("serve", model.__call__)
    other = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    archive.track(other)
    with pytest.raises(ValueError, match="not tracked"):
        archive.add_endpoint("serve", model.__call__, input_signature=[(None, 3)])
    archive.add_endpoint("serve", other.__call__, input_signature=[(None, 3)])
    with pytest.raises(ValueError, match="already taken"):
        archive.add_endpoint("serve", other.__call__, input_signature=[(None, 3)])
    with pytest.raises(NotImplementedError, match="add_variable_collection"):
        archive.add_variable_collection("v", other.weights)
    with pytest.raises(ValueError, match="not yet been built"):
        archive.track(layers.Dense(2))
    with pytest.raises(ExportError, match="training=True"):
        archive.add_endpoint("train", lambda x: other(x, training=True),
                             input_signature=[(None, 3)])


def test_export_archive_layer_endpoint(tmp_path):
    dense = layers.Dense(3, activation="tanh")
    dense.build((None, 4))
    archive = keras.export.ExportArchive(format="onnx")
    archive.track_and_add_endpoint("project", dense, [keras.InputSpec(shape=(None, 4))])
    (path,) = archive.write_out(str(tmp_path / "dense.onnx"), verbose=False)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = _rand(2, 4)
    want = np.tanh(x.astype(np.float64) @ dense.kernel.numpy() + dense.bias.numpy())
    _assert_close(sess.run(None, {sess.get_inputs()[0].name: x})[0], want, "layer endpoint")


def test_thresholded_relu_exports():
    model = _one_layer(keras.layers.ThresholdedReLU(theta=0.3), (7,))
    x = np.random.default_rng(3).normal(size=(4, 7)).astype("float32")
    check_model(model, x)
