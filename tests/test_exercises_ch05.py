"""Chapter 5's soft assignment: plausible wrong answers fail, right ones written differently pass."""

import math

import pytest
import torch

from ebmlab.exercises import ch05, grading


def _energies(Y, centers):
    return ((Y[:, None, :] - centers[None, :, :]) ** 2).sum(-1)


def soft_assign(Y, centers, beta):
    E = _energies(Y, centers)
    log_mean = torch.logsumexp(-beta * E, dim=1) - math.log(E.shape[1])
    return torch.softmax(-beta * E, dim=1), -log_mean / beta


def soft_assign_by_expansion(Y, centers, beta):  # float32 ||y||^2 - 2 y.w + ||w||^2
    E = (Y**2).sum(1, keepdim=True) - 2 * Y @ centers.T + (centers**2).sum(1)
    log_mean = torch.logsumexp(-beta * E, dim=1) - math.log(E.shape[1])
    return torch.softmax(-beta * E, dim=1), -log_mean / beta


def without_one_over_k(Y, centers, beta):
    r, F = soft_assign(Y, centers, beta)
    return r, F - math.log(centers.shape[0]) / beta


def naive_exp(Y, centers, beta):  # underflows far from every prototype
    w = torch.exp(-beta * _energies(Y, centers))
    return w / w.sum(1, keepdim=True), -torch.log(w.mean(1)) / beta


def softmax_over_points(Y, centers, beta):
    r, F = soft_assign(Y, centers, beta)
    return torch.softmax(-beta * _energies(Y, centers), dim=0), F


def unsquared_distances(Y, centers, beta):
    E = torch.cdist(Y, centers)
    log_mean = torch.logsumexp(-beta * E, dim=1) - math.log(E.shape[1])
    return torch.softmax(-beta * E, dim=1), -log_mean / beta


def hard_assignment(Y, centers, beta):  # the beta -> infinity limit at every beta
    E = _energies(Y, centers)
    F, j = E.min(1)
    return torch.nn.functional.one_hot(j, centers.shape[0]).to(Y.dtype), F


@pytest.mark.parametrize("right", [soft_assign, soft_assign_by_expansion])
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_right_answers_pass_on_every_draw(right, seed):
    with grading(seed=seed):
        assert ch05.check_soft_assign(right, quiet=True)


@pytest.mark.parametrize(
    "wrong",
    [without_one_over_k, naive_exp, softmax_over_points, unsquared_distances, hard_assignment],
)
def test_plausible_wrong_answers_fail(wrong):
    result = ch05.check_soft_assign(wrong, quiet=True)
    assert result.status in ("fail", "error") and result.message.startswith("❌"), result


def test_the_underflow_case_names_log_sum_exp():
    result = ch05.check_soft_assign(naive_exp, quiet=True)
    assert "beta = 50" in result.message and "logsumexp" in result.message
