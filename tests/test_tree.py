"""nnfast.tree against keras.tree: every case of fixtures/tree/cases.py gives the answer
Keras 3.15 gave (fixtures/tree/tree_cases.json, written by make_tree_cases.py)."""
import json
import os
import sys

import nnfast
import numpy as np
import pytest
from nnfast import tree

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "tree")
sys.path.insert(0, HERE)
from cases import CASES

with open(os.path.join(HERE, "tree_cases.json")) as f:
    EXPECTED = json.load(f)


def run(case):
    try:
        return repr(case(tree))
    except Exception as e:  # noqa: BLE001 - the exception's class is the answer
        return f"raises {type(e).__name__}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_keras(name):
    assert run(CASES[name]) == EXPECTED[name]


def test_fixture_covers_every_case():
    assert set(EXPECTED) == set(CASES)


def test_tensors_and_arrays_are_leaves():
    t = nnfast.ops.ones((2,))
    a = np.zeros(3)
    flat = tree.flatten({"t": t, "a": [a]})
    assert len(flat) == 2 and flat[0] is a and flat[1] is t
    doubled = tree.map_structure(lambda x: x * 2, {"t": t})
    np.testing.assert_array_equal(np.asarray(doubled["t"]), [2.0, 2.0])
