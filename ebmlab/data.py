r"""Data that loads offline: toy sets for the lectures' figures and bundled images.

Nothing here downloads anything. The toy sets are drawn from a seeded generator of their own
(they do not disturb torch's global random stream); the images come from scikit-learn's
bundled files. MNIST or CIFAR-10 are offered through torchvision only where it and a network are
available (:func:`torchvision_dataset`); no chapter needs them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._validation import as_tensor, check_int, check_scalar, check_seed
from .runtime import generator

__all__ = [
    "multimodal_1d",
    "multimodal_branches",
    "ellipse",
    "horn",
    "spiral",
    "digits",
    "natural_images",
    "image_patches",
    "torchvision_dataset",
]

# Three curves y = f_k(x), chosen so that their average lies on none of them: a least-squares
# predictor, which learns the average, predicts a y that never occurs.
_BRANCH_WEIGHTS = (0.3, 0.4, 0.3)


def multimodal_branches(x: torch.Tensor) -> torch.Tensor:
    r"""The three valid outputs for each input of :func:`multimodal_1d`.

    .. math:: f_0(x) = -1.3 + 0.3x,\quad f_1(x) = -0.1 + 0.4\sin 3x,\quad f_2(x) = 1.2 - 0.3x + 0.2x^2

    Args:
        x: inputs of any shape.

    Returns:
        ``x.shape + (3,)``: the three branches at each ``x``.
    """
    x = as_tensor(x, "x", allow_empty=True)
    return torch.stack(
        [-1.3 + 0.3 * x, -0.1 + 0.4 * torch.sin(3 * x), 1.2 - 0.3 * x + 0.2 * x**2], dim=-1
    )


def multimodal_1d(
    n: int = 600, noise: float = 0.05, seed: int | None = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A regression set with **three valid** :math:`y` **for one** :math:`x`.

    :math:`x \sim U[-1, 1]`, a branch :math:`k \in \{0, 1, 2\}` with probabilities
    ``(0.3, 0.4, 0.3)``, and :math:`y = f_k(x) + \varepsilon`,
    :math:`\varepsilon \sim \mathcal N(0, \text{noise}^2)` (see :func:`multimodal_branches`).

    Returns:
        ``x`` ``(n, 1)``, ``y`` ``(n, 1)`` and the branch index ``k`` ``(n,)``.
    """
    n = check_int(n, "n", low=1)
    noise = check_scalar(noise, "noise", low=0.0)
    g = generator(check_seed(seed))
    x = torch.rand(n, generator=g) * 2 - 1
    k = torch.multinomial(torch.tensor(_BRANCH_WEIGHTS), n, replacement=True, generator=g)
    y = multimodal_branches(x).gather(1, k[:, None]).squeeze(1)
    y = y + noise * torch.randn(n, generator=g)
    return x[:, None], y[:, None], k


def ellipse(
    n: int = 500,
    w1: float = 2.0,
    w2: float = 1.0,
    noise: float = 0.05,
    seed: int | None = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Points near an ellipse: :math:`y = (w_1\cos z, w_2\sin z) + \varepsilon`.

    :math:`z \sim U[0, 2\pi)` is the latent variable the model will have to infer.

    Returns:
        ``y`` ``(n, 2)`` and the true latent ``z`` ``(n,)``.
    """
    n = check_int(n, "n", low=1)
    w1 = check_scalar(w1, "w1", low=0.0, low_open=True)
    w2 = check_scalar(w2, "w2", low=0.0, low_open=True)
    noise = check_scalar(noise, "noise", low=0.0)
    g = generator(check_seed(seed))
    z = torch.rand(n, generator=g) * 2 * math.pi
    y = torch.stack([w1 * torch.cos(z), w2 * torch.sin(z)], dim=1)
    return y + noise * torch.randn(n, 2, generator=g), z


def horn(
    n: int = 1000,
    noise: float = 0.05,
    alpha: float = 1.5,
    beta: float = 2.0,
    seed: int | None = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The "horn" of the free-energy lecture: an ellipse whose radii depend on :math:`x`.

    .. math::

        x \sim U[0, 1],\quad z \sim U[0, 2\pi),\quad
        \rho(x) = \big(\alpha x + \beta(1-x),\; \beta x + \alpha(1-x)\big)\,e^{2x},\\
        y = \big(\rho_1(x)\sin z,\; \rho_2(x)\cos z\big) + \varepsilon .

    For a fixed :math:`x` the valid :math:`y` form an ellipse; stacked along :math:`x` they form
    a horn. Conditioned on :math:`x`, every point of the ellipse is a valid :math:`y`: the
    latent :math:`z` says which one.

    Returns:
        ``x`` ``(n, 1)``, ``y`` ``(n, 2)``, the true latent ``z`` ``(n,)``.
    """
    n = check_int(n, "n", low=1)
    noise = check_scalar(noise, "noise", low=0.0)
    alpha = check_scalar(alpha, "alpha", low=0.0, low_open=True)
    beta = check_scalar(beta, "beta", low=0.0, low_open=True)
    g = generator(check_seed(seed))
    x = torch.rand(n, generator=g)
    z = torch.rand(n, generator=g) * 2 * math.pi
    scale = torch.exp(2 * x)
    r1 = (alpha * x + beta * (1 - x)) * scale
    r2 = (beta * x + alpha * (1 - x)) * scale
    y = torch.stack([r1 * torch.sin(z), r2 * torch.cos(z)], dim=1)
    return x[:, None], y + noise * torch.randn(n, 2, generator=g), z


def spiral(
    n: int = 1000, noise: float = 0.02, turns: float = 1.5, seed: int | None = 0
) -> torch.Tensor:
    r"""Points near an Archimedean spiral in the plane.

    .. math:: t \sim U[0.1, 1],\quad y = t\,(\cos 2\pi\tau t,\ \sin 2\pi\tau t) + \varepsilon

    with :math:`\tau` = ``turns``. Returns ``(n, 2)``, roughly inside the unit disc.
    """
    n = check_int(n, "n", low=1)
    noise = check_scalar(noise, "noise", low=0.0)
    turns = check_scalar(turns, "turns", low=0.0, low_open=True)
    g = generator(check_seed(seed))
    t = 0.1 + 0.9 * torch.rand(n, generator=g)
    angle = 2 * math.pi * turns * t
    y = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    return y + noise * torch.randn(n, 2, generator=g)


def digits(images: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled handwritten digits: 1,797 images of 8 × 8 pixels, 10 classes.

    Pixel values are scaled from 0..16 to [0, 1] (float32).

    Args:
        images: return ``(1797, 1, 8, 8)`` instead of flat ``(1797, 64)`` vectors.

    Returns:
        ``X`` and the labels ``(1797,)`` (int64).
    """
    if not isinstance(images, bool):
        raise TypeError(f"images must be a bool; got {type(images).__name__}")
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float32)
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return X, torch.tensor(d.target, dtype=torch.int64)


def natural_images() -> torch.Tensor:
    """The two photographs bundled with scikit-learn, in grey levels in [0, 1].

    Returns:
        ``(2, 427, 640)`` float32 (a Chinese temple and a flower).
    """
    from sklearn.datasets import load_sample_images

    imgs = np.stack(load_sample_images().images).astype(np.float64) / 255.0
    grey = imgs @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
    return torch.tensor(grey, dtype=torch.float32)


def image_patches(
    n: int = 10_000,
    size: int = 8,
    whiten: bool = True,
    eps: float = 1e-2,
    seed: int | None = 0,
) -> torch.Tensor:
    r"""Random square patches of the bundled photographs, optionally ZCA-whitened.

    Each patch has its mean removed. Whitening then equalises the power spectrum (natural
    images have far more power at low frequencies), which is what lets sparse coding find
    edge-like, Gabor-shaped atoms instead of blobs:

    .. math:: \tilde y = U\,\operatorname{diag}\!\big((\lambda_i + \epsilon\bar\lambda)^{-1/2}\big)
              U^\top y, \qquad C = \tfrac1n\sum y y^\top = U \operatorname{diag}(\lambda) U^\top

    with :math:`\bar\lambda` the mean eigenvalue, which keeps the near-zero-variance
    directions (the removed mean, the highest frequencies) from being blown up. Without
    whitening the patches are scaled to unit standard deviation.

    Returns:
        ``(n, size * size)`` float32.
    """
    n = check_int(n, "n", low=1)
    size = check_int(size, "size", low=2, high=64)
    if not isinstance(whiten, bool):
        raise TypeError(f"whiten must be a bool; got {type(whiten).__name__}")
    eps = check_scalar(eps, "eps", low=0.0, low_open=True)
    rng = np.random.default_rng(check_seed(seed))
    imgs = natural_images().numpy().astype(np.float64)
    _, H, W = imgs.shape
    which = rng.integers(0, imgs.shape[0], n)
    rows = rng.integers(0, H - size + 1, n)
    cols = rng.integers(0, W - size + 1, n)
    idx_r = rows[:, None, None] + np.arange(size)[None, :, None]
    idx_c = cols[:, None, None] + np.arange(size)[None, None, :]
    P = imgs[which[:, None, None], idx_r, idx_c].reshape(n, size * size)
    P = P - P.mean(axis=1, keepdims=True)
    if whiten:
        C = P.T @ P / n
        lam, U = np.linalg.eigh(C)
        lam = np.clip(lam, 0.0, None)
        Wz = (U / np.sqrt(lam + eps * lam.mean())) @ U.T
        P = P @ Wz
    else:
        P = P / P.std()
    return torch.tensor(P, dtype=torch.float32)


def torchvision_dataset(name: str, root: str = "~/.cache/ebmlab", train: bool = True):
    """MNIST or CIFAR-10 through torchvision, **only** where torchvision and a network exist.

    This is the optional path for running the chapters at a larger scale (e.g. on a GPU in
    Colab). The course itself never needs it. Raises ``RuntimeError`` with a clear message when
    torchvision is missing or does not import beside the installed torch.

    Returns:
        ``(X, labels)``: images as float32 in [0, 1], ``(N, C, H, W)``, and int64 labels.
    """
    if name not in {"mnist", "cifar10"}:
        raise ValueError(f"name must be 'mnist' or 'cifar10'; got {name!r}")
    if not isinstance(train, bool):
        raise TypeError(f"train must be a bool; got {type(train).__name__}")
    try:
        import torchvision  # noqa: F401
        from torchvision import datasets
    except Exception as exc:  # ImportError, or an operator mismatch with this torch
        raise RuntimeError(
            "torchvision is not usable here "
            f"({type(exc).__name__}: {exc}); the course's bundled data need no torchvision"
        ) from None
    import os

    root = os.path.expanduser(root)
    cls = datasets.MNIST if name == "mnist" else datasets.CIFAR10
    ds = cls(root, train=train, download=True)
    X = torch.as_tensor(np.asarray(ds.data), dtype=torch.float32) / 255.0
    X = X[:, None] if X.ndim == 3 else X.permute(0, 3, 1, 2)
    return X.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
