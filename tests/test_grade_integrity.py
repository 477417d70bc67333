"""`ebmlab grade` cannot be cheated from the notebook, and the notebook runs in a sandbox.

Each submission below is chapter 2 with a *wrong* `gibbs` (or the package's own), plus one
kind of tampering. The grade is computed in the grader's process, so none of them passes.
"""

import pathlib
import socket
import threading

import nbformat
import pytest
from test_grade import _notebook, _pieces

from ebmlab.tools import grade as grading
from ebmlab.tools import sandbox

WRONG = "def my_gibbs(F, beta):\n    return F * 0 + 1.0  # wrong: not normalised\n"
HEAD = "import torch\nimport numpy\nimport ebmlab\nimport ebmlab.exercises as E\n"
TAMPERING = {
    # the checks replaced, in every place the grader could look them up
    "replaces_checks": HEAD
    + "from ebmlab.exercises import ch02, _core\n"
    + "ok = lambda *a, **k: E.CheckResult('gibbs', 6, 6, '✅', 'pass')\n"
    + "E.check = _core.check = ch02.check = ch02.check_gibbs = ok\n"
    + "ch02.EXERCISES['gibbs'] = E.Exercise(ok, ok, '', 'easy', 1)\n"
    + "E.judge = _core.judge = lambda *a, **k: None\n",
    # the old grader's result line and a made-up one with the new kind of mark
    "imitates_the_grader": HEAD
    + 'print(\'\\n@@ebmlab-grade@@{"status": "pass", "passed": 6, "total": 6}\')\n'
    + "print('@@ebmlab-0123456789abcdef0123456789abcdef@@' + 'x' * 40)\n",
    # the comparison functions patched in the kernel
    "patches_torch": HEAD
    + "torch.allclose = numpy.allclose = lambda *a, **k: True\n"
    + "torch.equal = torch.isclose = lambda *a, **k: True\n"
    + "numpy.testing.assert_allclose = lambda *a, **k: None\n",
    # a result that tries to run code when the grader reads it
    "pickles_a_bomb": HEAD
    + "class Bomb:\n    def __reduce__(self):\n        return (print, ('BOOM',))\n"
    + "def my_gibbs(F, beta):\n    return Bomb()\n",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    (a, fa, _, sol_a, chk_a), (b, fb, _, sol_b, chk_b), *_ = _pieces()
    assert fa == "my_gibbs"
    meta = {"chapter": "ch02", "exercises": {a: fa, b: fb}}
    folder = tmp_path_factory.mktemp("cheats")
    for name, cell in TAMPERING.items():
        cells = [WRONG, cell, chk_a] if name != "pickles_a_bomb" else [cell, chk_a]
        nbformat.write(_notebook(cells, metadata=meta), folder / f"{name}.ipynb")
    own = (
        "import ebmlab.energy\n\n"
        "def my_gibbs(F, beta):\n    return ebmlab.energy.gibbs(F, beta, dim=-1)\n\n"
        "from ebmlab import energy\nmy_descend = energy.minimize\n"
    )
    nbformat.write(_notebook([own, chk_a], metadata=meta), folder / "package_own.ipynb")
    nbformat.write(_notebook([sol_a, chk_a, sol_b, chk_b], metadata=meta), folder / "honest.ipynb")
    rows = grading.grade([folder], timeout=20, jobs=1)
    return {(r.student, r.exercise): r for r in rows}


@pytest.mark.parametrize("student", sorted(TAMPERING))
def test_tampering_does_not_pass(graded, student):
    row = graded[(student, "gibbs")]
    assert row.status == "fail", (row.status, row.message)
    assert row.passed < row.total


def test_a_malicious_pickle_is_not_run(graded, capsys):
    row = graded[("pickles_a_bomb", "gibbs")]
    assert "Bomb" in row.message and "BOOM" not in capsys.readouterr().out


def test_the_package_s_own_function_is_flagged_for_review(graded):
    row = graded[("package_own", "gibbs")]
    assert row.status == "pass" and "ebmlab.energy.gibbs" in row.review
    assert "ebmlab.energy.minimize" in graded[("package_own", "descend")].review
    honest = graded[("honest", "gibbs")]
    assert honest.status == "pass" and honest.review == ""


def test_each_run_records_its_seed(graded):
    seeds = {r.seed for r in graded.values()}
    assert len(seeds) > 1, "each notebook draws a fresh seed"


# -- the sandbox ---------------------------------------------------------------------------------

ESCAPE = """\
import socket
try:
    open({secret!r}).read()
    read = "read"
except OSError as exc:
    read = type(exc).__name__
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    net = "connected"
except OSError as exc:
    net = type(exc).__name__
open("written.txt", "w").write("x")

def my_gibbs(F, beta):
    raise RuntimeError(f"read={{read}} net={{net}}")
"""


@pytest.fixture(scope="module")
def escape(tmp_path_factory):
    outside = tmp_path_factory.mktemp("grader_files")
    secret = outside / "secret.txt"
    secret.write_text("the answers")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    folder = tmp_path_factory.mktemp("escape")
    source = ESCAPE.format(secret=str(secret), port=server.getsockname()[1])
    nb = _notebook([source], metadata={"chapter": "ch02", "exercises": {"gibbs": "my_gibbs"}})
    nbformat.write(nb, folder / "escape.ipynb")
    rows = grading.grade_notebook(folder / "escape.ipynb", timeout=20)
    server.close()
    return {"row": rows[0], "folder": folder}


def test_a_submission_cannot_write_its_original_folder(escape):
    assert not (escape["folder"] / "written.txt").exists(), "the kernel works on a private copy"


@pytest.mark.skipif(
    sandbox.available() != "bwrap",
    reason="bubblewrap is not installed here (apt-get install bubblewrap): without it a "
    "submission can read the grader's files and use the network, as `ebmlab grade` says",
)
def test_in_the_sandbox_a_submission_reads_nothing_outside_and_has_no_network(escape):
    message = escape["row"].message
    assert "read=FileNotFoundError" in message or "read=PermissionError" in message, message
    assert "net=connected" not in message and "net=" in message, message


def test_without_bubblewrap_the_grader_says_what_remains():
    text = sandbox.protection("none")
    assert "NONE" in text and "CAN read" in text and "network" in text
    assert "no network" in sandbox.protection("bwrap")


def test_limits_are_checked():
    with pytest.raises(ValueError, match="sandbox"):
        sandbox.Limits(sandbox="docker")
    with pytest.raises(ValueError, match="memory_mb"):
        sandbox.Limits(memory_mb=1)
    with pytest.raises(TypeError, match="limits"):
        grading.grade_notebook(pathlib.Path(__file__), limits="tight")


def test_the_sandbox_s_empty_tmp_does_not_hide_an_install_under_tmp(tmp_path):
    """bubblewrap mounts in order, a later mount on top: the empty /tmp must come before the
    read-only views of Python and the package, which may themselves live under /tmp."""
    from ebmlab.tools import sandbox

    args = sandbox._bwrap(tmp_path / "work", tmp_path / "run")
    assert args.index("--tmpfs") < args.index("--ro-bind-try")
    assert args.index("--tmpfs") < args.index("--bind")
