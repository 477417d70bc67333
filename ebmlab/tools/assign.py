"""Turn the book's chapters into assignments: student notebooks without solutions.

A chapter marks each exercise the same way (``CONTRIBUTING.md``): a markdown ``{exercise}``, a
code cell tagged ``exercise-stub`` whose function raises ``NotImplementedError``, then the
solution — a markdown cell opening ``{solution-start}`` (and its explanation), the code cell
tagged ``solution``, a markdown cell with ``{solution-end}`` — and a cell calling the check,
``chNN.check_name(my_fn);``. :func:`student_notebook` deletes everything from
``{solution-start}`` to ``{solution-end}`` (and any other cell tagged ``solution`` or markdown
``{solution}`` block) and clears the outputs; the stub, the check and the hidden Colab install
cell stay. :func:`instructor_notebook` keeps the solutions *and* the committed outputs, so an
instructor sees what a full run prints without running it.

Both record in the notebook's metadata (``metadata.ebmlab``) which function each exercise is
graded on — ``{"chapter": "ch02", "exercises": {"gibbs": "my_gibbs", ...}}`` — read from the
check cells, which is what ``ebmlab grade`` calls. The output is deterministic: the same chapter
gives byte-identical files.

Reading and writing notebooks needs ``nbformat`` (installed with Jupyter, Colab and the
``dev`` extra); it is imported only when a function here runs.
"""

from __future__ import annotations

import copy
import hashlib
import pathlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .._validation import check_notebook, check_path, check_paths

__all__ = [
    "CHAPTER_GLOB",
    "Assignment",
    "assign",
    "chapter_notebooks",
    "exercise_map",
    "exercise_table",
    "instructor_notebook",
    "student_notebook",
    "update_table",
    "write_notebook",
]

#: File names of the book's chapters (``02_energy_based_models.ipynb``).
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"

# A check call in a code cell: ``ch02.check_gibbs(my_gibbs)`` (the module may be qualified,
# ``ebmlab.exercises.ch02.check_gibbs(...)``).
_CHECK_CALL = re.compile(r"\b(ch\d\d)\s*\.\s*(check_\w+)\s*\(\s*([A-Za-z_]\w*)")
_CHAPTER_IMPORT = re.compile(r"ebmlab\.exercises(?:\s+import\s+|\.)(ch\d\d)\b")
# The opening line of a MyST directive, with a backtick or colon fence of length >= 3.
_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}")
_TABLE_START = "% ebmlab exercise table: start"
_TABLE_END = "% ebmlab exercise table: end"
_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _nbformat():
    try:
        import nbformat
    except ImportError as exc:  # pragma: no cover - nbformat ships with Jupyter and Colab
        raise ImportError(
            "ebmlab.tools.assign needs nbformat: pip install nbformat (or 'ebmlab[dev]')"
        ) from exc
    return nbformat


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _directive_span(lines: list[str], name: str) -> tuple[int, int] | None:
    """Lines ``[start, end)`` of the first ``{name}`` directive (opening to closing fence)."""
    for i, line in enumerate(lines):
        m = _FENCE.match(line.strip())
        if m and m.group("name") == name:
            fence = m.group("fence")
            for j in range(i + 1, len(lines)):
                s = lines[j].strip()
                if s and set(s) == {fence[0]} and len(s) >= len(fence):
                    return i, j + 1
            return i, len(lines)
    return None


def _drop_directives(text: str, name: str) -> str:
    """``text`` without any ``{name}`` directive block."""
    lines = text.split("\n")
    while (span := _directive_span(lines, name)) is not None:
        lines = lines[: span[0]] + lines[span[1] :]
    return "\n".join(lines)


def student_notebook(nb, *, source: str = "notebook"):
    """A student's copy of a chapter: solutions removed, outputs cleared.

    Removed: every cell from a markdown ``{solution-start}`` directive to the matching
    ``{solution-end}`` (the solution code and the text that explains it), any other cell tagged
    ``solution``, and markdown ``{solution}`` blocks. Text before ``{solution-start}`` or after
    ``{solution-end}`` in the same cell is kept. Outputs, execution counts, timings and widget
    state are cleared; the stubs, the checks and the ``remove-cell`` Colab install cell stay.

    Args:
        nb: the chapter, an ``nbformat`` notebook (not modified).
        source: a name for error messages (the file name).

    Returns:
        A new notebook, with ``metadata.ebmlab`` from :func:`exercise_map`.

    Raises:
        ValueError: when a ``{solution-start}`` has no ``{solution-end}``, or a stub or a check
            lies inside a solution.
    """
    nb = check_notebook(nb, "nb")
    if not isinstance(source, str):
        raise TypeError(f"source must be a name (str); got {type(source).__name__}")
    out = _clean_copy(nb, clear_outputs=True)
    cells = []
    inside = None  # index of the open {solution-start}, if any
    for index, cell in enumerate(out.cells):
        where = f"{source}, cell {index + 1}"
        if cell.cell_type == "markdown":
            lines = cell.source.split("\n")
            start = _directive_span(lines, "solution-start")
            if start is not None:
                if inside is not None:
                    raise ValueError(
                        f"{where}: a second {{solution-start}} before {{solution-end}}"
                    )
                inside = index
                kept = "\n".join(lines[: start[0]])
                end = _directive_span(lines, "solution-end")
                if end is not None:  # start and end in one cell: keep the text after the end
                    inside = None
                    kept = "\n".join(lines[: start[0]] + lines[end[1] :])
                if kept.strip():
                    cell.source = _drop_directives(kept.strip("\n"), "solution")
                    cells.append(cell)
                continue
            end = _directive_span(lines, "solution-end")
            if end is not None:
                if inside is None:
                    raise ValueError(f"{where}: {{solution-end}} without {{solution-start}}")
                inside = None
                kept = "\n".join(lines[end[1] :]).strip("\n")
                if kept.strip():
                    cell.source = _drop_directives(kept, "solution")
                    cells.append(cell)
                continue
        if inside is not None:
            if "exercise-stub" in _tags(cell) or (
                cell.cell_type == "code" and _CHECK_CALL.search(cell.source)
            ):
                raise ValueError(
                    f"{where}: a stub or a check inside the solution opened in cell {inside + 1}"
                )
            continue
        if "solution" in _tags(cell):
            continue
        if cell.cell_type == "markdown" and "{solution}" in cell.source:
            cell.source = _drop_directives(cell.source, "solution")
        cells.append(cell)
    if inside is not None:
        raise ValueError(f"{source}: {{solution-start}} in cell {inside + 1} is never closed")
    out.cells = cells
    out.metadata["ebmlab"] = exercise_map(nb)
    return out


def instructor_notebook(nb):
    """The instructor's copy: the full chapter with its outputs, timings removed.

    The outputs are the committed ones, which ``pytest --nbval`` proves the code reproduces, so
    the instructor sees every ✅ without running anything.

    Args:
        nb: the chapter, an ``nbformat`` notebook (not modified).

    Returns:
        A new notebook, with ``metadata.ebmlab`` from :func:`exercise_map`.
    """
    nb = check_notebook(nb, "nb")
    out = _clean_copy(nb, clear_outputs=False)
    out.metadata["ebmlab"] = exercise_map(nb)
    return out


def _clean_copy(nb, *, clear_outputs: bool):
    out = copy.deepcopy(nb)
    minor = out.get("nbformat_minor", 0)
    for index, cell in enumerate(out.cells):
        cell.metadata.pop("execution", None)  # wall-clock timestamps: never deterministic
        if minor >= 5 and not cell.get("id"):
            digest = hashlib.sha1(f"{index}\n{cell.source}".encode()).hexdigest()[:8]
            cell["id"] = f"cell-{digest}"
        if cell.cell_type == "code" and clear_outputs:
            cell.outputs = []
            cell.execution_count = None
    if clear_outputs:
        out.metadata = {"kernelspec": dict(_KERNELSPEC)}
    else:
        out.metadata = {k: v for k, v in out.metadata.items() if k != "jupytext"}
        out.metadata.setdefault("kernelspec", dict(_KERNELSPEC))
    return out


def exercise_map(nb) -> dict:
    """Which function each exercise of a notebook is graded on, read from its check cells.

    A check cell ``ch02.check_gibbs(my_gibbs);`` maps the chapter-2 exercise whose check is
    ``check_gibbs`` (in ``ebmlab.exercises.registry()``) to the function named ``my_gibbs``.

    Args:
        nb: a notebook (``nbformat`` node or the same structure as a dict).

    Returns:
        ``{"chapter": "ch02", "exercises": {"gibbs": "my_gibbs", ...}}``; ``chapter`` is ``""``
        when the notebook imports no chapter's checks, and ``exercises`` is then empty.
    """
    nb = check_notebook(nb, "nb")
    from ..exercises import registry

    chapters = registry()
    chapter = ""
    found: dict[str, str] = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        if not chapter and (m := _CHAPTER_IMPORT.search(src)) and m.group(1) in chapters:
            chapter = m.group(1)
        for module, check_name, function in _CHECK_CALL.findall(src):
            if module not in chapters:
                continue
            chapter = chapter or module
            name = _exercise_of(chapters[module], check_name)
            if name is not None and module == chapter:
                found.setdefault(name, function)
    order = list(chapters.get(chapter, {}))
    return {"chapter": chapter, "exercises": {k: found[k] for k in order if k in found}}


def _exercise_of(exercises: Mapping, check_name: str) -> str | None:
    for name, ex in exercises.items():
        if getattr(ex.check, "__name__", "") == check_name:
            return name
    short = check_name.removeprefix("check_")
    return short if short in exercises else None


def write_notebook(nb, path: str | pathlib.Path) -> pathlib.Path:
    """Write ``nb`` to ``path`` as nbformat 4 JSON, byte-for-byte reproducible.

    Args:
        nb: the notebook.
        path: the file to write (its folder is created).

    Returns:
        The path written.
    """
    nb = check_notebook(nb, "nb")
    path = check_path(path, "path")
    nbformat = _nbformat()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8", newline="\n")
    return path


@dataclass(frozen=True)
class Assignment:
    """The files :func:`assign` wrote for one chapter."""

    chapter: pathlib.Path
    student: pathlib.Path
    instructor: pathlib.Path
    exercises: dict


def chapter_notebooks(paths: Iterable[str | pathlib.Path]) -> list[pathlib.Path]:
    """The chapter notebooks named by ``paths``: files as given, folders by ``NN_*.ipynb``.

    Args:
        paths: notebook files and folders.

    Returns:
        The notebooks, in order, without duplicates.

    Raises:
        FileNotFoundError: when a path does not exist.
    """
    paths = check_paths(paths, "paths")
    out: list[pathlib.Path] = []
    for p in map(pathlib.Path, paths):
        if p.is_dir():
            out += sorted(p.glob(CHAPTER_GLOB))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"paths: {p} does not exist")
    return list(dict.fromkeys(out))


def assign(paths: Iterable[str | pathlib.Path], out_dir: str | pathlib.Path) -> list[Assignment]:
    """Write ``out_dir/student/NAME.ipynb`` and ``out_dir/instructor/NAME.ipynb`` per chapter.

    Args:
        paths: chapter notebooks or folders holding them (``book/``).
        out_dir: where to write.

    Returns:
        One :class:`Assignment` per chapter.

    Raises:
        FileNotFoundError: when a path does not exist.
        ValueError: when no chapter was found or a chapter's solutions are malformed.
    """
    paths = check_paths(paths, "paths")
    out_dir = check_path(out_dir, "out_dir")
    nbformat = _nbformat()
    notebooks = chapter_notebooks(paths)
    if not notebooks:
        raise ValueError(f"paths: no chapter notebook ({CHAPTER_GLOB}) found")
    out_dir = pathlib.Path(out_dir)
    done = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        student = write_notebook(
            student_notebook(nb, source=path.name), out_dir / "student" / path.name
        )
        teacher = write_notebook(instructor_notebook(nb), out_dir / "instructor" / path.name)
        done.append(Assignment(path, student, teacher, exercise_map(nb)["exercises"]))
    return done


def exercise_table() -> str:
    """The exercises of every chapter, as a Markdown table (for ``book/instructors.md``).

    Returns:
        The table (chapter, exercise, learning objective, difficulty, expected minutes) and a
        line per chapter with its total time.
    """
    from ..exercises import registry

    rows = [
        "| Chapter | Exercise | Learning objective | Difficulty | Minutes |",
        "| --- | --- | --- | --- | ---: |",
    ]
    totals = []
    for chapter, exercises in registry().items():
        number = int(chapter[2:])
        for name, ex in exercises.items():
            objective = ex.objective.replace("|", "\\|")
            rows.append(f"| {number} | `{name}` | {objective} | {ex.difficulty} | {ex.minutes} |")
        minutes = sum(ex.minutes for ex in exercises.values())
        totals.append(f"chapter {number}: {len(exercises)} exercises, {minutes} min")
    return "\n".join(rows) + "\n\nTotal expected time — " + "; ".join(totals) + ".\n"


def update_table(page: str | pathlib.Path) -> bool:
    """Replace the exercise table between the markers of ``page`` by :func:`exercise_table`.

    The markers are the MyST comment lines ``% ebmlab exercise table: start`` and
    ``% ebmlab exercise table: end``.

    Args:
        page: the Markdown page (``book/instructors.md``).

    Returns:
        Whether the page changed.

    Raises:
        ValueError: when the page lacks the markers.
    """
    page = check_path(page, "page")
    page = pathlib.Path(page)
    text = page.read_text(encoding="utf-8")
    new = _with_table(text, exercise_table(), str(page))
    if new != text:
        page.write_text(new, encoding="utf-8", newline="\n")
    return new != text


def _with_table(text: str, table: str, where: str = "page") -> str:
    start, end = text.find(_TABLE_START), text.find(_TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"page: {where} needs the lines '{_TABLE_START}' and '{_TABLE_END}'")
    head = text[: start + len(_TABLE_START)]
    return f"{head}\n\n{table}\n{text[end:]}"
