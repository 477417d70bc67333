"""The package's architecture, kept by tests: layers import downwards only, ``import ebmlab``
loads the mathematics only, and no source file grows past one idea."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "ebmlab"

# Each top-level part of the package and its layer; a module may import only from its own layer
# or the layers below it (a lower number).
LAYERS = {
    "runtime": 0,
    "_validation": 0,
    "data": 0,
    "energy": 1,
    "samplers": 1,
    "latent": 2,
    "training": 2,
    "kmeans": 2,
    "sparse": 2,
    "vae": 2,
    "ssl": 2,
    "show": 3,
    "exercises": 4,
    "tools": 5,
    "bench": 5,
}
NAMES = {0: "base", 1: "core", 2: "methods", 3: "show", 4: "teach", 5: "tools"}
MAX_LINES = 400


def _part(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _modules():
    return sorted(
        p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE
    )


def _imported_parts(path: pathlib.Path) -> set[str]:
    """The top-level parts of ``ebmlab`` that ``path`` imports (at any depth of the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE).parent.parts  # the package the file is in, below ebmlab
    parts = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bits = alias.name.split(".")
                if bits[0] == "ebmlab" and len(bits) > 1:
                    parts.add(bits[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                bits = (node.module or "").split(".")
                if bits[0] != "ebmlab":
                    continue
                target = bits[1:]
            else:
                base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
                if node.level - 1 > len(here):
                    raise AssertionError(f"{path}: relative import above the package")
                target = base + (node.module.split(".") if node.module else [])
            if target:
                parts.add(target[0])
            else:  # "from .. import x, y": x and y are the parts
                parts.update(alias.name for alias in node.names)
    return parts


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(p) for p in _modules()}
    assert parts <= set(LAYERS), (
        f"give these a layer in tests/test_layers.py: {parts - set(LAYERS)}"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    mine = LAYERS[_part(path)]
    for other in _imported_parts(path):
        if other not in LAYERS:
            continue
        assert LAYERS[other] <= mine, (
            f"{path.relative_to(PACKAGE)} ({NAMES[mine]}) imports ebmlab.{other} "
            f"({NAMES[LAYERS[other]]}): the mathematics must not depend on the layers above it"
        )


def test_the_methods_do_not_import_each_other_except_where_the_book_builds_on_one():
    allowed: set[tuple[str, str]] = set()
    for path in _modules():
        part = _part(path)
        if LAYERS[part] != 2:
            continue
        for other in _imported_parts(path):
            if other != part and LAYERS.get(other) == 2:
                assert (part, other) in allowed, f"{path.relative_to(PACKAGE)} imports {other}"


def test_the_layer_test_sees_relative_and_absolute_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "ebmlab"
    (pkg / "sparse").mkdir(parents=True)
    f = pkg / "sparse" / "solvers.py"
    f.write_text("from ..show import plot\nfrom .prox import shrink\nimport ebmlab.tools.cli\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert _imported_parts(f) == {"show", "sparse", "tools"}


def test_import_ebmlab_loads_the_mathematics_only():
    code = (
        "import sys, ebmlab; "
        "print(' '.join(m for m in ('matplotlib', 'ipywidgets', 'nbformat', 'nbclient', "
        "'sklearn', 'ebmlab.show', 'ebmlab.exercises', 'ebmlab.tools', 'ebmlab.bench') "
        "if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "", f"import ebmlab loaded: {run.stdout.strip()}"


def test_the_upper_layers_load_on_first_use():
    code = (
        "import ebmlab; ebmlab.show.use_style(); "
        "print(ebmlab.show.frame_slider.__module__, ebmlab.exercises.registry.__module__, "
        "ebmlab.tools.cli.__name__, ebmlab.bench.__name__)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == [
        "ebmlab.show.widgets",
        "ebmlab.exercises",
        "ebmlab.tools.cli",
        "ebmlab.bench",
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_source_file_is_over_400_lines(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {n} lines; split it by idea"
