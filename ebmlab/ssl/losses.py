r"""Similarities and contrastive losses: SimCLR's NT-Xent, PIRL's NCE and memory bank, MoCo's.

The energy of a pair of embeddings is minus their similarity (:func:`similarity_matrix`).
:func:`nt_xent` takes the negatives from the batch; :func:`pirl_h`, :func:`pirl_nce` and
:func:`memory_update` from a memory bank; :func:`moco_loss` and :func:`momentum_update` from a
queue filled by a slowly moving copy of the encoder. Each public function checks its inputs and
calls an unchecked core (``_nt_xent``, ...), which the methods call at every step;
``ebmlab.ssl.reference`` writes the same losses as their formulas read.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Options, Real, as_tensor, checked

# ----------------------------------------------------------------------------------------------
# Declared arguments
# ----------------------------------------------------------------------------------------------
_TAU = Real(low=0.0, low_open=True)
_SIMILARITY = Options(("cosine", "l2"))
_REDUCTION = Options(("mean", "sum", "none"))
_MOMENTUM = Real(low=0.0, high=1.0)


def _reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """The mean, the sum, or (``"none"``) every term of a batch of losses."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
@checked(similarity=_SIMILARITY)
def similarity_matrix(a: torch.Tensor, b: torch.Tensor, similarity: str = "cosine") -> torch.Tensor:
    r"""All pairwise similarities between the rows of ``a`` and ``b``.

    .. math:: s_{\cos}(a_i, b_j) = \frac{a_i^\top b_j}{\|a_i\|\,\|b_j\|}, \qquad
              s_{L_2}(a_i, b_j) = -\|a_i - b_j\|^2 .

    The energy of a pair is :math:`-s`. The cosine ignores the vectors' lengths; the negative
    squared distance does not, which is what lets a model "cheat" by shrinking or stretching
    its embeddings (the chapter shows it).

    Args:
        a: ``(N, d)``.
        b: ``(M, d)``.
        similarity: ``"cosine"`` or ``"l2"``.

    Returns:
        ``(N, M)``.
    """
    a = as_tensor(a, "a", ndim=2)
    b = as_tensor(b, "b", ndim=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"b must have {a.shape[1]} columns like a; got {b.shape[1]}")
    return _similarity_matrix(a, b, similarity)


def _similarity_matrix(a: torch.Tensor, b: torch.Tensor, similarity: str) -> torch.Tensor:
    if similarity == "cosine":
        return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return -sq.clamp_min(0)


def _pair(z1, z2, names=("z1", "z2")) -> tuple[torch.Tensor, torch.Tensor]:
    z1 = as_tensor(z1, names[0], ndim=2)
    z2 = as_tensor(z2, names[1], ndim=2)
    if z1.shape != z2.shape:
        raise ValueError(
            f"{names[1]} must have the shape of {names[0]} {tuple(z1.shape)} (one row per "
            f"pair); got {tuple(z2.shape)}"
        )
    return z1, z2


@checked(tau=_TAU, similarity=_SIMILARITY, reduction=_REDUCTION)
def nt_xent(
    z1: torch.Tensor,
    z2: torch.Tensor,
    tau: float = 0.5,
    similarity: str = "cosine",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""SimCLR's normalised temperature-scaled cross-entropy, in :math:`O(N^2)` memory.

    Stack the two views, :math:`u = [z_1; z_2] \in \mathbb R^{2N\times d}`, so that row
    :math:`i` and row :math:`p(i) = i \pm N` are a positive pair. With
    :math:`S_{ij} = s(u_i, u_j)/\tau`,

    .. math:: \mathcal L = \frac{1}{2N}\sum_{i=1}^{2N}
              -\log\frac{e^{S_{i,p(i)}}}{\sum_{j\ne i} e^{S_{ij}}},

    a cross-entropy over each row of the similarity matrix with the diagonal removed: every
    other image of the batch (:math:`2N-2` of them) is a negative. Only the :math:`2N\times2N`
    matrix is built (about 4 MB at :math:`N = 512`). ``ebmlab.ssl.reference.nt_xent``
    writes the same loss as the formula reads.

    Args:
        z1: embeddings of the first views ``(N, d)``, ``N >= 2``.
        z2: embeddings of the second views ``(N, d)``; row ``i`` pairs with ``z1[i]``.
        tau: the temperature :math:`\tau > 0`.
        similarity: ``"cosine"`` (SimCLR) or ``"l2"`` (negative squared distance, for the
            chapter's demonstration of why cosine is used).
        reduction: ``"mean"`` (the loss above), ``"sum"`` or ``"none"`` (the :math:`2N` terms).

    Returns:
        A scalar, or ``(2N,)`` with ``reduction="none"``.
    """
    z1, z2 = _pair(z1, z2)
    if z1.shape[0] < 2:
        raise ValueError(f"z1 must hold at least 2 pairs (the negatives); got {z1.shape[0]}")
    return _nt_xent(z1, z2, tau, similarity, reduction)


def _nt_xent(z1, z2, tau: float, similarity: str = "cosine", reduction: str = "mean"):
    n = z1.shape[0]
    u = torch.cat([z1, z2], dim=0)
    S = _similarity_matrix(u, u, similarity) / tau
    S = S.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=S.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(S.device)
    return F.cross_entropy(S, target, reduction=reduction)


def _neg_bank(negatives, q: torch.Tensor) -> torch.Tensor:
    n = as_tensor(negatives, "negatives", ndim=(2, 3))
    if n.shape[-1] != q.shape[1]:
        raise ValueError(f"negatives must have {q.shape[1]} features; got {n.shape[-1]}")
    if n.ndim == 3 and n.shape[0] != q.shape[0]:
        raise ValueError(f"negatives must be (K, d) or ({q.shape[0]}, K, d); got {tuple(n.shape)}")
    if n.shape[-2] < 1:
        raise ValueError("negatives must hold at least one negative")
    return n


def _cos_rows(q: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    q = F.normalize(q, dim=-1)
    n = F.normalize(n, dim=-1)
    if n.ndim == 2:
        return q @ n.T
    return torch.einsum("bd,bkd->bk", q, n)


@checked(tau=_TAU)
def pirl_h(
    query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float = 0.07
) -> torch.Tensor:
    r"""PIRL's score :math:`h`, as the lecture notes write it: how much the pair stands out.

    .. math:: h(v_I, v_{I^t}) = \frac{e^{s(v_I, v_{I^t})/\tau}}
              {e^{s(v_I, v_{I^t})/\tau} + \sum_{I' \in D_N} e^{s(v_{I^t}, v_{I'})/\tau}}

    with :math:`s` the cosine similarity, :math:`v_{I^t}` = ``query`` (the transformed image),
    :math:`v_I` = ``positive`` and :math:`v_{I'}` the ``negatives``. :math:`h \in (0, 1)`.

    Args:
        query: ``(B, d)``.
        positive: ``(B, d)``.
        negatives: ``(K, d)`` shared by the batch, or ``(B, K, d)``.
        tau: the temperature :math:`\tau > 0`.

    Returns:
        ``(B,)``.
    """
    q, p = _pair(query, positive, ("query", "positive"))
    n = _neg_bank(negatives, q)
    pos = (F.normalize(q, dim=1) * F.normalize(p, dim=1)).sum(1) / tau
    log_z = torch.logsumexp(_cos_rows(q, n) / tau, dim=1)
    return torch.exp(pos - torch.logaddexp(pos, log_z))


@checked(tau=_TAU, reduction=_REDUCTION)
def pirl_nce(
    query: torch.Tensor,
    positive: torch.Tensor,
    negatives: torch.Tensor,
    tau: float = 0.07,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""PIRL's NCE loss in the form of the lecture notes, averaged over the batch.

    .. math:: L_{\text{NCE}}(I, I^t) = -\log h\big(f(v_I), g(v_{I^t})\big)
              - \sum_{I' \in D_N} \log\Big[1 - h\big(g(v_{I^t}), f(v_{I'})\big)\Big]

    where :math:`h(a, b)` is :func:`pirl_h`: the exponentiated similarity of the pair over
    itself plus :math:`Z = \sum_{I'} e^{s(g(v_{I^t}), f(v_{I'}))/\tau}`, the transformed
    image's similarities to the negatives. The first term pulls the positive pair together (its
    :math:`h \to 1`); the second pushes each negative away (its :math:`h \to 0`). Computed in
    log space: :math:`\log h(x) = x/\tau - \log(e^{x/\tau} + Z)` and
    :math:`\log(1 - h(x)) = \log Z - \log(e^{x/\tau} + Z)`.

    The PIRL paper (Misra and van der Maaten, 2020) writes :math:`h` with a constant from the noise
    distribution in place of the sum over negatives (noise-contrastive estimation proper);
    the notes' softmax-like denominator is what is implemented and tested here.

    Args:
        query: :math:`g(v_{I^t})` ``(B, d)``.
        positive: :math:`f(v_I)` or its memory-bank entry :math:`m_I` ``(B, d)``.
        negatives: :math:`f(v_{I'})` or memory-bank entries, ``(K, d)`` or ``(B, K, d)``.
        tau: the temperature :math:`\tau > 0`.
        reduction: ``"mean"`` over the batch, ``"sum"`` or ``"none"`` (one loss per image).

    Returns:
        A scalar, or ``(B,)`` with ``reduction="none"``.
    """
    q, p = _pair(query, positive, ("query", "positive"))
    return _pirl_nce(q, p, _neg_bank(negatives, q), tau, reduction)


def _pirl_nce(q, p, n, tau: float, reduction: str = "mean") -> torch.Tensor:
    pos = (F.normalize(q, dim=1) * F.normalize(p, dim=1)).sum(1) / tau  # (B,)
    neg = _cos_rows(q, n) / tau  # (B, K)
    log_z = torch.logsumexp(neg, dim=1, keepdim=True)  # (B, 1)
    log_h_pos = pos - torch.logaddexp(pos, log_z[:, 0])
    log_1m_h_neg = log_z - torch.logaddexp(neg, log_z)
    return _reduce(-(log_h_pos + log_1m_h_neg.sum(1)), reduction)


@checked(momentum=_MOMENTUM)
def memory_update(
    bank: torch.Tensor, index: torch.Tensor, values: torch.Tensor, momentum: float = 0.5
) -> torch.Tensor:
    r"""The memory bank's update: a moving average of each image's embedding, kept on the sphere.

    .. math:: m_I \leftarrow \frac{\mu\, m_I + (1-\mu)\, f(v_I)}{\|\mu\, m_I + (1-\mu)\, f(v_I)\|}
              \quad \text{for each } I \text{ in the batch;}

    the other rows are unchanged. :math:`\mu = 0` stores the new embedding (normalised). If an
    index appears twice, the last occurrence wins.

    Args:
        bank: ``(n, d)``.
        index: ``(B,)`` int64 rows to update, in ``[0, n)``.
        values: ``(B, d)`` new embeddings :math:`f(v_I)`.
        momentum: :math:`\mu \in [0, 1]`.

    Returns:
        A new ``(n, d)`` tensor (``bank`` is not modified).
    """
    bank = as_tensor(bank, "bank", ndim=2)
    index = as_tensor(index, "index", ndim=1, integer=True, allow_empty=True)
    values = as_tensor(values, "values", ndim=2, allow_empty=True)
    if values.shape != (index.shape[0], bank.shape[1]):
        raise ValueError(
            f"values must have shape ({index.shape[0]}, {bank.shape[1]}) (one row per index); "
            f"got {tuple(values.shape)}"
        )
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= bank.shape[0]):
        raise ValueError(f"index must lie in [0, {bank.shape[0]}); got {index.tolist()[:8]}...")
    return _memory_update(bank, index, values, momentum)


def _memory_update(bank, index, values, mu: float) -> torch.Tensor:
    index = index.to(bank.device)
    new = F.normalize(mu * bank[index] + (1 - mu) * values.to(bank), dim=1)
    out = bank.clone()
    out[index] = new
    return out


@checked(tau=_TAU, reduction=_REDUCTION)
def moco_loss(
    query: torch.Tensor,
    key: torch.Tensor,
    queue: torch.Tensor,
    tau: float = 0.2,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""MoCo's InfoNCE: each query against its own key and against every key in the queue.

    .. math:: \mathcal L = -\frac1B\sum_b \log\frac{e^{s(q_b, k_b)/\tau}}
              {e^{s(q_b, k_b)/\tau} + \sum_{j=1}^{K} e^{s(q_b, n_j)/\tau}}

    with :math:`s` the cosine similarity and :math:`n_j` the rows of the queue.

    Args:
        query: ``(B, d)`` from the encoder being trained.
        key: ``(B, d)`` from the momentum encoder (no gradient flows into it).
        queue: ``(K, d)`` past keys.
        tau: the temperature :math:`\tau > 0`.
        reduction: ``"mean"`` over the batch, ``"sum"`` or ``"none"`` (one loss per query).

    Returns:
        A scalar, or ``(B,)`` with ``reduction="none"``.
    """
    q, k = _pair(query, key, ("query", "key"))
    queue = as_tensor(queue, "queue", ndim=2)
    if queue.shape[1] != q.shape[1]:
        raise ValueError(f"queue must have {q.shape[1]} features like query; got {queue.shape[1]}")
    return _moco_loss(q, k, queue, tau, reduction)


def _moco_loss(q, k, queue, tau: float, reduction: str = "mean") -> torch.Tensor:
    q = F.normalize(q, dim=1)
    pos = (q * F.normalize(k, dim=1)).sum(1, keepdim=True)
    logits = torch.cat([pos, q @ F.normalize(queue, dim=1).T], dim=1) / tau
    target = torch.zeros(q.shape[0], dtype=torch.long, device=q.device)
    return F.cross_entropy(logits, target, reduction=reduction)


@checked(momentum=_MOMENTUM)
@torch.no_grad()
def momentum_update(target: nn.Module, online: nn.Module, momentum: float = 0.99) -> None:
    r"""Move a copy of a network slowly towards the network being trained (in place).

    .. math:: \theta_k \leftarrow m\,\theta_k + (1 - m)\,\theta_q

    for every parameter; buffers (e.g. batch-norm statistics) are copied.

    Args:
        target: the momentum (key) network :math:`\theta_k`, updated in place.
        online: the trained (query) network :math:`\theta_q`, same architecture.
        momentum: :math:`m \in [0, 1]`; 1 freezes the target, 0 copies the online network.
    """
    if not isinstance(target, nn.Module) or not isinstance(online, nn.Module):
        raise TypeError("target and online must be torch.nn.Module instances")
    pt, po = list(target.parameters()), list(online.parameters())
    if len(pt) != len(po) or any(a.shape != b.shape for a, b in zip(pt, po)):
        raise ValueError("target must have the same architecture as online")
    _momentum_update(target, online, momentum)


@torch.no_grad()
def _momentum_update(target: nn.Module, online: nn.Module, m: float) -> None:
    for a, b in zip(target.parameters(), online.parameters()):
        a.mul_(m).add_(b.detach(), alpha=1 - m)
    for a, b in zip(target.buffers(), online.buffers()):
        a.copy_(b)
