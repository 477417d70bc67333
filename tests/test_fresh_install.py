"""A Colab-like fresh install: chapter 2 runs after its own install cell, with nothing else.

1. Build the wheel from what a ``git clone`` holds (tracked and not-ignored files, copied away from
   the checkout, so nothing of the development environment leaks in).
2. Make a new virtual environment with only what Colab ships and the chapter needs — torch,
   numpy, matplotlib, ipywidgets, scikit-learn, and ipykernel/nbclient to run the notebook — and
   check that ``ebmlab`` is *not* importable there.
3. Run chapter 2 in that environment with ``google.colab`` in ``sys.modules`` (an IPython startup
   file puts a stand-in module there), so the hidden install cell runs. The cell's URL,
   ``git+https://github.com/...``, is rewritten to the wheel of step 1: this machine cannot reach
   GitHub, and the wheel is what pip would build from that URL. pip installs ``ebmlab`` *and the
   dependencies it declares* from the package index.

The notebook must then run without an error, every check must pass, and ``ebmlab`` must be
imported from the new environment: the wheel contains the whole package and its declared
dependencies are complete. About a minute (most of it installing torch from pip's cache).
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "02_energy_based_models.ipynb"
# What Colab ships, as far as the chapters need it (torch: the CPU build this machine has).
COLAB = [
    "torch==2.13.0",
    "numpy",
    "matplotlib",
    "ipywidgets",
    "scikit-learn",
    "ipykernel",
    "nbclient",
    "nbformat",
]
PIP = ["-m", "pip", "--quiet", "--disable-pip-version-check"]

FAKE_COLAB = """\
# Stand-in for Colab: the chapters' install cell tests `"google.colab" in sys.modules`.
import sys
import types

sys.modules["google.colab"] = types.ModuleType("google.colab")
"""

RUNNER = """\
import sys

import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, path)
"""

PROBE = """\
import json, sys
import ebmlab
print("PROBE" + json.dumps({"file": ebmlab.__file__, "version": ebmlab.__version__,
                            "python": sys.executable, "colab": "google.colab" in sys.modules}))
"""


def _run(*cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _clone(dest: pathlib.Path) -> None:
    """Copy what `git clone` would give: tracked files and new files that are not ignored."""
    files = _run(
        "git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT
    ).split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the repository's files")
def test_chapter_runs_after_its_colab_install_cell_in_a_fresh_environment(tmp_path):
    # 1. the wheel, built from a clean copy of the repository
    src = tmp_path / "clone"
    _clone(src)
    wheels = tmp_path / "wheels"
    _run(sys.executable, *PIP, "wheel", "--no-deps", "-w", wheels, src)
    (wheel,) = wheels.glob("ebmlab-*.whl")

    # 2. a new environment with Colab's packages only
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter")  # no user-level kernels from elsewhere
    _run(python, *PIP, "install", *COLAB, env=env)
    missing = subprocess.run([python, "-c", "import ebmlab"], capture_output=True, cwd=tmp_path)
    assert missing.returncode != 0, "ebmlab must not be installed before the install cell runs"

    # 3. the chapter, as Colab runs it, with the install cell pointing at the wheel
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-fake-colab.py").write_text(FAKE_COLAB)
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    nb = nbformat.read(CHAPTER, as_version=4)
    install = nb.cells[1]
    assert "remove-cell" in install.metadata.get("tags", [])
    install.source, n = re.subn(
        r'"ebmlab @ git\+https://[^"]+"', f'"ebmlab @ {wheel.as_uri()}"', install.source
    )
    assert n == 1, "the install cell must install ebmlab from the repository's URL"
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    work = tmp_path / "colab"  # the notebook alone, away from the checkout
    work.mkdir()
    path = work / CHAPTER.name
    nbformat.write(nb, path)
    (tmp_path / "runner.py").write_text(textwrap.dedent(RUNNER))
    _run(python, tmp_path / "runner.py", path, work, env=env, cwd=work, timeout=900)

    ran = nbformat.read(path, as_version=4)
    for cell in ran.cells:
        if cell.cell_type == "code":
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"{cell.source[:80]!r} raised {errors[0].ename}: {errors[0].evalue}"
    checks = [
        "".join(o.get("text", "") for o in c.outputs)
        for c in ran.cells
        if c.cell_type == "code" and re.search(r"ch02\.check_\w+\(", c.source)
    ]
    assert len(checks) >= 3 and all(t.startswith("✅") for t in checks), checks
    probe = "".join(o.get("text", "") for o in ran.cells[-1].outputs)
    info = json.loads(probe.split("PROBE", 1)[1])
    assert info["colab"] is True
    assert pathlib.Path(info["python"]).parent == python.parent
    assert pathlib.Path(info["file"]).is_relative_to(venv), info["file"]
    assert info["version"] in wheel.name
    # and what the install cell added is consistent with what was there
    assert "No broken requirements" in _run(python, "-m", "pip", "check", env=env)
