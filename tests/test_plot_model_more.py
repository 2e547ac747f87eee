"""model_to_dot / plot_model against Keras 3.15's graphs
(tests/fixtures/modules/make_model_dot.py). Skipped without pydot (optional dependency)."""
import json
import os
import re
import shutil

import pytest

import nnfast as keras

pydot = pytest.importorskip("pydot")
FIX = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "modules",
                                  "model_dot.json")))


def _models(k):
    seq = k.Sequential([k.Input((4,)), k.layers.Dense(3, name="d1"),
                        k.layers.Dense(2, name="d2")], name="seq")
    inp = k.Input((4,), name="inp")
    a = k.layers.Dense(3, activation="relu", name="a")(inp)
    b = k.layers.Dense(3, name="b")(inp)
    c = k.layers.Add(name="add")([a, b])
    func = k.Model(inp, k.layers.Dense(1, name="out")(c), name="func")
    inner = k.Sequential([k.Input((3,)), k.layers.Dense(5, name="i1"),
                          k.layers.Dense(2, name="i2")], name="inner")
    inp2 = k.Input((4,), name="inp2")
    h = k.layers.Dense(3, name="pre")(inp2)
    nested = k.Model(inp2, k.layers.Dense(1, name="post")(inner(h)), name="nested")
    return {"seq": seq, "func": func, "nested": nested}


def _describe(dot):
    names = {}

    def walk(g):
        for n in g.get_nodes():
            m = re.search(r"<b>([^<]+)</b>", n.get("label") or "")
            if m:
                names[n.get_name()] = m.group(1)
        for sub in g.get_subgraphs():
            walk(sub)

    walk(dot)
    edges = []

    def walk_edges(g):
        for e in g.get_edges():
            edges.append([names.get(e.get_source()), names.get(e.get_destination())])
        for sub in g.get_subgraphs():
            walk_edges(sub)

    walk_edges(dot)
    return {"nodes": sorted(names.values()), "edges": sorted(edges)}


@pytest.mark.parametrize("name", ["seq", "func", "nested"])
def test_model_to_dot_matches_keras(name):
    model = _models(keras)[name]
    assert _describe(keras.utils.model_to_dot(model)) == FIX[name]
    assert _describe(keras.utils.model_to_dot(model, expand_nested=True)) == FIX[name + "/nested"]
    labels = [n.get("label") for n in keras.utils.model_to_dot(model, show_shapes=True)
              .get_nodes() if "<b>" in (n.get("label") or "")]
    assert labels[:1] == FIX[name + "/shapes_label"]


def test_model_to_dot_errors_and_subclassed_model():
    with pytest.raises(ValueError, match="not yet been built"):
        keras.utils.model_to_dot(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="layer_range"):
        keras.utils.model_to_dot(_models(keras)["seq"], layer_range=["d1", "d2"])


def test_plot_model_writes_a_file_or_says_graphviz_is_missing(tmp_path):
    model = _models(keras)["func"]
    path = str(tmp_path / "m.dot")
    if shutil.which("dot") is None:
        with pytest.raises(ImportError, match="graphviz"):
            keras.utils.plot_model(model, path)
    else:
        keras.utils.plot_model(model, path, show_shapes=True)
        assert "digraph" in open(path).read()
