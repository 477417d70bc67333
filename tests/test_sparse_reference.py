"""The reference ISTA and FISTA (``ebmlab.sparse.reference``, the formulas as the book shows them)
and the fast solvers give the same iterates."""

from __future__ import annotations

import inspect

import pytest
import torch

from ebmlab import sparse
from ebmlab.sparse import reference


def _problem(B=30, n=12, k=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = sparse.random_dictionary(n, k, seed=seed, dtype=torch.float64)
    Y = torch.randn(B, n, generator=g, dtype=torch.float64)
    Y[::4] *= 1e-3  # signals whose optimal code is 0: the fast FISTA skips them (screening)
    return Y, W


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ista_gives_the_reference_iterates(seed):
    Y, W = _problem(seed=seed)
    record = sparse.SolverConfig(record=True)
    fast = sparse.ista(Y, W, 0.1, 40, config=record)
    for k in (0, 1, 2, 5, 13, 40):
        assert torch.allclose(sparse.ista(Y, W, 0.1, k).z, reference.ista(Y, W, 0.1, k), atol=1e-12)
        energy = sparse.sparse_energy(Y, W, reference.ista(Y, W, 0.1, k), 0.1).sum()
        assert fast.history.energy[k] == pytest.approx(float(energy), rel=1e-12)


@pytest.mark.parametrize("restart", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fista_gives_the_reference_iterates(restart, seed):
    Y, W = _problem(seed=seed)
    config = sparse.SolverConfig(restart=restart)
    recorded = sparse.fista(Y, W, 0.1, 60, config=sparse.SolverConfig(record=True, restart=restart))
    for k in (0, 1, 2, 3, 7, 20, 60):
        want = reference.fista(Y, W, 0.1, k, restart=restart)
        got = sparse.fista(Y, W, 0.1, k, config=config)  # screened, buffers reused
        assert got.n_iter == k
        assert torch.allclose(got.z, want, rtol=0, atol=1e-12)
        energy = sparse.sparse_energy(Y, W, want, 0.1).sum()
        assert recorded.history.energy[k] == pytest.approx(float(energy), rel=1e-12)


def test_fista_with_a_stopping_rule_keeps_the_reference_iterates_of_each_signal():
    # with tol, finished signals leave the batch: each one's code is the reference iterate at the
    # check where it stopped
    Y, W = _problem(B=20, seed=3)
    tol, every = 1e-6, 5
    got = sparse.fista(Y, W, 0.1, 500, config=sparse.SolverConfig(tol=tol, check_every=every))
    want = torch.full_like(got.z, float("nan"))
    for k in range(every, got.n_iter + 1, every):  # the reference, batched, at every check
        z = reference.fista(Y, W, 0.1, k, restart=True)
        done = sparse.duality_gap(Y, W, z, 0.1) <= tol * sparse.sparse_energy(Y, W, z, 0.1)
        first = done & want[:, 0].isnan()
        want[first] = z[first]
    assert not want.isnan().any()
    assert torch.allclose(got.z, want, rtol=0, atol=1e-10)


def test_the_references_read_like_the_formulas():
    for fn in (reference.ista, reference.fista):
        body = inspect.getsource(fn).split('"""')[-1]
        assert len(body.strip().splitlines()) <= 20, fn.__name__
        assert "shrink(" in body
    assert "fista_momentum(" in inspect.getsource(reference.fista)
