"""Tests for ebmlab.sparse.conv_psd: the convolutional sparse auto-encoder's energy (against
the formula and convolutional sparse coding), its inference (a closed form, the optimality
conditions, a plain proximal gradient written here), its encoder at the start (one ISTA step)
and its training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import sparse


def _problem(N=3, m=2, s=3, H=7, W=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    K = torch.randn(m, s, s, generator=g, dtype=dtype)
    K = K / K.flatten(1).norm(dim=1)[:, None, None]
    Y = torch.randn(N, H, W, generator=g, dtype=dtype)
    Z_enc = torch.randn(N, m, H, W, generator=g, dtype=dtype) * (
        torch.rand(N, m, H, W, generator=g, dtype=dtype) < 0.3
    )
    return Y, K, Z_enc


def _smooth_gradient(Y, K, Z, Z_enc, alpha):
    """The gradient of the two quadratic terms, by autograd on the formula written out."""
    Z = Z.detach().requires_grad_(True)
    R = Y - sum(
        F.conv2d(Z[:, i : i + 1], K[i].flip(0, 1)[None, None], padding=K.shape[1] // 2)[:, 0]
        for i in range(K.shape[0])
    )
    (0.5 * (R**2).sum() + 0.5 * alpha * ((Z - Z_enc) ** 2).sum()).backward()
    return Z.grad


def _kkt_violation(Y, K, Z, Z_enc, lam, alpha):
    grad = _smooth_gradient(Y, K, Z, Z_enc, alpha)
    on = Z != 0
    v_on = (grad + lam * Z.sign()).abs().where(on, torch.zeros_like(grad))
    v_off = (grad.abs() - lam).clamp_min(0).where(~on, torch.zeros_like(grad))
    return float(torch.maximum(v_on, v_off).max())


# ----------------------------------------------------------------------------- the energy


def test_energy_is_the_formula_and_reduces_to_convolutional_sparse_coding():
    Y, K, Z_enc = _problem()
    g = torch.Generator().manual_seed(1)
    Z = torch.randn(Z_enc.shape, generator=g, dtype=torch.float64)
    lam, alpha = 0.3, 1.7
    e = sparse.conv_psd_energy(Y, K, Z, Z_enc, lam, alpha)
    R = Y - sparse.conv_reconstruct(Z, K)
    by_hand = (
        0.5 * (R**2).sum((1, 2))
        + 0.5 * alpha * ((Z - Z_enc) ** 2).sum((1, 2, 3))
        + lam * Z.abs().sum((1, 2, 3))
    )
    assert e.shape == (3,) and torch.allclose(e, by_hand)
    # with alpha = 0 it is the energy that conv_sparse_code minimises
    plain = sparse.conv_sparse_energy(Y, K, Z, lam)
    assert plain.shape == (3,)
    assert torch.allclose(plain, 0.5 * (R**2).sum((1, 2)) + lam * Z.abs().sum((1, 2, 3)))
    assert torch.allclose(sparse.conv_psd_energy(Y, K, Z, Z_enc, lam, 0.0), plain)
    assert abs(float(plain.sum()) - sparse._conv_energy(Y, K, Z, lam)) < 1e-9


# ----------------------------------------------------------------------------- inference


def test_one_pixel_kernel_has_the_closed_form():
    # a single 1 x 1 unit kernel makes the problem separable, pixel by pixel
    Y, _, Z_enc = _problem(m=1)
    K = torch.ones(1, 1, 1, dtype=torch.float64)
    lam, alpha = 0.4, 0.8
    Z = sparse.conv_psd_codes(Y, K, Z_enc, lam, alpha, 300)
    closed = sparse.shrink((Y[:, None] + alpha * Z_enc) / (1 + alpha), lam / (1 + alpha))
    assert torch.allclose(Z, closed, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.02, 1.0), alpha=st.floats(0.1, 5.0))
def test_codes_meet_the_optimality_conditions(seed, lam, alpha):
    Y, K, Z_enc = _problem(N=2, seed=seed)
    Z = sparse.conv_psd_codes(Y, K, Z_enc, lam, alpha, 1500)
    assert _kkt_violation(Y, K, Z, Z_enc, lam, alpha) < 1e-6


def test_codes_are_those_of_a_plain_proximal_gradient_and_lower_the_energy():
    Y, K, Z_enc = _problem(seed=4)
    lam, alpha = 0.2, 0.5
    Z = sparse.conv_psd_codes(Y, K, Z_enc, lam, alpha, 1500)
    # ISTA on the formula, with a step from the exact largest eigenvalue of the operator
    n = Z_enc[:1].numel()
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *Z_enc.shape[1:])
    A = sparse.conv_reconstruct(basis, K).reshape(n, -1)
    L = float(torch.linalg.eigvalsh(A @ A.T)[-1]) + alpha
    direct = torch.zeros_like(Z_enc)
    for _ in range(6000):
        direct = sparse.shrink(direct - _smooth_gradient(Y, K, direct, Z_enc, alpha) / L, lam / L)
    assert torch.allclose(Z, direct, atol=1e-6)
    e = sparse.conv_psd_energy(Y, K, Z, Z_enc, lam, alpha)
    assert (e <= sparse.conv_psd_energy(Y, K, Z_enc, Z_enc, lam, alpha) + 1e-12).all()
    plain = sparse.conv_sparse_code(Y, K, lam, 1500)
    assert (e <= sparse.conv_psd_energy(Y, K, plain, Z_enc, lam, alpha) + 1e-12).all()


def test_zero_steps_return_the_encoder_and_a_large_alpha_stays_near_it():
    Y, K, Z_enc = _problem(seed=2)
    assert torch.equal(sparse.conv_psd_codes(Y, K, Z_enc, 0.1, 1.0, 0), Z_enc)
    far = sparse.conv_psd_codes(Y, K, Z_enc, 0.1, 1e6, 30)
    assert torch.allclose(far, Z_enc, atol=1e-5)


# ----------------------------------------------------------------------------- the model


def test_the_module_starts_as_one_ista_step_with_unit_kernels():
    Y, K, _ = _problem(N=4, m=3, s=5, H=9, W=11)
    K_in = 2.5 * K
    model = sparse.ConvPSD(K_in, lam=0.2, alpha=1.0)
    assert torch.equal(K_in, 2.5 * K), "the input kernels are not changed"
    norms = model.K.detach().flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.ones(3, dtype=torch.float64))
    assert model.E.shape == (3, 5, 5) and model.theta.shape == (3,)
    with torch.no_grad():
        first = model(Y)
    # FISTA's first iteration from zero maps is ISTA's
    assert torch.allclose(first, sparse.conv_sparse_code(Y, K, 0.2, 1), atol=1e-12)
    assert first.shape == (4, 3, 9, 11)
    as32 = sparse.ConvPSD(K.float(), lam=0.2)
    with torch.no_grad():
        assert as32(Y).dtype == torch.float32


def test_training_lowers_the_energy_keeps_unit_kernels_and_repeats():
    # images made by two known kernels from sparse maps, plus a little noise
    g = torch.Generator().manual_seed(0)
    K_true = torch.zeros(2, 5, 5)
    K_true[0, 2, :] = 1.0  # a horizontal bar
    K_true[1, :, 2] = 1.0  # a vertical bar
    K_true = K_true / K_true.flatten(1).norm(dim=1)[:, None, None]
    maps = torch.randn(48, 2, 16, 16, generator=g) * (torch.rand(48, 2, 16, 16, generator=g) < 0.04)
    Y = sparse.conv_reconstruct(maps, K_true) + 0.02 * torch.randn(48, 16, 16, generator=g)
    K0 = torch.randn(2, 5, 5, generator=g)

    def run():
        model = sparse.ConvPSD(K0, lam=0.05, alpha=1.0)
        history = sparse.train_conv_psd(model, Y, epochs=6, batch_size=12, lr=1e-2, inner_steps=10)
        return model, history

    model, history = run()
    assert set(history) == {"energy", "reconstruction", "prediction"}
    e = history.energy
    assert e.shape == (6,) and e[-1] < 0.7 * e[0]
    norms = model.K.detach().flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.ones(2), atol=1e-5)
    start = sparse.ConvPSD(K0, lam=0.05)
    with torch.no_grad():  # the encoder alone now codes better than at the start
        before = sparse.conv_psd_energy(Y, start.K, start(Y), start(Y), 0.05, 0.0).mean()
        Z = model(Y)
        after = sparse.conv_psd_energy(Y, model.K, Z, Z, 0.05, 0.0).mean()
    assert after < 0.7 * before
    again, h2 = run()  # the same seed, the same run
    assert torch.equal(h2.energy, e) and torch.equal(again.K, model.K)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    Y, K, Z_enc = _problem()
    with pytest.raises(ValueError, match="K"):
        sparse.ConvPSD(torch.ones(2, 4, 4), lam=0.1)  # even size
    with pytest.raises(ValueError, match="K"):
        sparse.ConvPSD(torch.zeros(2, 3, 3), lam=0.1)
    with pytest.raises(TypeError, match="K"):
        sparse.ConvPSD("kernels", lam=0.1)
    with pytest.raises(ValueError, match="lam"):
        sparse.ConvPSD(K, lam=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        sparse.ConvPSD(K, lam=0.1, alpha=0.0)
    with pytest.raises(ValueError, match="Z_enc"):
        sparse.conv_psd_codes(Y, K, Z_enc[:, :1], 0.1, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        sparse.conv_psd_codes(Y, K, Z_enc, 0.1, 0.0)
    with pytest.raises(ValueError, match="Y"):
        sparse.conv_psd_codes(Y[0], K, Z_enc, 0.1, 1.0)
    with pytest.raises(ValueError, match="Z"):
        sparse.conv_psd_energy(Y, K, Z_enc[:2], Z_enc, 0.1, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        sparse.conv_psd_energy(Y, K, Z_enc, Z_enc, 0.1, -1.0)
    with pytest.raises(ValueError, match="Z"):
        sparse.conv_sparse_energy(Y, K, Z_enc[:, :1], 0.1)
    with pytest.raises(ValueError, match="lam"):
        sparse.conv_sparse_energy(Y, K, Z_enc, -0.1)
    model = sparse.ConvPSD(K, lam=0.1)
    with pytest.raises(ValueError, match="Y"):
        model(Y[0])
    with pytest.raises(TypeError, match="model"):
        sparse.train_conv_psd(sparse.PSD(sparse.random_dictionary(4, 6), 0.1), Y)
    with pytest.raises(ValueError, match="Y"):
        sparse.train_conv_psd(model, Y[:, :2, :2])
    with pytest.raises(ValueError, match="inner_steps"):
        sparse.train_conv_psd(model, Y, inner_steps=0)
