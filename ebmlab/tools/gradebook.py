"""The gradebook: one row per student and exercise, written as CSV and as a Markdown summary."""

from __future__ import annotations

import csv
import io
import pathlib
from dataclasses import asdict, dataclass, fields

from .._validation import check_path, check_sequence_of

__all__ = ["STATUSES", "Grade", "lms_csv", "summary", "write"]

#: The symbol of each status, the check's own (pass, fail, error, todo) and the grader's.
STATUSES = {
    "pass": "✅",  # every hidden case passes
    "fail": "❌",  # a wrong result on a hidden case
    "error": "❌",  # the function raised on a hidden case
    "todo": "⏳",  # still the stub (NotImplementedError)
    "missing": "∅",  # the function is not defined when the notebook has run
    "timeout": "⌛",  # the check ran longer than the timeout
    "crashed": "💥",  # the kernel died
    "invalid": "⚠",  # not a readable notebook, or no chapter's checks in it
}


@dataclass(frozen=True)
class Grade:
    """One row of the grade table: a student's result on one exercise."""

    student: str
    notebook: str
    chapter: str
    exercise: str
    status: str
    passed: int
    total: int
    message: str
    notes: str
    review: str = ""  # a flag for the instructor, e.g. the function calls the package's own
    seed: int = 0  # the seed of the hidden cases drawn for this grading run


def write(grades: list[Grade], out_dir: str | pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """Write ``grades.csv`` (one row per student and exercise) and ``grades.md`` (the summary).

    Args:
        grades: the rows from :func:`ebmlab.tools.grade.grade`.
        out_dir: the folder to write into (created).

    Returns:
        The paths of the CSV file and of the summary.
    """
    grades = check_sequence_of(grades, Grade, "grades")
    out_dir = check_path(out_dir, "out_dir")
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f.name for f in fields(Grade)])
    for g in grades:
        writer.writerow(list(asdict(g).values()))
    table = out_dir / "grades.csv"
    table.write_text(buffer.getvalue(), encoding="utf-8")
    text = out_dir / "grades.md"
    text.write_text(summary(grades), encoding="utf-8")
    (out_dir / "gradebook.csv").write_text(lms_csv(grades), encoding="utf-8")
    return table, text


def lms_csv(grades: list[Grade]) -> str:
    """A gradebook that Canvas or Moodle imports: one row per student, one column per chapter.

    The columns are ``Student`` and ``SIS Login ID`` (both the top folder of the notebook's
    name, ``alice`` for ``alice/02_energy_based_models``: name the folders by the learners'
    logins for the import to match them), then one column per chapter, ``Chapter N (M)``,
    holding the number of its M exercises that pass. Canvas matches students by
    ``SIS Login ID`` and creates a column per new assignment; Moodle's CSV import maps the login
    column to the username and each chapter column to a grade item. A chapter a student did not
    hand in is left empty.

    Args:
        grades: the rows from :func:`ebmlab.tools.grade.grade`.

    Returns:
        CSV text.
    """
    grades = check_sequence_of(grades, Grade, "grades")
    chapters = sorted({g.chapter for g in grades if g.chapter})
    most = {c: len({g.exercise for g in grades if g.chapter == c}) for c in chapters}
    scores: dict[str, dict[str, int]] = {}
    for g in grades:
        who = g.student.split("/")[0] if "/" in g.student else g.student
        mine = scores.setdefault(who, {})
        if g.chapter:
            mine[g.chapter] = mine.get(g.chapter, 0) + (g.status == "pass")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["Student", "SIS Login ID"] + [f"Chapter {int(c[2:])} ({most[c]})" for c in chapters]
    writer.writerow(header)
    for who, mine in scores.items():
        writer.writerow([who, who] + [mine.get(c, "") for c in chapters])
    return buffer.getvalue()


def summary(grades: list[Grade]) -> str:
    """A readable summary: per chapter, a table of students × exercises, then the problems.

    Args:
        grades: the rows from :func:`ebmlab.tools.grade.grade`.

    Returns:
        Markdown text.
    """
    grades = check_sequence_of(grades, Grade, "grades")
    lines = ["# Grades", ""]
    legend = ", ".join(f"{s} {name}" for name, s in STATUSES.items())
    lines += [f"Legend: {legend}; the number is hidden cases passed / total.", ""]
    chapters = sorted({g.chapter for g in grades if g.chapter})
    for chapter in chapters:
        rows = [g for g in grades if g.chapter == chapter]
        names = list(dict.fromkeys(g.exercise for g in rows))
        lines += [f"## Chapter {int(chapter[2:])}", ""]
        lines.append("| student | " + " | ".join(names) + " | score |")
        lines.append("| --- " * (len(names) + 2) + "|")
        for student in dict.fromkeys(g.student for g in rows):
            mine = {g.exercise: g for g in rows if g.student == student}
            cells = []
            for n in names:
                g = mine.get(n)
                if g is None:
                    cells.append("")
                elif g.status in ("pass", "fail", "error"):
                    cells.append(f"{STATUSES[g.status]} {g.passed}/{g.total}")
                else:
                    cells.append(f"{STATUSES[g.status]} {g.status}")
            score = sum(1 for g in mine.values() if g.status == "pass")
            lines.append(f"| {student} | " + " | ".join(cells) + f" | {score}/{len(names)} |")
        lines.append("")
    problems = [g for g in grades if g.status not in ("pass", "todo")]
    notes = list(dict.fromkeys((g.student, g.notes) for g in grades if g.notes))
    if problems or notes:
        lines += ["## Problems", ""]
        for g in problems:
            where = f"{g.student}, {g.exercise}" if g.exercise else g.student
            lines.append(f"- {where}: {g.message.splitlines()[0] if g.message else g.status}")
        for student, note in notes:
            lines.append(f"- {student} (notebook): {note}")
        lines.append("")
    return "\n".join(lines)
