"""The int8 depthwise kernels this CPU can run, for tests that loop over every one: each ISA
cap's kernel (``s8_depthwise_<isa>``), plus, on an AVX512_VNNI CPU, the vpdpbusd kernel
(``s8_depthwise_avx512vnni``), which the registry prefers at the avx512 cap unless
``_core.int8_depthwise_allow_vnni(False)`` switches it off.

    for isa, vnni, name in VARIANTS:
        with depthwise_kernel(isa, vnni):
            ...  # runs `name`
"""
import contextlib

import nnfast
from nnfast import _core


def _variants():
    out = [(isa, False, f"s8_depthwise_{isa}") for isa in nnfast.config.available_isas()]
    if "avx512" in nnfast.config.available_isas() and "avx512vnni" in _core.gemm_int8_variants():
        out.append(("avx512", True, "s8_depthwise_avx512vnni"))
    return out


VARIANTS = _variants()


@contextlib.contextmanager
def depthwise_kernel(isa, vnni):
    """Caps the ISA at ``isa`` and allows (or not) the VNNI depthwise kernel inside the block,
    restoring both settings after."""
    previous_isa = nnfast.config.active_isa()
    previous_vnni = _core.int8_depthwise_allow_vnni(vnni)
    nnfast.config.set_max_isa(isa)
    try:
        yield
    finally:
        nnfast.config.set_max_isa(previous_isa)
        _core.int8_depthwise_allow_vnni(previous_vnni)
