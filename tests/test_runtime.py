import pytest

import nnfast


def test_kernel_info_reports_choices():
    info = nnfast.config.kernel_info()
    assert info["cpu_best_isa"] in ("ref", "avx2", "avx512")
    assert info["active_isa"] in nnfast.config.available_isas()
    assert isinstance(info["gemm_kernel"], str) and info["gemm_kernel"]
    assert info["num_threads"] >= 1


def test_max_isa_caps_and_restores():
    best = nnfast.config.cpu_best_isa()
    previous = nnfast.config.active_isa()
    for name in nnfast.config.available_isas():
        nnfast.config.set_max_isa(name)
        assert nnfast.config.active_isa() == name
    nnfast.config.set_max_isa("avx512")
    assert nnfast.config.active_isa() == best
    nnfast.config.set_max_isa(previous)


def test_bad_isa_name_raises():
    with pytest.raises(ValueError, match="avx2"):
        nnfast.config.set_max_isa("sse9")


def test_threads_roundtrip_and_validation():
    n = nnfast.config.get_num_threads()
    nnfast.config.set_num_threads(1)
    assert nnfast.config.get_num_threads() == 1
    nnfast.config.set_num_threads(n)
    with pytest.raises(ValueError):
        nnfast.config.set_num_threads(0)
