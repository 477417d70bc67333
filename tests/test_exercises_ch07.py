"""Chapter 7's beta-sweep experiment: the measurement is checked, wrong readings fail."""

import pytest
import torch

from ebmlab import vae
from ebmlab.exercises import ch07, grading


def rate_distortion(X, kl_weight, seed):
    model = vae.VAE(in_dim=X.shape[1], latent_dim=2, hidden=32, seed=seed)
    vae.fit_vae(model, X, kl_weight, epochs=20, batch_size=64, seed=seed)
    res = model.negative_elbo(X, n_samples=4, seed=0)
    return res.kl.item(), res.recon.item()


def swapped(X, kl_weight, seed):
    rate, distortion = rate_distortion(X, kl_weight, seed)
    return distortion, rate


def always_beta_one(X, kl_weight, seed):
    return rate_distortion(X, 1.0, seed)


def weighted_rate(X, kl_weight, seed):  # reports kl_weight * KL, a term of the loss
    rate, distortion = rate_distortion(X, kl_weight, seed)
    return kl_weight * rate, distortion


def fixed_seed(X, kl_weight, seed):
    return rate_distortion(X, kl_weight, 0)


def as_one_tensor(X, kl_weight, seed):
    return torch.tensor(rate_distortion(X, kl_weight, seed))


def test_the_measurement_passes_on_another_draw():
    with grading(seed=3):
        assert ch07.check_rate_distortion(rate_distortion, quiet=True)


@pytest.mark.parametrize(
    "wrong", [swapped, always_beta_one, weighted_rate, fixed_seed, as_one_tensor]
)
def test_wrong_measurements_fail(wrong):
    result = ch07.check_rate_distortion(wrong, quiet=True)
    assert result.status == "fail" and result.message.startswith("❌"), result


def test_the_sweep_trades_rate_for_distortion():
    # what the exercise asks the learner to read off: rate falls, distortion rises with beta
    spec_cases = ch07._rate_distortion_cases(0)
    X = spec_cases[0].args[0]
    low, high = (ch07._rate_distortion_reference(X, b, 0) for b in (0.1, 4.0))
    assert low[0] > high[0] + 1.0 and high[1] > low[1]
