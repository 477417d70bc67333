"""`ebmlab grade`: a folder of submissions — correct, partly wrong, crashing, looping, malformed,
killing its kernel — gives the expected table, and no notebook stops the run.

The submissions are built here from chapter 2's own stubs, solutions and check cells, without the
chapter's slow middle part, so the test runs in well under a minute.
"""

import csv
import pathlib
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ebmlab.tools import grade as grading
from ebmlab.tools.assign import exercise_map
from ebmlab.tools.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "02_energy_based_models.ipynb"
TIMEOUT = 15  # seconds per cell: the two loops below cost this much each


def _pieces():
    """Chapter 2's exercises in order: (name, function, stub source, solution source, check)."""
    nb = nbformat.read(CHAPTER, as_version=4)
    mapping = exercise_map(nb)
    assert mapping["chapter"] == "ch02" and len(mapping["exercises"]) == 4

    def by_function(tag):
        out = {}
        for c in nb.cells:
            if c.cell_type == "code" and tag in c.metadata.get("tags", []):
                out[re.search(r"def (\w+)\(", c.source).group(1)] = c.source
        return out

    stubs, solutions = by_function("exercise-stub"), by_function("solution")
    checks = {}
    for c in nb.cells:
        if c.cell_type == "code" and (m := re.search(r"ch02\.check_\w+\((\w+)\)", c.source)):
            checks[m.group(1)] = c.source
    return [
        (name, fn, stubs[fn], solutions[fn], checks[fn])
        for name, fn in mapping["exercises"].items()
    ]


def _notebook(cells, metadata=None):
    code = [new_markdown_cell("# A submission")]
    code.append(new_code_cell("import torch\n\nfrom ebmlab.exercises import ch02"))
    code += [new_code_cell(c) for c in cells]
    nb = new_notebook(cells=code)
    if metadata is not None:  # as `ebmlab assign` writes it
        nb.metadata["ebmlab"] = metadata
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    pieces = _pieces()
    (a, fa, stub_a, sol_a, chk_a), (b, fb, _, sol_b, chk_b), (c, fc, stub_c, sol_c, chk_c) = pieces[
        :3
    ]
    d, _, _, sol_d, chk_d = pieces[3]  # only the correct submission answers the fourth
    folder = tmp_path_factory.mktemp("submissions")
    books = {
        "correct": _notebook(
            [stub_a, sol_a, chk_a, sol_b, chk_b, "print('working')", sol_c, chk_c, sol_d, chk_d],
        ),
        # right, wrong (returns None), still the stub; no metadata: read from the check cells
        "partly": _notebook(
            [sol_a, chk_a, f"def {fb}(*args, **kwargs):\n    return None", chk_b, stub_c, chk_c]
        ),
        # only the first exercise's check cell and no metadata: the others cannot be graded
        "incomplete": _notebook([sol_a, chk_a, sol_b]),
        # an error in a plain cell, a loop the timeout interrupts, then a function that loops;
        # no check cells, so the functions graded come from the metadata
        "crashing": _notebook(
            [
                "1 / 0",
                sol_a,
                chk_a,
                "while True:\n    pass",
                sol_b,
                f"def {fc}(*args):\n    while True:\n        pass",
            ],
            metadata={"chapter": "ch02", "exercises": {a: fa, b: fb, c: fc}},
        ),
        "dies": _notebook([sol_a, "import os\n\nos._exit(1)", sol_b]),
        "no_checks": new_notebook(cells=[new_code_cell("x = 1")]),
    }
    for name, nb in books.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "malformed.ipynb").write_text('{"cells": [ this is not JSON', encoding="utf-8")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "correct-checkpoint.ipynb").write_text("{}")
    out = tmp_path_factory.mktemp("grades")
    args = ["grade", str(folder), "-o", str(out), "--timeout", str(TIMEOUT), "--jobs", "2"]
    assert main(args) == 0
    with open(out / "grades.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "names": (a, b, c, d),
        "rows": rows,
        "summary": (out / "grades.md").read_text(),
        "out": out,
    }


def _status(graded, student):
    return {
        r["exercise"]: (r["status"], r["passed"], r["total"])
        for r in graded["rows"]
        if r["student"] == student
    }


def test_every_notebook_is_in_the_table_and_checkpoints_are_skipped(graded):
    students = [r["student"] for r in graded["rows"]]
    assert list(dict.fromkeys(students)) == [
        "correct",
        "crashing",
        "dies",
        "incomplete",
        "malformed",
        "no_checks",
        "partly",
    ]
    assert list(graded["rows"][0]) == [
        "student",
        "notebook",
        "chapter",
        "exercise",
        "status",
        "passed",
        "total",
        "message",
        "notes",
        "review",
        "seed",
    ]


def test_correct_submission_passes_everything(graded):
    a, b, c, d = graded["names"]
    got = _status(graded, "correct")
    assert {k: v[0] for k, v in got.items()} == {a: "pass", b: "pass", c: "pass", d: "pass"}
    assert not any(r["review"] for r in graded["rows"] if r["student"] == "correct")
    assert all(p == t and int(t) > 0 for _, p, t in got.values())
    assert not any(r["notes"] for r in graded["rows"] if r["student"] == "correct")


def test_partly_wrong_submission(graded):
    a, b, c, d = graded["names"]
    got = _status(graded, "partly")
    assert {k: v[0] for k, v in got.items()} == {a: "pass", b: "fail", c: "todo", d: "missing"}
    assert got[b][1] == "0"
    message = next(
        r["message"] for r in graded["rows"] if (r["student"], r["exercise"]) == ("partly", b)
    )
    assert message.startswith("❌") and "return" in message


def test_crash_and_loops_are_reported_and_grading_goes_on(graded):
    a, b, c, d = graded["names"]
    got = _status(graded, "crashing")
    # the functions defined after the crash and after the interrupted loop are still graded
    want = {a: "pass", b: "pass", c: "timeout", d: "missing"}
    assert {k: v[0] for k, v in got.items()} == want
    notes = next(r["notes"] for r in graded["rows"] if r["student"] == "crashing")
    assert "cell 3: ZeroDivisionError" in notes
    assert f"cell 6: Timeout: interrupted after {TIMEOUT} s" in notes


def test_exercises_without_a_check_cell_are_missing(graded):
    a, b, c, d = graded["names"]
    got = _status(graded, "incomplete")
    want = {a: "pass", b: "missing", c: "missing", d: "missing"}
    assert {k: v[0] for k, v in got.items()} == want


def test_a_dead_kernel_and_unreadable_notebooks_are_reported(graded):
    a, b, c, d = graded["names"]
    dies = _status(graded, "dies")
    assert {k: v[0] for k, v in dies.items()} == dict.fromkeys((a, b, c, d), "crashed")
    notes = next(r["notes"] for r in graded["rows"] if r["student"] == "dies")
    assert notes == "the kernel died in cell 4"
    for student, why in [("malformed", "cannot read"), ("no_checks", "no chapter")]:
        (row,) = [r for r in graded["rows"] if r["student"] == student]
        assert row["status"] == "invalid" and why in row["message"] and row["exercise"] == ""


def test_summary_is_readable(graded):
    text = graded["summary"]
    a, b, c, d = graded["names"]
    assert f"| student | {a} | {b} | {c} | {d} | score |" in text
    assert "| correct | ✅" in text and "| 4/4 |" in text
    assert re.search(r"\| partly \| ✅ \d+/\d+ \| ❌ 0/\d+ \| ⏳ todo \| ∅ missing \| 1/4 \|", text)
    assert "malformed: cannot read the notebook" in text
    assert "crashing (notebook): cell 3: ZeroDivisionError" in text


def test_feedback_and_lms_gradebook_are_written(graded):
    a, b, c, d = graded["names"]
    text = (graded["out"] / "feedback" / "partly.md").read_text(encoding="utf-8")
    assert "Score: **1/4**" in text and f"`{b}`" in text and "❌" in text
    assert "Hint" in text or "return" in text  # the first failing case, with its hint
    assert text.count("```text") == 3  # the wrong one, the stub, the missing; nothing for a pass
    with open(graded["out"] / "gradebook.csv", encoding="utf-8", newline="") as f:
        book = {r["Student"]: r for r in csv.DictReader(f)}
    assert book["correct"]["Chapter 2 (4)"] == "4" and book["partly"]["Chapter 2 (4)"] == "1"
    assert book["malformed"]["Chapter 2 (4)"] == ""


def test_grade_notebook_validates_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        grading.grade_notebook(tmp_path / "x.ipynb", timeout=0)
    with pytest.raises(TypeError, match="startup_timeout"):
        grading.grade_notebook(tmp_path / "x.ipynb", startup_timeout="soon")
    with pytest.raises(FileNotFoundError, match="paths"):
        grading.student_notebooks([tmp_path / "nowhere"])


def test_cli_reports_an_empty_folder(tmp_path, capsys):
    assert main(["grade", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    assert "no notebook" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "nowhere")]) == 2


def test_metadata_from_a_students_file_is_not_trusted_blindly():
    nb = _notebook(["ch02.check_gibbs(my_g)"])
    nb.metadata["ebmlab"] = {
        "chapter": ["ch02"],
        "exercises": {"descend": "x; import os", "chain_min": "my_c"},
    }
    assert grading._mapping(nb) == {
        "chapter": "ch02",
        "exercises": {"gibbs": "my_g", "chain_min": "my_c"},
    }
    nb.metadata["ebmlab"] = "junk"
    assert grading._mapping(nb)["exercises"] == {"gibbs": "my_g"}
    nb.metadata["ebmlab"] = {"chapter": "ch99"}
    assert grading._mapping(nb) == {"chapter": "", "exercises": {}}


def _kernels_left() -> list[str]:
    """Command lines of the grading kernels still running on this machine."""
    left = []
    for proc in pathlib.Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ebmlab-grade-" in cmd and "ipykernel" in cmd:
            left.append(cmd[:120])
    return left


@pytest.mark.skipif(not pathlib.Path("/proc").is_dir(), reason="reads /proc (Linux)")
def test_no_kernel_outlives_its_grading(tmp_path):
    import time

    (_, _, stub, _, check), *_ = _pieces()
    nbformat.write(_notebook([stub, check]), tmp_path / "ada.ipynb")
    before = set(_kernels_left())
    rows = grading.grade([tmp_path], timeout=30.0)
    assert "todo" in {r.status for r in rows}  # a kernel ran the notebook and the check
    deadline = time.monotonic() + 15
    while set(_kernels_left()) - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not set(_kernels_left()) - before, "a student's kernel was left running"
