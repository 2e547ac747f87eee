"""Initializers: Keras's formulas (bounds, variances, truncation, orthogonality), fans,
seeds and configs."""
import math

import numpy as np
import pytest

import nnfast
from nnfast import initializers as I


def test_fans():
    assert I._fans(()) == (1, 1)
    assert I._fans((7,)) == (7, 7)
    assert I._fans((3, 5)) == (3, 5)
    assert I._fans((3, 3, 4, 8)) == (36, 72)


@pytest.mark.parametrize("cls,scale,mode", [(I.GlorotUniform, 1.0, "fan_avg"),
                                            (I.HeUniform, 2.0, "fan_in"),
                                            (I.LecunUniform, 1.0, "fan_in")])
def test_uniform_variance_scaling_bounds_and_variance(cls, scale, mode):
    shape = (300, 200)
    fan = {"fan_avg": 250.0, "fan_in": 300.0}[mode]
    limit = math.sqrt(3 * scale / fan)
    w = cls(seed=1)(shape)
    assert w.dtype == np.float32 and w.shape == shape
    assert np.abs(w).max() <= limit
    assert w.var() == pytest.approx(scale / fan, rel=0.03)


@pytest.mark.parametrize("cls,scale,mode", [(I.GlorotNormal, 1.0, "fan_avg"),
                                            (I.HeNormal, 2.0, "fan_in"),
                                            (I.LecunNormal, 1.0, "fan_in")])
def test_truncated_normal_variance_scaling(cls, scale, mode):
    shape = (400, 300)
    fan = {"fan_avg": 350.0, "fan_in": 400.0}[mode]
    w = cls(seed=2)(shape).astype(np.float64)
    stddev = math.sqrt(scale / fan) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * stddev + 1e-6  # truncated at two standard deviations
    assert w.var() == pytest.approx(scale / fan, rel=0.03)  # the truncation is compensated


def test_untruncated_and_plain_random():
    w = I.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=3)((200, 500))
    assert w.var() == pytest.approx(2.0 / 500, rel=0.03)
    u = I.RandomUniform(-0.2, 0.1, seed=4)((50000,))
    assert u.min() >= -0.2 and u.max() < 0.1 and u.mean() == pytest.approx(-0.05, abs=3e-3)
    n = I.RandomNormal(1.0, 0.5, seed=5)((50000,))
    assert n.mean() == pytest.approx(1.0, abs=0.01) and n.std() == pytest.approx(0.5, rel=0.02)
    t = I.TruncatedNormal(0.0, 0.5, seed=6)((50000,))
    assert np.abs(t).max() <= 1.0 and t.std() == pytest.approx(0.5 * 0.8796, rel=0.02)


def test_orthogonal_and_identity_and_constants():
    for shape in [(6, 4), (4, 6), (3, 2, 5)]:
        q = I.Orthogonal(gain=2.0, seed=7)(shape)
        flat = q.reshape(-1, shape[-1])
        small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(small, 4.0 * np.eye(small.shape[0]), atol=1e-5)
    np.testing.assert_array_equal(I.Identity(3.0)((2, 3)), 3.0 * np.eye(2, 3))
    np.testing.assert_array_equal(I.Constant(2.5)((2,)), [2.5, 2.5])
    assert I.get("zeros")((2,)).sum() == 0 and I.get("one")((3,)).sum() == 3
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 2, 2))


def test_seeds():
    a = I.GlorotUniform(seed=11)((5, 5))
    np.testing.assert_array_equal(a, I.GlorotUniform(seed=11)((5, 5)))
    # A seeded instance gives the same values on every call (as Keras 3).
    init = I.HeNormal(seed=3)
    np.testing.assert_array_equal(init((4, 4)), init((4, 4)))
    # Unseeded ones draw from the global generator: reproducible with set_random_seed.
    nnfast.utils.set_random_seed(5)
    b = I.GlorotUniform()((5, 5))
    nnfast.utils.set_random_seed(5)
    np.testing.assert_array_equal(b, I.GlorotUniform()((5, 5)))
    assert not np.array_equal(a, b)


def test_names_and_configs():
    for name, cls in [("glorot_uniform", I.GlorotUniform), ("he_normal", I.HeNormal),
                      ("lecun_uniform", I.LecunUniform), ("orthogonal", I.Orthogonal),
                      ("uniform", I.RandomUniform), ("normal", I.RandomNormal),
                      ("truncated_normal", I.TruncatedNormal), ("identity", I.Identity),
                      ("variance_scaling", I.VarianceScaling), ("GlorotNormal", I.GlorotNormal)]:
        obj = I.get(name)
        assert isinstance(obj, cls)
        again = I.get(I.serialize(obj))
        assert type(again) is cls and again.get_config() == obj.get_config()
    assert I.VarianceScaling().get_config() == {"scale": 1.0, "mode": "fan_in",
                                                "distribution": "truncated_normal", "seed": None,
                                                "input_axes": None, "output_axes": None}
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="bad")
    with pytest.raises(ValueError, match="Unknown initializer"):
        I.get("nope")
