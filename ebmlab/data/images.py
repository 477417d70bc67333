"""Bundled images: scikit-learn's digits and photographs, and patches of them; torchvision's
MNIST or CIFAR-10 only where torchvision and a network are available.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import Boolean, Int, Options, Real, Seed, checked


@checked(images=Boolean())
def digits(images: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled handwritten digits: 1,797 images of 8 × 8 pixels, 10 classes.

    Pixel values are scaled from 0..16 to [0, 1] (float32).

    Args:
        images: return ``(1797, 1, 8, 8)`` instead of flat ``(1797, 64)`` vectors.

    Returns:
        ``X`` and the labels ``(1797,)`` (int64).
    """
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


@checked(
    n=Int(low=1),
    size=Int(low=2, high=64),
    whiten=Boolean(),
    eps=Real(low=0.0, low_open=True),
    seed=Seed(),
)
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
    rng = np.random.default_rng(seed)
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


@checked(name=Options(("mnist", "cifar10")), train=Boolean())
def torchvision_dataset(name: str, root: str = "~/.cache/ebmlab", train: bool = True):
    """MNIST or CIFAR-10 through torchvision, **only** where torchvision and a network exist.

    This is the optional path for running the chapters at a larger scale (e.g. on a GPU in
    Colab). The course itself never needs it. Raises ``RuntimeError`` with a clear message when
    torchvision is missing or does not import beside the installed torch.

    Returns:
        ``(X, labels)``: images as float32 in [0, 1], ``(N, C, H, W)``, and int64 labels.
    """
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
