"""Re-execute chapters in place after the package changed, keeping widget state for the website.

Usage: python tools/refresh.py book/02_energy_based_models.ipynb [...]

Each notebook runs top to bottom in a fresh kernel from the book/ folder (as a reader's would);
the new outputs and the ipywidgets state are saved into the file, and the wall time is written to
book/_timings.json (shown on the execution status page).
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

TIMINGS = pathlib.Path("book/_timings.json")


def refresh(path: pathlib.Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(paths: list[str]) -> int:
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    for p in map(pathlib.Path, paths):
        seconds = refresh(p)
        timings[p.name] = round(seconds, 1)
        print(f"{p}: executed in {seconds:.1f} s")
    TIMINGS.write_text(json.dumps(dict(sorted(timings.items())), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
