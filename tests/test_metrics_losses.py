"""Loss-based metrics reuse losses.py (as Keras's wrap its loss functions): each metric
function returns its loss function's per-sample values, and each metric class accumulates
them (float64 mean, weighted or not) over batches."""
import numpy as np
import pytest

from nnfast import losses, metrics, ops
from nnfast.backend.tape import GradientTape
from nnfast.backend.tensor import Tensor

rng = np.random.default_rng(7)
N, C = 23, 7
PROBS = rng.dirichlet(np.ones(C), N).astype(np.float32)
LOGITS = rng.standard_normal((N, C)).astype(np.float32)
LABELS = rng.integers(0, C, N)
ONEHOT = np.eye(C, dtype=np.float32)[LABELS]
BIN_T = rng.integers(0, 2, (N, 3)).astype(np.float32)
BIN_P = rng.uniform(0.01, 0.99, (N, 3)).astype(np.float32)
REG_T = rng.standard_normal((N, 5)).astype(np.float32)
REG_P = rng.standard_normal((N, 5)).astype(np.float32)
POS_T, POS_P = np.abs(REG_T) + 0.1, np.abs(REG_P) + 0.1
SW = rng.uniform(0, 2, N)

# (metric class, metric function, loss function, kwargs, y_true, y_pred, sign)
CASES = [
    (metrics.MeanSquaredError, metrics.mean_squared_error, losses.mean_squared_error, {},
     REG_T, REG_P, 1),
    (metrics.MeanAbsoluteError, metrics.mean_absolute_error, losses.mean_absolute_error, {},
     REG_T, REG_P, 1),
    (metrics.MeanAbsolutePercentageError, metrics.mean_absolute_percentage_error,
     losses.mean_absolute_percentage_error, {}, REG_T, REG_P, 1),
    (metrics.MeanSquaredLogarithmicError, metrics.mean_squared_logarithmic_error,
     losses.mean_squared_logarithmic_error, {}, POS_T, POS_P, 1),
    (metrics.LogCoshError, metrics.log_cosh, losses.log_cosh, {}, REG_T, REG_P, 1),
    (metrics.CosineSimilarity, metrics.cosine_similarity, losses.cosine_similarity, {},
     REG_T, REG_P, -1),
    (metrics.Hinge, metrics.hinge, losses.hinge, {}, BIN_T, BIN_P * 2 - 1, 1),
    (metrics.SquaredHinge, metrics.squared_hinge, losses.squared_hinge, {}, BIN_T,
     BIN_P * 2 - 1, 1),
    (metrics.CategoricalHinge, metrics.categorical_hinge, losses.categorical_hinge, {},
     ONEHOT, PROBS, 1),
    (metrics.KLDivergence, metrics.kl_divergence, losses.kl_divergence, {},
     ONEHOT * 0.9 + 0.01, PROBS, 1),
    (metrics.Poisson, metrics.poisson, losses.poisson, {}, POS_T, POS_P, 1),
    (metrics.CategoricalCrossentropy, metrics.categorical_crossentropy,
     losses.categorical_crossentropy, {"label_smoothing": 0.1}, ONEHOT, PROBS, 1),
    (metrics.CategoricalCrossentropy, metrics.categorical_crossentropy,
     losses.categorical_crossentropy, {"from_logits": True}, ONEHOT, LOGITS, 1),
    (metrics.SparseCategoricalCrossentropy, metrics.sparse_categorical_crossentropy,
     losses.sparse_categorical_crossentropy, {}, LABELS, PROBS, 1),
    (metrics.SparseCategoricalCrossentropy, metrics.sparse_categorical_crossentropy,
     losses.sparse_categorical_crossentropy, {"from_logits": True}, LABELS[:, None], LOGITS, 1),
    (metrics.BinaryCrossentropy, metrics.binary_crossentropy, losses.binary_crossentropy,
     {"label_smoothing": 0.2}, BIN_T, BIN_P, 1),
    (metrics.BinaryCrossentropy, metrics.binary_crossentropy, losses.binary_crossentropy,
     {"from_logits": True}, BIN_T, LOGITS[:, :3], 1),
]
IDS = [f"{c[0].__name__}{i}" for i, c in enumerate(CASES)]


def loss_values(loss_fn, t, p, kwargs):
    t, p = losses.squeeze_or_expand_to_same_rank(Tensor(np.asarray(t, np.float32)), Tensor(p))
    return np.asarray(ops.convert_to_numpy(loss_fn(t, p, **kwargs)), np.float64)


@pytest.mark.parametrize("cls,fn,loss_fn,kwargs,t,p,sign", CASES, ids=IDS)
def test_metric_equals_its_loss(cls, fn, loss_fn, kwargs, t, p, sign):
    per = sign * loss_values(loss_fn, t, p, kwargs)
    # The function: the loss's per-sample values, bit for bit.
    np.testing.assert_array_equal(np.asarray(fn(t, p, **kwargs), np.float64), per)
    # The class: their float64 running mean over batches, with and without weights (a
    # batch's values may differ from the whole set's in the last float32 bit: SIMD tails).
    m = cls(**kwargs)
    for part in np.array_split(np.arange(N), 3):
        m.update_state(t[part], p[part])
    assert m.result() == pytest.approx(per.mean(), rel=1e-6, abs=1e-7)
    m.reset_state()
    for part in np.array_split(np.arange(N), 4):
        m.update_state(t[part], p[part], sample_weight=SW[part])
    assert m.result() == pytest.approx(np.sum(per * SW) / np.sum(SW), rel=1e-6, abs=1e-7)


def test_metric_of_tensors_inside_a_tape_records_nothing():
    w = Tensor(np.ones((1, 5), np.float32))
    m = metrics.MeanSquaredError()
    with GradientTape() as tape:
        tape.watch(w)
        y_pred = ops.multiply(w, REG_P)
        m.update_state(REG_T, y_pred)
        n_nodes = len(tape._nodes)
    assert n_nodes == 1  # only the multiply
    assert m.result() == pytest.approx(np.mean((REG_T.astype(np.float64) - REG_P) ** 2), rel=1e-6)


def test_metric_functions_have_the_loss_signatures():
    import inspect

    for name in ("mean_squared_error", "binary_crossentropy", "sparse_categorical_crossentropy",
                 "cosine_similarity", "huber", "binary_focal_crossentropy"):
        assert inspect.signature(getattr(metrics, name)) == inspect.signature(getattr(losses, name))
