"""Feedback for each student: a short Markdown file per notebook graded.

Per exercise: its status, the hidden cases passed, and — when it does not pass — the check's
line, which names the first failing case and gives its hint. Then the problems of the notebook
as a whole (a cell that raised, a cell that was interrupted). Review flags are for the
instructor and are not written here.
"""

from __future__ import annotations

import pathlib
import re

from .._validation import check_path, check_sequence_of
from .gradebook import STATUSES, Grade

__all__ = ["feedback", "write_feedback"]

_WORDS = {
    "pass": "passes every hidden case",
    "fail": "gives a wrong result",
    "error": "raises an error",
    "todo": "is not written yet",
    "missing": "is missing",
    "timeout": "ran out of time",
    "crashed": "could not be graded: the notebook's kernel died",
    "invalid": "could not be graded",
}


def feedback(rows: list[Grade]) -> str:
    """The feedback text for one student's notebook (its rows of the grade table).

    Args:
        rows: the :class:`~ebmlab.tools.gradebook.Grade` rows of one notebook.

    Returns:
        Markdown text.
    """
    rows = check_sequence_of(rows, Grade, "rows")
    if not rows:
        raise ValueError("rows: no grade to give feedback on")
    first = rows[0]
    graded = [r for r in rows if r.exercise]
    score = sum(r.status == "pass" for r in graded)
    chapter = f"chapter {int(first.chapter[2:])}" if first.chapter else "your notebook"
    lines = [f"# Feedback: {chapter}", "", f"Notebook: `{first.notebook}`", ""]
    if graded:
        lines += [f"Score: **{score}/{len(graded)}** exercises pass.", ""]
    for r in rows:
        title = f"`{r.exercise}`" if r.exercise else "The notebook"
        cases = f" ({r.passed}/{r.total} hidden cases)" if r.total else ""
        lines.append(f"## {STATUSES.get(r.status, '?')} {title} {_WORDS.get(r.status, r.status)}")
        lines += ["", f"Status: {r.status}{cases}.", ""]
        if r.status != "pass" and r.message:
            lines += ["```text", r.message.strip(), "```", ""]
    if first.notes:
        lines += ["## Problems while running the notebook", ""]
        lines += [f"- {note}" for note in first.notes.split("; ")] + [""]
    return "\n".join(lines)


def _file_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", student).strip("._") or "student"


def write_feedback(grades: list[Grade], out_dir: str | pathlib.Path) -> list[pathlib.Path]:
    """Write ``out_dir/NAME.md`` for each notebook graded (``alice/02_x`` gives ``alice_02_x.md``).

    Args:
        grades: the rows from :func:`ebmlab.tools.grade.grade`.
        out_dir: the folder (created).

    Returns:
        The files written, in the order of the table.
    """
    grades = check_sequence_of(grades, Grade, "grades")
    out_dir = pathlib.Path(check_path(out_dir, "out_dir"))
    out_dir.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[Grade]] = {}
    for g in grades:
        by_student.setdefault(g.student, []).append(g)
    written = []
    for student, rows in by_student.items():
        path = out_dir / f"{_file_name(student)}.md"
        path.write_text(feedback(rows), encoding="utf-8")
        written.append(path)
    return written
