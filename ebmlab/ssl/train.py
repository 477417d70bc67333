r"""Training loops: contrastive pretraining and the supervised reference.

:func:`pretrain` trains a :class:`~ebmlab.ssl.methods.ContrastiveMethod` on unlabelled images;
:func:`train_supervised` trains an encoder with a linear classifier on labelled ones, with the
same augmentations, for comparison.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from ..runtime import generator as make_generator
from .augmentations import _images
from .methods import ContrastiveMethod, _check_encoder, _default_augment


# ----------------------------------------------------------------------------------------------
# Training loops
# ----------------------------------------------------------------------------------------------
def _batches(n: int, batch_size: int, g: torch.Generator, drop_last: bool):
    perm = torch.randperm(n, generator=g)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for s in range(0, stop, batch_size):
        idx = perm[s : s + batch_size]
        if idx.numel() >= 2:
            yield idx


def pretrain(
    method: ContrastiveMethod,
    X: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 1e-5,
    seed: int | None = 0,
) -> list[float]:
    r"""Train a contrastive method on unlabelled images with Adam; returns the loss per step.

    Each epoch visits the images in a random order in batches of ``batch_size`` (the last,
    smaller batch is dropped so every step sees as many negatives). After each optimiser step
    ``method.after_step()`` runs (memory bank, momentum encoder, queue).

    Args:
        method: a :class:`SimCLR`, :class:`PIRL` or :class:`MoCo` (already on ``X``'s device).
        X: images ``(n, C, H, W)``.
        epochs: passes over the data.
        batch_size: images per step (>= 2).
        lr: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
        seed: seed of the order and of the augmentations.

    Returns:
        The loss of every step.
    """
    if not isinstance(method, ContrastiveMethod):
        raise TypeError(f"method must be a ContrastiveMethod; got {type(method).__name__}")
    X = _images(X, "X")
    epochs = check_int(epochs, "epochs", low=0)
    batch_size = check_int(batch_size, "batch_size", low=2)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    g = make_generator(check_seed(seed))
    params = [p for p in method.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    method.train()
    losses: list[float] = []
    for _ in range(epochs):
        for idx in _batches(X.shape[0], batch_size, g, drop_last=True):
            loss = method.loss(X[idx.to(X.device)], idx.to(X.device), g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            method.after_step()
            losses.append(float(loss.detach()))
    method.eval()
    return losses


def train_supervised(
    encoder: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 1e-5,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    seed: int | None = 0,
) -> list[float]:
    r"""The supervised reference: encoder + linear classifier trained with cross-entropy.

    .. math:: \min_{h, W}\ \frac1n\sum_i -\log \operatorname{softmax}\big(W h(t(x_i))\big)_{y_i}

    on augmented views :math:`t(x_i)` (the same augmentations as the contrastive methods). The
    classifier is thrown away; the encoder is trained in place.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        X: images ``(n, C, H, W)``.
        y: labels ``(n,)`` in ``[0, n_classes)``.
        epochs: passes over the data.
        batch_size: images per step.
        lr: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
        augment: ``augment(x, generator)``; None uses :func:`augment`.
        seed: seed of the order and the augmentations.

    Returns:
        The loss of every step.
    """
    encoder = _check_encoder(encoder)
    X = _images(X, "X")
    y = as_tensor(y, "y", ndim=1, integer=True)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must hold one label per image ({X.shape[0]}); got {y.shape[0]}")
    epochs = check_int(epochs, "epochs", low=0)
    batch_size = check_int(batch_size, "batch_size", low=2)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    weight_decay = check_scalar(weight_decay, "weight_decay", low=0.0)
    aug = check_callable(augment or _default_augment, "augment")
    g = make_generator(check_seed(seed))
    y = y.to(X.device)
    clf = nn.Linear(encoder.out_dim, int(y.max()) + 1).to(X.device)
    opt = torch.optim.Adam(
        list(encoder.parameters()) + list(clf.parameters()), lr=lr, weight_decay=weight_decay
    )
    encoder.train()
    losses: list[float] = []
    for _ in range(epochs):
        for idx in _batches(X.shape[0], batch_size, g, drop_last=False):
            idx = idx.to(X.device)
            loss = F.cross_entropy(clf(encoder(aug(X[idx], g))), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    encoder.eval()
    return losses
