"""keras.name_scope, StatelessScope, SymbolicScope, device, remat, KerasTensor and
Variable's Keras 3 constructor, against Keras 3.15 (fixtures/keras_args/make_scopes.py)."""
import os

import numpy as np
import pytest

import nnfast as keras
from nnfast import ops

D = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "keras_args", "scopes.npz"))


def test_name_scope_paths_as_keras():
    with keras.name_scope("outer"):
        v = keras.Variable(1.0, name="w")
        assert (v.path, v.name) == ("outer/w", "w")
        with keras.name_scope("inner"):
            assert keras.Variable(1.0, name="w").path == "outer/inner/w"
        dense = keras.layers.Dense(2)
        dense.build((None, 3))
        assert dense.kernel.path == "outer/dense/kernel" or \
            dense.kernel.path == f"outer/{dense.name}/kernel"
    assert keras.Variable(1.0, name="w").path == "w"
    with pytest.raises(ValueError, match="cannot contain"):
        keras.name_scope("a/b")
    with keras.name_scope("x", override_parent="root/sub"):
        assert keras.Variable(1.0, name="v").path == "root/sub/x/v"
    owner = object()
    with keras.name_scope("blk", caller=owner):
        with keras.name_scope("blk", caller=owner):  # deduplicated
            assert keras.Variable(1.0, name="v").path == "blk/v"


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.BatchNormalization(momentum=0.5)])
    model.set_weights([D[f"weight{i}"] for i in range(6)])
    return model


def test_stateless_scope_collects_updates_as_keras():
    model = _model()
    mapping = list(zip(model.weights, [D[f"mapped{i}"] for i in range(6)]))
    with keras.StatelessScope(mapping) as scope:
        y_train = np.asarray(model(D["x"], training=True))
        y_infer = np.asarray(model(D["x"], training=False))
    np.testing.assert_allclose(y_train, D["y_train"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y_infer, D["y_infer"], rtol=1e-5, atol=1e-5)
    bn = model.layers[1]
    np.testing.assert_allclose(np.asarray(scope.get_current_value(bn.moving_mean)),
                               D["moving_mean_after"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(scope.get_current_value(bn.moving_variance)),
                               D["moving_var_after"], rtol=1e-5, atol=1e-6)
    after = np.concatenate([np.asarray(w.numpy()).ravel() for w in model.weights])
    np.testing.assert_array_equal(after, D["unchanged"])


def test_stateless_scope_assign_and_unmapped_variables():
    v = keras.Variable(np.ones(3, "float32"), name="v")
    other = keras.Variable(np.zeros(2, "float32"), name="other")
    with keras.StatelessScope([(v, np.full(3, 2.0, "float32"))]) as scope:
        np.testing.assert_array_equal(v.numpy(), [2, 2, 2])
        v.assign_add(np.ones(3, "float32"))
        other.assign(np.array([5.0, 6.0], "float32"))  # not mapped: still not applied
        np.testing.assert_array_equal(other.numpy(), [5, 6])
    np.testing.assert_array_equal(v.numpy(), [1, 1, 1])
    np.testing.assert_array_equal(other.numpy(), [0, 0])
    np.testing.assert_array_equal(scope.get_current_value(v), [3, 3, 3])
    np.testing.assert_array_equal(scope.get_current_value(other), [5, 6])
    with pytest.raises(ValueError, match="shape"):
        keras.StatelessScope([(v, np.ones(4))])
    with pytest.raises(ValueError, match="Variable"):
        keras.StatelessScope([(np.ones(3), np.ones(3))])
    with pytest.raises(NotImplementedError, match="initialize_variables"):
        keras.StatelessScope(initialize_variables=False)


def test_stateless_scope_losses_and_optimizer():
    class Penalty(keras.layers.Layer):
        def call(self, x):
            self.add_loss(ops.sum(x))
            return x

    layer = Penalty()
    with keras.StatelessScope(collect_losses=True) as scope:
        layer(np.ones((2, 2), "float32"))
    assert [float(np.asarray(t)) for t in scope.losses] == [4.0]
    with keras.StatelessScope() as scope:
        layer(np.ones((2, 2), "float32"))
    assert scope.losses == []
    v = keras.Variable(np.ones(2, "float32"))
    with keras.StatelessScope():
        with pytest.raises(NotImplementedError, match="StatelessScope"):
            keras.optimizers.SGD().apply([np.ones(2, "float32")], [v])


def test_symbolic_scope_and_device():
    from nnfast.backend.scopes import in_symbolic_scope

    assert not in_symbolic_scope()
    with keras.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()
    with keras.device("cpu:0"):
        assert float(np.asarray(ops.add(1.0, 2.0))) == 3.0
    with keras.device("/device:CPU:0"):
        pass
    with pytest.raises(ValueError, match="gpu:0"):
        keras.device("gpu:0")


def test_remat_values_and_gradients_match_keras():
    w1 = keras.Variable(D["w1"])
    w2 = keras.Variable(D["w2"])

    def block(h):
        return ops.matmul(ops.tanh(ops.matmul(h, w1)), w2)

    x = keras.Variable(D["x"])
    with keras.GradientTape() as tape:
        loss = ops.sum(ops.square(keras.remat(block)(x)))
    gx, g1, g2 = tape.gradient(loss, [x, w1, w2])
    np.testing.assert_allclose(float(np.asarray(loss)), D["remat_loss"], rtol=1e-5)
    for got, key in ((gx, "remat_gx"), (g1, "remat_g1"), (g2, "remat_g2")):
        np.testing.assert_allclose(np.asarray(got), D[key], rtol=1e-4, atol=1e-5)
    # the tape keeps one node for the whole block (its intermediates are not kept)
    with keras.GradientTape() as plain:
        ops.sum(ops.square(block(x)))
    with keras.GradientTape() as again:
        ops.sum(ops.square(keras.remat(block)(x)))
    assert len(again._nodes) == len(plain._nodes) - 2
    # outside a tape it is just the function
    np.testing.assert_allclose(np.asarray(keras.remat(block)(D["x"])),
                               np.asarray(block(D["x"])), rtol=1e-6)
    with pytest.raises(TypeError, match="callable"):
        keras.remat(3)
    with pytest.raises(NotImplementedError, match="RematScope"):
        keras.RematScope()


def test_variable_keras_constructor():
    v = keras.Variable("zeros", shape=(2, 3))
    assert v.shape == (2, 3) and v.dtype == "float32"
    v = keras.Variable(keras.initializers.Ones(), (2,), "float16", False, name="w")
    assert (str(v.dtype), v.trainable, v.name) == ("float16", False, "w")
    assert keras.Variable([1, 2]).dtype == "int32"
    assert keras.Variable(np.array([1, 2], "int64")).dtype == "int64"
    assert keras.Variable(True).dtype == "bool"
    assert keras.Variable(np.ones(2)).dtype == "float32"  # nnfast computes in float32
    v = keras.Variable(np.ones(2), shape=(2,))
    assert (v.aggregation, v.synchronization) == ("none", "auto")
    with pytest.raises(ValueError, match="shape"):
        keras.Variable("zeros")
    with pytest.raises(ValueError, match="aggregation"):
        keras.Variable(np.ones(2), aggregation="bad")
    with pytest.raises(ValueError, match="shape"):
        keras.Variable(np.ones(2), shape=(3,))


def test_keras_tensor_signature_and_positional_errors():
    t = keras.KerasTensor((None, 3), "float32", False, False, True, "t")
    assert (t.shape, t.name, t.sparse) == ((None, 3), "t", False)
    with pytest.raises(NotImplementedError, match="Ragged"):
        keras.KerasTensor((2,), ragged=True)
    with pytest.raises(NotImplementedError, match="record_history"):
        keras.KerasTensor((2,), record_history=False)
    with pytest.raises(TypeError, match="positional"):
        keras.layers.Layer(5)
    with pytest.raises(TypeError):
        keras.Sequential(None, True, "s", "extra")
    assert keras.Sequential(None, False, "s").name == "s"
    assert keras.Operation("op").name == "op"
