"""Coverage of the Keras 3.15 public API: every in-scope name of
fixtures/api_coverage/keras3_api.tsv resolves on nnfast with a compatible signature, or is
listed in fixtures/api_coverage/pending.txt (which may only shrink: a listed name that is now
covered fails too). The rule is in fixtures/api_coverage/coverage.py; regenerate pending.txt
and see per-module coverage with

    PYTHONPATH=python python3 tests/fixtures/api_coverage/update_pending.py --summary
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures", "api_coverage"))
import coverage

OPS_CORE = ["associative_scan", "cast", "cdist", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "fori_loop", "ifft2", "in_top_k", "irfft", "is_tensor", "istft", "logdet", "logsumexp", "map", "rearrange", "rfft", "rsqrt", "saturate_cast", "scan", "scatter", "scatter_update", "segment_max", "segment_min", "segment_prod", "segment_sum", "shape", "slice", "slice_update", "stft", "stop_gradient", "switch", "top_k", "unstack", "vectorized_map", "view_as_complex", "view_as_real", "while_loop"]


@pytest.fixture(scope="module")
def survey():
    return coverage.survey()


def test_uncovered_names_are_exactly_the_pending_ones(survey):
    pending = coverage.load_pending()
    uncovered = {name: reason for name, _, reason in survey if reason is not None}
    new_gaps = sorted(f"{n}: {r}" for n, r in uncovered.items() if n not in pending)
    now_covered = sorted(n for n in pending if n not in uncovered)
    assert not new_gaps, "not covered and not in pending.txt:\n" + "\n".join(new_gaps)
    assert not now_covered, ("covered now; remove from pending.txt (update_pending.py):\n"
                             + "\n".join(now_covered))


def test_exclusions_have_reasons_and_match_names():
    names = [row[0] for row in coverage.load_api()]
    for entry, reason in coverage.load_exclusions().items():
        assert reason.strip(), entry
        assert any(n == entry or (entry.endswith(".") and n.startswith(entry)) for n in names), \
            f"exclusion {entry} matches no Keras name"
    assert not any(n.startswith("keras.ops") or n.startswith("keras.random")
                   or n.startswith("keras.tree")
                   for n in names if coverage.excluded(n, coverage.load_exclusions()))


def test_core_ops_random_and_tree_fully_covered(survey):
    status = {name: reason for name, _, reason in survey}
    wanted = [f"keras.ops.{n}" for n in OPS_CORE]
    wanted += [n for n in status if n.startswith(("keras.random.", "keras.tree."))]
    assert len(wanted) == 46 + 11 + 12
    assert {n: status[n] for n in wanted if status[n] is not None} == {}


# --- the signature rule itself ------------------------------------------------------------------


def f_ok(x, axis=None, keepdims=False, extra=1):
    return x


def f_renamed(inputs, axis=None, keepdims=False):
    return inputs


def f_reordered(x, keepdims=False, axis=None):
    return x


def f_default(x, axis=-1, keepdims=False):
    return x


def f_extra_required(x, axis=None, keepdims=False, *, scale):
    return x


def f_kwargs_only(x, **kwargs):
    return x


class C:
    def __init__(self, units, activation=None, **kwargs):
        pass


@pytest.mark.parametrize("obj,kind,signature,problem", [
    (f_ok, "function", "(x, axis=None, keepdims=False)", None),
    (f_renamed, "function", "(x, axis=None, keepdims=False)", "no parameter 'x'"),
    (f_reordered, "function", "(x, axis=None, keepdims=False)", "positional order"),
    (f_default, "function", "(x, axis=None, keepdims=False)", "default of 'axis'"),
    (f_extra_required, "function", "(x, axis=None, keepdims=False)", "extra required"),
    (f_kwargs_only, "function", "(x, axis=None)", "no parameter 'axis'"),
    (f_ok, "function", "(x, *, axis=None)", None),
    (f_ok, "function", "(x, *args)", "no *args"),
    (C, "class", "(units, activation=None, **kwargs)", None),
    (C, "class", "(units, activation=None, use_bias=True, **kwargs)", "no parameter 'use_bias'"),
])
def test_signature_rule(obj, kind, signature, problem):
    got = coverage.signature_problem(obj, kind, signature)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got


def test_resolution_kinds():
    assert coverage.status("keras.ops.scan", "function", "(f, init, xs=None, length=None, "
                           "reverse=False, unroll=1)") is None
    assert coverage.status("keras.ops.no_such_op", "function", "(x)") == "missing"
    assert coverage.status("keras.random.SeedGenerator", "function", "(seed=None)") is None
    assert coverage.status("keras.ops.scan", "class", "(f)") == "not a class"
