"""pytest plugin for the chapters (loaded when pytest collects book/*.ipynb with --nbval).

It adds up each chapter's execution time (the sum of its cells' run times under nbval) and
fails the session when a chapter goes over its budget by more than 50 %: every chapter must run
top to bottom on a CPU in at most 90 s; the margin absorbs noisy machines. The times are written
to _build/execution_times.json.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib

BUDGET_S = 90.0
TOLERANCE = 1.5  # fail above 135 s

_times: dict[str, float] = collections.defaultdict(float)


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
    if over:
        if reporter:
            reporter.write_line(
                f"FAILED: over the {BUDGET_S:.0f} s budget by more than 50 %: {over}", red=True
            )
        session.exitstatus = 1
