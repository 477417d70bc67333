r"""Whitened natural images and their patches, the data of dictionary learning.

``whiten_images`` flattens the power spectrum of photographs; ``whitened_patches`` cuts
random mean-free patches from the bundled ones after whitening.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import as_tensor, check_int, check_scalar, check_seed
from ..runtime import generator

__all__ = ["whiten_images", "whitened_patches"]


def whiten_images(images: torch.Tensor, cutoff: float = 0.4) -> torch.Tensor:
    r"""Flatten the power spectrum of natural images (Olshausen and Field's filter).

    Natural images have a power spectrum close to :math:`1/|f|^2`; multiplying the Fourier
    transform by

    .. math:: R(f) = |f|\, e^{-(|f| / f_0)^4}

    makes it roughly flat (the ramp :math:`|f|`) while cutting the noisy highest frequencies
    (:math:`f_0` = ``cutoff`` times the Nyquist frequency). Each image is then scaled to unit
    standard deviation.

    Args:
        images: ``(N, H, W)``.
        cutoff: :math:`f_0 / f_\text{Nyquist}` in ``(0, 1]``.

    Returns:
        ``(N, H, W)`` whitened images.
    """
    X = as_tensor(images, "images", ndim=3)
    cutoff = check_scalar(cutoff, "cutoff", low=0.0, low_open=True, high=1.0)
    _, H, W = X.shape
    fy = torch.fft.fftfreq(H, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(W, dtype=torch.float64)[None, :]
    f = torch.sqrt(fx**2 + fy**2) / 0.5  # in units of the Nyquist frequency
    R = (f * torch.exp(-((f / cutoff) ** 4))).to(X.device)
    Xw = torch.fft.ifft2(torch.fft.fft2(X.double()) * R).real
    Xw = Xw / Xw.std(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    return Xw.to(X.dtype)


def whitened_patches(
    n: int = 10_000, size: int = 8, downsample: int = 2, cutoff: float = 0.8, seed: int | None = 0
) -> torch.Tensor:
    r"""Patches of the bundled photographs after :func:`whiten_images`, for dictionary learning.

    The photographs (:func:`ebmlab.data.natural_images`) are first averaged over
    ``downsample`` × ``downsample`` blocks — this removes the JPEG compression's 8 × 8 block
    artefacts, which whitening would otherwise amplify into the atoms — then whitened with the
    filter :math:`|f|e^{-(|f|/f_0)^4}`; random ``size`` × ``size`` patches have their mean removed.

    Args:
        n: number of patches.
        size: side of a patch.
        downsample: block size of the averaging (1 keeps full resolution).
        cutoff: :math:`f_0` as a fraction of the Nyquist frequency.
        seed: seed of the patch positions.

    Returns:
        ``(n, size * size)`` float32.
    """
    from ..data import natural_images

    n = check_int(n, "n", low=1)
    size = check_int(size, "size", low=2, high=64)
    downsample = check_int(downsample, "downsample", low=1, high=8)
    imgs = natural_images()
    if downsample > 1:
        imgs = F.avg_pool2d(imgs[:, None], downsample)[:, 0]
    imgs = whiten_images(imgs, cutoff=cutoff)
    g = generator(check_seed(seed))
    _, H, W = imgs.shape
    which = torch.randint(0, imgs.shape[0], (n,), generator=g)
    rows = torch.randint(0, H - size + 1, (n,), generator=g)
    cols = torch.randint(0, W - size + 1, (n,), generator=g)
    ar = torch.arange(size)
    P = imgs[
        which[:, None, None], (rows[:, None] + ar)[:, :, None], (cols[:, None] + ar)[:, None, :]
    ].reshape(n, size * size)
    return P - P.mean(dim=1, keepdim=True)
