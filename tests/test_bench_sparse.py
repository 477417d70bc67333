"""The sparse-coding benchmark runs end to end on a tiny configuration (no timing asserted)."""

from __future__ import annotations

import torch

from ebmlab import sparse
from ebmlab.bench import sparse as bench_sparse


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
            "1",
            "3",
            "--lista-steps",
            "20",
            "--lista-extra",
            "200",
        ]
    )
    out = capsys.readouterr().out
    assert "| data | method |" in out and "lasso_cd" in out
    assert "\nCPU: " in out  # every table says which CPU it was measured on
    timed = [r for r in rows if "seconds" in r]
    assert {r["data"] for r in timed} == {"digits", "patches"}
    assert {"ebmlab.admm, tuned tol", "ebmlab.fista, tuned tol"} <= {r["method"] for r in timed}
    for r in timed:
        assert r["seconds"] > 0
        # every method, ours and the peers', reached the target relative gap
        assert -1e-6 <= r["gap"] <= 1e-4, r
    lista = [r for r in rows if "lista" in r]
    assert sorted((r["data"], r["layers"]) for r in lista) == [
        ("digits", 1),
        ("digits", 3),
        ("patches", 1),
        ("patches", 3),
    ]
    for r in lista:
        assert all(0 <= r[key] < 10 for key in ("ista", "fista", "lista", "fista_10T"))
        # one layer and one ISTA step are the same map before training
        assert r["match"] is None or 1 <= r["match"] <= 10 * r["layers"]
    assert "FISTA iterations matching LISTA" in out


def test_shifted_digits_are_the_image_and_its_eight_one_pixel_shifts():
    Y = torch.arange(2 * 64, dtype=torch.float32).reshape(2, 64) + 1
    S = bench_sparse._shifted(Y)
    assert S.shape == (18, 64)
    assert torch.equal(S[:2], Y)  # the first block is the unshifted images
    im = Y.reshape(2, 8, 8)
    shifted = S.reshape(9, 2, 8, 8)
    # every block is the image moved by at most one pixel: a 7 x 7 window matches exactly
    for blk in shifted:
        hits = [
            torch.equal(
                blk[:, max(0, -dr) : 8 - max(0, dr), max(0, -dc) : 8 - max(0, dc)],
                im[:, max(0, dr) : 8 - max(0, -dr), max(0, dc) : 8 - max(0, -dc)],
            )
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
        ]
        assert any(hits)
    # the nine blocks are different shifts, and the rows shifted out are zero-filled
    assert len({tuple(b.flatten().tolist()) for b in shifted}) == 9
    assert (shifted[1:] == 0).any()


def test_plain_fista_agrees_with_ebmlab_fista():
    W = sparse.random_dictionary(10, 20, seed=1, dtype=torch.float64)
    Y = torch.randn(30, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = bench_sparse.plain_fista(Y, W, 0.1, 300)
    # the same algorithm, rearranged
    b = sparse.fista(Y, W, 0.1, 300, config=sparse.SolverConfig(restart=False)).z
    assert torch.allclose(a, b, atol=1e-8)
