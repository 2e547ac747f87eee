"""Every optimizer's base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm,
use_ema / ema_momentum / ema_overwrite_frequency, loss_scale_factor,
gradient_accumulation_steps) give Keras 3.15's trajectories, recorded by
fixtures/optimizer_args/make_trajectories.py; the constructors take them by Keras's names
and positions."""
import inspect
import json
import os

import numpy as np
import pytest

from nnfast import Variable, optimizers

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "optimizer_args",
                       "trajectories.npz")
DATA = np.load(FIXTURE)
CASES = json.loads(str(DATA["cases"]))
STEPS = int(DATA["steps"])


def _run(name, kwargs):
    opt = getattr(optimizers, name)(**kwargs)
    vs = [Variable(DATA["init0"].copy(), name="v0"), Variable(DATA["init1"].copy(), name="v1")]
    traj = []
    for t in range(STEPS):
        opt.apply([DATA[f"grad{t}_0"], DATA[f"grad{t}_1"]], vs)
        traj.append(np.concatenate([np.asarray(v.numpy()).ravel() for v in vs]))
    if kwargs.get("use_ema"):
        opt.finalize_variable_values(vs)
        traj.append(np.concatenate([np.asarray(v.numpy()).ravel() for v in vs]))
    return opt, np.stack(traj)


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_keras(case):
    name = case.split("|")[0]
    _, traj = _run(name, CASES[case])
    np.testing.assert_allclose(traj, DATA[case], rtol=2e-5, atol=2e-6, err_msg=case)


def test_options_change_the_trajectory():
    # Guards the fixture itself: every option moves the weights away from the plain run.
    for case in CASES:
        name, option = case.split("|")
        # Adam-like rules are nearly invariant to the gradient's scale, Lion (a sign) fully.
        scale_only = option in ("loss_scale_factor", "clipnorm", "global_clipnorm")
        if option != "plain" and not (scale_only and name == "Lion") and not (
                option == "loss_scale_factor" and name not in ("SGD", "Adagrad", "Ftrl")):
            # (use_ema without overwrites changes the weights only at finalize: last row)
            assert not np.allclose(DATA[case][-1], DATA[f"{name}|plain"][-1]), case


def test_gradient_accumulation_counts_applied_steps():
    opt, _ = _run("Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2})
    assert opt.iterations == STEPS // 2


def test_positional_arguments_follow_keras_order():
    # Keras: the optimizer's own arguments, then weight_decay, clipnorm, ... name.
    opt = optimizers.Adam(0.01, 0.8, 0.9, 1e-6, True, 0.1, 1.0)
    assert (opt.beta_1, opt.beta_2, opt.epsilon, opt.amsgrad) == (0.8, 0.9, 1e-6, True)
    assert (opt.weight_decay, opt.clipnorm) == (0.1, 1.0)
    opt = optimizers.SGD(0.1, 0.9, True, None, None, None, None, False, 0.99, None, None, None,
                         "mine")
    assert opt.name == "mine" and opt.nesterov
    base = optimizers.Optimizer(0.2)
    assert base.learning_rate == pytest.approx(0.2)
    with pytest.raises(TypeError, match="positional"):
        optimizers.Optimizer(*([None] * 12))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adamax", "Adagrad", "Adadelta",
                                  "RMSprop", "Nadam", "Ftrl", "Lion", "Lamb", "Adafactor",
                                  "ScheduleFreeAdamW"])
def test_base_arguments_in_config_and_default_names(name):
    cls = getattr(optimizers, name)
    params = inspect.signature(cls.__init__).parameters
    for arg in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                "gradient_accumulation_steps", "name"):
        assert arg in params, (name, arg)
    opt = cls(clipvalue=0.5, gradient_accumulation_steps=3, name="x")
    config = opt.get_config()
    assert (config["clipvalue"], config["gradient_accumulation_steps"], config["name"]) == \
        (0.5, 3, "x")
    assert cls.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="Only one of"):
        cls(clipnorm=1.0, clipvalue=1.0)
