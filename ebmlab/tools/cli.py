"""The ``ebmlab`` command: assign the course, grade it, run the benchmarks.

Usage::

    ebmlab assign [PATH ...] [-o OUT] [--gradescope]
                                              student + instructor notebooks (default: book/),
                                              and with --gradescope OUT/gradescope/NAME.zip
    ebmlab assign --table [--update PAGE]     the exercise table (print it, or rewrite PAGE)
    ebmlab grade PATH [PATH ...] [-o OUT] [--timeout S] [--jobs N] [--sandbox auto|bwrap|none]
                                              run and grade notebooks: OUT/grades.csv, .md,
                                              OUT/gradebook.csv, OUT/feedback/NAME.md
    ebmlab bench [NAME|all] [ARGS ...]        run ebmlab.bench.NAME's main(ARGS)
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import pkgutil
import sys
from collections.abc import Sequence

__all__ = ["benchmarks", "main"]


def benchmarks() -> list[str]:
    """The names of the benchmark modules installed (``ebmlab/bench/NAME.py`` gives ``NAME``).

    Returns:
        The names, sorted.
    """
    from .. import bench

    return sorted(info.name for info in pkgutil.iter_modules(bench.__path__))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ebmlab", description="Assign and grade the course's exercises; run benchmarks."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser(
        "assign",
        help="write student notebooks (solutions removed) and instructor copies",
        description="From the chapter notebooks, write OUT/student/NAME.ipynb (solutions and "
        "outputs removed; stubs, checks and the Colab install cell kept) and "
        "OUT/instructor/NAME.ipynb (complete, with the committed outputs). "
        "The same chapters give byte-identical files.",
    )
    a.add_argument(
        "paths", nargs="*", default=["book"], help="chapter notebooks or folders (default: book)"
    )
    a.add_argument(
        "-o", "--out", default="assignments", help="output folder (default: assignments)"
    )
    a.add_argument(
        "--table", action="store_true", help="print the exercise table (Markdown) and exit"
    )
    a.add_argument(
        "--gradescope",
        action="store_true",
        help="also write a Gradescope autograder per chapter: OUT/gradescope/NAME.zip",
    )
    a.add_argument(
        "--update",
        metavar="PAGE",
        help="with --table: rewrite the table between the markers of PAGE (book/instructors.md)",
    )

    g = sub.add_parser(
        "grade",
        help="run students' notebooks and grade each exercise",
        description="Run each notebook in a fresh kernel (errors do not stop it; a cell running "
        "longer than --timeout is interrupted), then call the chapter's checks on the student's "
        "functions. Writes OUT/grades.csv (student, notebook, chapter, exercise, status, passed, "
        "total, message, notes) and OUT/grades.md, and prints the summary.",
    )
    g.add_argument("paths", nargs="+", help="notebooks or folders of notebooks (searched deeply)")
    g.add_argument("-o", "--out", default="grades", help="output folder (default: grades)")
    g.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds each cell and each check may run (default: 120)",
    )
    g.add_argument(
        "--kernel", default="python3", help="Jupyter kernel to run in (default: python3)"
    )
    g.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default: 1)")
    g.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="auto: bubblewrap when it works (default); bwrap: required; none: limits only",
    )
    g.add_argument("--memory", type=int, default=6144, help="MiB per kernel (default: 6144)")
    g.add_argument(
        "--cpu-time", type=int, default=1800, help="CPU seconds per notebook (default: 1800)"
    )
    g.add_argument("--seed", type=int, help="seed of the hidden cases (default: fresh each)")

    b = sub.add_parser(
        "bench",
        help="run a benchmark (side by side with scikit-learn and others)",
        description="Run ebmlab.bench.NAME's main(ARGS); 'all' runs every benchmark installed.",
    )
    b.add_argument("name", nargs="?", default="all", help="benchmark name, or 'all' (default)")
    b.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark")
    return parser


def _assign(ns) -> int:
    from . import assign

    if ns.update and not ns.table:
        raise SystemExit("ebmlab assign: --update needs --table")
    if ns.table:
        if ns.update:
            changed = assign.update_table(ns.update)
            print(f"{ns.update}: {'updated' if changed else 'already up to date'}")
        else:
            print(assign.exercise_table(), end="")
        return 0
    done = assign.assign(ns.paths, ns.out)
    for a in done:
        print(f"{a.chapter}: {len(a.exercises)} exercises -> {a.student}, {a.instructor}")
        if ns.gradescope:
            from .gradescope import bundle

            print(
                f"  Gradescope autograder -> {bundle(a.chapter, pathlib.Path(ns.out, 'gradescope'))}"
            )
    return 0


def _grade(ns) -> int:
    from . import grade, sandbox
    from .feedback import write_feedback

    targets = grade.student_notebooks(ns.paths)
    if not targets:
        print("ebmlab grade: no notebook found", file=sys.stderr)
        return 2
    limits = sandbox.Limits(memory_mb=ns.memory, cpu_seconds=ns.cpu_time, sandbox=ns.sandbox)
    try:
        print(sandbox.protection(sandbox.available(limits), limits), flush=True)
    except RuntimeError as exc:
        print(f"ebmlab grade: {exc}", file=sys.stderr)
        return 2
    rows = grade.grade(
        ns.paths,
        timeout=ns.timeout,
        kernel_name=ns.kernel,
        jobs=ns.jobs,
        limits=limits,
        seed=ns.seed,
        log=lambda line: print(line, flush=True),
    )
    table, text = grade.write(rows, ns.out)
    notes = write_feedback(rows, pathlib.Path(ns.out, "feedback"))
    print()
    print(text.read_text(encoding="utf-8"))
    print(
        f"wrote {table}, {text}, {pathlib.Path(ns.out, 'gradebook.csv')} and {len(notes)} "
        f"feedback files in {pathlib.Path(ns.out, 'feedback')}"
    )
    return 0


def _bench(ns) -> int:
    available = benchmarks()
    names = available if ns.name == "all" else [ns.name]
    if not available and ns.name == "all":
        print("ebmlab bench: no benchmark is installed", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        if name not in available:
            print(
                f"ebmlab bench: unknown benchmark {name!r}; available: "
                f"{', '.join(available) or 'none'}",
                file=sys.stderr,
            )
            return 2
        module = importlib.import_module(f"ebmlab.bench.{name}")
        if len(names) > 1:
            print(f"== {name} ==", flush=True)
        result = module.main(list(ns.args))
        # a benchmark's main returns an exit status or its results (then it succeeded)
        if isinstance(result, int) and not isinstance(result, bool):
            status = status or result
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ebmlab`` command line.

    Args:
        argv: the arguments after ``ebmlab`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status, 0 on success and 2 for a usage error.
    """
    ns = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if ns.command == "bench":
        return _bench(ns)  # a benchmark's own errors keep their traceback
    try:
        return {"assign": _assign, "grade": _grade}[ns.command](ns)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"ebmlab {ns.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
