r"""BERT's masked tokens: a denoising autoencoder on discrete sequences.

:func:`mask_tokens` corrupts sequences; :func:`masked_token_loss` is the maximum-likelihood loss
of the masked positions, exact because the "grid" of one position is the vocabulary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import Int, Real, Seed, Tensor, checked
from ..runtime import generator
from ._checks import REDUCTION

__all__ = ["mask_tokens", "masked_token_loss"]


@checked(
    tokens=Tensor(2, integer=True),
    mask_prob=Real(low=0.0, low_open=True, high=1.0),
    mask_id=Int(),
    seed=Seed(),
)
def mask_tokens(
    tokens: torch.Tensor, mask_prob: float, mask_id: int, seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Corrupt sequences by masking tokens, as BERT does (a discrete denoising autoencoder).

    Each position is replaced by ``mask_id`` with probability ``mask_prob``; every sequence gets
    at least one masked position, so every row contributes to :func:`masked_token_loss`.

    Args:
        tokens: integer sequences, ``(N, L)``.
        mask_prob: probability :math:`0 < \rho \le 1` of masking a position.
        mask_id: the token that stands for "masked" (not a token of the data).
        seed: seed of the mask.

    Returns:
        ``(corrupted tokens (N, L), mask (N, L) bool)``.
    """
    t = tokens
    if bool((t == mask_id).any()):
        raise ValueError(f"mask_id must not occur in tokens; {mask_id} does")
    g = generator(seed)
    N, L = t.shape
    mask = torch.rand(N, L, generator=g) < mask_prob
    forced = torch.randint(0, L, (N,), generator=g)
    mask[torch.arange(N), forced] = True
    mask = mask.to(t.device)
    return torch.where(mask, torch.full_like(t, mask_id), t), mask


@checked(logits=Tensor(3), targets=Tensor(2, integer=True), reduction=REDUCTION)
def masked_token_loss(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    r"""Cross-entropy of the masked positions only.

    With energies :math:`E(k) = -\text{logit}_k` for each candidate token :math:`k` at a masked
    position, the softmax is the Gibbs distribution at :math:`\beta = 1` and the loss is the
    maximum-likelihood loss :math:`E(y) + \log\sum_k e^{-E(k)}` — exact here, because the
    "grid" of a discrete position is the vocabulary.

    Args:
        logits: ``(N, L, V)`` scores of the ``V`` tokens at each position.
        targets: the clean tokens, ``(N, L)``.
        mask: ``(N, L)`` bool, the positions that were masked.
        reduction: ``"mean"`` (over the masked positions), ``"sum"``, or ``"none"`` for each
            masked position's loss.
    """
    lg, t = logits, targets
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor")
    if t.shape != lg.shape[:2] or mask.shape != t.shape:
        raise ValueError(
            f"targets and mask must have shape {tuple(lg.shape[:2])} (logits' first two "
            f"dimensions); got {tuple(t.shape)} and {tuple(mask.shape)}"
        )
    if not bool(mask.any()):
        raise ValueError("mask must select at least one position")
    return F.cross_entropy(lg[mask], t[mask], reduction=reduction)
