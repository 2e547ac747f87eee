"""Device queries that work in every build: nnfast.config.list_physical_devices and
cuda_build_info, and the nnfast.backend.cuda availability helpers."""
import pytest

import nnfast
from nnfast import _core
from nnfast.backend import cuda


def test_one_cpu_is_always_listed():
    cpus = nnfast.config.list_physical_devices("CPU")
    assert len(cpus) == 1
    assert cpus[0].name == "/physical_device:CPU:0"
    assert cpus[0].device_type == "CPU"
    assert nnfast.config.list_physical_devices("cpu") == cpus


def test_gpu_entries_follow_the_cuda_device_count():
    gpus = nnfast.config.list_physical_devices("GPU")
    n = _core.cuda.device_count()
    assert [g.name for g in gpus] == [f"/physical_device:GPU:{i}" for i in range(n)]
    assert all(g.device_type == "GPU" for g in gpus)
    assert nnfast.config.list_physical_devices() == nnfast.config.list_physical_devices("CPU") + gpus


def test_cuda_build_info_is_consistent():
    info = nnfast.config.cuda_build_info()
    assert set(info) == {"compiled", "device_count", "reason"}
    assert info["compiled"] == bool(_core.cuda.compiled) == cuda.compiled()
    assert info["device_count"] == _core.cuda.device_count() == cuda.device_count()
    if info["device_count"] > 0:
        assert info["reason"] == "" and cuda.is_available() and cuda.unavailable_reason() == ""
    else:
        assert info["reason"] and not cuda.is_available()
        assert cuda.unavailable_reason().startswith(
            "nnfast was built without CUDA" if not info["compiled"] else "no CUDA device visible: ")


@pytest.mark.skipif(_core.cuda.compiled, reason="checks the CPU-only build")
def test_cpu_only_build_reports_no_cuda():
    assert nnfast.config.list_physical_devices("GPU") == []
    assert nnfast.config.cuda_build_info() == {
        "compiled": False, "device_count": 0, "reason": "nnfast was built without CUDA"}
    assert cuda.DeviceArray is None
    with pytest.raises(RuntimeError, match="built without CUDA"):
        cuda.to_device([1.0, 2.0])


@pytest.mark.skipif(not _core.cuda.compiled or _core.cuda.device_count() > 0,
                    reason="checks a CUDA build on a machine without a usable GPU")
def test_cuda_build_without_device_reports_why():
    assert nnfast.config.list_physical_devices("GPU") == []
    assert _core.cuda.unavailable_reason()  # the CUDA error string, e.g. no driver
    with pytest.raises(ValueError, match="outside"):
        _core.cuda.device_name(0)
    with pytest.raises(RuntimeError, match="CUDA"):
        _core.cuda.DeviceArray.zeros((3,))


def test_bad_device_type_raises():
    with pytest.raises(ValueError, match="device_type"):
        nnfast.config.list_physical_devices("TPU")
