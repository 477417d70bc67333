"""Grade students' notebooks with the chapters' own checks, in a sandbox, in parallel.

Each notebook runs top to bottom in a fresh Jupyter kernel (errors do not stop the run, and a
cell that runs longer than ``timeout`` seconds is interrupted), inside a private copy of its
folder, under memory and CPU-time limits and, where bubblewrap works, without network or a view
of the grader's files (:mod:`ebmlab.tools.sandbox`).

The grade is computed in the grader's own process, never in the student's kernel: for each
exercise the grader calls the chapter's check itself, with the cases drawn for a fresh seed,
on a stand-in for the student's function (:class:`ebmlab.tools.channel.Kernel`); each call
is forwarded to the kernel, which runs the student's function once and sends back what it
returned. The references and the comparison never run where the student's code could reach
them, so replacing the checks, printing a fake result or patching ``torch`` in the notebook
changes nothing. A function that is, or wraps, the package's own implementation is flagged for
review (:mod:`ebmlab.tools.review`). A notebook that is not valid JSON, whose kernel dies, or
that loops, is reported in the table — it never stops the grading of the others.

Which function an exercise is graded on comes from the notebook's ``metadata.ebmlab`` (written
by ``ebmlab assign``) or, if a student's tool dropped it, from the check cells
(``ch02.check_gibbs(my_gibbs)``, see ``ebmlab.tools.assign.exercise_map``).

Needs ``nbformat``, ``nbclient`` and ``ipykernel`` (the ``dev`` extra; Jupyter installs them).
"""

from __future__ import annotations

import math
import os
import pathlib
import secrets
import subprocess
import tempfile
from collections.abc import Iterable

from .._validation import check_int, check_path, check_paths, check_scalar
from .gradebook import STATUSES, Grade, summary, write
from .sandbox import Limits

__all__ = [
    "STATUSES",
    "Grade",
    "Limits",
    "grade",
    "grade_notebook",
    "student_notebooks",
    "summary",
    "write",
]

_WARMUP = "import ebmlab.tools.remote, ebmlab.exercises.{chapter}"


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


def _check_options(timeout, startup_timeout, kernel_name, limits, seed):
    timeout = check_scalar(timeout, "timeout", low=0.0, low_open=True)
    startup_timeout = check_scalar(startup_timeout, "startup_timeout", low=0.0, low_open=True)
    if not isinstance(kernel_name, str):
        raise TypeError(f"kernel_name must be a str; got {type(kernel_name).__name__}")
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"limits must be a sandbox.Limits or None; got {type(limits).__name__}")
    if seed is not None:
        seed = check_int(seed, "seed", low=0)
    return timeout, startup_timeout


def grade_notebook(
    path: str | pathlib.Path,
    student: str | None = None,
    *,
    timeout: float = 120.0,
    startup_timeout: float = 120.0,
    kernel_name: str = "python3",
    limits: Limits | None = None,
    seed: int | None = None,
    threads: int = 0,
) -> list[Grade]:
    """Run one student's notebook in a sandbox and grade every exercise of its chapter.

    Args:
        path: the notebook.
        student: the name in the table (default: the file's stem).
        timeout: seconds each cell, and each call of a student's function, may run.
        startup_timeout: seconds for the kernel to start and import the chapter's checks.
        kernel_name: the Jupyter kernel to run it in.
        limits: memory, CPU time and sandbox (:class:`~ebmlab.tools.sandbox.Limits`).
        seed: the seed of the hidden cases drawn per run (default: a fresh random one).
        threads: CPU threads for the kernel and the references (0: as configured).

    Returns:
        One :class:`Grade` per exercise of the chapter (one ``"invalid"`` row when the notebook
        cannot be read or uses no chapter's checks).
    """
    path = check_path(path, "path")
    if student is not None and not isinstance(student, str):
        raise TypeError(f"student must be a name (str) or None; got {type(student).__name__}")
    timeout, startup_timeout = _check_options(timeout, startup_timeout, kernel_name, limits, seed)
    threads = check_int(threads, "threads", low=0)
    path = pathlib.Path(path)
    student = student or path.stem
    seed = secrets.randbits(31) if seed is None else seed
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
                r.get("review", ""),
                seed,
            )
            for ex, r in results.items()
        ]

    try:
        nb = _read(path)
    except Exception as exc:  # not JSON, not a notebook: report it, go on with the others
        why = f"cannot read the notebook: {type(exc).__name__}: {str(exc)[:200]}"
        return rows("", {"": {"status": "invalid", "message": why}}, "")
    mapping = _mapping(nb)
    chapter = mapping["chapter"]
    if not chapter:
        why = "the notebook calls no chapter's checks (chNN.check_*)"
        return rows("", {"": {"status": "invalid", "message": why}}, "")
    if threads:
        import torch

        torch.set_num_threads(threads)
    job = _Job(chapter, mapping["exercises"], list(registry()[chapter]), timeout, startup_timeout)
    with tempfile.TemporaryDirectory(prefix="ebmlab-grade-") as tmp:
        work, runtime = pathlib.Path(tmp, "work"), pathlib.Path(tmp, "run")
        runtime.mkdir()
        copy = _private(path, work)
        how = (kernel_name, limits or Limits(), seed, threads)
        results, problems = _run(nb, copy, runtime, job, how)
    return rows(chapter, results, "; ".join(problems))


def _private(path: pathlib.Path, work: pathlib.Path) -> pathlib.Path:
    from .sandbox import private_copy

    return private_copy(path, work)


class _Job:
    def __init__(self, chapter, functions, exercises, timeout, startup_timeout):
        self.chapter, self.functions, self.exercises = chapter, functions, exercises
        self.timeout, self.startup_timeout = timeout, startup_timeout


def _run(nb, copy, runtime, job, how):
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbformat.v4 import new_code_cell

    from . import sandbox
    from .channel import Kernel, KernelDied

    kernel_name, limits, seed, threads = how
    errors: dict[int, str] = {}

    def on_error(cell, cell_index, execute_reply):
        content = execute_reply["content"]
        errors[cell_index] = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"

    kind = sandbox.available(limits)
    client = NotebookClient(
        nb,
        km=sandbox.kernel_manager(copy.parent, runtime, limits, kind, kernel_name),
        timeout=math.ceil(job.startup_timeout),
        startup_timeout=math.ceil(job.startup_timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        # on a timeout, interrupt the kernel and go on at once with an error reply: a loop that
        # ignores the interrupt then costs at most `timeout` per remaining cell, never forever
        error_on_timeout={
            "ename": "Timeout",
            "evalue": f"interrupted after {job.timeout:g} s",
            "traceback": [],
        },
        record_timing=False,
        shutdown_kernel="immediate",  # nothing of the kernel is worth a graceful exit
        on_cell_error=on_error,
        resources={"metadata": {"path": str(copy.parent)}},
    )
    problems: list[str] = []
    results: dict[str, dict] = {}
    where = "while starting"
    try:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        # the client did not create the kernel manager, so it would leave the kernel running
        # after the block unless told to shut it down (cleanup_kc)
        env = sandbox.kernel_env(copy.parent, threads)
        with client.setup_kernel(env=env, cleanup_kc=True, **quiet):
            # nbclient may write a cell's outputs back by index: the injected cells get their own
            # places after the student's, never a student's index
            n = len(nb.cells)
            # import the channel and torch before the student's code, with the startup budget,
            # so that the per-cell timeout measures the student's cells only
            nb.cells.append(new_code_cell(_WARMUP.format(chapter=job.chapter)))
            where = "while importing the checks"
            client.execute_cell(nb.cells[n], n, store_history=False)
            if n in errors:
                problems.append(f"the kernel cannot import the checks: {errors[n]}"[:300])
            client.timeout = math.ceil(job.timeout)
            for index in range(n):
                if nb.cells[index].cell_type != "code":
                    continue
                where = f"in cell {index + 1}"
                client.execute_cell(nb.cells[index], index)
                if index in errors:
                    problems.append(f"cell {index + 1}: {errors[index]}"[:300])
            client.timeout = math.ceil(job.timeout) + 10  # the kernel's own alarm rings first
            kernel = Kernel(client, job.timeout)
            for name in job.exercises:
                where = f"while checking {name}"
                results[name] = _grade_exercise(kernel, job, name, seed)
    except (DeadKernelError, KernelDied):
        problems.append(f"the kernel died {where}")
    except Exception as exc:  # the kernel did not start, or nbclient failed: never stop the run
        problems.append(f"the grader failed: {type(exc).__name__}: {str(exc)[:200]}")
    for name in job.exercises:
        results.setdefault(name, {"status": "crashed", "message": problems[-1] if problems else ""})
    return {name: results[name] for name in job.exercises}, problems


def _grade_exercise(kernel, job, name: str, seed: int) -> dict:
    """Grade one exercise: the check runs here, the student's function in the kernel."""
    from ..exercises import grading, registry
    from .review import flag, implementation

    if name not in job.functions:
        return {"status": "missing", "message": f"no check cell for {name} in the notebook"}
    function = job.functions[name]
    info = kernel.request({"op": "describe", "function": function})
    if info.get("kind") == "missing":
        return {"status": "missing", "message": f"no function named {function} is defined"}
    exercise = registry()[job.chapter][name]
    try:
        with grading(seed):
            r = exercise.check(kernel.proxy(function), quiet=True)
    except Exception as exc:  # a bug of the check itself: report it, grade the rest
        return {"status": "error", "message": f"the check raised {type(exc).__name__}: {exc}"}
    review = flag(info, implementation(exercise.reference))
    return {
        "status": r.status,
        "passed": r.passed,
        "total": r.total,
        "message": r.message,
        "review": review,
    }


def grade(
    paths: Iterable[str | pathlib.Path],
    *,
    timeout: float = 120.0,
    startup_timeout: float = 120.0,
    kernel_name: str = "python3",
    jobs: int = 1,
    limits: Limits | None = None,
    seed: int | None = None,
    log=None,
) -> list[Grade]:
    """Grade every notebook under ``paths`` (see :func:`student_notebooks` for the names).

    Args:
        paths: notebook files and folders of notebooks.
        timeout: seconds each cell and each call of a student's function may run.
        startup_timeout: seconds for a kernel to start and import the checks.
        kernel_name: the Jupyter kernel.
        jobs: notebooks graded at once, each in its own process and kernel.
        limits: memory, CPU time and sandbox of each kernel (:class:`Limits`).
        seed: the seed of the hidden cases for every notebook (default: fresh per notebook;
            the seed used is in each row, so a grade can be reproduced).
        log: a function called with a line per notebook graded (e.g. ``print``), or ``None``.

    Returns:
        The rows of the grade table, notebook by notebook, exercise by exercise.
    """
    paths = check_paths(paths, "paths")
    _check_options(timeout, startup_timeout, kernel_name, limits, seed)
    jobs = check_int(jobs, "jobs", low=1)
    targets = student_notebooks(paths)
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0
    options = {
        "timeout": timeout,
        "startup_timeout": startup_timeout,
        "kernel_name": kernel_name,
        "limits": limits,
        "seed": seed,
        "threads": threads,
    }
    done: dict[int, list[Grade]] = {}

    def report(i, rows):
        done[i] = rows
        if log is not None:
            log(f"{targets[i][0]}: " + " ".join(STATUSES.get(r.status, "?") for r in rows))

    if jobs == 1 or len(targets) < 2:
        for i, (student, path) in enumerate(targets):
            report(i, grade_notebook(path, student, **options))
    else:
        import concurrent.futures
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # no fork of a process running torch
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {
                pool.submit(grade_notebook, path, student, **options): i
                for i, (student, path) in enumerate(targets)
            }
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                try:
                    rows = future.result()
                except Exception as exc:  # a worker died: report it, keep the others
                    student, path = targets[i]
                    why = f"the grader failed: {type(exc).__name__}: {str(exc)[:200]}"
                    rows = [Grade(student, path.as_posix(), "", "", "crashed", 0, 0, why, "")]
                report(i, rows)
    return [row for i in range(len(targets)) for row in done[i]]
