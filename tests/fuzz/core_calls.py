"""Property-based fuzzing of every ``nnfast._core`` entry point (issue 14).

Run as a child process by tests/test_fuzz_core.py, so that a crash (a signal) or a hang fails
that test instead of killing the test run. For each function of ``_core`` (its pybind11
signature gives the parameter kinds), hypothesis draws arguments: arrays of small shared sizes
(so shapes sometimes agree and the call reaches a kernel), every dtype, zero sizes, NaN/inf,
non-contiguous and negative-stride views, the same array passed twice or an overlapping view
of it (aliasing), and integers from 0 and -1 up to 2**62. Any Python exception is an
acceptable answer; the process must neither die nor hang. A call whose arrays share memory
must raise, or give what the same call on separate copies gives (an output that overlaps an
input silently computing something else fails the run). Each call is printed before it
runs, so the last line names the culprit.

Usage: python tests/fuzz/core_calls.py [examples per function] [only-this-function]
Environment: NNFAST_FUZZ_EXAMPLES (default 25), NNFAST_FUZZ_MEMORY_MB (address-space cap,
default 4096; 0 for none, as AddressSanitizer needs).
"""
import inspect
import os
import re
import resource
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Calls that change the process (threads, the NumPy allocator, the ISA cap) or only report.
SKIP = {"set_num_threads", "set_max_isa", "numpy_buffer_cache_enter", "numpy_buffer_cache_exit",
        "set_buffer_cache_limit", "clear_buffer_cache", "buffer_cache_info", "cuda"}

SIZES = [0, 1, 2, 3, 5, 7, 16]
INTS = [0, 1, 2, 3, 4, -1, -7, 255, 256, 2**31 - 1, 2**31, 2**40, 2**62]
FLOATS = [0.0, 1.0, -1.0, 0.5, 1e-7, 1e30, float("nan"), float("inf"), -float("inf")]
DTYPES = ["float32", "float32", "float32", "int32", "int64", "uint8", "float64", "bool"]


def parameter_kinds(fn):
    """[(name, kind)] from the pybind11 signature line of ``fn``'s docstring."""
    line = (fn.__doc__ or "").split("\n")[0]
    m = re.match(r"\w+\((.*)\) ->", line)
    if not m:
        return None
    out = []
    for part in re.split(r", (?=\w+:)", m.group(1)):
        if ":" not in part:
            continue
        name, kind = part.split(":", 1)
        kind = kind.split(" = ")[0].rstrip(", *").strip()
        if "ndarray" in kind:
            kind = "array"
        elif kind.startswith("tuple"):
            kind = "pair"
        elif "SupportsFloat" in kind:
            kind = "float"
        elif "SupportsInt" in kind:
            kind = "int"
        out.append((name.strip(), kind))
    return out


@st.composite
def arrays(draw, pool):
    if pool and draw(st.integers(0, 3)) == 0:
        base = draw(st.sampled_from(pool))
        if base.flags.c_contiguous and base.size > 1 and draw(st.booleans()):
            # an overlapping view: the same buffer shifted by a few elements, reshaped
            return base.reshape(-1)[draw(st.integers(1, base.size - 1)):]
        return base  # the same array again: aliasing
    ndim = draw(st.integers(0, 5))
    shape = tuple(draw(st.sampled_from(SIZES)) for _ in range(ndim))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = (rng.normal(size=shape) * 3).astype(dtype)
    if a.dtype.kind == "f" and a.size and draw(st.booleans()):
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    layout = draw(st.sampled_from(["c", "c", "c", "strided", "reversed", "fortran", "readonly"]))
    if layout == "strided" and ndim:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    elif layout == "reversed" and ndim:
        a = a[::-1]
    elif layout == "fortran":
        a = np.asfortranarray(a)
    elif layout == "readonly":
        a.setflags(write=False)
    pool.append(a)
    return a


def argument(draw, kind, pool):
    if kind == "array":
        return draw(arrays(pool))
    if kind == "object":
        return draw(st.one_of(st.none(), arrays(pool), st.sampled_from(INTS)))
    if kind == "int":
        return draw(st.sampled_from(INTS))
    if kind == "float":
        return draw(st.sampled_from(FLOATS))
    if kind == "bool":
        return draw(st.booleans())
    if kind == "pair":
        return (draw(st.sampled_from(INTS)), draw(st.sampled_from(INTS)))
    if kind == "str":
        return draw(st.sampled_from(["relu", "", "max", "sigmoid", "x" * 300]))
    return None


def describe(value):
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, np.ndarray):
        flags = "C" if value.flags.c_contiguous else "view"
        return f"array{value.shape}/{value.dtype}/{flags}"
    return repr(value)


def shares_memory(args):
    arrays = [a for a in args if isinstance(a, np.ndarray) and a.size]
    return any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])


def same_values(a, b):
    if a.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def check_aliased_call(name, fn, args):
    """Runs ``fn`` on arguments whose arrays share memory: it must raise, or write what the
    same call on separate copies writes."""
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    separate = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        aliased_result = fn(*args)
    except Exception:  # noqa: BLE001 - refusing the aliased call is the clean answer
        return
    try:
        separate_result = fn(*separate)
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"{name}: the aliased call ran but the same call on separate "
                             f"copies raised {e!r}") from e
    if isinstance(aliased_result, (float, np.ndarray)) and not same_values(
            np.asarray(aliased_result), np.asarray(separate_result)):
        raise AssertionError(f"{name}: returned {aliased_result!r} on aliased arguments, "
                             f"{separate_result!r} on separate copies")
    for i, (b, s, a) in enumerate(zip(before, separate, args)):
        if isinstance(a, np.ndarray) and not same_values(s, b) and not same_values(a, s):
            raise AssertionError(f"{name}: argument {i} differs between the aliased call and "
                                 f"the call on separate copies (an output overlapped an input "
                                 f"and was not refused)")


def fuzz(name, fn, examples):
    kinds = parameter_kinds(fn)
    if kinds is None:
        return

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        pool = []
        args = [argument(data.draw, kind, pool) for _, kind in kinds]
        print(f"{name}({', '.join(describe(a) for a in args)})", flush=True)
        if shares_memory(args):
            check_aliased_call(name, fn, args)
            return
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - any Python exception is a clean answer
            pass

    run()


def main():
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else int(
        os.environ.get("NNFAST_FUZZ_EXAMPLES", "25"))
    only = sys.argv[2] if len(sys.argv) > 2 else None
    cap = int(os.environ.get("NNFAST_FUZZ_MEMORY_MB", "4096"))
    if cap:  # a huge allocation must fail as MemoryError, not start swapping or the OOM killer
        resource.setrlimit(resource.RLIMIT_AS, (cap << 20, cap << 20))
    from nnfast import _core

    names = [n for n in dir(_core) if not n.startswith("_") and n not in SKIP
             and inspect.isbuiltin(getattr(_core, n))]
    for name in names:
        if only is None or name == only:
            fuzz(name, getattr(_core, name), examples)
    print(f"fuzzed {len(names) if only is None else 1} functions", flush=True)


if __name__ == "__main__":
    main()
