"""MkDocs hook: expands ``<!-- nnfast-api: module [module ...] -->`` in a page into one
mkdocstrings entry per public class and function of those modules, so the API reference
lists every public name without a hand-kept list (a name added to nnfast appears by itself).
"""
import importlib
import inspect
import re

MARKER = re.compile(r"<!-- nnfast-api: ([\w. ]+) -->")


def public_objects(module_name):
    """(qualified name, object) of the public classes and functions a module exports,
    sorted by name; names re-exported from elsewhere are documented where they are used."""
    module = importlib.import_module(module_name)
    found = []
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            found.append((f"{module_name}.{name}", obj))
    return found


def expand(markdown):
    def entries(match):
        seen, lines = set(), []
        for module_name in match.group(1).split():
            for qualname, obj in public_objects(module_name):
                if id(obj) in seen:  # an alias (ops.abs / ops.absolute) is documented once
                    continue
                seen.add(id(obj))
                # The defining module's path: aliases made at import time (pooling's
                # GlobalMaxPool1D) have no static definition under the public name.
                # Objects made inside functions (metric functions built by a factory) are
                # reached by their public name.
                defined = f"{obj.__module__}.{obj.__qualname__}"
                home = importlib.import_module(obj.__module__)
                reachable = "<locals>" not in defined and getattr(
                    home, obj.__qualname__.split(".")[0], None) is not None
                lines.append(f"::: {defined if reachable else qualname}\n")
        return "\n".join(lines)

    return MARKER.sub(entries, markdown)


def on_page_markdown(markdown, page, config, files, **kwargs):
    return expand(markdown)
