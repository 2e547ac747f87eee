"""Newer Keras 3 activations, initializers, losses and metrics against values recorded
with Keras 3.15 (tests/fixtures/modules/make_module_values.py); gradients against finite
differences or Keras's."""
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast import activations, initializers, losses, metrics
from nnfast.backend.tape import GradientTape

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "modules", "module_values.npz"))
close = lambda got, key, **kw: np.testing.assert_allclose(  # noqa: E731
    np.asarray(got), F[key], **{"rtol": 1e-5, "atol": 1e-6, **kw})

ACTS = {"celu": {}, "hard_shrink": {}, "hard_tanh": {}, "log_sigmoid": {}, "soft_shrink": {},
        "sparse_plus": {}, "sparse_sigmoid": {}, "squareplus": {}, "tanh_shrink": {},
        "celu_a2": {"alpha": 2.0}, "squareplus_b1": {"b": 1},
        "hard_shrink_t1": {"threshold": 1.0}, "soft_shrink_t1": {"threshold": 1.0}}


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_values(name):
    fn = getattr(activations, name.split("_a")[0].split("_b1")[0].split("_t1")[0])
    close(fn(F["act/x"], **ACTS[name]), f"act/{name}")
    assert activations.get(fn.__name__) is fn


def test_threshold_glu_sparsemax_values():
    close(activations.threshold(F["act/x"], 0.3, -2.0), "act/threshold")
    close(activations.glu(F["act/x2"]), "act/glu")
    close(activations.sparsemax(F["act/x2"]), "act/sparsemax")
    close(activations.sparsemax(F["act/x2"], axis=0), "act/sparsemax_axis0")
    with pytest.raises(ValueError, match="divisible by 2"):
        activations.glu(np.ones((2, 3), np.float32))
    assert activations.deserialize("celu") is activations.celu
    assert activations.deserialize({"class_name": "function", "config": "glu"}) is activations.glu


def _fd_check(fn, x, coords):
    v = keras.Variable(x)
    w = np.random.default_rng(1).normal(size=np.shape(fn(x))).astype(np.float32)
    with GradientTape() as tape:
        loss = keras.ops.sum(fn(v) * w)
    g = np.asarray(tape.gradient(loss, v))
    f64 = lambda a: float(np.sum(np.asarray(fn(a), np.float64) * w))  # noqa: E731
    for idx in coords:
        xp, xm = x.copy(), x.copy()
        xp[idx] += 1e-3
        xm[idx] -= 1e-3
        np.testing.assert_allclose(g[idx], (f64(xp) - f64(xm)) / 2e-3, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize("name", ["celu", "glu", "log_sigmoid", "squareplus", "tanh_shrink",
                                  "sparse_plus", "soft_shrink", "sparsemax"])
def test_activation_gradients(name):
    x = F["act/x2"].copy()
    x[np.abs(np.abs(x) - 1.0) < 0.05] += 0.1  # off the kinks at +-1 and +-0.5
    x[np.abs(np.abs(x) - 0.5) < 0.05] += 0.1
    _fd_check(getattr(activations, name), x, [(0, 1), (1, 3), (2, 5), (2, 0)])


def test_stft_initializer():
    for side in ("real", "imag"):
        for window, scaling in (("hann", "density"), ("hamming", "spectrum"), (None, None)):
            got = initializers.STFT(side, window, scaling)((8, 1, 5))
            close(got, f"init/stft/{side}/{window}/{scaling}", atol=1e-5)
    close(initializers.stft("real", "hann", "density", True)((6, 1, 4)), "init/stft_periodic", atol=1e-5)
    with pytest.raises(ValueError, match="side"):
        initializers.STFT("complex")


def test_initializer_aliases_and_deserialize():
    assert initializers.glorot_uniform is initializers.GlorotUniform
    assert initializers.OrthogonalInitializer is initializers.Orthogonal
    assert initializers.IdentityInitializer is initializers.Identity
    q = initializers.orthogonal(seed=1)((5, 3))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-5)
    init = initializers.deserialize(initializers.serialize(initializers.STFT("imag", None, None)))
    assert isinstance(init, initializers.STFT) and init.side == "imag"


def test_dice_tversky_gce():
    t, p = F["loss/t"], F["loss/p"]
    close(losses.Dice()(t, p), "loss/dice")
    close(losses.Dice(axis=1)(t, p), "loss/dice_axis1")
    close(losses.dice(t, p, axis=1), "loss/dice_fn_axis1")
    close(losses.Tversky(alpha=0.3, beta=0.7)(t, p), "loss/tversky")
    close(losses.Tversky(0.3, 0.7, axis=1)(t, p), "loss/tversky_axis1")
    close(losses.CategoricalGeneralizedCrossEntropy(q=0.7)(F["loss/gce_labels"],
                                                          F["loss/gce_probs"]), "loss/gce")
    close(losses.categorical_generalized_cross_entropy(F["loss/gce_labels"], F["loss/gce_probs"],
                                                       q=0.7), "loss/gce_fn")
    with pytest.raises(ValueError, match="q must be"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    assert isinstance(losses.get("Dice"), losses.Dice)
    assert losses.deserialize(losses.serialize(losses.Tversky(0.2, 0.8))).alpha == 0.2


def test_circle_values_and_gradient():
    emb, lab = F["loss/circle_emb"], F["loss/circle_labels"]
    close(losses.Circle()(lab, emb), "loss/circle", rtol=1e-4)
    close(losses.circle(lab, emb, gamma=10, margin=0.25), "loss/circle_fn", rtol=1e-4)
    v = keras.Variable(emb)
    with GradientTape() as tape:
        loss = losses.Circle(gamma=10)(lab, v)
    close(tape.gradient(loss, v), "loss/circle_grad", rtol=1e-3, atol=1e-5)


def test_ctc_values_and_gradient():
    t, x = F["loss/ctc_t"], F["loss/ctc_x"]
    close(losses.ctc(t, x), "loss/ctc_fn", rtol=1e-4)
    close(losses.CTC()(t, x), "loss/ctc", rtol=1e-4)
    v = keras.Variable(x)
    with GradientTape() as tape:
        loss = losses.CTC()(t, v)
    close(tape.gradient(loss, v), "loss/ctc_grad", rtol=1e-3, atol=1e-5)
    with pytest.raises(ValueError, match="batch_size, max_length"):
        losses.ctc(t[0], x)


@pytest.mark.parametrize("name", ["SensitivityAtSpecificity", "SpecificityAtSensitivity",
                                  "PrecisionAtRecall", "RecallAtPrecision"])
@pytest.mark.parametrize("n", [200, 7])
def test_at_metrics(name, n):
    val = {"SensitivityAtSpecificity": 0.6, "SpecificityAtSensitivity": 0.7,
           "PrecisionAtRecall": 0.5, "RecallAtPrecision": 0.8}[name]
    m = getattr(metrics, name)(val, num_thresholds=n)
    yt, yp, sw = F["met/yt"], F["met/yp"], F["met/sw"]
    m.update_state(yt[:20], yp[:20])
    m.update_state(yt[20:], yp[20:], sample_weight=sw[20:])
    close(m.result(), f"met/{name}/{n}")
    with pytest.raises(ValueError, match="range"):
        getattr(metrics, name)(1.5)


def test_iou_variants():
    yt, yp, sw = F["met/yt"], F["met/yp"], F["met/sw"]
    m = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.4)
    m.update_state(yt, yp, sample_weight=sw)
    close(m.result(), "met/BinaryIoU")
    m = metrics.BinaryIoU(target_class_ids=[1])
    m.update_state(yt, yp)
    close(m.result(), "met/BinaryIoU_1")
    m = metrics.OneHotIoU(4, [0, 2])
    m.update_state(F["met/oh_t"], F["met/oh_p"])
    close(m.result(), "met/OneHotIoU")
    m = metrics.OneHotMeanIoU(4, ignore_class=1)
    m.update_state(F["met/oh_t"], F["met/oh_p"])
    close(m.result(), "met/OneHotMeanIoU")


def test_correlations_and_function_forms():
    rt, rp, sw = F["met/rt"], F["met/rp"], F["met/sw"][:5]
    for name in ("PearsonCorrelation", "ConcordanceCorrelation"):
        m = getattr(metrics, name)()
        m.update_state(rt, rp, sample_weight=sw)
        close(m.result(), f"met/{name}")
    close(metrics.pearson_correlation(rt, rp), "met/pearson_fn")
    close(metrics.concordance_correlation(rt, rp, axis=0), "met/concordance_fn_axis0")
    close(metrics.huber(rt, rp, delta=0.5), "met/huber")
    close(metrics.binary_focal_crossentropy(F["met/pt"], F["met/pp"]), "met/binary_focal")
    pp = F["met/pp"]
    close(metrics.categorical_focal_crossentropy(np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]],
                                                 pp / pp.sum(1, keepdims=True)),
          "met/categorical_focal")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile("sgd", "mse", metrics=["pearson_correlation", metrics.RecallAtPrecision(0.5)])
    logs = model.evaluate(rt, rp, verbose=0, return_dict=True)
    assert "pearson_correlation" in logs and "recall_at_precision" in logs


def test_top_level_names_and_constraints_deserialize():
    from nnfast import constraints

    for name, module in (("Initializer", "initializers"), ("Loss", "losses"),
                         ("Metric", "metrics"), ("Optimizer", "optimizers"),
                         ("Regularizer", "regularizers")):
        assert getattr(keras, name) is getattr(getattr(keras, module), name)

    class AddOne(keras.Operation):
        def call(self, x):
            return keras.ops.add(x, 1.0)

    np.testing.assert_array_equal(np.asarray(AddOne()(np.zeros(2, np.float32))), [1.0, 1.0])
    with pytest.raises(NotImplementedError):
        keras.Operation()(1)
    assert keras.version() == keras.__version__
    c = constraints.deserialize(constraints.serialize(constraints.MaxNorm(3.0)))
    assert isinstance(c, constraints.MaxNorm) and c.max_value == 3.0
    with pytest.raises(ValueError, match="Unknown constraint"):
        constraints.deserialize({"class_name": "Nope", "config": {}})
