"""`ebmlab assign`: student notebooks keep the stubs, checks and Colab install cell and lose every
trace of the solutions; the output is byte-for-byte reproducible; a student's notebook runs."""

import pathlib
import re
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ebmlab.exercises import registry
from ebmlab.tools import assign
from ebmlab.tools.cli import main
from ebmlab.tools.grade import grade_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob(assign.CHAPTER_GLOB))
PAGE = ROOT / "book" / "instructors.md"


def tags(cell):
    return cell.metadata.get("tags", [])


@pytest.fixture(scope="module")
def assigned(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    assert main(["assign", str(ROOT / "book"), "-o", str(out)]) == 0
    return out


def _solution_lines(nb):
    """Lines that only the solutions hold: solution code and the text that explains it."""
    kept = set()
    for cell in nb.cells:
        if "solution" not in tags(cell) and "{solution-start}" not in cell.source:
            kept |= {ln.strip() for ln in cell.source.splitlines()}
    lines = set()
    for cell in nb.cells:
        if "solution" in tags(cell):
            lines |= {ln.strip() for ln in cell.source.splitlines()}
        elif "{solution-start}" in cell.source:  # the explanation after the directive
            body = cell.source.split("{solution-start}", 1)[1].splitlines()[1:]
            lines |= {ln.strip() for ln in body if not ln.startswith((":", "```"))}
    return {ln for ln in lines - kept if len(ln) > 3 and not ln.startswith("#")}


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_has_no_solution_text(assigned, chapter):
    original = nbformat.read(chapter, as_version=4)
    student = nbformat.read(assigned / "student" / chapter.name, as_version=4)
    secret = _solution_lines(original)
    assert secret, "the chapter has solutions to remove"
    text = "\n".join(c.source for c in student.cells)
    leaked = secret & {ln.strip() for ln in text.splitlines()}
    assert not leaked, f"solution lines in the student notebook: {sorted(leaked)[:5]}"
    assert "solution-start" not in text and "solution-end" not in text
    assert not [c for c in student.cells if "solution" in tags(c)]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_keeps_stubs_checks_and_install_cell_without_outputs(assigned, chapter):
    original = nbformat.read(chapter, as_version=4)
    student = nbformat.read(assigned / "student" / chapter.name, as_version=4)
    kept = [c.source for c in student.cells]
    for cell in original.cells:
        if "exercise-stub" in tags(cell) or "remove-cell" in tags(cell):
            assert cell.source in kept
    install = [c for c in student.cells if c.cell_type == "code"][0]
    assert "remove-cell" in tags(install) and "google.colab" in install.source
    mapping = student.metadata["ebmlab"]
    name = f"ch{chapter.name[:2]}"
    assert mapping["chapter"] == name
    assert set(mapping["exercises"]) == set(registry()[name]), "an exercise has no check cell"
    for exercise, function in mapping["exercises"].items():
        assert any(re.search(rf"\.check_\w+\(\s*{function}\b", s) for s in kept), exercise
        assert any(re.match(rf"def {function}\(", s) for s in kept), f"no stub for {exercise}"
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert "execution" not in cell.metadata
    assert "widgets" not in student.metadata
    nbformat.validate(student)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_instructor_copy_is_the_full_chapter_with_outputs(assigned, chapter):
    original = nbformat.read(chapter, as_version=4)
    teacher = nbformat.read(assigned / "instructor" / chapter.name, as_version=4)
    assert [c.source for c in teacher.cells] == [c.source for c in original.cells]
    assert [c.get("outputs") for c in teacher.cells] == [c.get("outputs") for c in original.cells]
    assert teacher.metadata["ebmlab"]["chapter"] == f"ch{chapter.name[:2]}"


def test_assign_is_deterministic(assigned, tmp_path):
    again = assign.assign([ROOT / "book"], tmp_path)
    assert len(again) == len(CHAPTERS)
    for a in again:
        for kind, path in [("student", a.student), ("instructor", a.instructor)]:
            assert path.read_bytes() == (assigned / kind / path.name).read_bytes(), path


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_runs_and_every_check_says_todo(assigned, chapter):
    """Executed as a student gets it: no error before the first stub, every exercise '⏳'."""
    path = assigned / "student" / chapter.name
    rows = grade_notebook(path, timeout=300)
    assert {r.exercise: r.status for r in rows} == dict.fromkeys(
        registry()[f"ch{chapter.name[:2]}"], "todo"
    )
    student = nbformat.read(path, as_version=4)
    first_stub = next(i for i, c in enumerate(student.cells) if "exercise-stub" in tags(c))
    for note in filter(None, rows[0].notes.split("; ")):
        cell = int(re.match(r"cell (\d+):", note).group(1))
        assert cell > first_stub + 1, f"a student's notebook fails before the exercises: {note}"


# -- the stripping rules, on small notebooks ----------------------------------------------------


def _exercise(start="```{solution-start} ex-x\n:class: dropdown\n```\nWhy it works.", end=None):
    return [
        new_markdown_cell("```{exercise} Double\n:label: ex-x\nWrite `my_double(x)`.\n```"),
        new_code_cell(
            "def my_double(x):\n    raise NotImplementedError", metadata={"tags": ["exercise-stub"]}
        ),
        new_markdown_cell(start),
        new_markdown_cell("More explanation of the solution."),
        new_code_cell(
            "def my_double(x):\n    return 2 * x  # SECRET", metadata={"tags": ["solution"]}
        ),
        new_markdown_cell(end or "```{solution-end}\n```"),
        new_code_cell("ch02.check_gibbs(my_double);"),
    ]


def _sources(nb):
    return [c.source for c in nb.cells]


def test_everything_between_solution_start_and_end_goes():
    nb = new_notebook(cells=_exercise())
    out = _sources(assign.student_notebook(nb))
    assert out == [nb.cells[0].source, nb.cells[1].source, "ch02.check_gibbs(my_double);"]
    assert assign.student_notebook(nb).metadata["ebmlab"] == {
        "chapter": "ch02",
        "exercises": {"gibbs": "my_double"},
    }
    assert len(nb.cells) == 7, "the input is not modified"


def test_text_outside_the_directives_stays():
    nb = new_notebook(
        cells=_exercise(
            start="Try it first.\n\n```{solution-start} ex-x\n:class: dropdown\n```\nWhy.",
            end="```{solution-end}\n```\nNext we look at the energy.",
        )
    )
    out = _sources(assign.student_notebook(nb))
    assert "Try it first." in out and "Next we look at the energy." in out
    assert not any("Why." in s or "SECRET" in s for s in out)


def test_colon_fences_solution_blocks_and_stray_solution_cells_go():
    nb = new_notebook(
        cells=[
            new_markdown_cell(":::{solution-start} ex-x\n:::\nExplained."),
            new_code_cell("SECRET = 1", metadata={"tags": ["solution"]}),
            new_markdown_cell(":::{solution-end}\n:::"),
            new_markdown_cell(
                "Keep.\n\n````{solution} ex-y\n```python\nSECRET\n```\n````\nKeep too."
            ),
            new_code_cell("SECRET = 2", metadata={"tags": ["solution"]}),
        ]
    )
    out = "\n".join(_sources(assign.student_notebook(nb)))
    assert "SECRET" not in out and "Explained" not in out
    assert "Keep." in out and "Keep too." in out


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        ([new_markdown_cell("```{solution-start} a\n```")], "never closed"),
        ([new_markdown_cell("```{solution-end}\n```")], "without"),
        (
            [
                new_markdown_cell("```{solution-start} a\n```"),
                new_code_cell("ch02.check_gibbs(f)"),
                new_markdown_cell("```{solution-end}\n```"),
            ],
            "inside the solution",
        ),
        (
            [
                new_markdown_cell("```{solution-start} a\n```"),
                new_markdown_cell("```{solution-start} b\n```"),
            ],
            "second",
        ),
    ],
)
def test_malformed_solutions_are_errors_naming_the_cell(cells, match):
    with pytest.raises(ValueError, match=match):
        assign.student_notebook(new_notebook(cells=cells), source="x.ipynb")


def test_paths_are_checked(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="paths"):
        assign.chapter_notebooks([tmp_path / "nowhere"])
    with pytest.raises(ValueError, match="paths"):
        assign.assign([tmp_path], tmp_path / "out")
    assert main(["assign", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


# -- the instructors' page ----------------------------------------------------------------------


def test_exercise_table_lists_every_exercise():
    table = assign.exercise_table()
    for chapter, exercises in registry().items():
        for name, ex in exercises.items():
            assert f"| {int(chapter[2:])} | `{name}` | " in table
            assert f"| {ex.difficulty} | {ex.minutes} |" in table


def test_instructors_page_shows_the_current_table():
    text = PAGE.read_text(encoding="utf-8")
    assert assign._with_table(text, assign.exercise_table()) == text, (
        "book/instructors.md has an outdated exercise table: regenerate it with "
        "`ebmlab assign --table --update book/instructors.md`"
    )


def test_update_table_rewrites_between_the_markers(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\n{assign._TABLE_START}\nSTALE\n{assign._TABLE_END}\n\nAfter.\n")
    assert main(["assign", "--table", "--update", str(page)]) == 0
    text = page.read_text()
    assert assign.exercise_table() in text and "STALE" not in text and text.endswith("After.\n")
    assert assign.update_table(page) is False, "a second update changes nothing"
    page.write_text("no markers")
    with pytest.raises(ValueError, match="page"):
        assign.update_table(page)
    with pytest.raises(SystemExit):
        main(["assign", "--update", str(page)])


def test_console_entry_point_prints_the_table():
    out = subprocess.run(
        [sys.executable, "-m", "ebmlab.tools.cli", "assign", "--table"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == assign.exercise_table()


def test_bench_reports_unknown_names(capsys):
    assert main(["bench", "no-such-benchmark"]) == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_bench_dispatches_to_the_benchmark_modules_main(monkeypatch, capsys):
    import types

    from ebmlab.tools import cli

    calls = []
    fake = types.ModuleType("ebmlab.bench.fake")
    fake.main = lambda argv: calls.append(argv) or [{"ratio": 1.0}]  # results, not a status
    failing = types.ModuleType("ebmlab.bench.failing")
    failing.main = lambda argv: 3
    monkeypatch.setitem(sys.modules, "ebmlab.bench.fake", fake)
    monkeypatch.setitem(sys.modules, "ebmlab.bench.failing", failing)
    monkeypatch.setattr(cli, "benchmarks", lambda: ["failing", "fake"])
    assert main(["bench", "fake", "--quick", "--n", "3"]) == 0
    assert calls == [["--quick", "--n", "3"]]
    assert main(["bench", "all"]) == 3 and calls[-1] == []
    assert "== fake ==" in capsys.readouterr().out
    assert all(isinstance(n, str) for n in cli.benchmarks())
