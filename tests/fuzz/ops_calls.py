"""Property-based fuzzing of every public ``nnfast.ops`` function (issue 14), run as a child
process by tests/test_fuzz_core.py like core_calls.py.

Each op's required parameters get drawn values (arrays of every dtype and small shared sizes,
0-d arrays, Python scalars, NaN/inf, views), and ``axis`` sometimes a drawn axis; the rest keep
their defaults. Ops that take callables (control flow) are left out: a drawn loop bound could
legitimately run for ever. Any Python exception is a clean answer; a crash or hang is not.

Usage: python tests/fuzz/ops_calls.py [examples per op] [only-this-op]
"""
import inspect
import os
import resource
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from core_calls import INTS, arrays, describe  # noqa: E402

CALLABLE_PARAMS = {"f", "fn", "body", "cond", "true_fn", "false_fn", "branches", "loop_fn",
                   "function", "grad_fn", "map_fn"}
SKIP = {"custom_gradient"}  # a decorator: takes the function to wrap


def fuzz(name, fn, examples):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    params = list(sig.parameters.values())
    if any(p.name in CALLABLE_PARAMS for p in params):
        return
    required = [p for p in params if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_axis = "axis" in sig.parameters

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        pool = []
        args = []
        for p in required:
            kind = data.draw(st.sampled_from(["array", "array", "array", "int", "float", "list"]))
            if kind == "array":
                args.append(data.draw(arrays(pool)))
            elif kind == "int":
                args.append(data.draw(st.sampled_from(INTS)))
            elif kind == "float":
                args.append(data.draw(st.sampled_from([0.5, float("nan"), -2.0])))
            else:
                args.append([data.draw(arrays(pool)), data.draw(arrays(pool))])
        kwargs = {}
        if has_axis and data.draw(st.booleans()):
            kwargs["axis"] = data.draw(st.sampled_from([0, 1, -1, 3, -5, None, (0, 1)]))
        print(f"{name}({', '.join(describe(a) for a in args)}, {kwargs})", flush=True)
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - any Python exception is a clean answer
            pass

    run()


def public_ops():
    import nnfast.ops as ops

    seen = {}
    for module in (ops, getattr(ops, "nn", None), getattr(ops, "image", None),
                   getattr(ops, "linalg", None), getattr(ops, "numpy", None)):
        if module is None:
            continue
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith("_") or name in SKIP or not callable(fn) or inspect.isclass(fn) \
                    or inspect.ismodule(fn):
                continue
            seen.setdefault(f"{module.__name__}.{name}", fn)
    return seen


def main():
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else int(
        os.environ.get("NNFAST_FUZZ_EXAMPLES", "25"))
    only = sys.argv[2] if len(sys.argv) > 2 else None
    cap = int(os.environ.get("NNFAST_FUZZ_MEMORY_MB", "4096"))
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap << 20, cap << 20))
    names = public_ops()
    for name, fn in names.items():
        if only is None or name.endswith("." + only):
            fuzz(name, fn, examples)
    print(f"fuzzed {len(names)} ops", flush=True)


if __name__ == "__main__":
    main()
