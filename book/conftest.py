"""pytest plugin for the chapters (loaded when pytest collects book/*.ipynb with --nbval).

It installs the tolerance-aware comparison of ``tests/nbval_tolerance.py``: a cell that declares
``"tolerance"`` in its metadata is compared number by number within it, every other cell exactly
(see CONTRIBUTING.md, "Reproducibility").

It also adds up each chapter's execution time (the sum of its cells' run times under nbval) and
fails the session when a chapter goes over its budget by more than 50 %: every chapter must run
top to bottom on a CPU in at most 90 s; the margin absorbs noisy machines. The budget holds for
the pinned code paths; ``EBMLAB_TIME_BUDGET=off`` reports the times without failing, for the
second pass on torch's deliberately slow scalar kernels. The times are written
to _build/execution_times.json.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import pathlib
import sys

BUDGET_S = 90.0
TOLERANCE = 1.5  # fail above 135 s

_times: dict[str, float] = collections.defaultdict(float)

_spec = importlib.util.spec_from_file_location(
    "nbval_tolerance", pathlib.Path(__file__).resolve().parents[1] / "tests" / "nbval_tolerance.py"
)
tolerance = sys.modules.setdefault("nbval_tolerance", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(tolerance)


def pytest_configure(config):
    if config.pluginmanager.hasplugin("nbval"):
        import nbval.plugin

        tolerance.install(nbval.plugin)


def pytest_runtest_logreport(report):
    if report.nodeid.endswith(".ipynb") or ".ipynb::" in report.nodeid:
        _times[report.nodeid.split("::")[0]] += report.duration


def pytest_sessionfinish(session, exitstatus):
    if not _times:
        return
    out = pathlib.Path(session.config.rootpath) / "_build" / "execution_times.json"
    out.parent.mkdir(exist_ok=True)
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    record = {pathlib.Path(k).name: round(v, 1) for k, v in sorted(_times.items())}
    out.write_text(json.dumps({"threads": threads, "seconds": record}, indent=2) + "\n")
    over = {k: v for k, v in record.items() if v > TOLERANCE * BUDGET_S}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(
            "chapter execution times (s): " + ", ".join(f"{k} {v}" for k, v in record.items())
        )
        if tolerance.inexact:
            reporter.write_line(
                "matched within their declared tolerance, not exactly (largest difference as a "
                "share of the tolerance): "
                + ", ".join(f"{cell} {share:.0%}" for cell, share in tolerance.inexact)
            )
    if over and os.environ.get("EBMLAB_TIME_BUDGET") != "off":
        if reporter:
            reporter.write_line(
                f"FAILED: over the {BUDGET_S:.0f} s budget by more than 50 %: {over}", red=True
            )
        session.exitstatus = 1
