"""The fast Lloyd loops of ebmlab.kmeans (plain, and with Hamerly's bounds) against the readable
reference, ebmlab.kmeans.reference.lloyd: the same iterates, iteration by iteration.

The reference computes each distance as a sum of squared differences, the fast loops by the
expansion ||y||^2 - 2 y.w + ||w||^2; on data in general position both give the same codes, but
an exact tie (integer data) can be rounded to different sides, so the reference is compared on
data without ties, and the two fast loops, which share one expansion, on ties too."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import kmeans as km
from ebmlab.kmeans import reference

DTYPES = [torch.float32, torch.float64]


def blobs(n, d, k, spread, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    centres = 3.0 * torch.randn(k, d, generator=g, dtype=dtype)
    which = torch.randint(k, (n,), generator=g)
    return centres[which] + spread * torch.randn(n, d, generator=g, dtype=dtype)


def assert_same_run(fast, ref, tol=1e-12):
    """Same number of iterations, same stop, same codes, the same prototypes and energies to
    rounding (the fast loops keep running sums; the reference sums each cluster afresh)."""
    assert fast.n_iter == ref.n_iter and fast.converged == ref.converged
    assert torch.equal(fast.labels, ref.labels)
    torch.testing.assert_close(fast.centers, ref.centers, rtol=tol, atol=tol)
    assert fast.inertia == pytest.approx(ref.inertia, rel=tol, abs=tol)
    assert torch.equal(fast.history.moved, ref.history.moved)
    np.testing.assert_allclose(fast.history.energy, ref.history.energy, rtol=tol, atol=tol)


@pytest.mark.parametrize("bounds", [False, True])
def test_fast_loops_give_the_reference_iterates_at_every_iteration(bounds):
    Y = blobs(n=1500, d=6, k=10, spread=1.5, seed=1)
    init, _ = km.kmeans_plusplus(Y, 10, seed=0)
    full = reference.lloyd(Y, init)
    assert full.converged and full.n_iter > 4
    # stopping after t iterations exposes the t-th iterate of each loop
    for t in range(1, full.n_iter + 1):
        fast = km.lloyd(Y, init, max_iter=t, bounds=bounds, record=True)
        assert_same_run(fast, reference.lloyd(Y, init, max_iter=t))
    assert_same_run(km.lloyd(Y, init, bounds=bounds, record=True), full)


@pytest.mark.parametrize("bounds", [False, True])
def test_fast_loops_follow_the_reference_through_empty_clusters(bounds):
    """Prototypes far from the data: their clusters are empty and are re-seeded on the points
    worst explained (scikit-learn's rule), in both implementations alike."""
    Y = blobs(n=400, d=3, k=4, spread=0.8, seed=2)
    init = torch.cat([Y[:3], torch.full((3, 3), 50.0, dtype=Y.dtype)])
    ref = reference.lloyd(Y, init)
    assert ref.n_iter > 2
    assert_same_run(km.lloyd(Y, init, bounds=bounds, record=True), ref)
    first, _ = km.lloyd_step(Y, init)  # the package's W-step re-seeds the same way
    torch.testing.assert_close(reference.lloyd(Y, init, max_iter=1).centers, first)


def test_fast_loop_stops_on_tol_where_the_reference_does():
    Y = blobs(n=800, d=4, k=6, spread=2.0, seed=3)
    init, _ = km.kmeans_plusplus(Y, 6, seed=1)
    ref = reference.lloyd(Y, init, tol=1e-2)
    assert ref.converged and ref.n_iter < reference.lloyd(Y, init).n_iter
    for bounds in (False, True):
        assert_same_run(km.lloyd(Y, init, tol=1e-2, bounds=bounds, record=True), ref)


def test_reference_matches_the_fast_loop_on_the_digits_in_float32():
    from ebmlab.data import digits

    Y = digits()[0][:600].float() + 1e-3 * torch.rand(600, 64, generator=torch.Generator())
    init, _ = km.kmeans_plusplus(Y, 8, seed=0)
    fast, ref = km.lloyd(Y, init, record=True), reference.lloyd(Y, init)
    assert fast.n_iter == ref.n_iter and torch.equal(fast.labels, ref.labels)
    torch.testing.assert_close(fast.centers, ref.centers, rtol=1e-4, atol=1e-4)


def test_reference_checks_its_arguments():
    Y = blobs(n=20, d=2, k=2, spread=0.5, seed=4)
    with pytest.raises(ValueError, match="max_iter"):
        reference.lloyd(Y, Y[:2], max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        reference.lloyd(Y, Y[:2], tol=math.nan)
    with pytest.raises(ValueError, match="init"):
        reference.lloyd(Y, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="init's number of rows"):
        reference.lloyd(Y[:1], Y[:2])


# --------------------------------------------------------------------------- the two fast loops


@pytest.mark.parametrize("dtype", DTYPES)
def test_bounded_and_plain_lloyd_give_the_same_iterates(dtype):
    Y = blobs(n=2000, d=8, k=12, spread=1.5, seed=11, dtype=dtype)
    init, _ = km.kmeans_plusplus(Y, 12, seed=0)
    a = km.lloyd(Y, init, bounds=False, record=True)
    b = km.lloyd(Y, init, bounds=True, record=True)
    assert a.converged and b.converged
    assert a.n_iter == b.n_iter and a.n_iter > 2
    assert torch.equal(a.labels, b.labels)
    assert torch.equal(a.history.moved, b.history.moved)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(a.centers, b.centers, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.history.energy.numpy(), b.history.energy.numpy(), rtol=tol)
    assert a.centers.dtype == dtype and b.centers.dtype == dtype
    assert km.lloyd(Y, init, bounds="auto").n_iter == a.n_iter


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12), d=st.integers(1, 5))
def test_bounds_never_change_the_result_even_with_ties(seed, k, d):
    """Integer data: many exact ties and empty clusters; the bounds must not skip a change."""
    g = torch.Generator().manual_seed(seed)
    Y = torch.randint(0, 4, (150, d), generator=g).double()
    init = Y[torch.randperm(150, generator=g)[:k]].clone()
    a = km.lloyd(Y, init, bounds=False, record=True)
    b = km.lloyd(Y, init, bounds=True, record=True)
    assert a.n_iter == b.n_iter and torch.equal(a.labels, b.labels)
    assert torch.equal(a.history.moved, b.history.moved)
    torch.testing.assert_close(a.centers, b.centers, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.history.energy.numpy(), b.history.energy.numpy(), rtol=1e-12)
