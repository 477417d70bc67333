"""The losses without negatives (ebmlab.ssl.regularized) against their formulas written out."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import ssl


def _pairs(seed, n=16, d=5):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64)
    return z1, z1 + 0.3 * torch.randn(n, d, generator=g, dtype=torch.float64)


def _vicreg_by_hand(a, b, lam=25.0, mu=25.0, nu=1.0, gamma=1.0, eps=1e-4):
    a, b = a.numpy(), b.numpy()
    n, d = a.shape
    inv = ((a - b) ** 2).sum() / (n * d)

    def v(z):
        return np.mean(np.maximum(0.0, gamma - np.sqrt(z.var(axis=0, ddof=1) + eps)))

    def c(z):
        cov = np.atleast_2d(np.cov(z, rowvar=False))
        return (cov**2).sum() / d - (np.diag(cov) ** 2).sum() / d

    return lam * inv + mu * (v(a) + v(b)) + nu * (c(a) + c(b))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 12), st.integers(1, 6))
def test_vicreg_equals_its_formula(seed, n, d):
    z1, z2 = _pairs(seed, n, d)
    got = ssl.vicreg_loss(z1, z2).loss.item()
    assert got == pytest.approx(_vicreg_by_hand(z1, z2), rel=1e-10, abs=1e-12)


def test_vicreg_terms_and_collapse():
    z1, z2 = _pairs(0)
    t = ssl.vicreg_loss(z1, z2, invariance=2.0, variance=3.0, covariance=5.0)
    assert t.loss.item() == pytest.approx(2 * t.invariance + 3 * t.variance + 5 * t.covariance)
    point = torch.ones(8, 4, dtype=torch.float64)  # every image on one point
    collapsed = ssl.vicreg_loss(point, point)
    assert collapsed.invariance.item() == 0.0 and collapsed.covariance.item() == 0.0
    assert collapsed.variance.item() == pytest.approx(2 * (1 - 1e-2))  # 2 views x (1 - sqrt eps)


def test_barlow_twins_equals_its_formula_and_is_zero_at_the_identity():
    z1, z2 = _pairs(1, n=32, d=4)
    a = (z1 - z1.mean(0)) / torch.sqrt(z1.var(0, unbiased=False) + 1e-5)
    b = (z2 - z2.mean(0)) / torch.sqrt(z2.var(0, unbiased=False) + 1e-5)
    c = (a.T @ b / 32).numpy()
    want = ((1 - np.diag(c)) ** 2).sum() + 0.01 * ((c**2).sum() - (np.diag(c) ** 2).sum())
    assert ssl.barlow_twins_loss(z1, z2, off_diagonal=0.01).item() == pytest.approx(want)
    np.testing.assert_allclose(ssl.cross_correlation(z1, z2).numpy(), c, rtol=1e-12)
    # Decorrelated, standardised, identical views: C = I exactly, so the loss vanishes.
    h = torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    white = torch.cat([h, -h]).double()  # columns orthogonal, mean 0, variance 1
    assert ssl.barlow_twins_loss(white, white, eps=1e-12).item() == pytest.approx(0, abs=1e-9)


def test_negative_cosine():
    p, z = _pairs(2)
    want = -torch.nn.functional.cosine_similarity(p, z).mean()
    assert ssl.negative_cosine(p, z).item() == pytest.approx(want.item())
    assert ssl.negative_cosine(p, 3 * p).item() == pytest.approx(-1.0)


@pytest.mark.parametrize("fn", [ssl.vicreg_loss, ssl.barlow_twins_loss, ssl.cross_correlation])
def test_a_batch_statistic_needs_two_rows_and_matching_views(fn):
    z = torch.randn(1, 3)
    with pytest.raises(ValueError, match="z1 must hold at least 2"):
        fn(z, z)
    with pytest.raises(ValueError, match="z2 must have the shape of z1"):
        fn(torch.randn(4, 3), torch.randn(5, 3))


def test_bad_weights_are_named():
    z1, z2 = _pairs(3)
    with pytest.raises(ValueError, match="gamma"):
        ssl.vicreg_loss(z1, z2, gamma=0.0)
    with pytest.raises(ValueError, match="variance"):
        ssl.vicreg_loss(z1, z2, variance=-1.0)
    with pytest.raises(ValueError, match="off_diagonal"):
        ssl.barlow_twins_loss(z1, z2, off_diagonal=-0.1)
