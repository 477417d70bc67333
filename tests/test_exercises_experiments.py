"""The experiment exercises of chapters 1-4: a right derivation passes the check, which measures
the quantity by sampling, running or training on hidden settings; the plausible wrong answers
(the formula without the term the derivation is about) fail."""

import math

import pytest
import torch

from ebmlab.exercises import grading, registry

R = registry()


def blur(gap, noise, p):
    return p * (1 - p) * gap**2 + noise**2


def blur_equal_branches(gap, noise, p):  # assumes p = 1/2 everywhere
    return gap**2 / 4 + noise**2


def blur_noise_only(gap, noise, p):  # the error of the best of two predictions, not the mean's
    return noise**2


def stable_lr(H):
    return 2 / torch.linalg.eigvalsh(H)[..., -1]


def stable_lr_one_over(H):
    return 1 / torch.linalg.eigvalsh(H)[..., -1]


def stable_lr_flattest(H):
    return 2 / torch.linalg.eigvalsh(H)[..., 0]


def laplace(k, beta, length):
    return torch.log(beta * k * length**2 / (2 * math.pi)) / (2 * beta)


def laplace_integral_form(k, beta, length):  # forgets the uniform measure 1/length
    return torch.log(beta * k / (2 * math.pi)) / (2 * beta)


def laplace_half_over_beta(k, beta, length):  # the equipartition value E[E] = 1/(2 beta)
    return torch.full_like(k, 1 / (2 * beta))


def cd_fixed_point(Y, k, eta):
    m2 = (Y**2).mean()
    return (1 - torch.sqrt(1 - 2 * eta / m2)) / eta


def cd_maximum_likelihood(Y, k, eta):
    return 1 / (Y**2).mean()


def cd_depends_on_k(Y, k, eta):  # the ML answer for long chains, a biased one for short ones
    return cd_fixed_point(Y, k, eta) if k == 1 else 1 / (Y**2).mean()


RIGHT = [
    ("ch01", "blur_error", blur),
    ("ch02", "largest_stable_lr", stable_lr),
    ("ch03", "laplace_gap", laplace),
    ("ch04", "cd_fixed_point", cd_fixed_point),
]
WRONG = [
    ("ch01", "blur_error", blur_equal_branches),
    ("ch01", "blur_error", blur_noise_only),
    ("ch02", "largest_stable_lr", stable_lr_one_over),
    ("ch02", "largest_stable_lr", stable_lr_flattest),
    ("ch03", "laplace_gap", laplace_integral_form),
    ("ch03", "laplace_gap", laplace_half_over_beta),
    ("ch04", "cd_fixed_point", cd_maximum_likelihood),
    ("ch04", "cd_fixed_point", cd_depends_on_k),
]


@pytest.mark.parametrize(("chapter", "name", "fn"), RIGHT, ids=[f.__name__ for *_, f in RIGHT])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_derivation_matches_the_measurement(chapter, name, fn, seed):
    with grading(seed=seed):
        result = R[chapter][name].check(fn, quiet=True)
    assert result.status == "pass", result.message


@pytest.mark.parametrize(("chapter", "name", "fn"), WRONG, ids=[f.__name__ for *_, f in WRONG])
def test_the_wrong_derivation_is_rejected(chapter, name, fn):
    result = R[chapter][name].check(fn, quiet=True)
    assert result.status == "fail" and result.message.startswith("❌"), result
