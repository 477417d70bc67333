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
    "base": 0,
    "optim": 1,
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


def _from_target(node: ast.ImportFrom, here: tuple[str, ...], path) -> list[str] | None:
    """The dotted module path below ``ebmlab`` that a ``from ... import`` reads from, as a list
    (empty for ``from .. import x``), or ``None`` when it imports from outside the package."""
    if node.level == 0:
        bits = (node.module or "").split(".")
        return bits[1:] if bits[0] == "ebmlab" else None
    if node.level - 1 > len(here):
        raise AssertionError(f"{path}: relative import above the package")
    base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
    return base + (node.module.split(".") if node.module else [])


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
            target = _from_target(node, here, path)
            if target is None:
                continue
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


# --------------------------------------------------------------------------- private names


def _private_imports(path: pathlib.Path) -> list[tuple[str, str]]:
    """(part, name) for each private name ``path`` imports from another part of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE).parent.parts
    mine = _part(path)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        target = _from_target(node, here, path)
        if target is None:
            continue
        names = [a.name for a in node.names]
        if not target:  # "from .. import _x": _x is itself a part
            target = names[:1]
        if target[0] == mine:
            continue
        shared = {"_validation"}  # the base layer's private helpers are shared by design
        if target[0] in shared:
            continue
        for mod in target[1:]:
            if mod.startswith("_"):
                found.append((target[0], ".".join(target)))
        for name in names:
            if name.startswith("_") and not name.startswith("__"):
                found.append((target[0], name))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_used_across_packages(path):
    found = _private_imports(path)
    assert not found, (
        f"{path.relative_to(PACKAGE)} imports private names of other packages: {found}; make "
        "them public there, or move the shared helper down to the base layer"
    )


def test_the_private_name_rule_sees_relative_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "ebmlab"
    (pkg / "training").mkdir(parents=True)
    f = pkg / "training" / "fit.py"
    f.write_text(
        "from ..samplers import _check_bounds, langevin\nfrom .._validation import as_tensor\n"
        "from .losses import _helper\nfrom ..samplers._common import Samples\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert _private_imports(f) == [("samplers", "_check_bounds"), ("samplers", "samplers._common")]


# --------------------------------------------------------------------------- small signatures

MAX_PARAMS = 8


def _public_functions():
    """Every public function and public method of the package, read with ``ast``."""
    for path in _modules():
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path, node.name, node
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        if item.name == "__init__" or not item.name.startswith("_"):
                            yield path, f"{node.name}.{item.name}", item


def _n_params(node) -> int:
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    return len([n for n in names if n not in ("self", "cls")])


def test_no_public_function_takes_more_than_8_parameters():
    over = [
        f"{path.relative_to(PACKAGE)}:{name} ({_n_params(node)})"
        for path, name, node in _public_functions()
        if not name.split(".")[-1].startswith("_") or name.endswith("__init__")
        if _n_params(node) > MAX_PARAMS
    ]
    assert not over, f"more than {MAX_PARAMS} parameters (group them in a config dataclass): {over}"


# --------------------------------------------------------------------------- written once

BLOCK = 6


def _code_lines(path: pathlib.Path) -> list[tuple[int, str]]:
    """The file's lines of code, stripped, without blank lines, comments, docstrings, function
    signatures and the ``__all__`` / import lists (names listed twice are not code written
    twice)."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                skip.update(range(body[0].lineno, body[0].end_lineno + 1))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            skip.update(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # the signature: the
            skip.update(range(node.lineno, node.body[0].lineno))  # 8-parameter rule keeps it
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            skip.update(range(node.lineno, node.end_lineno + 1))
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if i in skip or not s or s.startswith("#"):
            continue
        out.append((i, s))
    return out


def _repeated_blocks(paths) -> list[str]:
    seen: dict[tuple[str, ...], str] = {}
    repeats = []
    for path in paths:
        lines = _code_lines(path)
        last_hit = -BLOCK
        for k in range(len(lines) - BLOCK + 1):
            window = tuple(s for _, s in lines[k : k + BLOCK])
            if sum(len(s) for s in window) < 120:  # closing brackets and one-word lines
                continue
            where = f"{path.relative_to(PACKAGE)}:{lines[k][0]}"
            if window not in seen:
                seen[window] = where
            elif k - last_hit >= BLOCK:  # one report per repeated stretch
                repeats.append(f"{where} repeats {seen[window]}")
                last_hit = k
    return repeats


def test_no_block_of_six_lines_is_written_twice():
    repeats = _repeated_blocks(_modules())
    assert not repeats, (
        f"{len(repeats)} blocks of {BLOCK}+ lines are written twice; share one helper: "
        + "; ".join(repeats)
    )


def test_the_repeat_finder_sees_a_copied_block(tmp_path, monkeypatch):
    pkg = tmp_path / "ebmlab"
    pkg.mkdir()
    body = "".join(
        f"    value_{i} = compute_something(value_{i - 1}, factor={i})\n" for i in range(8)
    )
    (pkg / "a.py").write_text("def f():\n" + body)
    (pkg / "b.py").write_text('def g():\n    """Doc."""\n    # a comment\n' + body)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert _repeated_blocks([pkg / "a.py", pkg / "b.py"]) == ["b.py:4 repeats a.py:2"]
