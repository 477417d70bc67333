"""Structure of the book: every chapter is where the TOC says, executed, installable in Colab,
free of errors and warnings, and has graded exercises; the API appendix covers the package."""

import importlib
import inspect
import json
import pathlib
import re

import pytest
import yaml

import ebmlab

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def toc_files():
    files = []
    for part in TOC.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


CHAPTERS = [f for f in toc_files() if re.fullmatch(r"book/\d\d_\w+", f)]


def load(chapter):
    return json.loads((ROOT / f"{chapter}.ipynb").read_text())


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def test_toc_files_exist_and_chapters_are_in_lecture_order():
    for f in toc_files():
        assert any((ROOT / (f + ext)).exists() for ext in (".md", ".ipynb")), f
    numbers = [int(pathlib.Path(c).name[:2]) for c in CHAPTERS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert CHAPTERS, "no chapter in _toc.yml"


def test_every_chapter_notebook_is_in_the_toc():
    on_disk = {f"book/{p.stem}" for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb")}
    assert on_disk == set(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_opens_with_title_objectives_and_colab_install_cell(chapter):
    nb = load(chapter)
    first = "".join(nb["cells"][0]["source"])
    assert re.match(rf"# {int(pathlib.Path(chapter).name[:2])}\. ", first), "title '# N. ...'"
    assert "Learning objectives" in first
    install = code_cells(nb)[0]
    assert "remove-cell" in tags(install)
    src = "".join(install["source"])
    assert 'if "google.colab" in sys.modules:' in src
    # the repository URL is set in ONE place (_config.yml); the install cell must agree with it
    assert re.search(rf'(?m)^\s+%pip install --quiet "ebmlab @ git\+{re.escape(REPO_URL)}"$', src)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_is_executed_top_to_bottom_without_errors_or_warnings(chapter):
    nb = load(chapter)
    counts = []
    for cell in code_cells(nb):
        if "remove-cell" in tags(cell):
            continue
        assert cell["execution_count"] is not None, "a code cell was never executed"
        counts.append(cell["execution_count"])
        for out in cell["outputs"]:
            assert out["output_type"] != "error", "".join(cell["source"])[:80]
            if out["output_type"] == "stream":
                assert out["name"] != "stderr", f"stderr output: {''.join(out['text'])[:200]}"
            text = json.dumps(out.get("data", {}).get("text/plain", ""))
            assert "Warning" not in text and "Traceback" not in text
    assert counts == sorted(counts), "cells were executed out of order"
    assert "widgets" in nb["metadata"] or "frame_slider" not in json.dumps(nb)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_seeds_before_randomness(chapter):
    nb = load(chapter)
    setup = [c for c in code_cells(nb) if "remove-cell" not in tags(c)][0]
    assert "ebmlab.seed_everything(0)" in "".join(setup["source"])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_three_graded_exercises_with_hidden_solutions(chapter):
    nb = load(chapter)
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", md)
    assert len(labels) >= 3, f"{chapter} has {len(labels)} exercises"
    for label in labels:
        assert re.search(rf"```\{{solution-start\}} {re.escape(label)}\n:class: dropdown", md), (
            label
        )
    stubs = [c for c in code_cells(nb) if "exercise-stub" in tags(c)]
    solutions = [c for c in code_cells(nb) if "solution" in tags(c)]
    assert len(stubs) >= len(labels) and len(solutions) >= len(labels)
    for stub in stubs:
        assert "raise NotImplementedError" in "".join(stub["source"])
    passed = [
        c for c in code_cells(nb) if any("✅" in "".join(o.get("text", "")) for o in c["outputs"])
    ]
    assert len(passed) >= len(labels), "every exercise's check must pass in the book"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_ignored_outputs_say_why(chapter):
    for cell in code_cells(load(chapter)):
        if "nbval-ignore-output" in tags(cell):
            assert re.search(r"#\s*nbval-ignore-output:\s*\S+", "".join(cell["source"])), (
                "a cell tagged nbval-ignore-output needs a '# nbval-ignore-output: <reason>' comment"
            )


def public_modules():
    return sorted(
        name
        for name in ebmlab.__all__
        if inspect.ismodule(getattr(ebmlab, name)) and hasattr(getattr(ebmlab, name), "__all__")
    )


def test_api_appendix_documents_every_public_module():
    api = (ROOT / "book" / "api.md").read_text()
    for name in public_modules():
        assert f".. automodule:: ebmlab.{name}\n" in api, name
    for mod in ebmlab.exercises.registry():
        assert f".. automodule:: ebmlab.exercises.{mod}\n" in api, mod


def test_every_public_function_and_class_has_a_docstring():
    missing = []
    for modname in public_modules():
        module = importlib.import_module(f"ebmlab.{modname}")
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and len(
                inspect.getdoc(obj) or ""
            ) < 20:
                missing.append(f"{modname}.{name}")
    assert not missing, missing


def test_top_level_all_is_consistent():
    for name in ebmlab.__all__:
        assert hasattr(ebmlab, name), name
    assert len(set(ebmlab.__all__)) == len(ebmlab.__all__)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert command, "README.md must mark its test command with <!-- test-command -->"
    assert command.group(1).strip() in ci.splitlines()


def test_status_page_lists_every_chapter_with_its_stored_timing():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import status_page

    timings = json.loads((ROOT / "book" / "_timings.json").read_text())
    page = (ROOT / "book" / "status.md").read_text()
    for chapter in CHAPTERS:
        name = pathlib.Path(chapter).name + ".ipynb"
        assert name in timings, f"{name} has no stored timing: run make refresh"
        assert timings[name] <= status_page.BUDGET_S, f"{name} is over its budget"
    table = [
        line for line in status_page.render(timings, "").splitlines() if line.startswith("| [")
    ]
    expected = [row for row in table if any(pathlib.Path(c).name + "]" in row for c in CHAPTERS)]
    actual = [line for line in page.splitlines() if line.startswith("| [")]
    assert actual == expected, "book/status.md is stale: run `python tools/status_page.py`"
