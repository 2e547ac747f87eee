"""The documentation site (docs/, mkdocs.yml): the code examples of its pages run."""
import os
import re
import subprocess
import sys

import pytest
from conftest import child_pythonpath

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
PAGES = sorted(os.path.relpath(os.path.join(d, f), DOCS)
               for d, _, files in os.walk(DOCS) for f in files if f.endswith(".md"))


def python_blocks(page):
    with open(os.path.join(DOCS, page), encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.S | re.M)


def child_env():
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=child_pythonpath())


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)])
def test_page_examples_run(page, tmp_path):
    """A page's ```python blocks run in order, as one script, in an empty folder."""
    script = "\n\n".join(python_blocks(page))
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=child_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{page}:\n{proc.stderr[-3000:]}"


def _slug(heading):
    """A heading's anchor as MkDocs (Python-Markdown's toc) makes it."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_readme_links_reach_files_and_headings():
    """The README points into the docs site: every relative link names a file that exists
    and, with an anchor, a heading of that page."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        links = re.findall(r"\]\(([^)\s]+)\)", f.read())
    assert any(link.startswith("docs/") for link in links)
    broken = []
    for link in links:
        if re.match(r"[a-z]+://", link):
            continue
        path, _, anchor = link.partition("#")
        target = os.path.join(ROOT, path)
        if not os.path.exists(target):
            broken.append(link)
        elif anchor:
            with open(target, encoding="utf-8") as f:
                headings = re.findall(r"^#+ (.+)$", f.read(), flags=re.M)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(link)
    assert broken == []
