r"""Augmentations for contrastive learning: torch only, batched, seeded.

Each of :func:`affine_warp`, :func:`translate`, :func:`gaussian_blur` and :func:`erase` is
deterministic given its per-image parameters; :func:`augment` draws those parameters (on the
CPU, so a seed gives the same views on every device) and composes them into the random view
used to make positive pairs, with the strengths of an :class:`AugmentConfig`. Each public function
checks its inputs and calls an unchecked core (``_affine_warp``, ...); the methods call the cores
(``_augment``) on batches the training loop has already checked. The input checks on image
batches (``_images``) are shared with :mod:`ebmlab.ssl.train`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .._validation import (
    Constraint,
    Real,
    as_tensor,
    check_fields,
    check_scalar,
    check_seed,
    checked,
)
from ..runtime import generator as make_generator


# ----------------------------------------------------------------------------------------------
# Input checks on image batches (also used by the training loops)
# ----------------------------------------------------------------------------------------------
def _images(x, name: str = "x") -> torch.Tensor:
    t = as_tensor(x, name, ndim=4)
    if t.shape[-1] < 2 or t.shape[-2] < 2:
        raise ValueError(f"{name} must hold images of at least 2 x 2 pixels; got {tuple(t.shape)}")
    return t


def _per_image(value, name: str, n: int, like: torch.Tensor, *, integer: bool = False):
    """A number or a length-``n`` vector of per-image parameters, as a tensor on ``like``'s device."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * n
    t = as_tensor(value, name, ndim=1, integer=integer, allow_empty=n == 0)
    if t.shape[0] != n:
        raise ValueError(f"{name} must hold one value per image ({n}); got {t.shape[0]}")
    return t.to(like.device) if integer else t.to(device=like.device, dtype=like.dtype)


def _generator(generator: torch.Generator | None, seed: int | None) -> torch.Generator:
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator; got {type(generator).__name__}")
        return generator
    return make_generator(check_seed(seed))


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    # random numbers are drawn on the CPU, so a seed gives the same augmentations on any device
    return low + (high - low) * torch.rand(n, generator=g)


# ----------------------------------------------------------------------------------------------
# Augmentations: deterministic given their parameters; `augment` draws the parameters
# ----------------------------------------------------------------------------------------------
def affine_warp(x: torch.Tensor, angle, scale, shift) -> torch.Tensor:
    r"""Rotate, zoom and shift each image of a batch (bilinear, zero outside the image).

    Each output pixel at normalised position :math:`p = (p_x, p_y) \in [-1, 1]^2` (:math:`p_x`
    to the right, :math:`p_y` down) reads the input at

    .. math:: p_{\text{in}} = \frac{1}{s}\begin{pmatrix}\cos\theta & -\sin\theta\\
              \sin\theta & \cos\theta\end{pmatrix} p
              - \begin{pmatrix}2\delta_x/W\\ 2\delta_y/H\end{pmatrix},

    so the content turns by :math:`\theta` degrees counter-clockwise as displayed (90° equals
    ``torch.rot90(x, 1, (2, 3))``), grows by :math:`s` and moves by :math:`\delta` pixels
    (:math:`\delta_x` to the right, :math:`\delta_y` down).

    Args:
        x: images ``(B, C, H, W)``.
        angle: rotation in degrees, a number or one per image ``(B,)``.
        scale: zoom factor (> 0), a number or ``(B,)``.
        shift: translation in pixels ``(B, 2)`` as ``(dx, dy)``, or a pair for every image.

    Returns:
        The warped images, same shape, dtype and device as ``x``.
    """
    x = _images(x)
    B = x.shape[0]
    angle = _per_image(angle, "angle", B, x)
    scale = _per_image(scale, "scale", B, x)
    if bool((scale <= 0).any()):
        raise ValueError(f"scale must be > 0; got min {float(scale.min()):.3g}")
    if isinstance(shift, (tuple, list)) and len(shift) == 2 and not hasattr(shift[0], "__len__"):
        shift = [list(shift)] * B
    shift = as_tensor(shift, "shift", ndim=2, allow_empty=B == 0).to(x.device, x.dtype)
    if tuple(shift.shape) != (B, 2):
        raise ValueError(f"shift must have shape ({B}, 2); got {tuple(shift.shape)}")
    return _affine_warp(x, angle, scale, shift)


def _affine_warp(x, angle, scale, shift):
    _, _, H, W = x.shape
    rad = angle * (math.pi / 180.0)
    cos, sin = torch.cos(rad) / scale, torch.sin(rad) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, -shift[:, 0] * 2.0 / W], dim=1),
            torch.stack([sin, cos, -shift[:, 1] * 2.0 / H], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def translate(x: torch.Tensor, dx, dy) -> torch.Tensor:
    r"""Shift each image by a whole number of pixels, filling the uncovered border with zeros.

    .. math:: y_{b,c,i,j} = \begin{cases} x_{b,c,\,i-\delta_y,\,j-\delta_x} &
              \text{if } 0 \le i-\delta_y < H \text{ and } 0 \le j-\delta_x < W\\
              0 & \text{otherwise}\end{cases}

    Args:
        x: images ``(B, C, H, W)``.
        dx: shift to the right (negative: to the left), an int or one int per image ``(B,)``.
        dy: shift down (negative: up), an int or ``(B,)``.

    Returns:
        The shifted images, same shape as ``x``.
    """
    x = _images(x)
    B, _, H, W = x.shape
    dx = _per_image(dx, "dx", B, x, integer=True)
    dy = _per_image(dy, "dy", B, x, integer=True)
    rows = torch.arange(H, device=x.device)[None, :] - dy[:, None]  # source row of each output row
    cols = torch.arange(W, device=x.device)[None, :] - dx[:, None]
    valid = ((rows >= 0) & (rows < H))[:, :, None] & ((cols >= 0) & (cols < W))[:, None, :]
    r = rows.clamp(0, H - 1)[:, None, :, None].expand(B, x.shape[1], H, W)
    c = cols.clamp(0, W - 1)[:, None, None, :].expand(B, x.shape[1], H, W)
    out = x.gather(2, r).gather(3, c)
    return out * valid[:, None].to(x.dtype)


def gaussian_blur(x: torch.Tensor, sigma) -> torch.Tensor:
    r"""Blur each image with its own Gaussian of standard deviation :math:`\sigma_b` (pixels).

    A separable kernel :math:`k_i \propto e^{-i^2/2\sigma_b^2}`, :math:`|i| \le \lceil
    3\max_b\sigma_b\rceil`, normalised to sum to one; borders replicate the edge pixels.
    :math:`\sigma_b = 0` leaves the image unchanged.

    Args:
        x: images ``(B, C, H, W)``.
        sigma: a number or one per image ``(B,)``, each >= 0.

    Returns:
        The blurred images, same shape as ``x``.
    """
    x = _images(x)
    sigma = _per_image(sigma, "sigma", x.shape[0], x)
    if bool((sigma < 0).any()):
        raise ValueError(f"sigma must be >= 0; got min {float(sigma.min()):.3g}")
    return _gaussian_blur(x, sigma)


def _gaussian_blur(x, sigma):
    B, C, H, W = x.shape
    radius = max(1, math.ceil(3 * float(sigma.max()))) if B else 1
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    s = sigma.clamp_min(1e-6)[:, None]
    k = torch.exp(-(offsets[None, :] ** 2) / (2 * s**2))
    k = (k / k.sum(dim=1, keepdim=True)).repeat_interleave(C, dim=0)  # (B*C, 2r+1)
    y = x.reshape(1, B * C, H, W)
    y = F.pad(y, (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, k[:, None, None, :], groups=B * C)  # along rows
    y = F.conv2d(y, k[:, None, :, None], groups=B * C)  # along columns
    return y.reshape(B, C, H, W)


@checked(value=Real())
def erase(x: torch.Tensor, top, left, height, width, value: float = 0.0) -> torch.Tensor:
    r"""Set one rectangle of each image to ``value`` (random erasing, cutout).

    .. math:: y_{b,c,i,j} = v \text{ if } t_b \le i < t_b + h_b \text{ and } l_b \le j < l_b + w_b,
              \quad x_{b,c,i,j} \text{ otherwise.}

    Args:
        x: images ``(B, C, H, W)``.
        top, left: the rectangle's first row and column, ints or one per image ``(B,)``.
        height, width: its size in pixels (>= 0; a zero size erases nothing).
        value: the fill value.

    Returns:
        The images with the rectangles filled, same shape as ``x``.
    """
    x = _images(x)
    B = x.shape[0]
    top, left = (_per_image(v, n, B, x, integer=True) for v, n in ((top, "top"), (left, "left")))
    height = _per_image(height, "height", B, x, integer=True)
    width = _per_image(width, "width", B, x, integer=True)
    if bool((height < 0).any()) or bool((width < 0).any()):
        raise ValueError("height and width must be >= 0")
    return _erase(x, top, left, height, width, value)


def _erase(x, top, left, height, width, value=0.0):
    _, _, H, W = x.shape
    i = torch.arange(H, device=x.device)[None, :]
    j = torch.arange(W, device=x.device)[None, :]
    rows = (i >= top[:, None]) & (i < (top + height)[:, None])
    cols = (j >= left[:, None]) & (j < (left + width)[:, None])
    mask = (rows[:, :, None] & cols[:, None, :])[:, None]
    return torch.where(mask, torch.full_like(x, value), x)


# ----------------------------------------------------------------------------------------------
# The random view: strengths in a checked config, parameters drawn on the CPU
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Range(Constraint):
    """A pair ``(low, high)`` of reals >= 0 with ``low <= high`` (``low_open``: both > 0)."""

    low_open: bool = False
    high: float | None = None

    def check(self, value, name: str):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{name} must be a pair (low, high); got {value!r}")
        lo, hi = (
            check_scalar(v, name, low=0.0, low_open=self.low_open, high=self.high) for v in value
        )
        if lo > hi:
            raise ValueError(f"{name} must have low <= high; got {value!r}")
        return lo, hi


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    r"""The strengths of :func:`augment`, checked when the config is made.

    Args:
        rotation: maximal rotation :math:`r` in degrees (>= 0).
        scale: zoom range ``(low, high)``, both > 0.
        shift: maximal shift :math:`m` in pixels (>= 0).
        blur_prob: probability of blurring an image.
        blur_sigma: range of the blur's standard deviation in pixels.
        noise: standard deviation of the additive noise (>= 0).
        erase_prob: probability of erasing a rectangle.
        erase_size: range of the rectangle's sides as fractions of the image's sides.
    """

    rotation: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    shift: float = 1.0
    blur_prob: float = 0.5
    blur_sigma: tuple[float, float] = (0.3, 0.8)
    noise: float = 0.05
    erase_prob: float = 0.25
    erase_size: tuple[float, float] = (0.2, 0.4)

    def __post_init__(self) -> None:
        check_fields(self, _AUGMENT_RULES)


_AUGMENT_RULES = {
    "rotation": Real(low=0.0),
    "scale": _Range(low_open=True),
    "shift": Real(low=0.0),
    "blur_prob": Real(low=0.0, high=1.0),
    "blur_sigma": _Range(),
    "noise": Real(low=0.0),
    "erase_prob": Real(low=0.0, high=1.0),
    "erase_size": _Range(high=1.0),
}


def augment(
    x: torch.Tensor,
    config: AugmentConfig = AugmentConfig(),
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    r"""A random view of each image: the composition used to make positive pairs.

    In order, each image independently gets: a rotation :math:`\theta \sim U[-r, r]` degrees,
    a zoom :math:`s \sim U[s_0, s_1]`, a shift :math:`\delta \sim U[-m, m]^2` pixels
    (:func:`affine_warp`); with probability ``blur_prob`` a blur :math:`\sigma \sim U[\sigma_0,
    \sigma_1]` (:func:`gaussian_blur`); Gaussian pixel noise of standard deviation ``noise``;
    with probability ``erase_prob`` a zero rectangle whose sides are a fraction
    :math:`U[a_0, a_1]` of the image's (:func:`erase`). The strengths come from ``config``
    (:class:`AugmentConfig`), the random numbers from ``generator`` (or a fresh one seeded with
    ``seed``), drawn on the CPU: the same seed gives the same views on every device.

    Args:
        x: images ``(B, C, H, W)``.
        config: the strengths.
        generator: the random stream (takes precedence over ``seed``).
        seed: seed of a fresh stream when ``generator`` is None.

    Returns:
        The augmented images, same shape, dtype and device as ``x``.
    """
    x = _images(x)
    if not isinstance(config, AugmentConfig):
        raise TypeError(f"config must be an AugmentConfig; got {type(config).__name__}")
    return _augment(x, _generator(generator, seed), config)


def _augment(x: torch.Tensor, g: torch.Generator, c: AugmentConfig = AugmentConfig()):
    """:func:`augment` on checked images, a generator and a config: the methods' default view."""
    B, _, H, W = x.shape
    dev, dtype = x.device, x.dtype
    angle = _uniform(B, -c.rotation, c.rotation, g)
    zoom = _uniform(B, *c.scale, g)
    delta = _uniform(2 * B, -c.shift, c.shift, g).reshape(B, 2)
    y = _affine_warp(x, angle.to(dev, dtype), zoom.to(dev, dtype), delta.to(dev, dtype))
    sigma = _uniform(B, *c.blur_sigma, g) * (torch.rand(B, generator=g) < c.blur_prob)
    if bool((sigma > 0).any()):
        y = _gaussian_blur(y, sigma.to(dev, dtype))
    if c.noise > 0:
        y = y + c.noise * torch.randn(y.shape, generator=g).to(dev, dtype)
    hh = (_uniform(B, *c.erase_size, g) * H).round().long()
    ww = (_uniform(B, *c.erase_size, g) * W).round().long()
    top = (torch.rand(B, generator=g) * (H - hh + 1)).long()
    left = (torch.rand(B, generator=g) * (W - ww + 1)).long()
    on = torch.rand(B, generator=g) < c.erase_prob
    if bool(on.any()):
        y = _erase(y, top.to(dev), left.to(dev), (hh * on).to(dev), (ww * on).to(dev))
    return y
