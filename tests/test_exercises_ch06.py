"""The chapter-6 checks of a dictionary step and of the λ sweep: plausible wrong answers fail,
a right answer written another way passes."""

import pytest
import torch

from ebmlab import sparse
from ebmlab.exercises import ch06, grading


def _step(Y, W, Z, lr):
    return W + lr * (Y - Z @ W.T).T @ Z / Y.shape[0]


def step_summed_gradient(Y, W, Z, lr):  # the sum over the batch, not the mean
    return sparse.normalize_atoms(W + lr * (Y - Z @ W.T).T @ Z)


def step_rows_normalised(Y, W, Z, lr):
    W = _step(Y, W, Z, lr)
    return W / W.norm(dim=1, keepdim=True)


def step_not_renormalised(Y, W, Z, lr):
    return _step(Y, W, Z, lr)


def step_uphill(Y, W, Z, lr):
    return sparse.normalize_atoms(W - lr * (Y - Z @ W.T).T @ Z / Y.shape[0])


def step_renormalised_first(Y, W, Z, lr):
    return _step(Y, sparse.normalize_atoms(W), Z, lr)


def step_by_the_sum_of_the_norms(Y, W, Z, lr):  # the source notes' wording (ERRATA 5)
    W = _step(Y, W, Z, lr)
    return W / W.norm(dim=0).sum()


def step_right_another_way(Y, W, Z, lr):
    W = W.clone().requires_grad_(True)
    loss = 0.5 * ((Y - Z @ W.T) ** 2).sum(dim=1).mean()
    (grad,) = torch.autograd.grad(loss, W)
    W = (W - lr * grad).detach()
    return W / torch.linalg.vector_norm(W, dim=0)


def _sweep(Y, W, lams, codes, count, error):
    out = [(count(Z), error(Y, Z, W)) for Z in (codes(Y, W, lam) for lam in lams)]
    return torch.tensor([a for a, _ in out]), torch.tensor([b for _, b in out])


def _fista(Y, W, lam, steps=200):
    return sparse.fista(Y, W, lam, steps).z


def _count(Z):
    return float((Z != 0).sum(dim=1).float().mean())


def _rel(Y, Z, W):
    return float((Y - Z @ W.T).norm() / Y.norm())


def sweep_fraction_of_atoms(Y, W, lams):
    return _sweep(Y, W, lams, _fista, lambda Z: float((Z != 0).float().mean()), _rel)


def sweep_per_signal_errors(Y, W, lams):
    def err(Y, Z, W):
        return float(((Y - Z @ W.T).norm(dim=1) / Y.norm(dim=1)).mean())

    return _sweep(Y, W, lams, _fista, _count, err)


def sweep_squared_error(Y, W, lams):
    return _sweep(Y, W, lams, _fista, _count, lambda Y, Z, W: _rel(Y, Z, W) ** 2)


def sweep_absolute_error(Y, W, lams):
    return _sweep(Y, W, lams, _fista, _count, lambda Y, Z, W: float((Y - Z @ W.T).norm()))


def sweep_too_few_steps(Y, W, lams):
    return _sweep(Y, W, lams, lambda Y, W, lam: _fista(Y, W, lam, 30), _count, _rel)


def sweep_with_ista(Y, W, lams):
    return _sweep(Y, W, lams, lambda Y, W, lam: sparse.ista(Y, W, lam, 200).z, _count, _rel)


def sweep_right_in_float64(Y, W, lams):
    return _sweep(Y, W, lams, _fista, _count, _rel)


@pytest.mark.parametrize(
    "wrong",
    [
        step_summed_gradient,
        step_rows_normalised,
        step_not_renormalised,
        step_uphill,
        step_renormalised_first,
        step_by_the_sum_of_the_norms,
    ],
)
def test_a_wrong_dictionary_step_fails(wrong):
    result = ch06.check_dictionary_step(wrong, quiet=True)
    assert result.status == "fail" and result.message.startswith("❌"), result


@pytest.mark.parametrize(
    "wrong",
    [
        sweep_fraction_of_atoms,
        sweep_per_signal_errors,
        sweep_squared_error,
        sweep_absolute_error,
        sweep_too_few_steps,
        sweep_with_ista,
    ],
)
def test_a_wrong_sweep_fails(wrong):
    result = ch06.check_lambda_sweep(wrong, quiet=True)
    assert result.status == "fail" and result.message.startswith("❌"), result


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_right_answers_written_another_way_pass(seed):
    with grading(seed=seed):
        assert ch06.check_dictionary_step(step_right_another_way, quiet=True)
        assert ch06.check_lambda_sweep(sweep_right_in_float64, quiet=True)


def test_the_summed_gradient_fails_with_the_batch_hint():
    result = ch06.check_dictionary_step(step_summed_gradient, quiet=True)
    assert "mean over the batch" in result.message


def test_the_sweep_of_a_huge_lambda_is_all_zeros():
    Y = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    W = sparse.random_dictionary(4, 8, seed=0)
    nonzeros, errors = ch06.EXERCISES["lambda_sweep"].reference(Y, W, [100.0])
    assert nonzeros.tolist() == [0.0] and errors.tolist() == [1.0]
