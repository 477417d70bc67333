"""The K-means benchmark runs end to end on a tiny configuration (no timing assertions)."""

from __future__ import annotations

import pytest
import torch

from ebmlab.bench import kmeans as bench_kmeans

KEYS = {
    "data",
    "n",
    "d",
    "k",
    "dtype",
    "threads",
    "bounds",
    "n_iter_ebmlab",
    "n_iter_sklearn",
    "ms_per_iter_ebmlab",
    "ms_per_iter_sklearn",
    "ratio",
    "inertia_ebmlab",
    "inertia_sklearn",
    "inertia_rel_diff",
}


def test_main_prints_a_table_and_the_two_libraries_agree(capsys):
    rows = bench_kmeans.main(
        [
            "--data",
            "digits",
            "patches",
            "--ks",
            "3",
            "8",
            "--repeats",
            "1",
            "--n-rows",
            "300",
            "--n-patches",
            "400",
            "--min-seconds",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert len(rows) == 4
    assert out.count("\n| digits |") == 2 and out.count("\n| patches |") == 2
    assert "ratio (sklearn / ebmlab)" in out
    for r in rows:
        assert set(r) == KEYS
        assert r["n"] == 300 and r["d"] == 64 and r["dtype"] == "float64" and r["threads"] == 1
        # same start, same algorithm, same stopping rule: same iterations and the same energy
        assert r["n_iter_ebmlab"] == r["n_iter_sklearn"]
        assert r["inertia_rel_diff"] <= 1e-6
        assert r["ms_per_iter_ebmlab"] > 0 and r["ms_per_iter_sklearn"] > 0
        assert r["ratio"] == pytest.approx(r["ms_per_iter_sklearn"] / r["ms_per_iter_ebmlab"])


def test_main_restores_torch_threads_and_runs_in_float32():
    before = torch.get_num_threads()
    rows = bench_kmeans.main(
        ["--data", "digits", "--ks", "4", "--repeats", "2", "--n-rows", "200", "--dtype", "float32"]
        + ["--min-seconds", "0.05", "--loop", "plain"]
    )
    assert torch.get_num_threads() == before
    assert rows[0]["dtype"] == "float32" and rows[0]["bounds"] is False
    assert rows[0]["inertia_rel_diff"] <= 1e-4


def test_run_case_checks_its_arguments():
    Y = torch.rand(50, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="k"):
        bench_kmeans.run_case("x", Y, 51)
    with pytest.raises(ValueError, match="Y"):
        bench_kmeans.run_case("x", torch.rand(50), 3)
    with pytest.raises(TypeError, match="config"):
        bench_kmeans.run_case("x", Y, 3, {"repeats": 1})
    with pytest.raises(ValueError, match="n_rows"):
        bench_kmeans.main(["--n-rows", "0"])


def test_the_case_config_checks_its_fields_when_built():
    Config = bench_kmeans.CaseConfig
    with pytest.raises(ValueError, match="repeats"):
        Config(repeats=0)
    with pytest.raises(ValueError, match="threads"):
        Config(threads=0)
    with pytest.raises(ValueError, match="min_seconds"):
        Config(min_seconds=-1.0)
    with pytest.raises(ValueError, match="seed"):
        Config(seed=-1)
    with pytest.raises(TypeError, match="max_iter"):
        Config(max_iter=2.5)
    with pytest.raises(ValueError, match="loop"):
        Config(loop="fast")
    config = Config(repeats=3, min_seconds=1)
    assert config.min_seconds == 1.0 and isinstance(config.min_seconds, float)
    with pytest.raises(AttributeError):
        config.repeats = 4  # frozen


def test_run_case_runs_one_configured_case():
    Y = torch.rand(60, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    config = bench_kmeans.CaseConfig(repeats=1, min_seconds=0.0, loop="bounds", max_iter=50)
    row = bench_kmeans.run_case("uniform", Y, 4, config)
    assert set(row) == KEYS and row["bounds"] is True and row["data"] == "uniform"
    assert row["n_iter_ebmlab"] == row["n_iter_sklearn"] <= 50
