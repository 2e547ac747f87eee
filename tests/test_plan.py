"""One execution plan for Sequential and Functional models (models/plan.py) and fusion as
rewrite rules over it (models/fusion.py): the plan's structure, run_plan against calling the
layers one by one, which rules match, and the module boundaries the refactor set up."""
import os
import re

import numpy as np
import pytest

import nnfast
from nnfast import layers, ops
from nnfast.backend.tape import GradientTape
from nnfast.models import fusion
from nnfast.models.plan import Plan, PlanStep, TensorRef, layer_step, run_plan

RNG = np.random.default_rng(15)
PACKAGE = os.path.join(os.path.dirname(nnfast.__file__))


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def mlp_layers():
    return [layers.Dense(7, activation="relu"), layers.Dropout(0.3), layers.Dense(3)]


def test_sequential_and_functional_build_the_same_plan():
    nnfast.utils.set_random_seed(1)
    seq = nnfast.Sequential([layers.Input((5,))] + mlp_layers())
    x_in = layers.Input((5,))
    y = x_in
    for layer in mlp_layers():
        y = layer(y)
    fun = nnfast.Model(x_in, y)
    fun.set_weights(seq.get_weights())
    for model in (seq, fun):
        plan = model._plan
        assert isinstance(plan, Plan) and all(isinstance(s, PlanStep) for s in plan.steps)
        assert [type(s.layer).__name__ for s in plan.steps] == ["Dense", "Dropout", "Dense"]
        assert [s.inputs for s in plan.steps] == [0, 1, 2]
        assert [s.outputs for s in plan.steps] == [1, 2, 3]
        assert plan.input_ids == [0] and plan.output_ids == [3]
        assert [s.takes_training for s in plan.steps] == [False, True, False]
        # each intermediate id is dropped by its only reader
        assert plan.releases == [(0,), (1,), (2,)]
    assert seq._plan.masks_every_step and not fun._plan.masks_every_step
    x = rand(4, 5)
    np.testing.assert_array_equal(np.asarray(seq(x)), np.asarray(fun(x)))


def test_run_plan_equals_the_layers_called_one_by_one():
    a, b = layers.Input((6,), name="a"), layers.Input((4,), name="b")
    h = layers.Dense(5, activation="tanh")(a)
    merged = layers.concatenate([h, b])
    out1 = layers.Dense(2)(merged)
    out2 = layers.Dense(3, activation="softmax")(merged)
    model = nnfast.Model([a, b], [out1, out2])
    xa, xb = rand(3, 6), rand(3, 4)
    dense_h, concat, head1, head2 = [l for l in model.layers if not isinstance(
        l, layers.InputLayer)]
    hv = dense_h(xa)
    mv = concat([hv, xb])
    want = [head1(mv), head2(mv)]
    got = run_plan(model._plan, [xa, xb])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
    concat_step = next(s for s in model._plan.steps if s.layer is concat)
    assert not concat_step.single_input
    assert concat_step.inputs == [TensorRef(concat_step.input_ids()[0]),
                                  TensorRef(concat_step.input_ids()[1])]


def test_a_hand_built_plan_runs_and_releases_dead_tensors():
    dense = layers.Dense(3)
    dense.build((None, 2))
    relu = layers.ReLU()
    steps = [layer_step(dense, 0, 1), layer_step(relu, 1, 2), layer_step(layers.Add(), [
        TensorRef(1), TensorRef(2)], 3)]
    plan = Plan(steps, [0], [3, 2], 4)
    # id 1 is read by steps 1 and 2: dropped after step 2; id 2 is an output: never dropped
    assert plan.releases == [(0,), (), (1,)]
    x = rand(5, 2)
    y = dense(x)
    out, r = run_plan(plan, [x])
    np.testing.assert_array_equal(np.asarray(r), np.maximum(np.asarray(y), 0))
    np.testing.assert_array_equal(np.asarray(out), np.asarray(y) + np.asarray(r))


def cnn():
    return nnfast.Sequential([
        layers.Input((10, 10, 1)),
        layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.Flatten(), layers.Dense(2),
    ])


def test_rules_rewrite_the_plan_for_each_mode():
    model = cnn()
    train = model._plan
    names = [type(s.layer).__name__ for s in train.steps]
    # Conv2D(relu) -> MaxPooling2D is one step in both modes
    assert names == ["MaxPooling2D", "Conv2D", "BatchNormalization", "ReLU", "Flatten",
                     "Dense"]
    assert [type(l).__name__ for l in train.steps[0].merged] == ["Conv2D", "MaxPooling2D"]
    infer = model._inference_plan()
    assert [type(s.layer).__name__ for s in infer.steps] == ["MaxPooling2D", "ReLU",
                                                            "Flatten", "Dense"]
    assert [type(l).__name__ for l in infer.steps[1].merged] == [
        "Conv2D", "BatchNormalization", "ReLU"]
    assert isinstance(infer.steps[1].run, fusion.ConvChainCall)
    assert model._inference_plan() is infer  # made once
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.moving_mean.assign(rand(6) * 0.1)
            layer.moving_variance.assign(np.abs(rand(6)) + 0.5)
    x = rand(3, 10, 10, 1)
    got = np.asarray(model(x))
    with GradientTape():
        want = model(x).numpy()  # the training plan, layer by layer after the pool
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_embedding_recurrence_fuses_in_functional_models_too():
    ids_in = layers.Input((6,), dtype="int32")
    lstm = layers.LSTM(4)
    out = layers.Dense(1)(lstm(layers.Embedding(20, 3)(ids_in)))
    model = nnfast.Model(ids_in, out)
    steps = model._plan.steps
    assert isinstance(steps[0].layer, fusion.EmbeddingRecurrenceStep)
    assert steps[0].takes_training and steps[0].takes_mask
    ids = RNG.integers(0, 20, (5, 6))
    emb = model.layers[1]
    want = model.layers[-1](lstm(emb(ids)))
    np.testing.assert_allclose(np.asarray(model(ids)), np.asarray(want), rtol=1e-5,
                               atol=1e-6)
    # a masked embedding passes its mask to the LSTM as a call argument: not fused
    ids_in = layers.Input((6,), dtype="int32")
    masked = nnfast.Model(ids_in, layers.LSTM(4)(layers.Embedding(20, 3, mask_zero=True)(
        ids_in)))
    assert not any(isinstance(s.layer, fusion.EmbeddingRecurrenceStep)
                   for s in masked._plan.steps)


def test_fuse_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode='eval'"):
        fusion.fuse(cnn()._plan, None, "eval")


def test_fusion_only_ops_are_not_keras_ops_names():
    for name in ("conv2d_inference", "separable_inference", "conv2d_relu_max_pool",
                 "conv_relu_max_pool_supported"):
        assert not hasattr(ops, name), name
        assert callable(getattr(nnfast.ops.fused, name))


def _sources(folder):
    for root, _, files in os.walk(os.path.join(PACKAGE, folder)):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(root, f)
                with open(path) as fh:
                    yield path, fh.read()


def test_module_boundaries():
    # saving keeps generic serialization: the model classes register themselves with it
    for path, text in _sources("saving"):
        assert not re.search(r"from nnfast\.models|import nnfast\.models", text), path
    # layers carry no fusion hooks or activation-id tables; fusion.py looks inside layers
    for path, text in _sources("layers"):
        assert "ACTIVATION_IDS" not in text and "_fused" not in text, path
    with open(os.path.join(PACKAGE, "models", "sequential.py")) as fh:
        text = fh.read()
    assert "ACTIVATION_IDS" not in text and "_fused" not in text
