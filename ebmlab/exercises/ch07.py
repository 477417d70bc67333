"""Checks for chapter 7 (regularised latent variables and the variational autoencoder)."""

from __future__ import annotations

import torch

from ..vae import VAE, fit_vae, kl_normal, reparameterize, vae_loss
from . import Exercise
from ._core import Case, CheckResult, allclose, check, rng

__all__ = ["check_reparameterize", "check_kl_normal", "check_negative_elbo"]
__all__ += ["check_rate_distortion", "EXERCISES"]


def _reparameterize_reference(
    mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    return reparameterize(mu, logvar, eps)


def _reparameterize_cases(seed: int) -> list[Case]:
    g = rng(707, seed)
    return [
        Case(
            (torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.5])),
            what="a standard normal: z = eps",
        ),
        Case(
            (torch.tensor([1.0, -2.0]), torch.tensor([0.0, 0.0]), torch.zeros(2)),
            what="eps = 0 gives the mean",
        ),
        Case(
            (torch.tensor([0.5]), torch.tensor([2.0]), torch.tensor([1.0])),
            what="log-variance 2",
            hint="logvar is log(sigma^2): the standard deviation is exp(logvar / 2), "
            "not exp(logvar) and not logvar",
        ),
        Case(
            (
                torch.randn(5, 3, generator=g),
                torch.randn(5, 3, generator=g) * 2,
                torch.randn(5, 3, generator=g),
            ),
            what="a batch of 5 codes in 3 dimensions",
            hint="everything is element-wise: z = mu + sigma * eps",
        ),
        Case(
            (torch.zeros(2, 2), torch.full((2, 2), -30.0), torch.randn(2, 2, generator=g)),
            what="a tiny variance",
        ),
    ]


def check_reparameterize(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(mu, logvar, eps)``: the reparameterised sample
    :math:`z = \bar z + e^{\frac12\log\sigma^2}\,\varepsilon`, element-wise."""
    return check(
        fn,
        _reparameterize_reference,
        _reparameterize_cases,
        name="reparameterize",
        quiet=quiet,
    )


def _kl_reference(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return kl_normal(mu, logvar)


def _kl_cases(seed: int) -> list[Case]:
    g = rng(7007, seed)
    return [
        Case((torch.zeros(1, 2), torch.zeros(1, 2)), what="q equals the prior: KL = 0"),
        Case(
            (torch.tensor([[3.0, 0.0]]), torch.zeros(1, 2)),
            what="a shifted mean, unit variance",
            hint="with sigma = 1 only the spring term mu^2 / 2 is left",
        ),
        Case(
            (torch.zeros(1, 3), torch.tensor([[-2.0, 0.0, 2.0]])),
            what="zero mean, variances e^-2, 1, e^2",
            hint="the variance term is (sigma^2 - log sigma^2 - 1) / 2 with sigma^2 = exp(logvar)",
        ),
        Case(
            (torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)),
            what="a batch of 6 balls in 4 dimensions",
            hint="sum over the last dimension only: one KL per row",
        ),
        Case(
            (torch.randn(2, 3, 5, generator=g), torch.randn(2, 3, 5, generator=g) * 3),
            what="a (2, 3, 5) batch",
            hint="sum over dim=-1, keep the other dimensions",
        ),
    ]


def check_kl_normal(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(mu, logvar)``: :math:`\mathrm{KL}(\mathcal N(\bar z, \sigma^2)\,\|\,
    \mathcal N(0, I))` in closed form, summed over the last dimension."""
    return check(
        fn, _kl_reference, _kl_cases, name="kl_normal", compare=allclose(1e-4, 1e-5), quiet=quiet
    )


def _elbo_reference(x, logits, mu, logvar, kl_weight):
    return vae_loss(x, logits, mu, logvar, kl_weight).loss


def _elbo_cases(seed: int) -> list[Case]:
    g = rng(70007, seed)

    def batch(B, D, d, scale=2.0):
        return (
            torch.rand(B, D, generator=g),
            torch.randn(B, D, generator=g) * scale,
            torch.randn(B, d, generator=g),
            torch.randn(B, d, generator=g),
        )

    binary = (torch.rand(3, 6, generator=g) > 0.5).float()
    return [
        Case((*batch(1, 4, 2), 1.0), what="one image, kl_weight = 1"),
        Case(
            (*batch(8, 16, 3), 1.0),
            what="a batch of 8",
            hint="sum over pixels and latent dimensions, then average over the batch",
        ),
        Case(
            (*batch(5, 10, 2), 0.0),
            what="kl_weight = 0: the reconstruction term alone",
            hint="the reconstruction term is the binary cross-entropy of the pixels, from logits",
        ),
        Case(
            (*batch(5, 10, 2), 4.0),
            what="kl_weight = 4",
            hint="only the KL term is multiplied by kl_weight",
        ),
        Case(
            (
                binary,
                torch.randn(3, 6, generator=g) * 200,
                torch.zeros(3, 2),
                torch.zeros(3, 2),
                1.0,
            ),
            what="confident logits of size 200",
            hint="sigmoid(200) rounds to 1 and log(1 - 1) is -inf: write "
            "-log p(x|z) = softplus(l) - x * l (or use binary_cross_entropy_with_logits)",
        ),
    ]


def check_negative_elbo(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(x, logits, mu, logvar, kl_weight)``: the batch mean of the Bernoulli
    reconstruction cost plus :math:`\beta\,\mathrm{KL}` with :math:`\beta` = ``kl_weight``
    (the negative ELBO at :math:`\beta = 1`)."""
    return check(
        fn,
        _elbo_reference,
        _elbo_cases,
        name="negative_elbo",
        compare=allclose(1e-4, 1e-4),
        quiet=quiet,
    )


# --------------------------------------------------------------------------- the beta sweep


def _rate_distortion_reference(X: torch.Tensor, kl_weight: float, seed: int):
    model = VAE(in_dim=X.shape[1], latent_dim=2, hidden=32, seed=seed)
    fit_vae(model, X, kl_weight, epochs=20, batch_size=64, seed=seed)
    res = model.negative_elbo(X, n_samples=4, seed=0)
    return float(res.kl), float(res.recon)  # (rate, distortion)


def _rate_distortion_cases(seed: int) -> list[Case]:
    g = rng(7700, seed)
    protos = (torch.rand(5, 16, generator=g) > 0.5).float()  # five binary 4 x 4 "digits"
    which = torch.randint(0, 5, (192,), generator=g)
    X = (0.8 * protos[which] + 0.2 * torch.rand(192, 16, generator=g)).clamp(0, 1)
    seeds = torch.randint(0, 1000, (3,), generator=g).tolist()
    return [
        Case(
            (X, 1.0, seeds[0]),
            what="beta = 1",
            hint="return (rate, distortion) = (res.kl, res.recon) of "
            "model.negative_elbo(X, n_samples=4, seed=0), in that order, as floats",
        ),
        Case(
            (X, 0.1, seeds[1]),
            what="a weak spring, beta = 0.1",
            hint="train with kl_weight = the beta you are given, the model built with seed; "
            "the rate is the KL itself, not kl_weight * KL",
        ),
        Case(
            (X[:96], 4.0, seeds[2]),
            what="a strong spring, beta = 4, on half the data",
            hint="use the X you are given (here 96 rows), for training and for the measurement",
        ),
    ]


def check_rate_distortion(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(X, kl_weight, seed) -> (rate, distortion)``: a small VAE trained at
    :math:`\beta` = ``kl_weight`` and its rate :math:`\mathrm{KL}` and distortion
    :math:`\mathbb E_q[-\log p(x\mid z)]` on ``X`` (nats per image)."""
    return check(
        fn,
        _rate_distortion_reference,
        _rate_distortion_cases,
        name="rate_distortion",
        compare=allclose(1e-3, 1e-3),
        quiet=quiet,
    )


EXERCISES = {
    "reparameterize": Exercise(
        check_reparameterize,
        _reparameterize_reference,
        "Write a Gaussian sample as a differentiable function of its mean and log-variance",
        "easy",
        5,
    ),
    "kl_normal": Exercise(
        check_kl_normal,
        _kl_reference,
        "Derive and implement the closed-form KL of a diagonal Gaussian from N(0, I)",
        "medium",
        15,
    ),
    "negative_elbo": Exercise(
        check_negative_elbo,
        _elbo_reference,
        "Assemble the (beta-)VAE loss from a stable Bernoulli likelihood and the KL term",
        "medium",
        15,
    ),
    "rate_distortion": Exercise(
        check_rate_distortion,
        _rate_distortion_reference,
        "Run the beta sweep of a VAE: measure its rate (KL) and distortion, and read the trade-off",
        "easy",
        20,
    ),
}
