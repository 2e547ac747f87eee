"""Griffe extension for the API reference: nnfast's docstrings head their examples
``Example:`` (singular), which griffe's Google parser reads as an admonition whose ``>>>``
lines render as Markdown block quotes. This turns the heading into ``Examples:``, the
section griffe parses into highlighted code blocks (and whose output lines Markdown then
cannot mistake for link references)."""
import re

import griffe

_HEADING = re.compile(r"^(\s*)Example:[ \t]*$", re.M)


class ExampleSections(griffe.Extension):
    """Rewrites ``Example:`` section headings to ``Examples:`` before griffe parses them."""

    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and "Example:" in obj.docstring.value:
            obj.docstring.value = _HEADING.sub(r"\1Examples:", obj.docstring.value)
