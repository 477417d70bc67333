"""Write book/status.md: each chapter's execution time against its budget.

The times come from book/_timings.json, written by tools/refresh.py (``make refresh``) when the
stored outputs were last produced. ``make test`` measures them again under nbval and fails when a
chapter exceeds its budget by more than 50 % (book/conftest.py).
"""

from __future__ import annotations

import json
import pathlib
import platform
import sys

import torch

BUDGET_S = 90
ROOT = pathlib.Path(__file__).resolve().parents[1]


def render(timings: dict[str, float], machine: str) -> str:
    lines = [
        "# Execution status",
        "",
        "Every chapter runs top to bottom on a CPU within its budget of "
        f"**{BUDGET_S} s**. The times below are wall-clock seconds for executing each notebook "
        "in a fresh kernel, measured when the outputs on this website were last produced "
        "(`make refresh`). The test suite (`make test`) re-executes every chapter and fails when "
        f"one takes more than {int(BUDGET_S * 1.5)} s (the budget plus 50 % for noisy machines).",
        "",
        f"Measured on: {machine}.",
        "",
        "| chapter | time (s) | budget (s) | share of budget |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, seconds in sorted(timings.items()):
        stem = name.removesuffix(".ipynb")
        lines.append(
            f"| [{stem}]({stem}.ipynb) | {seconds:.1f} | {BUDGET_S} | "
            f"{100 * seconds / BUDGET_S:.0f} % |"
        )
    return "\n".join(lines) + "\n"


def machine_description() -> str:
    import os

    return (
        f"{os.cpu_count()} CPU cores ({platform.machine()}), "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}, Python "
        f"{platform.python_version()}, torch {torch.__version__}"
    )


def main() -> int:
    timings = json.loads((ROOT / "book" / "_timings.json").read_text())
    chapters = {p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb")}
    timings = {k: v for k, v in timings.items() if k in chapters}
    (ROOT / "book" / "status.md").write_text(render(timings, machine_description()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
