"""Chapter 8's PIRL NCE exercise: plausible wrong answers fail, the reference formula passes."""

import pytest
import torch
import torch.nn.functional as F

from ebmlab import ssl
from ebmlab.exercises import ch08, grading


def _parts(query, positive, negatives, tau):
    q, p, n = (F.normalize(t, dim=-1) for t in (query, positive, negatives))
    s_pos, s_neg = (q * p).sum(1) / tau, q @ n.T / tau
    return s_pos, s_neg, torch.logsumexp(s_neg, dim=1, keepdim=True)


def mean_over_negatives(query, positive, negatives, tau):
    s_pos, s_neg, log_z = _parts(query, positive, negatives, tau)
    first = s_pos - torch.logaddexp(s_pos, log_z[:, 0])
    return -(first + (log_z - torch.logaddexp(s_neg, log_z)).mean(1)).mean()


def first_term_only(query, positive, negatives, tau):
    s_pos, _, log_z = _parts(query, positive, negatives, tau)
    return -(s_pos - torch.logaddexp(s_pos, log_z[:, 0])).mean()


def z_of_the_positive(query, positive, negatives, tau):
    s_pos, s_neg, _ = _parts(query, positive, negatives, tau)
    p, n = F.normalize(positive, dim=-1), F.normalize(negatives, dim=-1)
    log_z = torch.logsumexp(p @ n.T / tau, dim=1, keepdim=True)
    first = s_pos - torch.logaddexp(s_pos, log_z[:, 0])
    return -(first + (log_z - torch.logaddexp(s_neg, log_z)).sum(1)).mean()


def naive_exp(query, positive, negatives, tau):  # overflows at tau = 0.01
    q, p, n = (F.normalize(t, dim=-1) for t in (query, positive, negatives))
    Z = torch.exp(q @ n.T / tau).sum(1, keepdim=True)

    def h(s):
        return torch.exp(s / tau) / (torch.exp(s / tau) + Z)

    return (-torch.log(h((q * p).sum(1, keepdim=True))) - torch.log(1 - h(q @ n.T)).sum(1)).mean()


def dot_products(query, positive, negatives, tau):  # no normalisation
    q, p, n = query, positive, negatives
    s_pos, s_neg = (q * p).sum(1) / tau, q @ n.T / tau
    log_z = torch.logsumexp(s_neg, dim=1, keepdim=True)
    first = s_pos - torch.logaddexp(s_pos, log_z[:, 0])
    return -(first + (log_z - torch.logaddexp(s_neg, log_z)).sum(1)).mean()


def summed_over_batch(query, positive, negatives, tau):
    return ssl.pirl_nce(query, positive, negatives, tau) * query.shape[0]


@pytest.mark.parametrize("seed", [0, 7, 2**40])
def test_the_readable_reference_passes_on_every_draw(seed):
    with grading(seed=seed):
        assert ch08.check_pirl_nce(ssl.reference.pirl_nce, quiet=True)


@pytest.mark.parametrize(
    "wrong",
    [
        mean_over_negatives,
        first_term_only,
        z_of_the_positive,
        naive_exp,
        dot_products,
        summed_over_batch,
    ],
)
def test_plausible_wrong_answers_fail(wrong):
    result = ch08.check_pirl_nce(wrong, quiet=True)
    assert result.status in ("fail", "error") and result.message.startswith("❌"), result


def test_the_first_case_is_the_chapter_s_example():
    case = ch08._pirl_cases(0)[0]
    assert abs(float(ch08._pirl_nce_reference(*case.args)) - 1.0384) < 1e-4
