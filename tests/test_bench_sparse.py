"""The sparse-coding benchmark runs end to end on a tiny configuration (no timing asserted)."""

from __future__ import annotations

import torch

from ebmlab import bench_sparse, sparse


def test_bench_tiny_configuration_reaches_the_gap(capsys):
    rows = bench_sparse.main(
        [
            "--n-patches",
            "300",
            "--n-digits",
            "150",
            "--atoms",
            "24",
            "--repeats",
            "1",
            "--lista-layers",
            "3",
            "--lista-epochs",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert "| data | method |" in out and "lasso_cd" in out
    assert "vs the default call" not in out  # that column needs --sklearn-default
    timed = [r for r in rows if "seconds" in r]
    assert {r["data"] for r in timed} == {"digits", "patches"}
    assert {"ebmlab.admm, tuned tol", "ebmlab.fista, tuned tol"} <= {r["method"] for r in timed}
    for r in timed:
        assert r["seconds"] > 0
        # every method, ours and the peers', reached the target relative gap
        assert -1e-6 <= r["gap"] <= 1e-4, r
    lista = [r for r in rows if "code_error" in r]
    assert {r["method"] for r in lista} >= {"ISTA", "FISTA", "LISTA (trained)"}
    assert all(r["code_error"] >= 0 for r in lista)


def test_plain_fista_agrees_with_ebmlab_fista():
    W = sparse.random_dictionary(10, 20, seed=1, dtype=torch.float64)
    Y = torch.randn(30, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = bench_sparse.plain_fista(W, Y, 0.1, 300)
    b = sparse.fista(W, Y, 0.1, 300, restart=False).z  # the same algorithm, rearranged
    assert torch.allclose(a, b, atol=1e-8)
