r"""Evaluation of representations on frozen features.

:func:`embed` computes the features; :func:`few_label_split`, :func:`linear_probe`,
:func:`knn_accuracy` and :func:`probe_table` measure how well they classify with few or all
labels; :func:`alignment`, :func:`uniformity` and :func:`effective_rank` describe their
geometry. The public functions check their inputs once; :func:`probe_table` calls the
unchecked cores (``_linear_probe``, ``_knn_accuracy``, ``_few_label_split``) for every draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Int, IsCallable, Real, Seed, as_tensor, check_int, checked
from ..runtime import generator as make_generator
from .losses import _REDUCTION, _pair, _reduce


# ----------------------------------------------------------------------------------------------
# Evaluation on frozen features
# ----------------------------------------------------------------------------------------------
@checked(encoder=IsCallable(), batch_size=Int(low=1))
@torch.no_grad()
def embed(encoder: Callable, X: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Frozen features ``encoder(X)`` computed in batches without gradients (eval mode).

    Args:
        encoder: a module or function mapping ``(b, ...)`` inputs to ``(b, d)``.
        X: inputs, first dimension the examples.
        batch_size: examples per forward pass.

    Returns:
        ``(n, d)`` features.
    """
    X = as_tensor(X, "X", min_ndim=2)
    was_training = getattr(encoder, "training", False)
    if isinstance(encoder, nn.Module):
        encoder.eval()
    out = torch.cat([encoder(X[s : s + batch_size]) for s in range(0, X.shape[0], batch_size)])
    if isinstance(encoder, nn.Module) and was_training:
        encoder.train()
    return out.reshape(out.shape[0], -1)


@checked(per_class=Int(low=1), seed=Seed())
def few_label_split(y: torch.Tensor, per_class: int, seed: int | None = 0) -> torch.Tensor:
    """Indices of ``per_class`` randomly chosen examples of every class (the labelled few).

    Args:
        y: labels ``(n,)``.
        per_class: examples per class (>= 1; at most the size of the smallest class).
        seed: seed of the draw.

    Returns:
        ``(n_classes * per_class,)`` int64 indices into ``y``, sorted.
    """
    return _few_label_split(as_tensor(y, "y", ndim=1, integer=True).cpu(), per_class, seed)


def _few_label_split(y: torch.Tensor, per_class: int, seed: int | None) -> torch.Tensor:
    g = make_generator(seed)
    chosen = []
    for c in torch.unique(y):
        members = torch.nonzero(y == c)[:, 0]
        if members.numel() < per_class:
            raise ValueError(
                f"per_class must be at most the size of every class; class {int(c)} has "
                f"{members.numel()} examples, asked {per_class}"
            )
        chosen.append(members[torch.randperm(members.numel(), generator=g)[:per_class]])
    return torch.sort(torch.cat(chosen)).values


def _features_labels(train_x, train_y, test_x, test_y):
    train_x = as_tensor(train_x, "train_x", ndim=2)
    test_x = as_tensor(test_x, "test_x", ndim=2)
    train_y = as_tensor(train_y, "train_y", ndim=1, integer=True).to(train_x.device)
    test_y = as_tensor(test_y, "test_y", ndim=1, integer=True).to(test_x.device)
    if train_y.shape[0] != train_x.shape[0]:
        raise ValueError(
            f"train_y must hold one label per row of train_x ({train_x.shape[0]}); "
            f"got {train_y.shape[0]}"
        )
    if test_y.shape[0] != test_x.shape[0]:
        raise ValueError(
            f"test_y must hold one label per row of test_x ({test_x.shape[0]}); "
            f"got {test_y.shape[0]}"
        )
    if test_x.shape[1] != train_x.shape[1]:
        raise ValueError(
            f"test_x must have {train_x.shape[1]} features like train_x; got {test_x.shape[1]}"
        )
    return train_x, train_y, test_x.to(train_x), test_y.to(train_x.device)


_PROBE_WEIGHT_DECAY, _PROBE_MAX_ITER = 1e-2, 200  # the probe of probe_table


@checked(weight_decay=Real(low=0.0), max_iter=Int(low=1))
def linear_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    weight_decay: float = _PROBE_WEIGHT_DECAY,
    max_iter: int = _PROBE_MAX_ITER,
) -> float:
    r"""Accuracy of a multinomial logistic regression trained on frozen features.

    .. math:: \min_{W, b}\ \frac1n\sum_i -\log\operatorname{softmax}(W x_i + b)_{y_i}
              + w\,\|W\|_F^2

    solved with L-BFGS (deterministic, full batch); the features are used as given (the
    caller standardises them, e.g. with the statistics of all unlabelled training images as
    :func:`probe_table` does).

    Args:
        train_x: ``(n, d)`` labelled features.
        train_y: ``(n,)`` labels.
        test_x: ``(m, d)`` held-out features.
        test_y: ``(m,)`` held-out labels.
        weight_decay: the weight :math:`w \ge 0` of the L2 penalty on :math:`W`.
        max_iter: L-BFGS iterations.

    Returns:
        The test accuracy in [0, 1].
    """
    train_x, train_y, test_x, test_y = _features_labels(train_x, train_y, test_x, test_y)
    return _linear_probe(train_x, train_y, test_x, test_y, weight_decay, max_iter)


def _linear_probe(train_x, train_y, test_x, test_y, weight_decay: float, max_iter: int) -> float:
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    W = torch.zeros(train_x.shape[1], n_classes, device=train_x.device, dtype=train_x.dtype)
    b = torch.zeros(n_classes, device=train_x.device, dtype=train_x.dtype)
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(train_x @ W + b, train_y) + weight_decay * (W * W).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return float(((test_x @ W + b).argmax(1) == test_y).float().mean())


@checked(k=Int(low=1))
def knn_accuracy(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    k: int = 5,
) -> float:
    r"""Accuracy of a k-nearest-neighbour vote under cosine similarity.

    Each test point takes the :math:`k` labelled points of highest cosine similarity and
    predicts the class with the largest summed similarity among them
    (:math:`k` is capped at the number of labelled points).

    Args:
        train_x: ``(n, d)`` labelled features.
        train_y: ``(n,)`` labels.
        test_x: ``(m, d)`` held-out features.
        test_y: ``(m,)`` held-out labels.
        k: neighbours (>= 1).

    Returns:
        The test accuracy in [0, 1].
    """
    train_x, train_y, test_x, test_y = _features_labels(train_x, train_y, test_x, test_y)
    return _knn_accuracy(train_x, train_y, test_x, test_y, k)


@torch.no_grad()
def _knn_accuracy(train_x, train_y, test_x, test_y, k: int) -> float:
    k = min(k, train_x.shape[0])
    sim = F.normalize(test_x, dim=1) @ F.normalize(train_x, dim=1).T
    top, arg = sim.topk(k, dim=1)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    votes = torch.zeros(test_x.shape[0], n_classes, device=sim.device, dtype=sim.dtype)
    votes.scatter_add_(1, train_y[arg], top)
    return float((votes.argmax(1) == test_y).float().mean())


@checked(draws=Int(low=1), k=Int(low=1), seed=Seed())
def probe_table(
    features: dict[str, tuple[torch.Tensor, torch.Tensor]],
    train_y: torch.Tensor,
    test_y: torch.Tensor,
    *,
    per_class: Sequence[int | None] = (1, 5, 10, None),
    draws: int = 5,
    k: int = 5,
    seed: int | None = 0,
) -> list[dict]:
    r"""Linear-probe and k-NN accuracy of several feature sets, with few or all labels.

    For every feature set and every labelled-set size, ``draws`` random labelled subsets are
    drawn (:func:`few_label_split`; ``None`` means every training label, one draw) — the same
    subsets for every feature set. Features are standardised with the mean and standard
    deviation of **all** training rows (they are unlabelled data, which self-supervised
    learning may use); the test rows are never used for anything but scoring.

    Args:
        features: ``{name: (train_features (n, d), test_features (m, d))}``.
        train_y: ``(n,)`` labels of the training rows.
        test_y: ``(m,)`` labels of the test rows.
        per_class: labelled examples per class to try (``None``: all).
        draws: random labelled subsets per size (>= 1).
        k: neighbours of :func:`knn_accuracy`.
        seed: seed of the draws.

    Returns:
        One dict per (feature set, size) with keys ``features``, ``labels_per_class``
        (an int, or ``"all"``), ``linear``, ``linear_sd``, ``knn``, ``knn_sd`` (accuracies in
        [0, 1]; ``_sd`` the standard deviation over draws, 0 for one draw).
    """
    if not isinstance(features, dict) or not features:
        raise TypeError("features must be a non-empty dict {name: (train, test)}")
    train_y = as_tensor(train_y, "train_y", ndim=1, integer=True)
    sizes = list(per_class)
    for s in sizes:
        if s is not None:
            check_int(s, "per_class", low=1)
    splits: dict = {}
    for s in sizes:
        if s is None:
            splits[s] = [torch.arange(train_y.shape[0])]
        else:
            base = 0 if seed is None else seed
            y_cpu = train_y.cpu()
            splits[s] = [_few_label_split(y_cpu, s, base + 1000 * s + d) for d in range(draws)]
    rows = []
    for name, pair in features.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"features[{name!r}] must be a pair (train_features, test_features)")
        tr = as_tensor(pair[0], f"features[{name!r}][0]", ndim=2)
        te = as_tensor(pair[1], f"features[{name!r}][1]", ndim=2).to(tr)
        mean, std = tr.mean(0), tr.std(0).clamp_min(1e-6)
        tr, ytr, te, yte = _features_labels((tr - mean) / std, train_y, (te - mean) / std, test_y)
        for s in sizes:
            lin, nn_ = [], []
            for idx in splits[s]:
                idx = idx.to(tr.device)
                lin.append(
                    _linear_probe(tr[idx], ytr[idx], te, yte, _PROBE_WEIGHT_DECAY, _PROBE_MAX_ITER)
                )
                nn_.append(_knn_accuracy(tr[idx], ytr[idx], te, yte, k))
            lin_t, nn_t = torch.tensor(lin), torch.tensor(nn_)
            rows.append(
                {
                    "features": name,
                    "labels_per_class": "all" if s is None else s,
                    "linear": float(lin_t.mean()),
                    "linear_sd": float(lin_t.std()) if len(lin) > 1 else 0.0,
                    "knn": float(nn_t.mean()),
                    "knn_sd": float(nn_t.std()) if len(nn_) > 1 else 0.0,
                }
            )
    return rows


@checked(exponent=Real(low=0.0, low_open=True), reduction=_REDUCTION)
@torch.no_grad()
def alignment(
    z1: torch.Tensor, z2: torch.Tensor, exponent: float = 2.0, reduction: str = "mean"
) -> torch.Tensor:
    r"""Alignment of positive pairs (Wang and Isola, 2020) (lower is better).

    .. math:: \mathcal L_{\text{align}} = \frac1N\sum_i \|\hat z_{1,i} - \hat z_{2,i}\|^p,
              \qquad \hat z = z/\|z\|

    Args:
        z1: ``(N, d)`` embeddings of first views.
        z2: ``(N, d)`` embeddings of second views.
        exponent: the power :math:`p > 0` of the distance (2: squared distances).
        reduction: ``"mean"`` (the formula), ``"sum"`` or ``"none"`` (one value per pair).

    Returns:
        A scalar in :math:`[0, 2^p]`, or ``(N,)`` with ``reduction="none"``.
    """
    z1, z2 = _pair(z1, z2)
    distances = (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).norm(dim=1)
    return _reduce(distances.pow(exponent), reduction)


@checked(t=Real(low=0.0, low_open=True))
@torch.no_grad()
def uniformity(z: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    r"""Uniformity of embeddings on the sphere (Wang and Isola, 2020) (lower is better).

    .. math:: \mathcal L_{\text{unif}} = \log \frac{1}{N(N-1)}\sum_{i\ne j}
              e^{-t\|\hat z_i - \hat z_j\|^2}

    It is 0 when every embedding is the same point (collapse) and decreases as they spread.

    Args:
        z: ``(N, d)``, ``N >= 2``.
        t: scale (> 0).

    Returns:
        A scalar :math:`\le 0`.
    """
    z = as_tensor(z, "z", ndim=2)
    if z.shape[0] < 2:
        raise ValueError(f"z must hold at least 2 rows; got {z.shape[0]}")
    u = F.normalize(z, dim=1)
    sq = (2 - 2 * u @ u.T).clamp_min(0)
    off = ~torch.eye(u.shape[0], dtype=torch.bool, device=u.device)
    return torch.logsumexp(-t * sq[off], dim=0) - math.log(off.sum().item())


@torch.no_grad()
def effective_rank(z: torch.Tensor) -> float:
    r"""How many dimensions the embeddings really use (Roy and Vetterli, 2007).

    With :math:`\sigma_k` the singular values of the centred, row-normalised embeddings and
    :math:`p_k = \sigma_k / \sum_j \sigma_j`,

    .. math:: \operatorname{erank}(Z) = \exp\Big(-\sum_k p_k \log p_k\Big) \in [1, \min(N, d)].

    Args:
        z: ``(N, d)``, ``N >= 2``.

    Returns:
        The effective rank (a float).
    """
    z = as_tensor(z, "z", ndim=2)
    if z.shape[0] < 2:
        raise ValueError(f"z must hold at least 2 rows; got {z.shape[0]}")
    u = F.normalize(z.double(), dim=1)
    s = torch.linalg.svdvals(u - u.mean(0))
    p = s / s.sum().clamp_min(1e-300)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))
