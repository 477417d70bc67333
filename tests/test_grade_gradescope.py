"""`ebmlab assign --gradescope`: the autograder bundle runs in a folder laid out like
Gradescope's (/autograder/source, submission, results) and writes results.json in its schema."""

import json
import os
import pathlib
import subprocess
import sys
import zipfile

import nbformat
import pytest
from test_grade import _notebook, _pieces

from ebmlab.tools import gradescope
from ebmlab.tools.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "02_energy_based_models.ipynb"


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    archive = gradescope.bundle(CHAPTER, out, timeout=20)
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(root / "source")
    (a, fa, _, sol_a, chk_a), (b, fb, stub_b, _, chk_b), *_ = _pieces()
    nb = _notebook([sol_a, chk_a, stub_b, chk_b])
    (root / "submission").mkdir()
    nbformat.write(nb, root / "submission" / CHAPTER.name)
    run = root / "source" / "run_autograder"
    env = {**os.environ, "EBMLAB_AUTOGRADER_ROOT": str(root), "EBMLAB_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"archive": archive, "root": root, "names": (a, b)}


def test_the_bundle_has_gradescope_s_files_at_its_root(autograder):
    names = zipfile.ZipFile(autograder["archive"]).namelist()
    assert {"setup.sh", "run_autograder", "ebmlab-autograder.json"} <= set(names)
    assert "package/pyproject.toml" in names and "package/ebmlab/exercises/ch02.py" in names
    info = zipfile.ZipFile(autograder["archive"]).getinfo("run_autograder")
    assert info.external_attr >> 16 & 0o111, "run_autograder is executable"


def test_results_json_follows_gradescope_s_schema(autograder):
    results = json.loads((autograder["root"] / "results" / "results.json").read_text())
    assert set(results) >= {"score", "execution_time", "output", "tests"}
    assert isinstance(results["execution_time"], (int, float))
    a, b = autograder["names"]
    tests = results["tests"]
    assert len(tests) == 4  # chapter 2's exercises
    for t in tests:
        assert set(t) >= {"name", "score", "max_score", "output", "status"}
        assert t["max_score"] == 1.0 and t["status"] in ("passed", "failed")
    by_name = {t["name"].split(" ")[0]: t for t in tests}
    assert by_name[a]["score"] == 1.0 and by_name[b]["score"] == 0.0
    assert by_name[b]["output"].startswith("⏳")
    assert results["score"] == 1.0 and "Score: **1/4**" in results["output"]


def test_no_submission_scores_zero(tmp_path):
    out = gradescope.run(tmp_path, {"chapter": "ch02", "notebook": CHAPTER.name})
    assert out["score"] == 0 and out["tests"] == [] and "no notebook" in out["output"]


def test_assign_writes_the_bundles(tmp_path, capsys):
    assert main(["assign", str(CHAPTER), "-o", str(tmp_path), "--gradescope"]) == 0
    assert (tmp_path / "gradescope" / f"{CHAPTER.stem}.zip").is_file()
    assert "Gradescope autograder" in capsys.readouterr().out
