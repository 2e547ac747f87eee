"""ONNX export of the preprocessing layers that compute at inference (CategoryEncoding,
Discretization, Resizing, AutoContrast, Solarization), the adaptive poolings,
SpectralNormalization, ReversibleEmbedding and grouped-query attention: ONNX Runtime's
outputs equal nnfast's ``predict`` within 1e-5 relative (test_export_onnx's check).
Skips when ``onnx``/``onnxruntime`` are absent."""
import nnfast as keras
import numpy as np
import pytest
from nnfast import layers

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from nnfast.export import ExportError  # noqa: E402
from nnfast.export.model_export import model_to_onnx  # noqa: E402
from test_export_onnx import _one_layer, _rand, check_model  # noqa: E402


def _ids(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int32)


@pytest.mark.parametrize("mode,shape", [("one_hot", (1,)), ("one_hot", (3,)),
                                        ("multi_hot", (4,)), ("count", (5,))])
def test_category_encoding(mode, shape):
    model = _one_layer(layers.CategoryEncoding(6, output_mode=mode), shape, dtype="int32")
    check_model(model, _ids((4,) + shape, 6))


def test_category_encoding_refuses_count_weights():
    x = keras.Input((3,), dtype="int32")
    w = keras.Input((3,))
    model = keras.Model([x, w], layers.CategoryEncoding(5, "count", name="ce")(
        x, count_weights=w))
    with pytest.raises(ExportError, match="ce.*count_weights"):
        model_to_onnx(model)


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization(mode):
    layer = layers.Discretization(bin_boundaries=[-1.0, 0.0, 0.5, 2.0], output_mode=mode)
    shape = (1,) if mode == "one_hot" else (5,)
    x = _rand(6, *shape)
    x[0, 0] = 0.5  # on a boundary: the upper bucket, as np.digitize
    check_model(_one_layer(layer, shape), x)


def test_discretization_adapted():
    layer = layers.Discretization(num_bins=4)
    layer.adapt(_rand(200, 1, seed=1))
    check_model(_one_layer(layer, (3,)), _rand(5, 3, seed=2))


@pytest.mark.parametrize("kwargs,shape", [
    (dict(height=5, width=7), (9, 4, 2)),
    (dict(height=3, width=3, interpolation="nearest"), (8, 5, 3)),
    (dict(height=6, width=4, crop_to_aspect_ratio=True), (7, 9, 2)),
    (dict(height=6, width=6, pad_to_aspect_ratio=True, fill_value=0.5), (4, 7, 1)),
    (dict(height=4, width=5, data_format="channels_first"), (2, 7, 3)),
])
def test_resizing(kwargs, shape):
    check_model(_one_layer(layers.Resizing(**kwargs), shape), _rand(2, *shape))


def test_resizing_antialias_is_refused():
    model = _one_layer(layers.Resizing(3, 3, antialias=True, name="aa"), (8, 8, 1))
    with pytest.raises(ExportError, match="aa.*antialias"):
        model_to_onnx(model)


def test_auto_contrast_and_solarization():
    x = np.random.default_rng(0).uniform(0.2, 0.7, (3, 5, 4, 3)).astype(np.float32)
    x[1, :, :, 2] = 0.4  # a flat channel stays as it is
    check_model(_one_layer(layers.AutoContrast(value_range=(0, 1)), (5, 4, 3)), x)
    check_model(_one_layer(layers.AutoContrast(), (5, 4, 3)), x * 255)
    check_model(_one_layer(layers.Solarization(0.5, 0.5), (5, 4, 3)), x * 255)


@pytest.mark.parametrize("cls,size,shape", [
    ("AdaptiveAveragePooling1D", 3, (7, 2)),
    ("AdaptiveMaxPooling1D", 4, (9, 3)),
    ("AdaptiveAveragePooling2D", (2, 3), (5, 7, 2)),
    ("AdaptiveMaxPooling2D", 3, (7, 5, 2)),
    ("AdaptiveAveragePooling3D", 2, (3, 5, 4, 2)),
    ("AdaptiveMaxPooling3D", (1, 2, 3), (4, 4, 5, 1)),
])
def test_adaptive_pooling(cls, size, shape):
    check_model(_one_layer(getattr(layers, cls)(size), shape), _rand(2, *shape))


def test_adaptive_pooling_channels_first():
    layer = layers.AdaptiveAveragePooling2D((3, 2), data_format="channels_first")
    check_model(_one_layer(layer, (2, 7, 5)), _rand(2, 2, 7, 5))


def test_spectral_normalization_after_training():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)),
                              layers.SpectralNormalization(layers.Dense(3)),
                              layers.SpectralNormalization(layers.Dense(2))])
    model.compile("sgd", "mse")
    model.fit(_rand(8, 4), _rand(8, 2), epochs=1, verbose=0)  # stores normalized kernels
    check_model(model, _rand(5, 4, seed=3))
    keras.utils.set_random_seed(0)
    conv = _one_layer(layers.SpectralNormalization(layers.Conv2D(2, 3)), (5, 5, 2))
    check_model(conv, _rand(2, 5, 5, 2))


def test_reversible_embedding_lookup():
    """Checked on the converter alone: nnfast cannot call ReversibleEmbedding on symbolic
    inputs yet (``Layer._shape_args`` reads its ``compute_output_shape(input_shape,
    reverse)`` as a multi-input layer's), so no model graph holds one."""
    import onnx
    import onnxruntime as ort
    from nnfast.export.onnx_graph import OnnxGraph
    from nnfast.export.onnx_layers import convert
    from nnfast.export.onnx_more_layers import _InnerCall

    keras.utils.set_random_seed(0)
    layer = layers.ReversibleEmbedding(11, 4, tie_weights=False)
    ids = _ids((3, 5), 11)
    want = layer(ids).numpy()
    g = OnnxGraph()
    g.reserve("ids")
    (out,) = convert(g, _InnerCall(layer, (None, 5), (None, 5, 4)), ["ids"])
    graph = onnx.helper.make_graph(
        g.nodes, "reversible_embedding",
        [onnx.helper.make_tensor_value_info("ids", onnx.TensorProto.INT32, ["b", 5])],
        [onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, ["b", 5, 4])],
        initializer=g.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    proto.ir_version = min(proto.ir_version, 9)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(sess.run(None, {"ids": ids})[0], want)


@pytest.mark.parametrize("kwargs", [{}, {"use_causal_mask": True}])
@pytest.mark.parametrize("layer_kwargs", [{}, {"sliding_window": 2, "use_gate": True}])
def test_grouped_query_attention(kwargs, layer_kwargs):
    keras.utils.set_random_seed(0)
    q, v = keras.Input((5, 6)), keras.Input((5, 4))
    layer = layers.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2,
                                       **layer_kwargs)
    model = keras.Model([q, v], layer(q, v, return_attention_scores=True, **kwargs))
    check_model(model, _rand(2, 5, 6), _rand(2, 5, 4, seed=1))


def test_multi_head_attention_sliding_window():
    keras.utils.set_random_seed(0)
    x = keras.Input((6, 4))
    layer = layers.MultiHeadAttention(2, 3, sliding_window=2)
    check_model(keras.Model(x, layer(x, x)), _rand(2, 6, 4))


@pytest.mark.parametrize("opset", [18, 21])
def test_reductions_at_newer_opsets(opset):
    """ReduceMax/ReduceMin/ReduceMean take their axes as an input from opset 18."""
    from test_export_onnx import _assert_close, _session

    img = keras.Input((6, 5, 2))
    ids = keras.Input((4,), dtype="int32")
    outs = [layers.AdaptiveMaxPooling2D(2)(img), layers.AdaptiveAveragePooling2D(3)(img),
            layers.AutoContrast(value_range=(-3, 3))(img),
            layers.CategoryEncoding(5, output_mode="multi_hot")(ids)]
    model = keras.Model([img, ids], outs)
    proto = model_to_onnx(model, opset_version=opset)
    xs = [_rand(2, 6, 5, 2), _ids((2, 4), 5)]
    got = _session(proto).run(None, {i.name: x for i, x in zip(proto.graph.input, xs)})
    for g, w in zip(got, model.predict(xs, verbose=0)):
        _assert_close(g, w, f"opset {opset}")


@pytest.mark.parametrize("make", [
    lambda: layers.RNN(layers.LSTMCell(4), return_sequences=True),
    lambda: layers.RNN(layers.GRUCell(3, reset_after=False), go_backwards=True),
    lambda: layers.RNN(layers.GRUCell(3), return_state=True),
    lambda: layers.RNN(layers.SimpleRNNCell(3, activation="relu"), return_state=True),
    lambda: layers.RNN(layers.StackedRNNCells([layers.GRUCell(4), layers.SimpleRNNCell(2)]),
                       return_sequences=True),
], ids=["lstm_seq", "gru_back", "gru_state", "simple_state", "stacked"])
def test_rnn_with_built_in_cells(make):
    keras.utils.set_random_seed(0)
    check_model(_one_layer(make(), (5, 3)), _rand(2, 5, 3))


def test_stacked_cells_states_in_keras_order():
    """[output, h1, c1, h2]: the graph's outputs are the model's flat outputs (predict
    nests the LSTM cell's pair)."""
    from test_export_onnx import _assert_close, _session

    keras.utils.set_random_seed(0)
    layer = layers.RNN(layers.StackedRNNCells([layers.LSTMCell(4), layers.GRUCell(2)]),
                       return_state=True)
    model = _one_layer(layer, (5, 3))
    x = _rand(2, 5, 3)
    proto = model_to_onnx(model)
    got = _session(proto).run(None, {proto.graph.input[0].name: x})
    out, (h1, c1), h2 = model.predict(x, verbose=0)
    assert len(got) == 4
    for g, w in zip(got, [out, h1, c1, h2]):
        _assert_close(g, w, "stacked cells")


def test_rnn_initial_state():
    keras.utils.set_random_seed(0)
    x, s0, c0 = keras.Input((4, 3)), keras.Input((2,)), keras.Input((2,))
    out = layers.RNN(layers.LSTMCell(2))(x, initial_state=[s0, c0])
    check_model(keras.Model([x, s0, c0], out), _rand(2, 4, 3), _rand(2, 2, seed=1),
                _rand(2, 2, seed=2))


def test_rnn_with_a_custom_cell_is_refused():
    class MyCell(layers.Layer):
        state_size = 2

        def call(self, x, states):
            return x[:, :2] + states[0], [x[:, :2] + states[0]]

    model = _one_layer(layers.RNN(MyCell(), name="custom_rnn"), (4, 3))
    with pytest.raises(ExportError, match="custom_rnn.*MyCell"):
        model_to_onnx(model)


@pytest.mark.parametrize("cls,kwargs,shape", [
    ("ConvLSTM1D", dict(filters=3, kernel_size=2, return_sequences=True), (4, 6, 2)),
    ("ConvLSTM2D", dict(filters=2, kernel_size=3, padding="same", strides=2,
                        return_state=True), (3, 5, 6, 2)),
    ("ConvLSTM2D", dict(filters=2, kernel_size=(3, 2), dilation_rate=(1, 2), go_backwards=True,
                        recurrent_activation="hard_sigmoid", data_format="channels_first"),
     (3, 2, 6, 7)),
    ("ConvLSTM3D", dict(filters=2, kernel_size=2, use_bias=False, return_sequences=True),
     (2, 3, 4, 3, 1)),
])
def test_conv_lstm(cls, kwargs, shape):
    keras.utils.set_random_seed(0)
    check_model(_one_layer(getattr(layers, cls)(**kwargs), shape), _rand(2, *shape))


def test_conv_lstm_initial_state_and_static_steps():
    keras.utils.set_random_seed(0)
    x, h0, c0 = keras.Input((3, 5, 2)), keras.Input((5, 2)), keras.Input((5, 2))
    out = layers.ConvLSTM1D(2, 3, padding="same")(x, initial_state=[h0, c0])
    check_model(keras.Model([x, h0, c0], out), _rand(2, 3, 5, 2), _rand(2, 5, 2, seed=1),
                _rand(2, 5, 2, seed=2))
    model = _one_layer(layers.ConvLSTM1D(2, 3, name="any_length"), (None, 5, 2))
    with pytest.raises(ExportError, match="any_length.*static"):
        model_to_onnx(model)


def test_pipeline_and_random_crop():
    keras.utils.set_random_seed(0)
    pipeline = layers.Pipeline([layers.RandomFlip(), layers.Rescaling(1 / 255.0),
                                layers.Resizing(6, 5), layers.RandomCrop(4, 4)])
    check_model(_one_layer(pipeline, (8, 7, 3)), _rand(2, 8, 7, 3) * 255)
    check_model(_one_layer(layers.RandomCrop(3, 5), (6, 7, 2)), _rand(2, 6, 7, 2))
    unconvertible = layers.Pipeline([layers.Identity(), layers.Lambda(lambda t: t, name="fn")])
    with pytest.raises(ExportError, match="fn.*Lambda"):
        model_to_onnx(_one_layer(unconvertible, (3,)))


@pytest.mark.parametrize("kwargs", [
    dict(mode="log", frame_length=8, frame_step=4),
    dict(mode="magnitude", frame_length=8, padding="same", expand_dims=True),
    dict(mode="psd", frame_length=6, fft_length=8, window="hamming", scaling="spectrum"),
    dict(mode="stft", frame_length=8, data_format="channels_first"),
    dict(mode="real", frame_length=8, expand_dims=True, data_format="channels_first"),
    dict(mode="imag", frame_length=8, window=None),
])
def test_stft_spectrogram(kwargs):
    first = kwargs.get("data_format") == "channels_first"
    shape = (2, 32) if first else (32, 2)
    check_model(_one_layer(layers.STFTSpectrogram(**kwargs), shape), _rand(2, *shape))


@pytest.mark.parametrize("kwargs", [
    dict(fft_length=64, sequence_stride=16, num_mel_bins=12, sampling_rate=8000),
    dict(fft_length=64, sequence_stride=32, sequence_length=48, window="hamming",
         num_mel_bins=8, sampling_rate=16000, power_to_db=False, mag_exp=1.0),
    dict(fft_length=32, sequence_stride=8, window=None, num_mel_bins=6, sampling_rate=8000,
         top_db=20.0, ref_power=2.0, min_freq=100.0),
])
def test_mel_spectrogram(kwargs):
    check_model(_one_layer(layers.MelSpectrogram(**kwargs), (200,)), _rand(2, 200))


@pytest.mark.parametrize("kwargs", [
    dict(vocabulary=[7, 3, 12, 40]),
    dict(vocabulary=[7, 3, 12, 40], mask_token=0),
    dict(vocabulary=[7, 3, 12, 40], num_oov_indices=3),
])
def test_integer_lookup(kwargs):
    ids = np.array([[7, 3, 0, 5], [40, -9, 12, 99]], np.int64)
    inputs = keras.Input((4,), dtype="int64")
    model = keras.Model(inputs, layers.IntegerLookup(**kwargs)(inputs))
    check_model(model, ids)


@pytest.mark.parametrize("kwargs", [
    dict(output_mode="multi_hot"),
    dict(output_mode="count", mask_token=0),
    dict(output_mode="tf_idf", idf_weights=[0.5, 1.0, 2.0, 3.0]),
])
def test_integer_lookup_encodings(kwargs):
    ids = np.array([[7, 3, 0, 5], [40, -9, 12, 7]], np.int64)
    inputs = keras.Input((4,), dtype="int64")
    layer = layers.IntegerLookup(vocabulary=[7, 3, 12, 40], **kwargs)
    check_model(keras.Model(inputs, layer(inputs)), ids)


def test_integer_lookup_refusals():
    inputs = keras.Input((4,), dtype="int64")
    model = keras.Model(inputs, layers.IntegerLookup(vocabulary=[1, 2], invert=True)(inputs))
    with pytest.raises(ExportError, match="invert=True"):
        model_to_onnx(model)


def test_training_only_and_box_layers_are_identities_at_inference():
    x = _rand(2, 6, 7, 3) * 100.0 + 120.0
    check_model(_one_layer(layers.Equalization(), (6, 7, 3)), x)
    check_model(_one_layer(layers.MaxNumBoundingBoxes(max_number=4), (6, 7, 3)), x)
