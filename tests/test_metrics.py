"""Metrics against float64 NumPy references of Keras's definitions: accumulation over
batches, sample weights, thresholds/top_k/class_id, AUC Riemann sums, edge cases, names."""
import numpy as np
import pytest

from nnfast import metrics

rng = np.random.default_rng(0)
EPS = 1e-7


def feed(metric, batches):
    metric.reset_state()
    for b in batches:
        metric.update_state(*b)
    return metric.result()


def split(*arrays, parts=3):
    """The same data fed as several batches (state must accumulate)."""
    idx = np.array_split(np.arange(len(arrays[0])), parts)
    return [tuple(None if a is None else a[i] for a in arrays) for i in idx]


def wmean(v, w=None):
    return np.sum(v * w) / np.sum(w) if w is not None else np.mean(v)


N, C = 30, 5
PROBS = rng.dirichlet(np.ones(C), N).astype(np.float32)
LABELS = rng.integers(0, C, N)
ONEHOT = np.eye(C, dtype=np.float32)[LABELS]
SW = rng.uniform(0, 2, N)
BIN_T = rng.integers(0, 2, (N, 1)).astype(np.float32)
BIN_P = rng.uniform(0, 1, (N, 1)).astype(np.float32)
REG_T = rng.standard_normal((N, 3)).astype(np.float32)
REG_P = rng.standard_normal((N, 3)).astype(np.float32)


def ref_topk(labels, probs, k):
    # TF in_top_k: fewer than k scores strictly greater than the target's.
    return np.array([np.sum(p > p[int(l)]) < k for l, p in zip(labels, probs)], float)


MEAN_CASES = [
    (metrics.Accuracy(), LABELS, (LABELS + (np.arange(N) % 3 == 0)) % C,
     lambda t, p: (t == p).astype(float)),
    (metrics.BinaryAccuracy(), BIN_T, BIN_P, lambda t, p: ((p > 0.5) == t).astype(float)[:, 0]),
    (metrics.BinaryAccuracy(threshold=0.7), BIN_T, BIN_P,
     lambda t, p: ((p > 0.7) == t).astype(float)[:, 0]),
    (metrics.CategoricalAccuracy(), ONEHOT, PROBS,
     lambda t, p: (t.argmax(-1) == p.argmax(-1)).astype(float)),
    (metrics.SparseCategoricalAccuracy(), LABELS[:, None], PROBS,
     lambda t, p: (t[:, 0] == p.argmax(-1)).astype(float)),
    (metrics.TopKCategoricalAccuracy(k=2), ONEHOT, PROBS,
     lambda t, p: ref_topk(t.argmax(-1), p, 2)),
    (metrics.SparseTopKCategoricalAccuracy(k=3), LABELS, PROBS,
     lambda t, p: ref_topk(t, p, 3)),
    (metrics.MeanSquaredError(), REG_T, REG_P, lambda t, p: np.mean((t - p) ** 2, -1)),
    (metrics.MeanAbsoluteError(), REG_T, REG_P, lambda t, p: np.mean(np.abs(t - p), -1)),
    (metrics.MeanAbsolutePercentageError(), REG_T, REG_P,
     lambda t, p: 100 * np.mean(np.abs(t - p) / np.maximum(np.abs(t), EPS), -1)),
    (metrics.MeanSquaredLogarithmicError(), np.abs(REG_T), np.abs(REG_P),
     lambda t, p: np.mean((np.log1p(p) - np.log1p(t)) ** 2, -1)),
    (metrics.LogCoshError(), REG_T, REG_P, lambda t, p: np.mean(np.log(np.cosh(p - t)), -1)),
    (metrics.CosineSimilarity(), REG_T, REG_P,
     lambda t, p: np.sum(t * p, -1) / np.linalg.norm(t, axis=-1) / np.linalg.norm(p, axis=-1)),
    (metrics.CategoricalCrossentropy(), ONEHOT, PROBS,
     lambda t, p: -np.sum(t * np.log(p / p.sum(-1, keepdims=True)), -1)),
    (metrics.SparseCategoricalCrossentropy(), LABELS, PROBS,
     lambda t, p: -np.log(p[np.arange(len(t)), t.astype(int)] / p.sum(-1))),
    (metrics.BinaryCrossentropy(), BIN_T, BIN_P,
     lambda t, p: -(t * np.log(p) + (1 - t) * np.log(1 - p))[:, 0]),
    (metrics.KLDivergence(), ONEHOT * 0.9 + 0.02, PROBS,
     lambda t, p: np.sum(t * np.log(t / p), -1)),
    (metrics.Hinge(), BIN_T, BIN_P * 2 - 1,
     lambda t, p: np.maximum(1 - (2 * t - 1) * p, 0)[:, 0]),
    (metrics.Poisson(), np.abs(REG_T), np.abs(REG_P),
     lambda t, p: np.mean(p - t * np.log(p + EPS), -1)),
]


@pytest.mark.parametrize("metric,t,p,ref", MEAN_CASES, ids=[type(c[0]).__name__ + str(i)
                                                           for i, c in enumerate(MEAN_CASES)])
def test_mean_metrics_accumulate_with_and_without_weights(metric, t, p, ref):
    per = ref(t.astype(np.float64), p.astype(np.float64))
    assert feed(metric, split(t, p)) == pytest.approx(per.mean(), rel=1e-5, abs=1e-6)
    assert feed(metric, split(t, p, SW)) == pytest.approx(wmean(per, SW), rel=1e-5, abs=1e-6)
    metric.reset_state()
    assert metric.result() == 0.0


def test_accuracy_edge_cases():
    assert metrics.BinaryAccuracy()([[1.0]], [[0.5]]) == 0.0  # strictly greater
    assert metrics.CategoricalAccuracy()([[0, 1, 0]], [[0.4, 0.4, 0.2]]) == 0.0  # first index wins
    sw = metrics.SparseCategoricalAccuracy()
    assert sw([1, 2], [[0.1, 0.8, 0.1], [0.5, 0.2, 0.3]], sample_weight=[0.0, 0.0]) == 0.0


def test_root_mean_squared_error_and_mean_sum():
    per = np.mean((REG_T - REG_P) ** 2, -1)
    assert feed(metrics.RootMeanSquaredError(), split(REG_T, REG_P, SW)) == pytest.approx(
        np.sqrt(wmean((REG_T.astype(float) - REG_P) ** 2, SW[:, None] * np.ones((1, 3)))), rel=1e-5)
    assert feed(metrics.RootMeanSquaredError(), split(REG_T, REG_P)) == pytest.approx(
        np.sqrt(per.mean()), rel=1e-5)
    m = metrics.Mean()
    m.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.0, 1.0])
    m.update_state(np.array([[4.0, 6.0]]))  # rank 2: averaged per sample
    assert m.result() == pytest.approx((1 + 3 + 5) / 3)
    s = metrics.Sum()
    s.update_state([1.0, 2.0], sample_weight=[2.0, 0.5])
    assert s.result() == pytest.approx(3.0)


def ref_counts(t, p, thresholds, w=None):
    t = t.reshape(-1) != 0
    p = p.reshape(-1)
    w = np.ones_like(p, dtype=float) if w is None else np.broadcast_to(w, p.shape)
    out = []
    for th in thresholds:
        pos = p > th
        out.append([np.sum(w * (pos & t)), np.sum(w * (pos & ~t)), np.sum(w * (~pos & ~t)),
                    np.sum(w * (~pos & t))])
    return np.array(out, float).T  # tp, fp, tn, fn


def test_confusion_counts_precision_recall():
    thr = [0.2, 0.5, 0.8]
    tp, fp, tn, fn = ref_counts(BIN_T, BIN_P, thr, SW)
    cls = [metrics.TruePositives, metrics.FalsePositives, metrics.TrueNegatives,
           metrics.FalseNegatives]
    for c, want in zip(cls, (tp, fp, tn, fn)):
        np.testing.assert_allclose(feed(c(thresholds=thr), split(BIN_T, BIN_P, SW[:, None])), want,
                                   rtol=1e-5)
    np.testing.assert_allclose(feed(metrics.Precision(thresholds=thr), split(BIN_T, BIN_P, SW)),
                               tp / (tp + fp), rtol=1e-5)
    np.testing.assert_allclose(feed(metrics.Recall(thresholds=thr), split(BIN_T, BIN_P, SW)),
                               tp / (tp + fn), rtol=1e-5)
    tp1, fp1, _, fn1 = ref_counts(BIN_T, BIN_P, [0.5])
    assert feed(metrics.Precision(), split(BIN_T, BIN_P)) == pytest.approx(tp1[0] / (tp1[0] + fp1[0]))
    assert feed(metrics.TruePositives(), split(BIN_T, BIN_P)) == pytest.approx(tp1[0])
    # Nothing predicted positive: precision 0, not NaN.
    assert metrics.Precision()([[1.0]], [[0.1]]) == 0.0


def test_precision_recall_top_k_and_class_id():
    # top_k=2: the two highest scores of each row are the positive predictions.
    order = np.argsort(-PROBS, axis=-1, kind="stable")[:, :2]
    pred_pos = np.zeros_like(PROBS, bool)
    np.put_along_axis(pred_pos, order, True, axis=-1)
    t = ONEHOT.astype(bool)
    tp = np.sum(pred_pos & t)
    fp = np.sum(pred_pos & ~t)
    fn = np.sum(~pred_pos & t)
    assert feed(metrics.Precision(top_k=2), split(ONEHOT, PROBS)) == pytest.approx(tp / (tp + fp))
    assert feed(metrics.Recall(top_k=2), split(ONEHOT, PROBS)) == pytest.approx(tp / (tp + fn))
    c = 3
    tpc = np.sum((PROBS[:, c] > 0.5) & t[:, c])
    fpc = np.sum((PROBS[:, c] > 0.5) & ~t[:, c])
    want = tpc / (tpc + fpc) if tpc + fpc else 0.0
    assert feed(metrics.Precision(class_id=c), split(ONEHOT, PROBS)) == pytest.approx(want)
    tpk = np.sum(pred_pos[:, c] & t[:, c])
    fnk = np.sum(~pred_pos[:, c] & t[:, c])
    assert feed(metrics.Recall(top_k=2, class_id=c), split(ONEHOT, PROBS)) == pytest.approx(
        tpk / (tpk + fnk))


def ref_auc(t, p, num_thresholds=200, curve="ROC", method="interpolation", w=None):
    """Direct float64 transcription of keras.metrics.AUC.result."""
    th = [0 - EPS] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + EPS]
    tp, fp, tn, fn = ref_counts(t, p.astype(np.float32), np.float32(th), w)
    n = num_thresholds
    div = lambda a, b: np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)
    if curve == "PR" and method == "interpolation":
        dtp = tp[:n - 1] - tp[1:]
        pp = tp + fp
        dp = pp[:n - 1] - pp[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pp[1:]
        ratio = np.where((pp[:n - 1] > 0) & (pp[1:] > 0), div(pp[:n - 1], np.maximum(pp[1:], 0)), 1)
        return np.sum(div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0)))
    recall = div(tp, tp + fn)
    x, y = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
         "majoring": np.maximum(y[:-1], y[1:])}[method]
    return np.sum((x[:-1] - x[1:]) * h)


@pytest.mark.parametrize("curve,method", [("ROC", "interpolation"), ("ROC", "minoring"),
                                          ("ROC", "majoring"), ("PR", "interpolation"),
                                          ("PR", "majoring")])
def test_auc_matches_keras_riemann_sums(curve, method):
    t = rng.integers(0, 2, 200)
    p = np.clip(t * 0.3 + rng.uniform(0, 0.7, 200), 0, 1).astype(np.float32)
    w = rng.uniform(0, 1, 200)
    auc = metrics.AUC(num_thresholds=50, curve=curve, summation_method=method)
    assert feed(auc, split(t, p)) == pytest.approx(ref_auc(t, p, 50, curve, method), rel=1e-6)
    assert feed(auc, split(t, p, w)) == pytest.approx(ref_auc(t, p, 50, curve, method, w), rel=1e-6)


def test_auc_exact_rank_statistic_on_separated_scores():
    # With many thresholds, ROC AUC approaches the Mann-Whitney statistic.
    t = rng.integers(0, 2, 400)
    p = rng.uniform(0, 1, 400)
    pos, neg = p[t == 1], p[t == 0]
    mw = np.mean(pos[:, None] > neg[None, :])
    assert metrics.AUC(num_thresholds=2000)(t, p) == pytest.approx(mw, abs=3e-3)
    assert metrics.AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_auc_from_logits_multi_label_and_config():
    t = rng.integers(0, 2, (50, 3))
    logits = rng.standard_normal((50, 3))
    probs = 1 / (1 + np.exp(-logits))
    m = metrics.AUC(multi_label=True, from_logits=True, num_thresholds=30)
    want = np.mean([ref_auc(t[:, j], probs[:, j], 30) for j in range(3)])
    assert feed(m, split(t, logits)) == pytest.approx(want, rel=1e-5)
    cfg = metrics.AUC(thresholds=[0.3, 0.6]).get_config()
    again = metrics.AUC.from_config(cfg)
    assert again.num_thresholds == 4 and again.thresholds[1:-1] == pytest.approx([0.3, 0.6])
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XY")


def ref_fbeta(t, p, beta, average, threshold=None, w=None):
    if threshold is None:
        pred = ((p >= p.max(-1, keepdims=True)) & (np.abs(p) > 1e-9)).astype(float)
    else:
        pred = (p > threshold).astype(float)
    w = np.ones(len(t)) if w is None else w
    ax = None if average == "micro" else 0
    tp = np.sum(pred * t * w[:, None], axis=ax)
    fp = np.sum(pred * (1 - t) * w[:, None], axis=ax)
    fn = np.sum((1 - pred) * t * w[:, None], axis=ax)
    support = np.sum(t * w[:, None], axis=ax)
    prec, rec = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f = (1 + beta ** 2) * prec * rec / (beta ** 2 * prec + rec + EPS)
    if average == "weighted":
        return np.sum(f * support / (np.sum(support) + EPS))
    if average is not None:
        return np.mean(f)
    return f


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f_scores(average):
    np.testing.assert_allclose(feed(metrics.F1Score(average=average), split(ONEHOT, PROBS)),
                               ref_fbeta(ONEHOT, PROBS, 1.0, average), rtol=1e-5)
    np.testing.assert_allclose(
        feed(metrics.FBetaScore(average=average, beta=2.0, threshold=0.3), split(ONEHOT, PROBS, SW)),
        ref_fbeta(ONEHOT, PROBS, 2.0, average, 0.3, SW), rtol=1e-5)


def test_r2_score():
    t, p = REG_T.astype(float), REG_P.astype(float)
    ss_res = np.sum((t - p) ** 2, 0)
    ss_tot = np.sum((t - t.mean(0)) ** 2, 0)
    raw = 1 - ss_res / ss_tot
    assert feed(metrics.R2Score(), split(REG_T, REG_P)) == pytest.approx(raw.mean(), rel=1e-5)
    np.testing.assert_allclose(feed(metrics.R2Score(class_aggregation=None), split(REG_T, REG_P)),
                               raw, rtol=1e-5)
    assert feed(metrics.R2Score(class_aggregation="variance_weighted_average"),
                split(REG_T, REG_P)) == pytest.approx(np.sum(ss_tot * raw) / np.sum(ss_tot), rel=1e-5)
    n, k = t.size, 2
    adj = 1 - (1 - raw.mean()) * (n - 1) / (n - k - 1)
    assert feed(metrics.R2Score(num_regressors=k), split(REG_T, REG_P)) == pytest.approx(adj, rel=1e-5)
    with pytest.raises(ValueError, match="2D"):
        metrics.R2Score().update_state(np.ones(3), np.ones(3))


def test_mean_iou():
    t = rng.integers(0, 3, (4, 5))
    p = rng.integers(0, 3, (4, 5))
    cm = np.zeros((3, 3))
    np.add.at(cm, (t.ravel(), p.ravel()), 1)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    assert feed(metrics.MeanIoU(3), [(t, p)]) == pytest.approx(np.mean(inter / union), rel=1e-5)
    # Class 2 never occurs: left out of the mean.
    t2, p2 = np.array([0, 1, 1]), np.array([0, 1, 0])
    assert metrics.MeanIoU(3)(t2, p2) == pytest.approx((0.5 + 0.5) / 2, rel=1e-5)
    m = metrics.MeanIoU(3, ignore_class=1)
    assert m(t2, p2) == pytest.approx(1.0, rel=1e-5)
    oh = metrics.MeanIoU(3, sparse_y_true=False, sparse_y_pred=False)
    assert oh(np.eye(3)[t2], np.eye(3)[p2] * 0.9) == pytest.approx(0.5, rel=1e-5)
    assert metrics.IoU(3, target_class_ids=[0])(t2, p2) == pytest.approx(0.5, rel=1e-5)


def test_names_and_resolution():
    assert type(metrics.get("accuracy", (5,), (5, 3))) is metrics.SparseCategoricalAccuracy
    assert type(metrics.get("acc", (5, 3), (5, 3))) is metrics.CategoricalAccuracy
    assert type(metrics.get("accuracy", (5, 1), (5, 1))) is metrics.BinaryAccuracy
    assert type(metrics.get("accuracy", (5, 1), (5, 4))) is metrics.SparseCategoricalAccuracy
    for name, cls in [("mse", metrics.MeanSquaredError), ("auc", metrics.AUC),
                      ("precision", metrics.Precision), ("recall", metrics.Recall),
                      ("f1_score", metrics.F1Score), ("r2_score", metrics.R2Score),
                      ("true_positives", metrics.TruePositives), ("mape", metrics.MeanAbsolutePercentageError),
                      ("root_mean_squared_error", metrics.RootMeanSquaredError),
                      ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy)]:
        m = metrics.get(name)
        assert type(m) is cls and m.name == name
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get("bogus")
    for cls in metrics._CLASS_LIST:
        obj = cls(3) if cls is metrics.MeanIoU else (
            cls(3, [0]) if cls is metrics.IoU else cls())
        again = metrics.deserialize(metrics.serialize(obj))
        assert type(again) is cls and again.get_config() == obj.get_config()
    assert metrics.TopKCategoricalAccuracy(3).get_config()["k"] == 3


def test_custom_function_metric():
    m = metrics.get(lambda t, p: np.abs(np.asarray(t) - np.asarray(p)).mean(-1))
    assert m([[1.0, 2.0]], [[0.0, 0.0]]) == pytest.approx(1.5)
