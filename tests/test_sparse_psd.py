"""Tests for ebmlab.sparse.psd: the energy of predictive sparse decomposition, its inference
(the augmented Lasso, against closed forms, the optimality conditions and a plain proximal
gradient written here) and the training of decoder and encoder."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import sparse


def _problem(B=12, n=6, k=10, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    W = sparse.random_dictionary(n, k, seed=seed, dtype=dtype)
    Y = torch.randn(B, n, generator=g, dtype=dtype)
    Z_enc = torch.randn(B, k, generator=g, dtype=dtype) * (
        torch.rand(B, k, generator=g, dtype=dtype) < 0.4
    )
    return Y, W, Z_enc


def _kkt_violation(Y, W, Z, Z_enc, lam, alpha):
    """How far Z is from the optimality conditions of the augmented energy: the gradient of
    the smooth part is -lam sign(z) where z != 0, and at most lam in size where z == 0."""
    grad = (Z @ W.T - Y) @ W + alpha * (Z - Z_enc)
    on = Z != 0
    v_on = (grad + lam * Z.sign()).abs().where(on, torch.zeros_like(grad))
    v_off = (grad.abs() - lam).clamp_min(0).where(~on, torch.zeros_like(grad))
    return float(torch.maximum(v_on, v_off).max())


def _proximal_gradient(Y, W, Z_enc, lam, alpha, steps):
    """The augmented problem solved the plain way, unstacked: ISTA with the step 1/(L + alpha)."""
    L = float(torch.linalg.eigvalsh(W.T @ W)[-1]) + alpha
    Z = torch.zeros_like(Z_enc)
    for _ in range(steps):
        grad = (Z @ W.T - Y) @ W + alpha * (Z - Z_enc)
        Z = sparse.shrink(Z - grad / L, lam / L)
    return Z


# ----------------------------------------------------------------------------- the energy


def test_psd_energy_is_the_formula_and_reduces_to_sparse_energy():
    Y, W, Z_enc = _problem()
    Z = torch.randn_like(Z_enc)
    lam, alpha = 0.3, 1.7
    e = sparse.psd_energy(Y, W, Z, Z_enc, lam, alpha)
    by_hand = (
        0.5 * ((Y - Z @ W.T) ** 2).sum(1)
        + 0.5 * alpha * ((Z - Z_enc) ** 2).sum(1)
        + lam * Z.abs().sum(1)
    )
    assert e.shape == (12,) and torch.allclose(e, by_hand)
    # at the encoder's code, and with alpha = 0, it is the sparse-coding energy
    plain = sparse.sparse_energy(Y, W, Z_enc, lam)
    assert torch.allclose(sparse.psd_energy(Y, W, Z_enc, Z_enc, lam, alpha), plain)
    assert torch.allclose(
        sparse.psd_energy(Y, W, Z, Z_enc, lam, 0.0), sparse.sparse_energy(Y, W, Z, lam)
    )
    one = sparse.psd_energy(Y[0], W, Z[0], Z_enc[0], lam, alpha)
    assert one.ndim == 0 and torch.allclose(one, e[0])


# ----------------------------------------------------------------------------- inference


def test_psd_codes_has_the_closed_form_for_an_orthonormal_dictionary():
    # with W = I the problem separates: z = shrink((y + alpha e) / (1 + alpha), lam / (1 + alpha))
    Y, _, Z_enc = _problem(n=10, k=10)
    W = torch.eye(10, dtype=torch.float64)
    lam, alpha = 0.4, 0.8
    out = sparse.psd_codes(Y, W, Z_enc, lam, alpha, 200)
    closed = sparse.shrink((Y + alpha * Z_enc) / (1 + alpha), lam / (1 + alpha))
    assert torch.allclose(out.z, closed, atol=1e-10)


def test_psd_codes_solves_the_augmented_problem():
    Y, W, Z_enc = _problem(B=30, n=8, k=20, seed=3)
    lam, alpha = 0.2, 0.5
    out = sparse.psd_codes(Y, W, Z_enc, lam, alpha, 2000, config=sparse.SolverConfig(tol=1e-12))
    assert out.z.shape == (30, 20) and out.n_iter < 2000
    assert _kkt_violation(Y, W, out.z, Z_enc, lam, alpha) < 1e-6
    # the same minimiser as a plain proximal gradient on the unstacked energy
    direct = _proximal_gradient(Y, W, Z_enc, lam, alpha, 5000)
    assert torch.allclose(out.z, direct, atol=1e-6)
    # and it is a minimum: lower than at the encoder's code and at the plain sparse code
    e = sparse.psd_energy(Y, W, out.z, Z_enc, lam, alpha)
    assert (e <= sparse.psd_energy(Y, W, Z_enc, Z_enc, lam, alpha) + 1e-12).all()
    z_plain = sparse.fista(Y, W, lam, 2000).z
    assert (e <= sparse.psd_energy(Y, W, z_plain, Z_enc, lam, alpha) + 1e-12).all()


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lam=st.floats(0.01, 2.0),
    alpha=st.floats(0.05, 10.0),
)
def test_psd_codes_meets_the_optimality_conditions(seed, lam, alpha):
    Y, W, Z_enc = _problem(B=5, n=4, k=7, seed=seed)
    z = sparse.psd_codes(Y, W, Z_enc, lam, alpha, 3000, config=sparse.SolverConfig(tol=1e-13)).z
    assert _kkt_violation(Y, W, z, Z_enc, lam, alpha) < 1e-6


def test_psd_codes_energy_falls_and_a_large_alpha_pulls_to_the_encoder():
    Y, W, Z_enc = _problem(seed=1)
    record = sparse.psd_codes(Y, W, Z_enc, 0.1, 1.0, 50, config=sparse.SolverConfig(record=True))
    e = record.history.energy
    assert e.shape == (51,) and e[-1] < e[0]
    assert torch.isclose(e[0], sparse.psd_energy(Y, W, Z_enc, Z_enc, 0.1, 1.0).sum())
    far = sparse.psd_codes(Y, W, Z_enc, 0.1, 1e6, 50).z
    assert torch.allclose(far, Z_enc, atol=1e-5)


def test_psd_codes_of_one_signal_and_in_float32():
    Y, W, Z_enc = _problem()
    batch = sparse.psd_codes(Y, W, Z_enc, 0.2, 1.0, 100).z
    one = sparse.psd_codes(Y[3], W, Z_enc[3], 0.2, 1.0, 100).z
    assert one.shape == (10,) and torch.allclose(one, batch[3])
    z32 = sparse.psd_codes(Y.float(), W.float(), Z_enc.float(), 0.2, 1.0, 100).z
    assert z32.dtype == torch.float32 and torch.allclose(z32.double(), batch, atol=1e-4)


# ----------------------------------------------------------------------------- the model


def test_psd_module_starts_as_one_ista_step_with_unit_atoms():
    Y, W, _ = _problem()
    W_in = 3.0 * W
    model = sparse.PSD(W_in, lam=0.2, alpha=1.0)
    assert torch.equal(W_in, 3.0 * W), "the input dictionary is not changed"
    assert torch.allclose(model.W.detach().norm(dim=0), torch.ones(10, dtype=torch.float64))
    assert isinstance(model.encoder, sparse.LISTA) and model.encoder.layers == 1
    with torch.no_grad():
        assert torch.allclose(model(Y), sparse.ista(Y, W, 0.2, 1).z, atol=1e-12)
    deep = sparse.PSD(W, lam=0.2, layers=3)
    with torch.no_grad():
        assert torch.allclose(deep(Y), sparse.ista(Y, W, 0.2, 3).z, atol=1e-12)


def test_train_psd_lowers_the_energy_and_keeps_unit_atoms():
    g = torch.Generator().manual_seed(0)
    W_true = sparse.random_dictionary(8, 12, seed=5)
    Z = torch.randn(400, 12, generator=g) * (torch.rand(400, 12, generator=g) < 0.2)
    Y = Z @ W_true.T + 0.05 * torch.randn(400, 8, generator=g)
    model = sparse.PSD(sparse.random_dictionary(8, 12, seed=1), lam=0.1, alpha=1.0)
    with torch.no_grad():
        before = sparse.sparse_energy(Y, model.W, model(Y), 0.1).mean()
    history = sparse.train_psd(model, Y, epochs=8, batch_size=50, lr=1e-2, inner_steps=10)
    assert set(history) == {"energy", "reconstruction", "prediction"}
    e = history.energy
    assert e.shape == (8,) and e[-1] < 0.8 * e[0]
    assert (e.diff() < 1e-3).float().mean() >= 0.85  # it falls, epoch after epoch
    assert torch.allclose(model.W.detach().norm(dim=0), torch.ones(12), atol=1e-5)
    with torch.no_grad():  # the encoder alone now codes better
        after = sparse.sparse_energy(Y, model.W, model(Y), 0.1).mean()
    assert after < 0.6 * before
    # the same seed, the same run
    again = sparse.PSD(sparse.random_dictionary(8, 12, seed=1), lam=0.1, alpha=1.0)
    h2 = sparse.train_psd(again, Y, epochs=8, batch_size=50, lr=1e-2, inner_steps=10)
    assert torch.equal(h2.energy, e) and torch.equal(again.W, model.W)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    Y, W, Z_enc = _problem()
    W0 = W.clone()
    W0[:, 2] = 0
    with pytest.raises(ValueError, match="W"):
        sparse.PSD(W0, lam=0.1)
    with pytest.raises(ValueError, match="lam"):
        sparse.PSD(W, lam=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        sparse.PSD(W, lam=0.1, alpha=0.0)
    with pytest.raises(ValueError, match="layers"):
        sparse.PSD(W, lam=0.1, layers=0)
    with pytest.raises(ValueError, match="Z_enc"):
        sparse.psd_codes(Y, W, Z_enc[:, :4], 0.1, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        sparse.psd_codes(Y, W, Z_enc, 0.1, 0.0)
    with pytest.raises(ValueError, match="Y"):
        sparse.psd_codes(Y[:, :3], W, Z_enc, 0.1, 1.0)
    with pytest.raises(ValueError, match="Z"):
        sparse.psd_energy(Y, W, Z_enc[:5], Z_enc, 0.1, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        sparse.psd_energy(Y, W, Z_enc, Z_enc, 0.1, -1.0)
    with pytest.raises(TypeError, match="model"):
        sparse.train_psd(sparse.LISTA(W, 0.1), Y)
    model = sparse.PSD(W, lam=0.1)
    with pytest.raises(ValueError, match="Y"):
        sparse.train_psd(model, Y[:, :3])
    with pytest.raises(ValueError, match="inner_steps"):
        sparse.train_psd(model, Y, inner_steps=0)
