r"""Training loops: contrastive pretraining and the supervised reference.

:func:`pretrain` trains a :class:`~ebmlab.ssl.methods.ContrastiveMethod` on unlabelled images;
:func:`train_supervised` trains an encoder with a linear classifier on labelled ones, with the
same augmentations and the same :class:`PretrainConfig`, for comparison. Both run the package's one
gradient loop, :func:`ebmlab.optim.train`, over :func:`ebmlab.optim.minibatches`, and return its
:class:`~ebmlab.base.History` (one entry per step).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Int, IsCallable, Real, Seed, as_tensor, check_fields, checked
from ..base import History
from ..optim import minibatches, train
from ..runtime import generator as make_generator
from .augmentations import _images
from .methods import ContrastiveMethod, _check_encoder, _default_augment


@dataclass(frozen=True, kw_only=True)
class PretrainConfig:
    """How :func:`pretrain` and :func:`train_supervised` train: Adam on shuffled mini-batches.

    Args:
        epochs: passes over the data (>= 0).
        batch_size: images per step (>= 2: a contrastive batch needs negatives).
        lr: Adam's learning rate (> 0).
        weight_decay: Adam's L2 penalty on the parameters (>= 0).
        seed: seed of the order of the images and of the augmentations.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-5
    seed: int | None = 0

    def __post_init__(self) -> None:
        check_fields(self, _TRAIN_RULES)


_TRAIN_RULES = {
    "epochs": Int(low=0),
    "batch_size": Int(low=2),
    "lr": Real(low=0.0, low_open=True),
    "weight_decay": Real(low=0.0),
    "seed": Seed(),
}


def _check_config(config) -> PretrainConfig:
    if not isinstance(config, PretrainConfig):
        raise TypeError(f"config must be a PretrainConfig; got {type(config).__name__}")
    return config


def _fit(step, params, n: int, cfg: PretrainConfig, g, *, drop_last: bool, after_step=None):
    """Adam over ``cfg.epochs`` shuffled passes (batches of at least 2 images), per step."""
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    epochs = (
        minibatches(n, cfg.batch_size, g, drop_last=drop_last, min_size=2)
        for _ in range(cfg.epochs)
    )
    history = train(step, opt, epochs, after_step=after_step)
    return history if "loss" in history else History({"loss": torch.zeros(0)})


@checked(callback=IsCallable(optional=True))
def pretrain(
    method: ContrastiveMethod,
    X: torch.Tensor,
    config: PretrainConfig = PretrainConfig(),
    callback: Callable[[int], None] | None = None,
) -> History:
    r"""Train a contrastive method on unlabelled images with Adam, in place.

    Each epoch visits the images in a random order in batches of ``config.batch_size`` (the
    last, smaller batch is dropped so every step sees as many negatives). After each optimiser
    step ``method.after_step()`` runs (memory bank, momentum encoder, queue), then
    ``callback(step)`` with the number of steps taken so far (1, 2, ...), e.g. a
    :class:`~ebmlab.ssl.diagnostics.Monitor`.

    Args:
        method: a :class:`SimCLR`, :class:`PIRL`, :class:`MoCo`, or a method without negatives
            (:class:`VICReg`, ...), already on ``X``'s device.
        X: images ``(n, C, H, W)``.
        config: epochs, batch size, learning rate, weight decay and seed.
        callback: called after each step (it must not change the method's training).

    Returns:
        The :class:`~ebmlab.base.History` of the training loss, one entry per step
        (``history.loss``).
    """
    if not isinstance(method, ContrastiveMethod):
        raise TypeError(f"method must be a ContrastiveMethod; got {type(method).__name__}")
    X = _images(X, "X")
    cfg = _check_config(config)
    g = make_generator(cfg.seed)

    def step(idx):
        idx = idx.to(X.device)
        return method.loss(X[idx], idx, g)

    after = method.after_step
    if callback is not None:
        steps = itertools.count(1)

        def after():
            method.after_step()
            callback(next(steps))

    params = [p for p in method.parameters() if p.requires_grad]
    method.train()
    history = _fit(step, params, X.shape[0], cfg, g, drop_last=True, after_step=after)
    method.eval()
    return history


@checked(augment=IsCallable(optional=True))
def train_supervised(
    encoder: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    config: PretrainConfig = PretrainConfig(),
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
) -> History:
    r"""The supervised reference: encoder + linear classifier trained with cross-entropy.

    .. math:: \min_{h, W}\ \frac1n\sum_i -\log \operatorname{softmax}\big(W h(t(x_i))\big)_{y_i}

    on augmented views :math:`t(x_i)` (the same augmentations as the contrastive methods), in
    batches of ``config.batch_size`` (the last, smaller one kept unless it holds a single
    image). The classifier is thrown away; the encoder is trained in place.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        X: images ``(n, C, H, W)``.
        y: labels ``(n,)`` in ``[0, n_classes)``.
        config: epochs, batch size, learning rate, weight decay and seed.
        augment: ``augment(x, generator)``; None uses :func:`augment`.

    Returns:
        The :class:`~ebmlab.base.History` of the training loss, one entry per step.
    """
    encoder = _check_encoder(encoder)
    X = _images(X, "X")
    y = as_tensor(y, "y", ndim=1, integer=True)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must hold one label per image ({X.shape[0]}); got {y.shape[0]}")
    cfg = _check_config(config)
    aug = augment if augment is not None else _default_augment
    g = make_generator(cfg.seed)
    y = y.to(X.device)
    clf = nn.Linear(encoder.out_dim, int(y.max()) + 1).to(X.device)

    def step(idx):
        idx = idx.to(X.device)
        return F.cross_entropy(clf(encoder(aug(X[idx], g))), y[idx])

    encoder.train()
    params = list(encoder.parameters()) + list(clf.parameters())
    history = _fit(step, params, X.shape[0], cfg, g, drop_last=False)
    encoder.eval()
    return history
