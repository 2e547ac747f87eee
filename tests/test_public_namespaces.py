"""Public nnfast modules hold Keras 3.15's names for the module plus nnfast's documented
extras; helpers imported for the implementation stay private (they would show in
``dir()`` and on the API pages). See tests/fixtures/namespaces/namespaces.py."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures", "namespaces"))
import namespaces  # noqa: E402


def test_no_new_names_leak_into_public_modules():
    pending = namespaces.load_pending()
    leaks = [f"{m}.{n}" for m, names in namespaces.unexpected_names().items() for n in names
             if (m, n) not in pending]
    assert not leaks, ("names in public nnfast modules that Keras 3.15 does not have there: "
                       f"import them under private names or list them in EXTRAS: {leaks}")


def test_pending_list_only_shrinks():
    now = {(m, n) for m, names in namespaces.unexpected_names().items() for n in names}
    stale = sorted(namespaces.load_pending() - now)
    assert not stale, f"these names no longer leak: rewrite pending.txt with namespaces.py: {stale}"


def test_issue_19_leaks_are_gone():
    import nnfast

    for module, names in [(nnfast.random, ("Variable", "convert_to_tensor", "draw_seed",
                                           "get_item", "global_seed_generator", "unique_name",
                                           "check_result_size", "Tensor", "value")),
                          (nnfast.losses, ("value", "Tensor")),
                          (nnfast.regularizers, ("Tensor",)), (nnfast.metrics, ("value",))]:
        assert not [n for n in names if n in dir(module)], module.__name__
    assert sorted(n for n in dir(nnfast.random) if not n.startswith("_") and n != "np") == \
        sorted(nnfast.random.__all__)
