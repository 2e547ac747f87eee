"""The inference plan folds each BatchNormalization once and folds again only when its numbers
change (``models.content_cache``): the cache itself, and float32 and int8 models whose
statistics change between predictions by every route (a training-mode call updating the
moving statistics in place, ``fit``'s optimizer, ``assign``, a write into ``.value``,
``set_weights``) giving, bit for bit, what a freshly built copy with the new weights gives;
and the remembered geometry of the fused inference ops."""
import warnings

import numpy as np
import pytest

import nnfast
from nnfast.models import fusion
from nnfast.models.content_cache import ContentKeyedCache, SameObject
from nnfast.ops import fused as fused_ops
from nnfast.ops import quantized_separable

L = nnfast.layers


def test_cache_recomputes_only_when_bytes_change():
    calls = []

    def scaled(a, b):
        calls.append(1)
        return a * 2, b

    cache = ContentKeyedCache(scaled)
    a, b = np.arange(5, dtype=np.float32), np.ones(3, np.float32)
    first = cache.get(a, b)
    assert cache.get(a, b)[0] is first[0] and len(calls) == 1      # a hit: no work
    assert cache.get(a.copy(), b.copy())[0] is first[0]            # equal bytes, other arrays
    a[4] = 7.0                                                     # an in-place write
    assert cache.get(a, b)[0][4] == 14.0 and len(calls) == 2
    assert cache.get(a, None)[1] is None and len(calls) == 3       # None is a different key
    cache.get(a.view(np.int32), b)                                 # same bytes, other dtype
    cache.get(a, 2.0)                                              # a scalar compared by value
    assert len(calls) == 5
    result = cache.get(a, b)
    assert not result[0].flags.writeable                           # handed out on every hit
    assert result[1] is b and b.flags.writeable                    # an input stays writeable
    nan = np.array([np.nan], np.float32)
    cache.get(nan, b)
    cache.get(nan.copy(), b)
    assert len(calls) == 7                                         # NaN bytes equal: a hit


def test_same_object_parts_compare_by_identity():
    calls = []
    cache = ContentKeyedCache(lambda a, k: calls.append(1) or k.obj.sum())
    a, kernel = np.ones(3, np.float32), np.arange(4)
    cache.get(a, SameObject(kernel))
    kernel[0] = 10                                     # in place: the same object, a hit
    assert cache.get(a, SameObject(kernel)) == 6 and len(calls) == 1
    assert cache.get(a, SameObject(kernel.copy())) == 16 and len(calls) == 2  # another one
    assert SameObject(kernel) != kernel and SameObject(kernel) != SameObject(None)


def block_model():
    """A MobileNetV2-like inverted residual block with normalizations after every conv."""
    inputs = x = nnfast.Input((9, 11, 8))
    x = L.Conv2D(48, 1, use_bias=False)(inputs)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(8, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Add()([inputs, x])
    x = L.Conv2D(12, 3, padding="same")(x)
    x = L.BatchNormalization(center=False)(x)
    x = L.Activation("relu")(x)
    return nnfast.Model(inputs, L.GlobalAveragePooling2D()(x))


def build(int8):
    nnfast.utils.set_random_seed(3)
    model = block_model()
    if int8:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.quantize("int8", filters=lambda layer: hasattr(layer, "quantize"))
    model.compile(optimizer="adam", loss="mse")
    return model


def batch_norms(model):
    return [layer for layer in model.layers if isinstance(layer, L.BatchNormalization)]


def fresh_prediction(model, int8, x):
    """What a new model (a new plan, nothing folded yet) with ``model``'s weights predicts."""
    other = build(int8)
    other.set_weights(model.get_weights())
    return other.predict_on_batch(x)


def train_mode_call(model, x, rng):
    model(x * 3.0 + 1.0, training=True)          # moving statistics updated in place


def fit(model, x, rng):
    model.fit(x, rng.standard_normal((x.shape[0], 12)).astype(np.float32), epochs=1,
              batch_size=2, verbose=0)


def assign(model, x, rng):
    bn = batch_norms(model)[1]
    bn.moving_variance.assign(bn.moving_variance.value * 3.0)


def write_in_place(model, x, rng):
    batch_norms(model)[0].gamma.value[::2] *= -1.5
    batch_norms(model)[3].moving_mean.value[1] += 0.5


def set_weights(model, x, rng):
    weights = model.get_weights()
    model.set_weights([w + np.float32(0.25) if w.dtype == np.float32 else w for w in weights])


def write_kernels(model, x, rng):
    """Convolution weights rather than statistics: the depthwise kernel written in place, the
    project and last convs' kernels (float32) or kernel scales (int8) written or assigned,
    which the bound int8 calls (``InvertedResidualBlock``, ``Int8ConvInference``) hold as
    arguments."""
    dw = next(layer for layer in model.layers if isinstance(layer, L.DepthwiseConv2D))
    _, project, last = [layer for layer in model.layers if type(layer) is L.Conv2D]
    dw.kernel.value[0, 0] *= -1   # (int8: abs-max values lie in [-127, 127])
    if project.dtype_policy.quantization_mode == "int8":
        project.kernel_scale.value[::2] *= np.float32(1.5)
        last.kernel_scale.assign(last.kernel_scale.value * 0.5)  # (its own chain: a 3x3 conv)
    else:
        project.kernel.assign(project.kernel.value * 1.5)
        last.kernel.value[1] *= -1


@pytest.mark.parametrize("int8", [False, True], ids=["float32", "int8"])
@pytest.mark.parametrize("change", [train_mode_call, fit, assign, write_in_place, set_weights,
                                    write_kernels])
def test_changed_statistics_give_the_new_numbers(int8, change):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 9, 11, 8)).astype(np.float32)
    model = build(int8)
    for bn in batch_norms(model):
        n = bn.moving_mean.shape[0]
        bn.moving_mean.assign(rng.standard_normal(n).astype(np.float32) * 0.1)
        bn.moving_variance.assign(rng.uniform(0.5, 2, n).astype(np.float32))
    before = model.predict_on_batch(x)
    np.testing.assert_array_equal(model.predict_on_batch(x), before)   # folded once, reused
    assert np.array_equal(before, fresh_prediction(model, int8, x))
    if int8 and quantized_separable.int8_separable_available(x):
        assert any(isinstance(s.run, fusion.InvertedResidualCall)
                   for s in model._inference_plan().steps)
    change(model, x, rng)
    after = model.predict_on_batch(x)
    assert np.abs(after - before).max() > 1e-4
    np.testing.assert_array_equal(after, fresh_prediction(model, int8, x))


def test_fold_is_computed_once_while_nothing_changes(monkeypatch):
    model = build(int8=False)
    x = np.random.default_rng(2).standard_normal((2, 9, 11, 8)).astype(np.float32)
    model.predict_on_batch(x)
    folds = []
    real = fusion.ConvChainCall._fold
    monkeypatch.setattr(fusion.ConvChainCall, "_fold",
                        staticmethod(lambda *a: folds.append(1) or real(*a)))
    for chain in (s.run for s in model._inference_plan().steps):   # new caches: fold again
        for call in (chain, getattr(chain, "dw", None), getattr(chain, "pw", None)):
            if isinstance(call, fusion.ConvChainCall):
                call._fold_cache = ContentKeyedCache(fusion.ConvChainCall._fold)
    model.predict_on_batch(x)
    first = len(folds)
    assert first >= 2
    model.predict_on_batch(x)
    model.predict_on_batch(x)
    assert len(folds) == first
    batch_norms(model)[-1].gamma.value[0] += 1.0
    model.predict_on_batch(x)
    assert len(folds) == first + 1                                 # only the changed chain


@pytest.mark.parametrize("x_shape,k_shape,strides,padding,dilation,zero_padding", [
    ((1, 13, 11, 5), (3, 3, 5, 1), (2, 2), "same", (1, 1), ((0, 0), (0, 0))),
    ((2, 9, 8, 4), (3, 3, 4, 1), (2, 2), "valid", (1, 1), ((0, 1), (0, 1))),
    ((1, 7, 9, 3), (5, 3, 3, 2), (1, 2), "valid", (2, 1), ((2, 1), (0, 3))),
])
def test_remembered_geometry_is_the_computed_one(x_shape, k_shape, strides, padding, dilation,
                                                 zero_padding):
    fused_ops._GEOMETRY_MEMO.clear()
    args = ("t", x_shape, k_shape, strides, padding, dilation, zero_padding)
    want = fused_ops._inference_geometry_of(*args)
    assert fused_ops._inference_geometry(*args) == want            # computed, then stored
    assert fused_ops._inference_geometry(*args) is fused_ops._GEOMETRY_MEMO[args[1:]]
    assert fused_ops._inference_geometry(*args) == want
    # ints and lists are normalized on every call, as before
    assert fused_ops._inference_geometry("t", x_shape, k_shape, list(strides), padding,
                                         dilation[0] if dilation[0] == dilation[1]
                                         else list(dilation), zero_padding) == want


def test_geometry_errors_are_never_remembered():
    fused_ops._GEOMETRY_MEMO.clear()
    for _ in range(2):
        with pytest.raises(ValueError, match="larger than the padded input"):
            fused_ops._inference_geometry("t", (1, 2, 2, 1), (3, 3, 1, 1), (1, 1), "valid",
                                          (1, 1), ((0, 0), (0, 0)))
        with pytest.raises(ValueError, match="padding"):
            fused_ops._inference_geometry("t", (1, 5, 5, 1), (3, 3, 1, 1), (1, 1), "full",
                                          (1, 1), ((0, 0), (0, 0)))
    assert not fused_ops._GEOMETRY_MEMO
    ragged = ((0, 1), [0, 1])                                     # unhashable: computed
    assert fused_ops._inference_geometry("t", (1, 5, 5, 1), (3, 3, 1, 1), (1, 1), "valid",
                                         (1, 1), ragged) == ((1, 1), (1, 1), (4, 4), (0, 0))
