"""Gradescope: an autograder bundle per chapter, and the run that writes ``results.json``.

:func:`bundle` writes, for one chapter, the files Gradescope's autograder wants at the root of
its zip (its specification: ``setup.sh``, ``run_autograder``) and the checks: a copy of the
``ebmlab`` package that holds them, installed by ``setup.sh`` (with torch's CPU build and the
notebook tools), and ``ebmlab-autograder.json`` (the chapter, the time limit). Gradescope runs
``setup.sh`` once to build its image; then, for each submission, ``run_autograder`` calls
:func:`run`, which grades the notebook found in ``/autograder/submission`` with
:func:`ebmlab.tools.grade.grade_notebook` (a fresh seed for the hidden cases, the same channel and
limits as ``ebmlab grade``; Gradescope's container is the sandbox) and writes
``/autograder/results/results.json`` in Gradescope's format: a top-level ``score``,
``execution_time`` and ``output`` (the student's feedback, Markdown), and one entry of
``tests`` per exercise with ``name``, ``score``, ``max_score`` (1 each), ``status`` and
``output`` (the check's line and hint).

The root (``/autograder``) and the Python that runs the grader can be changed with the
environment variables ``EBMLAB_AUTOGRADER_ROOT`` and ``EBMLAB_PYTHON``, which is how the tests
run a bundle locally in a temporary folder laid out like Gradescope's.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import time
import zipfile

from .._validation import check_path, check_scalar

__all__ = ["bundle", "main", "results", "run"]

_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder's image.
set -euo pipefail
apt-get install -y python3 python3-venv python3-pip bubblewrap || true
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \\
    "/autograder/source/package[grade]"
"""

_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission; it writes $ROOT/results/results.json.
ROOT="${EBMLAB_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${EBMLAB_PYTHON:-/autograder/venv/bin/python}"
cd "$ROOT" || exit 1
exec "$PYTHON" -m ebmlab.tools.gradescope --root "$ROOT" \\
    --config "$(dirname "$0")/ebmlab-autograder.json"
"""


def bundle(chapter: str, out_dir: str | pathlib.Path, *, timeout: float = 120.0) -> pathlib.Path:
    """Write the autograder of ``chapter`` into ``out_dir/NAME/`` and zip it as ``NAME.zip``.

    Args:
        chapter: the chapter's notebook (``book/02_energy_based_models.ipynb``).
        out_dir: where to write.
        timeout: seconds each cell and each call of the student's function may run.

    Returns:
        The zip file to upload to Gradescope.
    """
    chapter = pathlib.Path(check_path(chapter, "chapter"))
    if not chapter.is_file():
        raise ValueError(f"chapter must be a chapter's notebook file; {chapter} does not exist")
    out_dir = pathlib.Path(check_path(out_dir, "out_dir"))
    timeout = check_scalar(timeout, "timeout", low=0.0, low_open=True)
    import nbformat

    import ebmlab

    from .assign import exercise_map

    mapping = exercise_map(nbformat.read(chapter, as_version=4))
    if not mapping["chapter"]:
        raise ValueError(f"chapter: {chapter} calls no chapter's checks")
    folder = out_dir / chapter.stem
    if folder.exists():
        shutil.rmtree(folder)
    package = pathlib.Path(ebmlab.__file__).parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(package, folder / "package" / "ebmlab", ignore=ignore)
    project = package.parent / "pyproject.toml"
    if not project.is_file():
        raise ValueError("chapter: the bundle needs ebmlab's source tree (pyproject.toml)")
    shutil.copy(project, folder / "package" / "pyproject.toml")
    config = {"chapter": mapping["chapter"], "notebook": chapter.name, "timeout": timeout}
    (folder / "ebmlab-autograder.json").write_text(json.dumps(config, indent=1) + "\n")
    for name, text in [("setup.sh", _SETUP), ("run_autograder", _RUN)]:
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
        (folder / name).chmod(0o755)
    archive = out_dir / f"{chapter.stem}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():  # files at the root of the archive, as Gradescope wants
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (2020, 1, 1, 0, 0, 0))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return archive


def results(rows, seconds: float) -> dict:
    """Gradescope's ``results.json`` for one submission's rows of the grade table."""
    from .feedback import feedback

    tests = []
    for number, r in enumerate([r for r in rows if r.exercise], start=1):
        passed = r.status == "pass"
        cases = f" ({r.passed}/{r.total} hidden cases)" if r.total else ""
        tests.append(
            {
                "name": f"{r.exercise}{cases}",
                "number": str(number),
                "score": 1.0 if passed else 0.0,
                "max_score": 1.0,
                "status": "passed" if passed else "failed",
                "output": r.message or r.status,
                "visibility": "visible",
            }
        )
    score = sum(t["score"] for t in tests)
    return {
        "score": score,
        "execution_time": round(seconds, 1),
        "output": feedback(rows) if rows else "No notebook was submitted.",
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _submission(folder: pathlib.Path, notebook: str) -> pathlib.Path | None:
    found = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in found if p.name == notebook]
    return (named or found or [None])[0]


def run(root: str | pathlib.Path, config: dict) -> dict:
    """Grade ``root/submission`` and write ``root/results/results.json``; its content.

    Args:
        root: the autograder's folder (``/autograder``).
        config: the bundle's ``ebmlab-autograder.json`` (``chapter``, ``notebook``, ``timeout``).
    """
    from .grade import grade_notebook
    from .gradebook import Grade

    root = pathlib.Path(check_path(root, "root"))
    start = time.monotonic()
    path = _submission(root / "submission", str(config.get("notebook", "")))
    if path is None:
        why = "no notebook (.ipynb) was submitted"
        rows = [Grade("submission", "", "", "", "invalid", 0, 0, why, "")]
    else:
        rows = grade_notebook(path, "submission", timeout=float(config.get("timeout", 120.0)))
        if rows and rows[0].chapter and rows[0].chapter != config.get("chapter"):
            why = f"this is the autograder of {config.get('chapter')}; the notebook is another"
            rows = [Grade("submission", path.name, "", "", "invalid", 0, 0, why, "")]
    out = results(rows, time.monotonic() - start)
    (root / "results").mkdir(parents=True, exist_ok=True)
    (root / "results" / "results.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return out


def main(argv=None) -> int:
    """``python -m ebmlab.tools.gradescope --root /autograder --config FILE`` (run_autograder)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ebmlab.tools.gradescope")
    parser.add_argument("--root", default=os.environ.get("EBMLAB_AUTOGRADER_ROOT", "/autograder"))
    parser.add_argument("--config", required=True)
    ns = parser.parse_args(argv)
    out = run(ns.root, json.loads(pathlib.Path(ns.config).read_text(encoding="utf-8")))
    print(f"score {out['score']:g}/{len(out['tests'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
