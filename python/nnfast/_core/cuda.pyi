"""
CUDA kernels (this build has none)
"""
from __future__ import annotations
__all__: list[str] = ['compiled', 'device_count', 'unavailable_reason']
def device_count() -> int:
    """
    Always 0: nnfast was built without CUDA.
    """
def unavailable_reason() -> str:
    ...
compiled: bool = False
