r"""The contrastive losses written as their formulas read, for reading beside the fast path.

Each function here computes what its namesake of :mod:`ebmlab.ssl` computes (the tests check
that they agree to rounding in float64), with cosine similarities, one shared set of negatives
and a mean over the batch. They do not check their inputs, build what the formula names and
nothing else, and are not what the methods call: :func:`ebmlab.ssl.nt_xent` and the others
check their arguments, take ``similarity``, ``reduction`` and batched negatives, and are the
ones to use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.5) -> torch.Tensor:
    r"""SimCLR's NT-Xent, term by term:
    :math:`\mathcal L = \frac{1}{2N}\sum_i \big[\log\sum_{j\ne i} e^{S_{ij}} - S_{i,p(i)}\big]`,
    with :math:`S_{ij} = \cos(u_i, u_j)/\tau` and :math:`p(i) = i \pm N`."""
    n = z1.shape[0]
    u = F.normalize(torch.cat([z1, z2]), dim=1)  # the 2N views u_i, on the unit sphere
    S = u @ u.T / tau  # S_ij = cos(u_i, u_j) / tau
    i = torch.arange(2 * n, device=u.device)
    partner = (i + n) % (2 * n)  # p(i): the other view of the same image
    not_self = i[:, None] != i[None, :]  # the sum runs over j != i
    log_normaliser = torch.logsumexp(S.masked_fill(~not_self, float("-inf")), dim=1)
    return (log_normaliser - S[i, partner]).mean()  # -log(e^S_ip / sum_j e^S_ij), averaged


def pirl_nce(
    query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float = 0.07
) -> torch.Tensor:
    r"""PIRL's NCE loss of the lecture notes,
    :math:`L = -\log h(\text{positive}) - \sum_{I'} \log\big(1 - h(\text{negative}_{I'})\big)`
    with :math:`h(x) = e^{x/\tau} / (e^{x/\tau} + Z)` and :math:`Z = \sum_{I'} e^{s_{I'}/\tau}`,
    written in log space so that a small :math:`\tau` does not overflow."""
    q, p, n = (F.normalize(t, dim=-1) for t in (query, positive, negatives))
    s_pos = (q * p).sum(1, keepdim=True) / tau  # s(g(v_It), f(v_I)) / tau, one per image
    s_neg = q @ n.T / tau  # s(g(v_It), f(v_I')) / tau, one per image and negative
    log_Z = torch.logsumexp(s_neg, dim=1, keepdim=True)  # log Z
    log_h_pos = s_pos - torch.logaddexp(s_pos, log_Z)  # log h = x/tau - log(e^(x/tau) + Z)
    log_1m_h_neg = log_Z - torch.logaddexp(s_neg, log_Z)  # log(1 - h) = log Z - log(...)
    return (-log_h_pos.squeeze(1) - log_1m_h_neg.sum(1)).mean()


def moco_loss(
    query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor, tau: float = 0.2
) -> torch.Tensor:
    r"""MoCo's InfoNCE, :math:`-\log \frac{e^{s(q, k)/\tau}}{e^{s(q, k)/\tau}
    + \sum_j e^{s(q, n_j)/\tau}}`, averaged over the queries."""
    q, k, n = (F.normalize(t, dim=1) for t in (query, key, queue))
    s_pos = (q * k).sum(1) / tau  # s(q, k) / tau: the query and its own key
    s_neg = q @ n.T / tau  # s(q, n_j) / tau: the query and every key of the queue
    log_denominator = torch.logaddexp(s_pos, torch.logsumexp(s_neg, dim=1))
    return (log_denominator - s_pos).mean()


def memory_update(
    bank: torch.Tensor, index: torch.Tensor, values: torch.Tensor, momentum: float = 0.5
) -> torch.Tensor:
    r"""PIRL's memory-bank update, :math:`m_I \leftarrow \operatorname{normalise}\big(\mu\, m_I
    + (1-\mu)\, f(v_I)\big)` for the rows ``index``; a new bank, the other rows unchanged."""
    mixed = momentum * bank[index] + (1 - momentum) * values  # mu m_I + (1 - mu) f(v_I)
    out = bank.clone()
    out[index] = mixed / mixed.norm(dim=1, keepdim=True)  # back onto the unit sphere
    return out
