"""Every exercise of every chapter: the reference passes its check, the stub is '⏳ todo', wrong
answers fail; the chapter notebook's own solution passes; so exercises, checks and solutions
cannot drift apart.

The notebook half reads the committed outputs of the check cells. They are the outputs of the
solution cells: `pytest --nbval` (in the README's test command) re-executes every chapter and
fails if any output changed, so a ✅ stored here is a ✅ the code produces today.
"""

import pathlib
import re

import numpy as np
import pytest
import torch

from ebmlab.exercises import CheckResult, Exercise, registry
from ebmlab.tools.assign import CHAPTER_GLOB, exercise_map

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXERCISES = [
    pytest.param(chapter, name, ex, id=f"{chapter}-{name}")
    for chapter, exercises in registry().items()
    for name, ex in exercises.items()
]
NOTEBOOKS = sorted((ROOT / "book").glob(CHAPTER_GLOB))


def _zeros_like(value):
    """Zeros with the structure and shapes of ``value``; ``None`` where that has no meaning."""
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(value)
    if isinstance(value, np.ndarray):
        return np.zeros_like(value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return type(value)(0)
    if isinstance(value, (tuple, list)):
        return type(value)(_zeros_like(v) for v in value)
    if isinstance(value, dict):
        return {k: _zeros_like(v) for k, v in value.items()}
    return None


def test_registry_is_not_empty_and_well_formed():
    chapters = registry()
    assert "ch02" in chapters
    for chapter, exercises in chapters.items():
        assert re.fullmatch(r"ch\d\d", chapter)
        assert len(exercises) >= 3, f"{chapter} has fewer than three exercises"
        for name, ex in exercises.items():
            assert isinstance(ex, Exercise) and re.fullmatch(r"[a-z_][a-z0-9_]*", name)
            assert ex.difficulty in ("easy", "medium", "hard"), (chapter, name)
            assert isinstance(ex.minutes, int) and 0 < ex.minutes <= 120, (chapter, name)
            assert len(ex.objective) > 10 and callable(ex.check) and callable(ex.reference)


@pytest.mark.parametrize(("chapter", "name", "ex"), EXERCISES)
def test_reference_passes_and_prints_one_line(chapter, name, ex, capsys):
    result = ex.check(ex.reference)
    out = capsys.readouterr().out
    assert isinstance(result, CheckResult)
    assert result.status == "pass" and result and result.passed == result.total > 0, result.message
    assert out.startswith("✅") and out.count("\n") == 1
    assert ex.check(ex.reference, quiet=True).status == "pass"
    assert capsys.readouterr().out == "", "quiet=True must print nothing"


@pytest.mark.parametrize(("chapter", "name", "ex"), EXERCISES)
def test_stub_is_todo(chapter, name, ex, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    result = ex.check(stub)
    assert result.status == "todo" and not result
    assert capsys.readouterr().out.startswith("⏳")


@pytest.mark.parametrize(("chapter", "name", "ex"), EXERCISES)
def test_wrong_answers_fail_with_a_message(chapter, name, ex, capsys):
    def returns_none(*args, **kwargs):
        return None

    def returns_zeros(*args, **kwargs):  # the right structure and shapes, the wrong values
        return _zeros_like(ex.reference(*args, **kwargs))

    def raises(*args, **kwargs):
        raise RuntimeError("a bug in the learner's code")

    for wrong in (returns_none, returns_zeros, raises):
        result = ex.check(wrong)
        out = capsys.readouterr().out
        assert result.status in ("fail", "error") and not result, (wrong.__name__, result)
        assert out.startswith("❌") and result.message.startswith("❌"), wrong.__name__
    assert "RuntimeError" in ex.check(raises, quiet=True).message


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebooks_solutions_pass_their_checks(notebook):
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    mapping = exercise_map(nb)
    chapter = f"ch{notebook.name[:2]}"
    assert mapping["chapter"] == chapter
    assert set(mapping["exercises"]) == set(registry()[chapter]), (
        "every exercise of the chapter's checks needs a check cell in the notebook"
    )
    cells = nb.cells
    for name, function in mapping["exercises"].items():
        check = next(
            i
            for i, c in enumerate(cells)
            if c.cell_type == "code" and re.search(rf"\.check_\w+\(\s*{function}\b", c.source)
        )
        defines = [
            set(c.metadata.get("tags", []))
            for c in cells[:check]
            if c.cell_type == "code" and re.search(rf"^def {function}\(", c.source, re.M)
        ]
        assert {"exercise-stub"} <= set().union(*defines), f"{name}: no stub before its check"
        assert defines and "solution" in defines[-1], f"{name}: the solution must come last"
        text = "".join(o.get("text", "") for o in cells[check].outputs)
        assert text.startswith("✅"), f"{name}: the check cell's stored output is {text!r}"
