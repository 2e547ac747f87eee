"""Writes the type stubs of the compiled extension, python/nnfast/_core/__init__.pyi and
python/nnfast/_core/cuda.pyi, from the extension itself with pybind11-stubgen (the field's
generator for pybind11 modules), so every entry point is typed with the argument names and
defaults the binding declares.

    PYTHONPATH=python python3 tools/generate_core_stubs.py          # rewrite the stubs
    PYTHONPATH=python python3 tools/generate_core_stubs.py --check  # exit 1 if they are stale

Run it after adding or changing a binding; tests/test_core_stubs.py fails while the stubs
are stale. (A stub folder beside `_core*.so` does not change what `import nnfast._core`
loads: a folder without `__init__.py` is never preferred over an extension module.)
"""
import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUBS = os.path.join(ROOT, "python", "nnfast", "_core")


def generate(out_dir):
    """Runs pybind11-stubgen on nnfast._core into out_dir; returns the folder of its stubs."""
    subprocess.run([sys.executable, "-m", "pybind11_stubgen", "nnfast._core", "-o", out_dir,
                    "--numpy-array-remove-parameters"], check=True, capture_output=True,
                   text=True)
    return os.path.join(out_dir, "nnfast", "_core")


def signatures(folder):
    """{stub file: [(function, [argument names], [defaults as written])]}: what a stale stub
    gets wrong, without the type spellings that vary between pybind11 versions."""
    found = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        found[name] = [(node.name, [a.arg for a in node.args.args + node.args.kwonlyargs],
                        [ast.unparse(d) for d in node.args.defaults])
                       for node in tree.body if isinstance(node, ast.FunctionDef)]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(tmp)
        names = sorted(os.listdir(fresh))
        if args.check:
            want, have = signatures(fresh), signatures(STUBS)
            if want != have:
                for name in sorted(set(want) | set(have)):
                    new, old = dict((f, a) for f, *a in want.get(name, [])), dict(
                        (f, a) for f, *a in have.get(name, []))
                    for func in sorted(set(new) | set(old)):
                        if new.get(func) != old.get(func):
                            print(f"{name}: {func}: extension {new.get(func)} != stub {old.get(func)}")
                print("stale stubs: run PYTHONPATH=python python3 tools/generate_core_stubs.py")
                return 1
            return 0
        os.makedirs(STUBS, exist_ok=True)
        for name in names:
            shutil.copyfile(os.path.join(fresh, name), os.path.join(STUBS, name))
        print(f"wrote {', '.join(names)} in {os.path.relpath(STUBS, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
