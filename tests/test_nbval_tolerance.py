"""The tolerance-aware comparison of chapter outputs (tests/nbval_tolerance.py)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbval_tolerance import (
    Tolerance,
    cell_tolerance,
    compare_outputs,
    compare_text,
    numbers,
    skeleton,
)

TOL = Tolerance(abs=0.02, reason="trained")
STORED = "SimCLR                     0.80       0.93\nPIRL                      -0.05       1e-3\n"


def test_numbers_are_read_apart_from_words():
    assert numbers("d = 2, ch08 x2 3x3 −0.5 1.5e-3 (0.81) 10 /class") == [2, -0.5, 1.5e-3, 0.81, 10]


def test_equal_text_matches_exactly():
    assert compare_text(STORED, STORED, TOL) == (None, 0.0)


def test_numbers_inside_the_tolerance_match():
    fresh = STORED.replace("0.80", "0.81").replace("-0.05", "-0.04")
    message, worst = compare_text(STORED, fresh, TOL)
    assert message is None
    assert worst == pytest.approx(0.5)


def test_a_number_outside_the_tolerance_fails_and_says_which():
    fresh = STORED.replace("0.93", "0.96")
    message, _ = compare_text(STORED, fresh, TOL)
    assert message is not None
    assert "number 2 is 0.96" in message and "0.93" in message and "trained" in message


def test_a_changed_word_fails():
    message, _ = compare_text(STORED, STORED.replace("PIRL", "MoCo"), TOL)
    assert message == "the text differs outside its numbers"


def test_a_changed_count_of_numbers_fails():
    message, _ = compare_text(STORED, STORED + "MoCo 0.78\n", TOL)
    assert message == "5 numbers where the stored output has 4"
    message, _ = compare_text(STORED, STORED.replace(" 1e-3", ""), TOL)
    assert message == "3 numbers where the stored output has 4"


def test_a_number_turned_into_a_word_fails():
    message, _ = compare_text("loss 0.5\n", "loss nan\n", TOL)
    assert message is not None


def test_alignment_may_shift_when_a_sign_appears():
    assert skeleton("a    0.05\n") == skeleton("a   -0.05\n")
    assert compare_text("a    0.01\n", "a   -0.01\n", TOL)[0] is None


def test_relative_tolerance_scales_with_the_stored_number():
    rel = Tolerance(rel=0.1, reason="sampled")
    assert compare_text("1000 and 1\n", "1090 and 1.09\n", rel)[0] is None
    assert compare_text("1000 and 1\n", "1000 and 1.2\n", rel)[0] is not None


def test_the_boundary_of_the_tolerance_is_inclusive():
    assert compare_text("0.50", "0.52", TOL)[0] is None
    assert compare_text("0.50", "0.53", TOL)[0] is not None


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("0.1", TypeError, "must be a dict"),
        ({"abs": 0.1}, ValueError, "reason"),
        ({"abs": 0.1, "reason": "  "}, ValueError, "reason"),
        ({"abs": "0.1", "reason": "r"}, TypeError, "'abs' must be a number"),
        ({"rel": -1, "reason": "r"}, ValueError, "'rel' must be finite and >= 0"),
        ({"abs": float("nan"), "reason": "r"}, ValueError, "'abs'"),
        ({"reason": "r"}, ValueError, "'abs' or 'rel' > 0"),
        ({"abs": 0.1, "reason": "r", "atol": 1}, ValueError, "unknown keys"),
    ],
)
def test_malformed_tolerances_are_errors(spec, error, match):
    with pytest.raises(error, match=match):
        cell_tolerance({"tolerance": spec})


def test_a_cell_without_tolerance_has_none():
    assert cell_tolerance({"tags": []}) is None
    assert cell_tolerance({"tolerance": {"abs": 0.1, "reason": " r "}}) == Tolerance(0.1, 0, "r")


def _stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_outputs_compare_per_kind_and_count():
    skip = ("metadata", "output_type", "name", "execution_count", "image/png")
    plot = nbformat.v4.new_output(
        "display_data", data={"text/plain": "<Figure>", "image/png": "AAA"}
    )
    stored = [_stream("acc 0.80\n"), plot]
    fresh = [_stream("acc 0.81\n"), {**plot, "data": {**plot["data"], "image/png": "BBB"}}]
    assert compare_outputs(fresh, stored, TOL, skip, str) == ([], pytest.approx(0.5))
    messages, _ = compare_outputs([_stream("acc 0.81\n")], stored, TOL, skip, str)
    assert "output kinds" in messages[0]
    messages, _ = compare_outputs(stored + [_stream("x")], stored, TOL, skip, str)
    assert "2 'stdout' outputs where the stored cell has 1" in messages[0]
    messages, _ = compare_outputs(fresh + [plot], stored, TOL, skip, str)
    assert "2 'text/plain' outputs" in messages[0]


ROOT = pathlib.Path(__file__).resolve().parents[1]


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for i, (source, printed, metadata) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=i, metadata=metadata)
        cell.outputs = [_stream(printed)]
        nb.cells.append(cell)
    nbformat.write(nb, path)


def test_nbval_uses_the_tolerance_and_stays_exact_elsewhere(tmp_path):
    """End to end: a real nbval run over a notebook whose stored outputs are slightly off."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(ROOT / "tests")!r})
            import nbval.plugin, nbval_tolerance
            nbval_tolerance.install(nbval.plugin)
            """
        )
    )
    tol = {"tolerance": {"abs": 0.02, "reason": "a trained number"}}
    _notebook(
        tmp_path / "within.ipynb", [("print('accuracy 0.81')", "accuracy 0.80\n", tol)]
    )  # fresh 0.81 against stored 0.80: inside 0.02
    _notebook(tmp_path / "outside.ipynb", [("print('accuracy 0.85')", "accuracy 0.80\n", tol)])
    _notebook(tmp_path / "word.ipynb", [("print('accurac 0.80')", "accuracy 0.80\n", tol)])
    _notebook(tmp_path / "exact.ipynb", [("print('accuracy 0.81')", "accuracy 0.80\n", {})])
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "-rA"]
        + [f"{n}.ipynb" for n in ("within", "outside", "word", "exact")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout
    assert "PASSED within.ipynb::Cell 0" in out, out
    assert "FAILED outside.ipynb::Cell 0" in out, out
    assert "number 1 is 0.85 where the stored output has 0.8" in out, out
    assert "FAILED word.ipynb::Cell 0" in out and "differs outside its numbers" in out, out
    assert "FAILED exact.ipynb::Cell 0" in out, out
    assert "3 failed, 1 passed" in out, out


def test_every_chapter_tolerance_is_well_formed():
    """Each tolerance in a chapter parses and gives its reason (nbval would error otherwise)."""
    declared = 0
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell_tolerance(cell.get("metadata", {})) is not None:
                declared += 1
                assert cell["cell_type"] == "code", path.name
    assert declared >= 1
