"""Grade students' notebooks with the chapters' own checks.

Each notebook runs top to bottom in a fresh Jupyter kernel, from its own folder, as in the
student's session: errors do not stop the run, and a cell that runs longer than ``timeout``
seconds is interrupted. Then, in the same kernel, one injected cell per exercise looks up the
student's function by name and calls the chapter's check with ``quiet=True`` on the hidden cases;
the cell prints one JSON line that the grader reads. A notebook that is not valid JSON, whose
kernel dies, or that loops, is reported in the table — it never stops the grading of the others.

Which function an exercise is graded on comes from the notebook's ``metadata.ebmlab`` (written
by ``ebmlab assign``) or, if a student's tool dropped it, from the check cells
(``ch02.check_gibbs(my_gibbs)``, see ``ebmlab.tools.assign.exercise_map``).

The grading runs the student's code with the grader's permissions and in the same kernel as the
checks: it catches honest mistakes, not deliberate tampering — run it in a sandbox (a container)
when that matters.

Needs ``nbformat``, ``nbclient`` and ``ipykernel`` (the ``dev`` extra; Jupyter installs them).
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Iterable

from .._validation import check_path, check_paths, check_scalar
from .gradebook import STATUSES, Grade, summary, write

__all__ = ["STATUSES", "Grade", "grade", "grade_notebook", "student_notebooks", "summary", "write"]

_MARK = "@@ebmlab-grade@@"
_WARMUP = "__import__('ebmlab.exercises.{chapter}')"
_GRADE_CELL = """\
def _ebmlab_grade(chapter, exercise, function):
    import importlib, json
    ex = importlib.import_module("ebmlab.exercises." + chapter).EXERCISES[exercise]
    fn = globals().get(function)
    if fn is None:
        out = {{"status": "missing", "message": f"no function named {{function}} is defined"}}
    else:
        try:
            r = ex.check(fn, quiet=True)
            out = {{"status": r.status, "passed": r.passed, "total": r.total,
                    "message": r.message}}
        except Exception as exc:
            out = {{"status": "error", "message": f"the check raised {{type(exc).__name__}}: {{exc}}"}}
    print("\\n{mark}" + json.dumps(out))
_ebmlab_grade({chapter!r}, {exercise!r}, {function!r}); del _ebmlab_grade
"""


def student_notebooks(paths: Iterable[str | pathlib.Path]) -> list[tuple[str, pathlib.Path]]:
    """The notebooks to grade, each with a student name.

    A file is named by its stem; a folder is searched recursively for ``*.ipynb`` (skipping
    ``.ipynb_checkpoints``), and each notebook is named by its path inside the folder, without
    the suffix (``alice/02_energy_based_models``).

    Args:
        paths: notebook files and folders.

    Returns:
        ``(student, path)`` pairs, sorted by name within each folder.

    Raises:
        FileNotFoundError: when a path does not exist.
    """
    paths = check_paths(paths, "paths")
    out: list[tuple[str, pathlib.Path]] = []
    for p in map(pathlib.Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in f.parts:
                    out.append((f.relative_to(p).with_suffix("").as_posix(), f))
        elif p.is_file():
            out.append((p.stem, p))
        else:
            raise FileNotFoundError(f"paths: {p} does not exist")
    return out


def _read(path: pathlib.Path):
    import warnings

    import nbformat

    with warnings.catch_warnings():  # a notebook Colab saved may not validate strictly
        warnings.simplefilter("ignore")
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no list of cells")
    for cell in nb.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(
            cell.get("source"), str
        ):
            raise ValueError("a cell without a type or a source")
    return nb


def _mapping(nb) -> dict:
    from ..exercises import registry
    from .assign import exercise_map

    meta = nb.metadata.get("ebmlab", {})
    meta = meta if isinstance(meta, dict) else {}
    found = exercise_map(nb)
    saved_chapter = meta.get("chapter")
    chapter = (saved_chapter if isinstance(saved_chapter, str) else "") or found["chapter"]
    if chapter not in registry():
        return {"chapter": "", "exercises": {}}
    exercises = dict(found["exercises"]) if found["chapter"] == chapter else {}
    saved = meta.get("exercises", {})
    if isinstance(saved, dict):  # metadata is the student's file: keep only names of functions
        exercises.update(
            {k: v for k, v in saved.items() if isinstance(v, str) and v.isidentifier()}
        )
    return {"chapter": chapter, "exercises": exercises}


def grade_notebook(
    path: str | pathlib.Path,
    student: str | None = None,
    *,
    timeout: float = 120.0,
    startup_timeout: float = 120.0,
    kernel_name: str = "python3",
) -> list[Grade]:
    """Run one student's notebook and grade every exercise of its chapter.

    Args:
        path: the notebook.
        student: the name in the table (default: the file's stem).
        timeout: seconds each cell (and each check) may run before it is interrupted.
        startup_timeout: seconds for the kernel to start and import the chapter's checks.
        kernel_name: the Jupyter kernel to run it in.

    Returns:
        One :class:`Grade` per exercise of the chapter (one ``"invalid"`` row when the notebook
        cannot be read or uses no chapter's checks).
    """
    path = check_path(path, "path")
    if student is not None and not isinstance(student, str):
        raise TypeError(f"student must be a name (str) or None; got {type(student).__name__}")
    timeout = check_scalar(timeout, "timeout", low=0.0, low_open=True)
    startup_timeout = check_scalar(startup_timeout, "startup_timeout", low=0.0, low_open=True)
    if not isinstance(kernel_name, str):
        raise TypeError(f"kernel_name must be a str; got {type(kernel_name).__name__}")
    timeout = check_scalar(timeout, "timeout", low=0, low_open=True)
    startup_timeout = check_scalar(startup_timeout, "startup_timeout", low=0, low_open=True)
    path = pathlib.Path(path)
    student = student or path.stem
    from ..exercises import registry

    def rows(chapter, results, notes):
        return [
            Grade(
                student,
                path.as_posix(),
                chapter,
                ex,
                r["status"],
                int(r.get("passed", 0)),
                int(r.get("total", 0)),
                r.get("message", ""),
                notes,
            )
            for ex, r in results.items()
        ]

    try:
        nb = _read(path)
    except Exception as exc:  # not JSON, not a notebook: report it, go on with the others
        return rows(
            "",
            {
                "": {
                    "status": "invalid",
                    "message": f"cannot read the notebook: {type(exc).__name__}: {str(exc)[:200]}",
                }
            },
            "",
        )
    mapping = _mapping(nb)
    chapter = mapping["chapter"]
    if not chapter:
        return rows(
            "",
            {
                "": {
                    "status": "invalid",
                    "message": "the notebook calls no chapter's checks (chNN.check_*)",
                }
            },
            "",
        )
    exercises = list(registry()[chapter])
    results, problems = _run(
        nb, path, chapter, mapping["exercises"], exercises, timeout, startup_timeout, kernel_name
    )
    return rows(chapter, results, "; ".join(problems))


def _run(nb, path, chapter, functions, exercises, timeout, startup_timeout, kernel_name):
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_code_cell

    errors: dict[int, str] = {}

    def on_error(cell, cell_index, execute_reply):
        content = execute_reply["content"]
        errors[cell_index] = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"

    client = NotebookClient(
        nb,
        timeout=math.ceil(startup_timeout),
        startup_timeout=math.ceil(startup_timeout),
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        # on a timeout, interrupt the kernel and go on at once with an error reply: a loop that
        # ignores the interrupt then costs at most `timeout` per remaining cell, never forever
        error_on_timeout={
            "ename": "Timeout",
            "evalue": f"interrupted after {timeout:g} s",
            "traceback": [],
        },
        record_timing=False,
        on_cell_error=on_error,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    problems: list[str] = []
    results: dict[str, dict] = {}
    where = "while starting"
    try:
        with client.setup_kernel():
            # nbclient may write a cell's outputs back by index: the injected cells get their own
            # places after the student's, never a student's index
            n = len(nb.cells)
            # import the checks (and torch) before the student's code, with the startup budget,
            # so that the per-cell timeout measures the student's cells only
            nb.cells.append(new_code_cell(_WARMUP.format(chapter=chapter)))
            where = "while importing the checks"
            client.execute_cell(nb.cells[n], n, store_history=False)
            if n in errors:
                problems.append(f"the kernel cannot import the checks: {errors[n]}"[:300])
            client.timeout = math.ceil(timeout)
            for index in range(n):
                if nb.cells[index].cell_type != "code":
                    continue
                where = f"in cell {index + 1}"
                client.execute_cell(nb.cells[index], index)
                if index in errors:
                    problems.append(f"cell {index + 1}: {errors[index]}"[:300])
            for name in exercises:
                if name not in functions:
                    results[name] = {
                        "status": "missing",
                        "message": f"no check cell for {name} in the notebook",
                    }
                    continue
                source = _GRADE_CELL.format(
                    chapter=chapter, exercise=name, function=functions[name], mark=_MARK
                )
                nb.cells.append(new_code_cell(source))
                index = len(nb.cells) - 1
                where = f"while checking {name}"
                client.execute_cell(nb.cells[index], index, store_history=False)
                results[name] = _parse(nb.cells[index], errors.get(index), timeout)
    except DeadKernelError:
        problems.append(f"the kernel died {where}")
    except Exception as exc:  # the kernel did not start, or nbclient failed: never stop the run
        problems.append(f"the grader failed: {type(exc).__name__}: {str(exc)[:200]}")
    for name in exercises:
        results.setdefault(name, {"status": "crashed", "message": problems[-1] if problems else ""})
    return {name: results[name] for name in exercises}, problems


def _parse(cell, error: str | None, timeout: float) -> dict:
    text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    lines = [ln for ln in text.splitlines() if ln.startswith(_MARK)]
    if lines:
        return json.loads(lines[-1][len(_MARK) :])
    if error and error.startswith(("Timeout", "KeyboardInterrupt")):
        return {"status": "timeout", "message": f"the check ran longer than {timeout:g} s"}
    return {"status": "error", "message": f"grading failed: {error or 'no result printed'}"}


def grade(
    paths: Iterable[str | pathlib.Path],
    *,
    timeout: float = 120.0,
    startup_timeout: float = 120.0,
    kernel_name: str = "python3",
    log=None,
) -> list[Grade]:
    """Grade every notebook under ``paths`` (see :func:`student_notebooks` for the names).

    Args:
        paths: notebook files and folders of notebooks.
        timeout: seconds each cell and each check may run.
        startup_timeout: seconds for a kernel to start and import the checks.
        kernel_name: the Jupyter kernel.
        log: a function called with a line per notebook graded (e.g. ``print``), or ``None``.

    Returns:
        The rows of the grade table, notebook by notebook, exercise by exercise.
    """
    paths = check_paths(paths, "paths")
    timeout = check_scalar(timeout, "timeout", low=0.0, low_open=True)
    startup_timeout = check_scalar(startup_timeout, "startup_timeout", low=0.0, low_open=True)
    if not isinstance(kernel_name, str):
        raise TypeError(f"kernel_name must be a str; got {type(kernel_name).__name__}")
    out: list[Grade] = []
    for student, path in student_notebooks(paths):
        rows = grade_notebook(
            path, student, timeout=timeout, startup_timeout=startup_timeout, kernel_name=kernel_name
        )
        if log is not None:
            log(f"{student}: " + " ".join(STATUSES.get(r.status, "?") for r in rows))
        out += rows
    return out
