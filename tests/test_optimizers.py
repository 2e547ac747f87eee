"""Optimizers against float64 NumPy references of Keras's update rules (several steps,
every ISA variant), plus clipping, weight decay, EMA, schedules, state and config."""
import math

import numpy as np
import pytest

import nnfast
from nnfast import optimizers
from nnfast.backend.tensor import Variable
from nnfast.optimizers import schedules

ISAS = nnfast.config.available_isas()


@pytest.fixture(params=ISAS)
def isa(request):
    previous = nnfast.config.active_isa()
    nnfast.config.set_max_isa(request.param)
    yield request.param
    nnfast.config.set_max_isa(previous)


# --- float64 references of keras/src/optimizers/*.py update_step -----------------------------


def ref_sgd(w, g, s, t, lr, momentum=0.0, nesterov=False):
    if momentum == 0:
        return w - lr * g
    s["m"] = momentum * s.get("m", 0.0) - lr * g
    return w + (momentum * s["m"] - lr * g if nesterov else s["m"])


def ref_adam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
    v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
    if amsgrad:
        v = s["vh"] = np.maximum(s.get("vh", 0.0), v)
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - alpha * m / (np.sqrt(v) + epsilon)


def ref_rmsprop(w, g, s, t, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    v = s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    if centered:
        a = s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
        den = v - a * a + epsilon
    else:
        den = v + epsilon
    inc = lr * g / np.sqrt(den)
    if momentum > 0:
        s["m"] = momentum * s.get("m", 0.0) + inc
        return w - s["m"]
    return w - inc


def ref_adagrad(w, g, s, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    acc = s["acc"] = s.get("acc", initial_accumulator_value) + g * g
    return w - lr * g / np.sqrt(acc + epsilon)


def ref_adadelta(w, g, s, t, lr, rho=0.95, epsilon=1e-7):
    eg = s["eg"] = rho * s.get("eg", 0.0) + (1 - rho) * g * g
    d = -np.sqrt(s.get("edx", 0.0) + epsilon) * g / np.sqrt(eg + epsilon)
    s["edx"] = rho * s.get("edx", 0.0) + (1 - rho) * d * d
    return w + lr * d


def ref_adamax(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
    u = s["u"] = np.maximum(beta_2 * s.get("u", 0.0), np.abs(g))
    return w - lr * m / ((1 - beta_1 ** t) * (u + epsilon))


def ref_nadam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    u_t = beta_1 * (1 - 0.5 * 0.96 ** t)
    u_t1 = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    if s.get("t_seen") != t:  # the product is advanced once per step, before the updates
        s["up"] = s.get("up", 1.0) * u_t
        s["t_seen"] = t
    up = s["up"]
    m = s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - beta_1)
    v = s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - beta_2)
    m_hat = u_t1 * m / (1 - up * u_t1) + (1 - u_t) * g / (1 - up)
    v_hat = v / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


def ref_ftrl(w, g, s, t, lr, learning_rate_power=-0.5, initial_accumulator_value=0.1,
             l1_regularization_strength=0.0, l2_regularization_strength=0.0,
             l2_shrinkage_regularization_strength=0.0, beta=0.0):
    acc = s.get("acc", initial_accumulator_value)
    lin = s.get("lin", 0.0)
    l2 = l2_regularization_strength + beta / (2 * lr)
    g2 = g + 2 * l2_shrinkage_regularization_strength * w
    new_acc = acc + g * g
    p = -learning_rate_power
    lin = lin + g2 - (new_acc ** p - acc ** p) / lr * w
    quad = new_acc ** p / lr + 2 * l2
    l1 = l1_regularization_strength
    s["acc"], s["lin"] = new_acc, lin
    return (np.clip(lin, -l1, l1) - lin) / quad


def ref_lion(w, g, s, t, lr, beta_1=0.9, beta_2=0.99):
    m = s.get("m", 0.0)
    w = w - lr * np.sign(m * beta_1 + g * (1 - beta_1))
    s["m"] = m * beta_2 + g * (1 - beta_2)
    return w


CASES = [
    ("SGD", ref_sgd, {}),
    ("SGD", ref_sgd, {"momentum": 0.9}),
    ("SGD", ref_sgd, {"momentum": 0.8, "nesterov": True}),
    ("Adam", ref_adam, {}),
    ("Adam", ref_adam, {"amsgrad": True, "beta_1": 0.8}),
    ("RMSprop", ref_rmsprop, {}),
    ("RMSprop", ref_rmsprop, {"momentum": 0.9}),
    ("RMSprop", ref_rmsprop, {"centered": True}),
    ("RMSprop", ref_rmsprop, {"centered": True, "momentum": 0.5, "rho": 0.8}),
    ("Adagrad", ref_adagrad, {}),
    ("Adadelta", ref_adadelta, {}),
    ("Adamax", ref_adamax, {}),
    ("Nadam", ref_nadam, {}),
    ("Ftrl", ref_ftrl, {}),
    ("Ftrl", ref_ftrl, {"l1_regularization_strength": 0.01, "l2_regularization_strength": 0.1,
                        "l2_shrinkage_regularization_strength": 0.05, "beta": 0.2,
                        "learning_rate_power": -0.7}),
    ("Lion", ref_lion, {}),
]

SHAPES = [(7, 5), (129,), (3, 1, 11)]


def _run(name, kwargs, lr, steps, rng, common=None, shapes=SHAPES, ref=None, wd=None):
    """Runs nnfast and the float64 reference side by side; returns both weights."""
    common = dict(common or {})
    opt = getattr(optimizers, name)(learning_rate=lr, **kwargs, **common)
    ws = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    vars_ = [Variable(w.copy()) for w in ws]
    ref_w = [w.astype(np.float64) for w in ws]
    states = [{} for _ in shapes]
    for t in range(1, steps + 1):
        grads = [rng.standard_normal(s).astype(np.float32) * 2 for s in shapes]
        opt.apply(grads, vars_)
        g64 = [g.astype(np.float64) for g in grads]
        if "clipnorm" in common:
            c = common["clipnorm"]
            g64 = [g * c / max(np.linalg.norm(g), c) for g in g64]
        if "global_clipnorm" in common:
            c = common["global_clipnorm"]
            norm = math.sqrt(sum(np.sum(g * g) for g in g64))
            g64 = [g * c / max(norm, c) for g in g64]
        if "clipvalue" in common:
            g64 = [np.clip(g, -common["clipvalue"], common["clipvalue"]) for g in g64]
        decay = wd if wd is not None else common.get("weight_decay")
        for i in range(len(shapes)):
            if decay:
                ref_w[i] = ref_w[i] - ref_w[i] * decay * lr
            ref_w[i] = ref(ref_w[i], g64[i], states[i], t, lr, **kwargs)
    return [v.value for v in vars_], ref_w, opt


@pytest.mark.parametrize("name,ref,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_update_rule_matches_keras_formula(isa, name, ref, kwargs):
    rng = np.random.default_rng(0)
    got, want, opt = _run(name, kwargs, 0.01, 5, rng, ref=ref)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)
    assert opt.iterations == 5


@pytest.mark.parametrize("common", [{"clipnorm": 0.5}, {"global_clipnorm": 1.0},
                                    {"clipvalue": 0.3}, {"weight_decay": 0.1}])
@pytest.mark.parametrize("name,ref", [("SGD", ref_sgd), ("Adam", ref_adam),
                                      ("RMSprop", ref_rmsprop), ("Lion", ref_lion)])
def test_clipping_and_weight_decay_fused(isa, name, ref, common):
    rng = np.random.default_rng(1)
    got, want, _ = _run(name, {}, 0.05, 3, rng, common=common, ref=ref)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


def test_adamw_defaults_and_decay():
    opt = optimizers.AdamW()
    assert opt.weight_decay == 0.004 and opt.learning_rate == pytest.approx(0.001)
    rng = np.random.default_rng(2)
    got, want, _ = _run("AdamW", {}, 0.01, 4, rng, ref=ref_adam, wd=0.004)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)


def test_large_tensor_threads_split_same_result():
    """A tensor big enough to be split across threads gives the single-thread result."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(300_001).astype(np.float32)
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(3)]
    out = []
    threads = nnfast.config.get_num_threads()
    for nt in (1, max(2, threads)):
        nnfast.config.set_num_threads(nt)
        v = Variable(w0.copy())
        opt = optimizers.Adam(0.01)
        for g in grads:
            opt.apply([g], [v])
        out.append(v.value.copy())
    nnfast.config.set_num_threads(threads)
    np.testing.assert_array_equal(out[0], out[1])


def test_isa_variants_agree_with_reference_kernel():
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal(1037).astype(np.float32)
    g = rng.standard_normal(1037).astype(np.float32)
    results = {}
    previous = nnfast.config.active_isa()
    for isa_name in ISAS:
        nnfast.config.set_max_isa(isa_name)
        v = Variable(w0.copy())
        opt = optimizers.RMSprop(0.01, centered=True, momentum=0.5)
        for _ in range(3):
            opt.apply([g], [v])
        results[isa_name] = v.value.copy()
    nnfast.config.set_max_isa(previous)
    for isa_name in ISAS:
        np.testing.assert_allclose(results[isa_name], results["ref"], rtol=1e-6, atol=1e-7)


def test_global_clipnorm_nan_poisons_everything():
    v = Variable(np.ones(3, np.float32))
    opt = optimizers.SGD(0.1, global_clipnorm=1.0)
    opt.apply([np.array([np.inf, 1, 1], np.float32)], [v])
    assert np.all(np.isnan(v.value))


def test_nan_gradient_stays_nan_with_clipvalue():
    v = Variable(np.ones(2, np.float32))
    optimizers.SGD(0.1, clipvalue=1.0).apply([np.array([np.nan, 5.0], np.float32)], [v])
    assert np.isnan(v.value[0]) and v.value[1] == pytest.approx(0.9)


def test_ema_and_finalize():
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal(6).astype(np.float32)
    v = Variable(w0.copy())
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9)
    w, avg = w0.astype(np.float64), None
    for step in range(4):
        g = rng.standard_normal(6).astype(np.float32)
        opt.apply([g], [v])
        w = w - 0.1 * g
        mom = 0.0 if step == 0 else 0.9
        avg = w.copy() if avg is None else mom * avg + (1 - mom) * w
    np.testing.assert_allclose(v.value, w, rtol=1e-5, atol=1e-6)
    assert len(opt.variables) == 3  # iterations, learning_rate, average
    opt.finalize_variable_values([v])
    np.testing.assert_allclose(v.value, avg, rtol=1e-5, atol=1e-6)


def test_ema_overwrite_frequency():
    v = Variable(np.zeros(2, np.float32))
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    opt.apply([np.ones(2, np.float32)], [v])   # w=-1, avg=-1
    opt.apply([np.ones(2, np.float32)], [v])   # w=-2, avg=-1.5, overwrite
    np.testing.assert_allclose(v.value, [-1.5, -1.5])


def test_gradient_accumulation():
    v = Variable(np.zeros(2, np.float32))
    opt = optimizers.SGD(1.0, gradient_accumulation_steps=2)
    opt.apply([np.array([1.0, 2.0], np.float32)], [v])
    np.testing.assert_array_equal(v.value, [0.0, 0.0])
    opt.apply([np.array([3.0, 4.0], np.float32)], [v])
    np.testing.assert_allclose(v.value, [-2.0, -3.0])
    assert opt.iterations == 1


def test_constraint_applied_after_update():
    v = Variable(np.array([0.5, -0.5], np.float32), constraint=nnfast.constraints.NonNeg())
    optimizers.SGD(1.0).apply([np.array([1.0, 1.0], np.float32)], [v])
    np.testing.assert_array_equal(v.value, [0.0, 0.0])


def test_variables_order_and_restore():
    rng = np.random.default_rng(6)
    shapes = [(3, 2), (2,)]
    def make():
        return [Variable(np.ones(s, np.float32)) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]
    a_vars = make()
    a = optimizers.Adam(0.01, amsgrad=True)
    for g in grads[:2]:
        a.apply(g, a_vars)
    names = [len(v.shape) for v in a.variables]
    # iterations, learning_rate, (m0, v0, m1, v1), (vhat0, vhat1)
    assert [v.shape for v in a.variables] == [(), (), (3, 2), (3, 2), (2,), (2,), (3, 2), (2,)]
    assert names[0] == 0 and int(a.variables[0]) == 2
    saved = a.get_weights()
    saved_w = [v.value.copy() for v in a_vars]
    for g in grads[2:]:
        a.apply(g, a_vars)
    b_vars = make()
    for v, w in zip(b_vars, saved_w):
        v.assign(w)
    b = optimizers.Adam(0.01, amsgrad=True)
    b.build(b_vars)
    b.set_weights(saved)
    for g in grads[2:]:
        b.apply(g, b_vars)
    for x, y in zip(a_vars, b_vars):
        np.testing.assert_array_equal(x.value, y.value)
    store = {}
    a.save_own_variables(store)
    c = optimizers.Adam(0.01, amsgrad=True)
    c.build(make())
    c.load_own_variables(store)
    assert c.iterations == 4
    with pytest.raises(ValueError, match="not yet been built"):
        optimizers.Adam().set_weights(saved)


def test_rmsprop_slot_layout_is_grouped():
    vars_ = [Variable(np.ones((2,), np.float32)), Variable(np.ones((3,), np.float32))]
    opt = optimizers.RMSprop(momentum=0.9, centered=True)
    opt.build(vars_)
    assert [v.shape for v in opt.variables[2:]] == [(2,), (3,)] * 3


def test_schedule_has_no_lr_variable_and_is_evaluated_at_iterations():
    sched = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.SGD(sched)
    v = Variable(np.zeros(1, np.float32))
    for _ in range(3):
        opt.apply([np.ones(1, np.float32)], [v])
    expected = -(0.1 + 0.1 * 0.5 ** 0.5 + 0.1 * 0.5)
    np.testing.assert_allclose(v.value, [expected], rtol=1e-6)
    assert len(opt.variables) == 1
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_learning_rate_settable_and_aliases():
    opt = optimizers.get("rmsprop")
    assert isinstance(opt, optimizers.RMSprop)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    assert optimizers.Adam(lr=0.3).learning_rate == pytest.approx(0.3)
    assert optimizers.SGD(learning_rate=lambda: 0.25).learning_rate == 0.25
    for name in ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam",
                 "ftrl", "lion"]:
        assert type(optimizers.get(name)).__name__.lower() == name


def test_defaults_match_keras():
    assert optimizers.SGD().learning_rate == pytest.approx(0.01)
    r = optimizers.RMSprop()
    assert (r.rho, r.momentum, r.epsilon, r.centered) == (0.9, 0.0, 1e-7, False)
    assert optimizers.Adadelta().rho == 0.95
    assert optimizers.Lion().beta_2 == 0.99
    assert optimizers.Adagrad().initial_accumulator_value == 0.1


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
                                  "Adamax", "Nadam", "Ftrl", "Lion"])
def test_config_round_trip(name):
    opt = getattr(optimizers, name)(learning_rate=0.02, clipnorm=1.5)
    cfg = optimizers.serialize(opt)
    again = optimizers.deserialize(cfg)
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()
    assert cfg["config"]["learning_rate"] == pytest.approx(0.02)


def test_schedule_config_round_trip_in_optimizer():
    sched = schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=10)
    opt = optimizers.Adam(sched)
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    assert again._learning_rate.get_config() == sched.get_config()


def test_bad_arguments():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(foo=1)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=2.0)
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get("nope")
    with pytest.raises(ValueError, match="does not match"):
        optimizers.SGD().apply([np.ones(3, np.float32)], [Variable(np.ones(2, np.float32))])
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)


def test_kernel_rejects_bad_buffers():
    from nnfast import _core

    w = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="same size"):
        _core.adam_update(w, np.ones(3, np.float32), np.zeros(4, np.float32),
                          np.zeros(4, np.float32), None, 0.1, 0.9, 0.999, 1e-7, 1)
    with pytest.raises(TypeError, match="float32"):
        _core.sgd_update(w, np.ones(4, np.float64), None, 0.1, 0.0, False)
    with pytest.raises(ValueError, match="step"):
        _core.adam_update(w, w.copy(), np.zeros(4, np.float32), np.zeros(4, np.float32), None,
                          0.1, 0.9, 0.999, 1e-7, 0)
    with pytest.raises(ValueError, match="momentum"):
        _core.sgd_update(w, w.copy(), None, 0.1, 0.9, False)


def test_user_subclass_with_update_step():
    class PlainSGD(optimizers.Optimizer):
        def update_step(self, gradient, variable, learning_rate):
            variable.assign(variable.value - learning_rate * gradient)

    v = Variable(np.ones(3, np.float32))
    PlainSGD(0.5, clipvalue=1.0).apply([np.array([4.0, -4.0, 0.5], np.float32)], [v])
    np.testing.assert_allclose(v.value, [0.5, 1.5, 0.75])


# --- schedules ---------------------------------------------------------------------------------


def test_schedules_formulas():
    e = schedules.ExponentialDecay(1.0, 10, 0.5, staircase=True)
    assert e(9) == 1.0 and e(10) == 0.5
    assert schedules.ExponentialDecay(1.0, 10, 0.5)(5) == pytest.approx(0.5 ** 0.5)
    p = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [p(0), p(10), p(11), p(20), p(21)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    it = schedules.InverseTimeDecay(1.0, 10, 0.5)
    assert it(10) == pytest.approx(1 / 1.5)
    assert schedules.InverseTimeDecay(1.0, 10, 0.5, staircase=True)(15) == pytest.approx(1 / 1.5)
    poly = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, power=2.0)
    assert poly(5) == pytest.approx(0.25) and poly(50) == pytest.approx(0.0)
    pc = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, power=1.0, cycle=True)
    assert pc(15) == pytest.approx(1 - 15 / 20)
    c = schedules.CosineDecay(1.0, 100, alpha=0.1)
    assert c(50) == pytest.approx(0.9 * 0.5 + 0.1) and c(200) == pytest.approx(0.1)
    w = schedules.CosineDecay(0.0, 100, warmup_target=1.0, warmup_steps=10)
    assert w(5) == pytest.approx(0.5) and w(10) == pytest.approx(1.0)
    assert w(60) == pytest.approx(0.5)
    r = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5)
    assert r(0) == pytest.approx(1.0)
    assert r(10) == pytest.approx(0.5)  # restart: second period at m_mul
    assert r(20) == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    r1 = schedules.CosineDecayRestarts(1.0, 10, t_mul=1.0)
    assert r1(15) == pytest.approx(0.5)


def test_schedule_serialization_all():
    for s in [schedules.ExponentialDecay(0.1, 5, 0.9), schedules.PiecewiseConstantDecay([1], [1.0, 0.5]),
              schedules.PolynomialDecay(0.1, 5), schedules.InverseTimeDecay(0.1, 5, 0.5),
              schedules.CosineDecay(0.1, 5), schedules.CosineDecayRestarts(0.1, 5)]:
        again = schedules.deserialize(schedules.serialize(s))
        assert type(again) is type(s) and again.get_config() == s.get_config()
        assert again(3) == pytest.approx(s(3))
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
