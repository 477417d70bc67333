r"""Data whose future can go two ways (chapter 1): a path that forks and a blob that moves up or
down.

Each is drawn from a seeded generator of its own (torch's global random stream is not disturbed).
"""

from __future__ import annotations

import torch

from .._validation import Boolean, Int, Real, Seed, checked
from ..runtime import generator


@checked(
    n=Int(low=1),
    noise=Real(low=0.0),
    slope=Real(low=0.0, low_open=True),
    balanced=Boolean(),
    seed=Seed(),
)
def forking_paths(
    n: int = 400,
    noise: float = 0.05,
    slope: float = 1.2,
    balanced: bool = False,
    seed: int | None = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A path that forks: before :math:`x = 0` one future, after it two.

    .. math::

        x \sim U[-1, 1],\quad s \sim U\{-1, +1\},\quad
        y = s\cdot\text{slope}\cdot\max(x, 0) + \varepsilon,\quad
        \varepsilon \sim \mathcal N(0, \text{noise}^2).

    For :math:`x > 0` the two branches are equally likely, so the conditional mean
    :math:`\mathbb E[y\mid x] = 0` lies on neither: a least-squares predictor goes straight on,
    where no sample ever goes.

    With independent draws of :math:`s`, a stretch of :math:`x` can hold more samples of one
    branch than of the other, and a least-squares fit follows the imbalance. ``balanced=True``
    stratifies the branches: sorted by :math:`x`, the samples come in consecutive pairs, one up
    and one down (in random order), so both branches are sampled equally at every :math:`x`.

    Args:
        n: number of samples.
        noise: standard deviation of the additive noise.
        slope: how fast the branches separate.
        balanced: draw the branches in up/down pairs along :math:`x` instead of independently.
        seed: seed of the data's own generator.

    Returns:
        ``x`` ``(n, 1)``, ``y`` ``(n, 1)`` and the branch ``k`` ``(n,)`` (0 down, 1 up).
    """
    g = generator(seed)
    x = torch.rand(n, generator=g) * 2 - 1
    k = torch.randint(0, 2, (n,), generator=g)
    if balanced:  # pair the samples in the order of x; each pair has one of each branch
        flip = torch.randint(0, 2, ((n + 1) // 2,), generator=g).repeat_interleave(2)[:n]
        k = torch.empty_like(k).scatter_(0, x.argsort(), (torch.arange(n) % 2) ^ flip)
    y = (2.0 * k - 1.0) * slope * x.clamp(min=0.0) + noise * torch.randn(n, generator=g)
    return x[:, None], y[:, None], k


def _blob(rows: torch.Tensor, cols: torch.Tensor, size: int, width: float) -> torch.Tensor:
    grid = torch.arange(size, dtype=torch.float32)
    r = (grid[None, :] - rows[:, None]) ** 2  # (n, size)
    c = (grid[None, :] - cols[:, None]) ** 2
    return torch.exp(-(r[:, :, None] + c[:, None, :]) / (2 * width**2))


@checked(
    n=Int(low=1),
    size=Int(low=6, high=64),
    step=Real(low=0.0, low_open=True),
    width=Real(low=0.0, low_open=True),
    seed=Seed(),
)
def forking_blobs(
    n: int = 1000, size: int = 12, step: float = 3.0, width: float = 1.0, seed: int | None = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A tiny "next frame" task whose future can go two ways.

    Frame :math:`x` shows a Gaussian blob at a random position :math:`(r, c)`; the next frame
    :math:`y` shows it moved ``step`` pixels to the right and ``step`` pixels **up or down**, each
    with probability :math:`\tfrac12`:

    .. math::

        x_{ij} = e^{-((i-r)^2 + (j-c)^2)/2w^2},\qquad
        y_{ij} = e^{-((i-r\mp\text{step})^2 + (j-c-\text{step})^2)/2w^2}.

    The average of the two futures is two half-bright blobs: the blur a least-squares predictor
    produces.

    Args:
        n: number of frame pairs.
        size: the frames are ``size × size`` pixels.
        step: how far the blob moves (pixels), right and up or down.
        width: the blob's standard deviation :math:`w` in pixels.
        seed: seed of the data's own generator.

    Returns:
        ``x`` and ``y``, ``(n, size * size)`` float32 in :math:`[0, 1]`, and the branch ``k``
        ``(n,)`` (0 up, 1 down).
    """
    if 2 * step + 2 > size - 1:
        raise ValueError(
            f"step must leave room in the frame: need 2 * step + 3 <= size; got {step}"
        )
    g = generator(seed)
    rows = step + 1 + torch.rand(n, generator=g) * (size - 3 - 2 * step)
    cols = 1 + torch.rand(n, generator=g) * (size - 3 - step)
    k = torch.randint(0, 2, (n,), generator=g)
    x = _blob(rows, cols, size, width).reshape(n, -1)
    y = _blob(rows + (2.0 * k - 1.0) * step, cols + step, size, width).reshape(n, -1)
    return x, y, k
