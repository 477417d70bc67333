r"""Two measurements of a trained generative model: an AUROC and a maximum mean discrepancy.

:func:`auroc` scores an energy (or any score) as an out-of-distribution detector;
:func:`mmd` compares a model's samples with held-out data without a density.
"""

from __future__ import annotations

import torch

from .._validation import Real, Tensor, checked

__all__ = ["auroc", "mmd"]


@checked(scores_in=Tensor(1), scores_out=Tensor(1))
def auroc(scores_in: torch.Tensor, scores_out: torch.Tensor) -> float:
    r"""The area under the ROC curve of a score that should be **higher** outside.

    .. math:: \mathrm{AUROC} = \Pr\big(S_{\text{out}} > S_{\text{in}}\big)
              + \tfrac12\Pr\big(S_{\text{out}} = S_{\text{in}}\big)

    over all pairs of an in-distribution and an out-of-distribution point: 1 separates them
    perfectly, 0.5 is chance. For an energy, in-distribution points should have the lower
    energy; for a classifier, use minus its largest softmax probability.

    Args:
        scores_in: scores of in-distribution points, ``(N,)``.
        scores_out: scores of out-of-distribution points, ``(M,)``.

    Returns:
        A float in :math:`[0, 1]`.
    """
    a, b = scores_in.double()[:, None], scores_out.double()[None, :].to(scores_in.device)
    return ((b > a).double().mean() + 0.5 * (b == a).double().mean()).item()


@checked(X=Tensor(2), Y=Tensor(2), bandwidth=Real(low=0.0, low_open=True))
def mmd(X: torch.Tensor, Y: torch.Tensor, bandwidth: float = 1.0) -> float:
    r"""The squared maximum mean discrepancy with a Gaussian kernel (the biased estimate).

    .. math:: \mathrm{MMD}^2 = \overline{k(x, x')} + \overline{k(y, y')} - 2\,\overline{k(x, y)},
              \qquad k(u, v) = e^{-\|u - v\|^2 / 2h^2},

    the means over all pairs (each set with itself, diagonal included). It is zero when the two
    sets are the same and grows as their distributions differ, at the scale :math:`h`.

    Args:
        X: points of one set, ``(N, d)``.
        Y: points of the other, ``(M, d)``.
        bandwidth: :math:`h > 0`.

    Returns:
        A float :math:`\ge 0`.
    """
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"Y must have {X.shape[1]} columns like X; got {tuple(Y.shape)}")
    X, Y = X.double(), Y.double().to(X.device)

    def k(a, b):
        return torch.exp(-(torch.cdist(a, b) ** 2) / (2 * bandwidth**2)).mean()

    return max(0.0, (k(X, X) + k(Y, Y) - 2 * k(X, Y)).item())
