r"""Contrastive self-supervised learning: SimCLR, PIRL and MoCo, and how to evaluate them.

A *contrastive embedding* is an energy-based model of pairs. An encoder maps an image to a vector;
the energy of a pair is the negative similarity of the two vectors,

.. math:: E(x, y) = -\,s\big(h(x), h(y)\big), \qquad s(a, b) = \frac{a^\top b}{\|a\|\,\|b\|},

and training pushes the energy **down** on *positive* pairs (two augmentations of one image) and
**up** on *negative* pairs (two different images). The three methods differ only in where the
negatives come from:

* **SimCLR** (:func:`nt_xent`, :class:`SimCLR`): the other images of the same mini-batch;
* **PIRL** (:func:`pirl_nce`, :class:`MemoryBank`, :class:`PIRL`): a *memory bank* holding a
  moving average of every image's past embedding, with separate heads :math:`f` (image) and
  :math:`g` (transformed image);
* **MoCo** (:func:`momentum_update`, :class:`MoCo`): a *queue* of embeddings made by a slowly
  moving copy of the encoder.

The module reads top to bottom: augmentations (torch only, batched, seeded), the losses, the
encoder and the three methods, a training loop, then the evaluation (linear probe, k-NN,
alignment, uniformity, effective rank). Everything follows its inputs' device.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from .runtime import generator as make_generator

__all__ = [
    # augmentations
    "affine_warp",
    "translate",
    "gaussian_blur",
    "erase",
    "augment",
    # losses
    "similarity_matrix",
    "nt_xent",
    "pirl_h",
    "pirl_nce",
    "memory_update",
    "moco_loss",
    "momentum_update",
    # models
    "ConvEncoder",
    "projection_head",
    "ContrastiveMethod",
    "SimCLR",
    "MemoryBank",
    "PIRL",
    "MoCo",
    "pretrain",
    "train_supervised",
    # evaluation
    "embed",
    "few_label_split",
    "linear_probe",
    "knn_accuracy",
    "probe_table",
    "alignment",
    "uniformity",
    "effective_rank",
]


# ----------------------------------------------------------------------------------------------
# Input checks shared by this module
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
    B, _, H, W = x.shape
    angle = _per_image(angle, "angle", B, x)
    scale = _per_image(scale, "scale", B, x)
    if bool((scale <= 0).any()):
        raise ValueError(f"scale must be > 0; got min {float(scale.min()):.3g}")
    if isinstance(shift, (tuple, list)) and len(shift) == 2 and not hasattr(shift[0], "__len__"):
        shift = [list(shift)] * B
    shift = as_tensor(shift, "shift", ndim=2, allow_empty=B == 0).to(x.device, x.dtype)
    if tuple(shift.shape) != (B, 2):
        raise ValueError(f"shift must have shape ({B}, 2); got {tuple(shift.shape)}")
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
    B, C, H, W = x.shape
    sigma = _per_image(sigma, "sigma", B, x)
    if bool((sigma < 0).any()):
        raise ValueError(f"sigma must be >= 0; got min {float(sigma.min()):.3g}")
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
    B, _, H, W = x.shape
    top, left = (_per_image(v, n, B, x, integer=True) for v, n in ((top, "top"), (left, "left")))
    height = _per_image(height, "height", B, x, integer=True)
    width = _per_image(width, "width", B, x, integer=True)
    if bool((height < 0).any()) or bool((width < 0).any()):
        raise ValueError("height and width must be >= 0")
    value = check_scalar(value, "value")
    i = torch.arange(H, device=x.device)[None, :]
    j = torch.arange(W, device=x.device)[None, :]
    rows = (i >= top[:, None]) & (i < (top + height)[:, None])
    cols = (j >= left[:, None]) & (j < (left + width)[:, None])
    mask = (rows[:, :, None] & cols[:, None, :])[:, None]
    return torch.where(mask, torch.full_like(x, value), x)


def augment(
    x: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
    rotation: float = 15.0,
    scale: tuple[float, float] = (0.85, 1.15),
    shift: float = 1.0,
    blur_prob: float = 0.5,
    blur_sigma: tuple[float, float] = (0.3, 0.8),
    noise: float = 0.05,
    erase_prob: float = 0.25,
    erase_size: tuple[float, float] = (0.2, 0.4),
) -> torch.Tensor:
    r"""A random view of each image: the composition used to make positive pairs.

    In order, each image independently gets: a rotation :math:`\theta \sim U[-r, r]` degrees,
    a zoom :math:`s \sim U[s_0, s_1]`, a shift :math:`\delta \sim U[-m, m]^2` pixels
    (:func:`affine_warp`); with probability ``blur_prob`` a blur :math:`\sigma \sim U[\sigma_0,
    \sigma_1]` (:func:`gaussian_blur`); Gaussian pixel noise of standard deviation ``noise``;
    with probability ``erase_prob`` a zero rectangle whose sides are a fraction
    :math:`U[a_0, a_1]` of the image's (:func:`erase`). The random numbers come from
    ``generator`` (or a fresh one seeded with ``seed``), drawn on the CPU: the same seed gives
    the same views on every device.

    Args:
        x: images ``(B, C, H, W)``.
        generator: the random stream (takes precedence over ``seed``).
        seed: seed of a fresh stream when ``generator`` is None.
        rotation: maximal rotation in degrees (>= 0).
        scale: zoom range ``(low, high)``, both > 0.
        shift: maximal shift in pixels (>= 0).
        blur_prob: probability of blurring an image.
        blur_sigma: range of the blur's standard deviation in pixels.
        noise: standard deviation of the additive noise (>= 0).
        erase_prob: probability of erasing a rectangle.
        erase_size: range of the rectangle's sides as fractions of the image's sides.

    Returns:
        The augmented images, same shape, dtype and device as ``x``.
    """
    x = _images(x)
    g = _generator(generator, seed)
    rotation = check_scalar(rotation, "rotation", low=0.0)
    shift = check_scalar(shift, "shift", low=0.0)
    noise = check_scalar(noise, "noise", low=0.0)
    blur_prob = check_scalar(blur_prob, "blur_prob", low=0.0, high=1.0)
    erase_prob = check_scalar(erase_prob, "erase_prob", low=0.0, high=1.0)
    s0, s1 = _range(scale, "scale", low_open=True)
    b0, b1 = _range(blur_sigma, "blur_sigma")
    a0, a1 = _range(erase_size, "erase_size", high=1.0)
    B, C, H, W = x.shape
    angle = _uniform(B, -rotation, rotation, g)
    zoom = _uniform(B, s0, s1, g)
    delta = _uniform(2 * B, -shift, shift, g).reshape(B, 2)
    y = affine_warp(x, angle.to(x.device), zoom.to(x.device), delta.to(x.device))
    sigma = _uniform(B, b0, b1, g) * (torch.rand(B, generator=g) < blur_prob)
    if bool((sigma > 0).any()):
        y = gaussian_blur(y, sigma.to(x.device))
    if noise > 0:
        y = y + noise * torch.randn(y.shape, generator=g).to(x.device, x.dtype)
    hh = (_uniform(B, a0, a1, g) * H).round().long()
    ww = (_uniform(B, a0, a1, g) * W).round().long()
    top = (torch.rand(B, generator=g) * (H - hh + 1)).long()
    left = (torch.rand(B, generator=g) * (W - ww + 1)).long()
    on = torch.rand(B, generator=g) < erase_prob
    if bool(on.any()):
        dev = x.device
        y = erase(y, top.to(dev), left.to(dev), (hh * on).to(dev), (ww * on).to(dev))
    return y


def _range(value, name: str, *, low_open: bool = False, high: float | None = None):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high); got {value!r}")
    lo = check_scalar(value[0], name, low=0.0, low_open=low_open, high=high)
    hi = check_scalar(value[1], name, low=0.0, low_open=low_open, high=high)
    if lo > hi:
        raise ValueError(f"{name} must have low <= high; got {value!r}")
    return lo, hi


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
_SIMILARITIES = ("cosine", "l2")


def similarity_matrix(a: torch.Tensor, b: torch.Tensor, similarity: str = "cosine") -> torch.Tensor:
    r"""All pairwise similarities between the rows of ``a`` and ``b``.

    .. math:: s_{\cos}(a_i, b_j) = \frac{a_i^\top b_j}{\|a_i\|\,\|b_j\|}, \qquad
              s_{L_2}(a_i, b_j) = -\|a_i - b_j\|^2 .

    The energy of a pair is :math:`-s`. The cosine ignores the vectors' lengths; the negative
    squared distance does not, which is what lets a model "cheat" by shrinking or stretching
    its embeddings (the chapter shows it).

    Args:
        a: ``(N, d)``.
        b: ``(M, d)``.
        similarity: ``"cosine"`` or ``"l2"``.

    Returns:
        ``(N, M)``.
    """
    a = as_tensor(a, "a", ndim=2)
    b = as_tensor(b, "b", ndim=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"b must have {a.shape[1]} columns like a; got {b.shape[1]}")
    if similarity == "cosine":
        return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T
    if similarity == "l2":
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return -sq.clamp_min(0)
    raise ValueError(f"similarity must be one of {_SIMILARITIES}; got {similarity!r}")


def _pair(z1, z2, names=("z1", "z2")) -> tuple[torch.Tensor, torch.Tensor]:
    z1 = as_tensor(z1, names[0], ndim=2)
    z2 = as_tensor(z2, names[1], ndim=2)
    if z1.shape != z2.shape:
        raise ValueError(
            f"{names[1]} must have the shape of {names[0]} {tuple(z1.shape)} (one row per "
            f"pair); got {tuple(z2.shape)}"
        )
    return z1, z2


def nt_xent(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, similarity: str = "cosine"
) -> torch.Tensor:
    r"""SimCLR's normalised temperature-scaled cross-entropy, in :math:`O(N^2)` memory.

    Stack the two views, :math:`u = [z_1; z_2] \in \mathbb R^{2N\times d}`, so that row
    :math:`i` and row :math:`p(i) = i \pm N` are a positive pair. With
    :math:`S_{ij} = s(u_i, u_j)/\tau`,

    .. math:: \mathcal L = \frac{1}{2N}\sum_{i=1}^{2N}
              -\log\frac{e^{S_{i,p(i)}}}{\sum_{j\ne i} e^{S_{ij}}},

    a cross-entropy over each row of the similarity matrix with the diagonal removed: every
    other image of the batch (:math:`2N-2` of them) is a negative. Only the :math:`2N\times2N`
    matrix is built (about 4 MB at :math:`N = 512`).

    Args:
        z1: embeddings of the first views ``(N, d)``, ``N >= 2``.
        z2: embeddings of the second views ``(N, d)``; row ``i`` pairs with ``z1[i]``.
        temperature: :math:`\tau > 0`.
        similarity: ``"cosine"`` (SimCLR) or ``"l2"`` (negative squared distance, for the
            chapter's demonstration of why cosine is used).

    Returns:
        The mean loss, a scalar.
    """
    z1, z2 = _pair(z1, z2)
    if z1.shape[0] < 2:
        raise ValueError(f"z1 must hold at least 2 pairs (the negatives); got {z1.shape[0]}")
    tau = check_scalar(temperature, "temperature", low=0.0, low_open=True)
    n = z1.shape[0]
    u = torch.cat([z1, z2], dim=0)
    S = similarity_matrix(u, u, similarity) / tau
    S = S.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=S.device), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(S.device)
    return F.cross_entropy(S, target)


def _neg_bank(negatives, q: torch.Tensor) -> torch.Tensor:
    n = as_tensor(negatives, "negatives", ndim=(2, 3))
    if n.shape[-1] != q.shape[1]:
        raise ValueError(f"negatives must have {q.shape[1]} features; got {n.shape[-1]}")
    if n.ndim == 3 and n.shape[0] != q.shape[0]:
        raise ValueError(f"negatives must be (K, d) or ({q.shape[0]}, K, d); got {tuple(n.shape)}")
    if n.shape[-2] < 1:
        raise ValueError("negatives must hold at least one negative")
    return n


def _cos_rows(q: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    q = F.normalize(q, dim=-1)
    n = F.normalize(n, dim=-1)
    if n.ndim == 2:
        return q @ n.T
    return torch.einsum("bd,bkd->bk", q, n)


def pirl_h(
    query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, temperature: float = 0.07
) -> torch.Tensor:
    r"""PIRL's score :math:`h`, as the lecture notes write it: how much the pair stands out.

    .. math:: h(v_I, v_{I^t}) = \frac{e^{s(v_I, v_{I^t})/\tau}}
              {e^{s(v_I, v_{I^t})/\tau} + \sum_{I' \in D_N} e^{s(v_{I^t}, v_{I'})/\tau}}

    with :math:`s` the cosine similarity, :math:`v_{I^t}` = ``query`` (the transformed image),
    :math:`v_I` = ``positive`` and :math:`v_{I'}` the ``negatives``. :math:`h \in (0, 1)`.

    Args:
        query: ``(B, d)``.
        positive: ``(B, d)``.
        negatives: ``(K, d)`` shared by the batch, or ``(B, K, d)``.
        temperature: :math:`\tau > 0`.

    Returns:
        ``(B,)``.
    """
    q, p = _pair(query, positive, ("query", "positive"))
    n = _neg_bank(negatives, q)
    tau = check_scalar(temperature, "temperature", low=0.0, low_open=True)
    pos = (F.normalize(q, dim=1) * F.normalize(p, dim=1)).sum(1) / tau
    log_z = torch.logsumexp(_cos_rows(q, n) / tau, dim=1)
    return torch.exp(pos - torch.logaddexp(pos, log_z))


def pirl_nce(
    query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, temperature: float = 0.07
) -> torch.Tensor:
    r"""PIRL's NCE loss in the form of the lecture notes, averaged over the batch.

    .. math:: L_{\text{NCE}}(I, I^t) = -\log h\big(f(v_I), g(v_{I^t})\big)
              - \sum_{I' \in D_N} \log\Big[1 - h\big(g(v_{I^t}), f(v_{I'})\big)\Big]

    where :math:`h(a, b)` is :func:`pirl_h`: the exponentiated similarity of the pair over
    itself plus :math:`Z = \sum_{I'} e^{s(g(v_{I^t}), f(v_{I'}))/\tau}`, the transformed
    image's similarities to the negatives. The first term pulls the positive pair together (its
    :math:`h \to 1`); the second pushes each negative away (its :math:`h \to 0`). Computed in
    log space: :math:`\log h(x) = x/\tau - \log(e^{x/\tau} + Z)` and
    :math:`\log(1 - h(x)) = \log Z - \log(e^{x/\tau} + Z)`.

    The PIRL paper (Misra and van der Maaten, 2020) writes :math:`h` with a constant from the noise
    distribution in place of the sum over negatives (noise-contrastive estimation proper);
    the notes' softmax-like denominator is what is implemented and tested here.

    Args:
        query: :math:`g(v_{I^t})` ``(B, d)``.
        positive: :math:`f(v_I)` or its memory-bank entry :math:`m_I` ``(B, d)``.
        negatives: :math:`f(v_{I'})` or memory-bank entries, ``(K, d)`` or ``(B, K, d)``.
        temperature: :math:`\tau > 0`.

    Returns:
        The mean loss, a scalar.
    """
    q, p = _pair(query, positive, ("query", "positive"))
    n = _neg_bank(negatives, q)
    tau = check_scalar(temperature, "temperature", low=0.0, low_open=True)
    pos = (F.normalize(q, dim=1) * F.normalize(p, dim=1)).sum(1) / tau  # (B,)
    neg = _cos_rows(q, n) / tau  # (B, K)
    log_z = torch.logsumexp(neg, dim=1, keepdim=True)  # (B, 1)
    log_h_pos = pos - torch.logaddexp(pos, log_z[:, 0])
    log_1m_h_neg = log_z - torch.logaddexp(neg, log_z)
    return -(log_h_pos + log_1m_h_neg.sum(1)).mean()


def memory_update(
    bank: torch.Tensor, index: torch.Tensor, values: torch.Tensor, momentum: float = 0.5
) -> torch.Tensor:
    r"""The memory bank's update: a moving average of each image's embedding, kept on the sphere.

    .. math:: m_I \leftarrow \frac{\mu\, m_I + (1-\mu)\, f(v_I)}{\|\mu\, m_I + (1-\mu)\, f(v_I)\|}
              \quad \text{for each } I \text{ in the batch;}

    the other rows are unchanged. :math:`\mu = 0` stores the new embedding (normalised). If an
    index appears twice, the last occurrence wins.

    Args:
        bank: ``(n, d)``.
        index: ``(B,)`` int64 rows to update, in ``[0, n)``.
        values: ``(B, d)`` new embeddings :math:`f(v_I)`.
        momentum: :math:`\mu \in [0, 1]`.

    Returns:
        A new ``(n, d)`` tensor (``bank`` is not modified).
    """
    bank = as_tensor(bank, "bank", ndim=2)
    index = as_tensor(index, "index", ndim=1, integer=True, allow_empty=True)
    values = as_tensor(values, "values", ndim=2, allow_empty=True)
    if values.shape != (index.shape[0], bank.shape[1]):
        raise ValueError(
            f"values must have shape ({index.shape[0]}, {bank.shape[1]}) (one row per index); "
            f"got {tuple(values.shape)}"
        )
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= bank.shape[0]):
        raise ValueError(f"index must lie in [0, {bank.shape[0]}); got {index.tolist()[:8]}...")
    mu = check_scalar(momentum, "momentum", low=0.0, high=1.0)
    index = index.to(bank.device)
    new = F.normalize(mu * bank[index] + (1 - mu) * values.to(bank), dim=1)
    out = bank.clone()
    out[index] = new
    return out


def moco_loss(
    query: torch.Tensor, key: torch.Tensor, queue: torch.Tensor, temperature: float = 0.2
) -> torch.Tensor:
    r"""MoCo's InfoNCE: each query against its own key and against every key in the queue.

    .. math:: \mathcal L = -\frac1B\sum_b \log\frac{e^{s(q_b, k_b)/\tau}}
              {e^{s(q_b, k_b)/\tau} + \sum_{j=1}^{K} e^{s(q_b, n_j)/\tau}}

    with :math:`s` the cosine similarity and :math:`n_j` the rows of the queue.

    Args:
        query: ``(B, d)`` from the encoder being trained.
        key: ``(B, d)`` from the momentum encoder (no gradient flows into it).
        queue: ``(K, d)`` past keys.
        temperature: :math:`\tau > 0`.

    Returns:
        The mean loss, a scalar.
    """
    q, k = _pair(query, key, ("query", "key"))
    queue = as_tensor(queue, "queue", ndim=2)
    if queue.shape[1] != q.shape[1]:
        raise ValueError(f"queue must have {q.shape[1]} features like query; got {queue.shape[1]}")
    tau = check_scalar(temperature, "temperature", low=0.0, low_open=True)
    q = F.normalize(q, dim=1)
    pos = (q * F.normalize(k, dim=1)).sum(1, keepdim=True)
    logits = torch.cat([pos, q @ F.normalize(queue, dim=1).T], dim=1) / tau
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


@torch.no_grad()
def momentum_update(target: nn.Module, online: nn.Module, momentum: float = 0.99) -> None:
    r"""Move a copy of a network slowly towards the network being trained (in place).

    .. math:: \theta_k \leftarrow m\,\theta_k + (1 - m)\,\theta_q

    for every parameter; buffers (e.g. batch-norm statistics) are copied.

    Args:
        target: the momentum (key) network :math:`\theta_k`, updated in place.
        online: the trained (query) network :math:`\theta_q`, same architecture.
        momentum: :math:`m \in [0, 1]`; 1 freezes the target, 0 copies the online network.
    """
    if not isinstance(target, nn.Module) or not isinstance(online, nn.Module):
        raise TypeError("target and online must be torch.nn.Module instances")
    m = check_scalar(momentum, "momentum", low=0.0, high=1.0)
    pt, po = list(target.parameters()), list(online.parameters())
    if len(pt) != len(po) or any(a.shape != b.shape for a, b in zip(pt, po)):
        raise ValueError("target must have the same architecture as online")
    for a, b in zip(pt, po):
        a.mul_(m).add_(b.detach(), alpha=1 - m)
    for a, b in zip(target.buffers(), online.buffers()):
        a.copy_(b)


# ----------------------------------------------------------------------------------------------
# Encoder, heads and the three methods
# ----------------------------------------------------------------------------------------------
class ConvEncoder(nn.Module):
    r"""A small convolutional encoder :math:`x \mapsto h(x) \in \mathbb R^{d}`.

    Three 3×3 convolutions, each followed by batch normalisation and a ReLU (the second also by
    2×2 max-pooling), an adaptive average pool to 4×4, then a linear layer. The pool makes it
    take any image size: 8×8 digits here, 32×32 CIFAR-10 images on a GPU (``in_channels=3``).

    Args:
        in_channels: channels of the input images.
        width: channels of the first convolutions (the last has ``2 * width``).
        out_dim: the representation's dimension :math:`d`.
    """

    def __init__(self, in_channels: int = 1, width: int = 16, out_dim: int = 64):
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", low=1)
        width = check_int(width, "width", low=1)
        self.out_dim = check_int(out_dim, "out_dim", low=1)

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(
            *block(in_channels, width),
            *block(width, width),
            nn.MaxPool2d(2),
            *block(width, 2 * width),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        self.fc = nn.Linear(2 * width * 16, self.out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Representations ``(B, out_dim)`` of images ``(B, C, H, W)``."""
        return self.fc(self.features(x))


def projection_head(in_dim: int, out_dim: int, hidden: int | None = None) -> nn.Module:
    r"""SimCLR's projection head :math:`z = W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1 h))` (``hidden=0``: linear).

    The loss is applied to :math:`z`; the representation evaluated downstream is :math:`h`.
    The batch normalisation centres the hidden units over the batch. Without it the embeddings
    of an untrained network all point in nearly the same direction (ReLU features are
    non-negative), every cosine is close to 1, and a method whose keys get no gradient (MoCo)
    starts on a plateau where the loss is :math:`\log(K+1)` and its gradient vanishes.

    Args:
        in_dim: dimension of :math:`h`.
        out_dim: dimension of :math:`z`.
        hidden: width of the hidden layer (default ``in_dim``; 0 for a single linear layer).

    Returns:
        An ``nn.Module``.
    """
    in_dim = check_int(in_dim, "in_dim", low=1)
    out_dim = check_int(out_dim, "out_dim", low=1)
    hidden = in_dim if hidden is None else check_int(hidden, "hidden", low=0)
    if hidden == 0:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out_dim)
    )


def _default_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return augment(x, generator=g)


class ContrastiveMethod(nn.Module):
    """What :func:`pretrain` needs from a method: an ``encoder`` and a ``loss``.

    Subclasses implement ``loss(x, index, generator)`` (a scalar for a batch of images ``x``
    whose dataset rows are ``index``) and may implement ``after_step()`` (run after each
    optimiser step: memory-bank and momentum updates).
    """

    encoder: nn.Module

    def loss(
        self, x: torch.Tensor, index: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """The training loss of one batch."""
        raise NotImplementedError

    def after_step(self) -> None:
        """Updates that are not gradient steps (none by default)."""

    def _views(self, x, g):
        return self.augment(x, g), self.augment(x, g)


class SimCLR(ContrastiveMethod):
    r"""SimCLR (Chen et al., 2020): two views of every image, NT-Xent on projected embeddings.

    .. math:: \mathcal L = \text{NT-Xent}\big(p(h(t_1(x))),\ p(h(t_2(x)))\big)

    with :math:`t_1, t_2` random augmentations, :math:`h` the encoder and :math:`p` the
    projection head; the negatives are the other images of the batch.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute, like :class:`ConvEncoder`).
        proj_dim: dimension of the projection :math:`z`.
        temperature: :math:`\tau` of :func:`nt_xent`.
        augment: ``augment(x, generator)`` making one random view (default :func:`augment`).
        similarity: ``"cosine"`` or ``"l2"`` (see :func:`similarity_matrix`).
    """

    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 32,
        temperature: float = 0.2,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        similarity: str = "cosine",
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        self.head = projection_head(encoder.out_dim, check_int(proj_dim, "proj_dim", low=1))
        self.temperature = check_scalar(temperature, "temperature", low=0.0, low_open=True)
        self.augment = check_callable(augment or _default_augment, "augment")
        if similarity not in _SIMILARITIES:
            raise ValueError(f"similarity must be one of {_SIMILARITIES}; got {similarity!r}")
        self.similarity = similarity

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """The projections :math:`z = p(h(x))`."""
        return self.head(self.encoder(x))

    def loss(self, x, index, generator):
        """NT-Xent between the projections of two random views of ``x``."""
        v1, v2 = self._views(x, generator)
        return nt_xent(self.project(v1), self.project(v2), self.temperature, self.similarity)


def _check_encoder(encoder) -> nn.Module:
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}")
    if not isinstance(getattr(encoder, "out_dim", None), int):
        raise ValueError("encoder must have an int attribute out_dim (its output dimension)")
    return encoder


class MemoryBank(nn.Module):
    r"""One unit vector per training image: a moving average of its past embeddings.

    Rows start as random unit vectors and are updated by :func:`memory_update`; :meth:`sample`
    draws negatives uniformly among the *other* images.

    Args:
        n: number of images.
        dim: embedding dimension.
        momentum: :math:`\mu` of :func:`memory_update`.
        seed: seed of the random initial rows.
    """

    def __init__(self, n: int, dim: int, momentum: float = 0.5, seed: int | None = 0):
        super().__init__()
        n = check_int(n, "n", low=2)
        dim = check_int(dim, "dim", low=1)
        self.momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0)
        g = make_generator(check_seed(seed))
        self.register_buffer("bank", F.normalize(torch.randn(n, dim, generator=g), dim=1))

    def update(self, index: torch.Tensor, values: torch.Tensor) -> None:
        """Apply :func:`memory_update` to the rows ``index`` (in place on the buffer)."""
        self.bank.copy_(memory_update(self.bank, index, values.detach(), self.momentum))

    def sample(self, index: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` negatives for each row of ``index``, never the row itself: ``(B, k, dim)``."""
        n = self.bank.shape[0]
        k = check_int(k, "k", low=1)
        index = as_tensor(index, "index", ndim=1, integer=True).cpu()
        j = torch.randint(0, n - 1, (index.shape[0], k), generator=generator)
        j = j + (j >= index[:, None]).long()  # skip the image itself
        return self.bank[j.to(self.bank.device)]


class PIRL(ContrastiveMethod):
    r"""PIRL (Misra and van der Maaten, 2020): heads :math:`f`, :math:`g`, NCE against a memory bank.

    For an image :math:`I` and its transformed version :math:`I^t` (a random view from
    ``augment``; the paper solves jigsaw puzzles, we use the same views as SimCLR so the three
    methods are compared on equal terms), with :math:`v = h(\cdot)` the encoder's output,

    .. math:: \mathcal L = \lambda\, L_{\text{NCE}}\big(m_I, g(v_{I^t})\big)
              + (1-\lambda)\, L_{\text{NCE}}\big(m_I, f(v_I)\big),

    each :math:`L_{\text{NCE}}` being :func:`pirl_nce` with ``k`` negatives :math:`m_{I'}` from
    the memory bank; after the step, :math:`m_I` moves towards :math:`f(v_I)`
    (:func:`memory_update`).

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        n_data: number of training images (rows of the bank).
        proj_dim: dimension of the heads' outputs.
        n_negatives: negatives per image, ``k``.
        temperature: :math:`\tau`.
        momentum: the bank's :math:`\mu`.
        lam: :math:`\lambda \in [0, 1]`.
        augment: ``augment(x, generator)`` (default :func:`augment`).
        seed: seed of the bank's initial rows.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_data: int,
        proj_dim: int = 32,
        n_negatives: int = 256,
        temperature: float = 0.2,
        momentum: float = 0.5,
        lam: float = 0.5,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        seed: int | None = 0,
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        proj_dim = check_int(proj_dim, "proj_dim", low=1)
        self.f = projection_head(encoder.out_dim, proj_dim)  # head for the image I
        self.g = projection_head(encoder.out_dim, proj_dim)  # head for the transformed I^t
        n_data = check_int(n_data, "n_data", low=2)
        self.bank = MemoryBank(n_data, proj_dim, momentum, seed)
        self.n_negatives = check_int(n_negatives, "n_negatives", low=1)
        self.temperature = check_scalar(temperature, "temperature", low=0.0, low_open=True)
        self.lam = check_scalar(lam, "lam", low=0.0, high=1.0)
        self.augment = check_callable(augment or _default_augment, "augment")
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    def loss(self, x, index, generator):
        """The two NCE terms for a batch; remembers :math:`f(v_I)` for the bank's update."""
        index = as_tensor(index, "index", ndim=1, integer=True)
        v_i, v_t = self._views(x, generator)  # I (a light view of it) and I^t
        f_i = self.f(self.encoder(v_i))
        g_t = self.g(self.encoder(v_t))
        m_i = self.bank.bank[index.to(self.bank.bank.device)]
        neg = self.bank.sample(index, self.n_negatives, generator)
        loss = self.lam * pirl_nce(g_t, m_i, neg, self.temperature) + (1 - self.lam) * pirl_nce(
            f_i, m_i, neg, self.temperature
        )
        self._pending = (index, f_i.detach())
        return loss

    def after_step(self) -> None:
        """Move the bank's rows of the last batch towards their new :math:`f(v_I)`."""
        if self._pending is not None:
            self.bank.update(*self._pending)
            self._pending = None


class MoCo(ContrastiveMethod):
    r"""MoCo (He et al., 2020): a momentum encoder makes keys; a queue keeps the negatives.

    The query :math:`q = p(h(t_1(x)))` is compared (:func:`moco_loss`) with its key
    :math:`k = p'(h'(t_2(x)))` from a copy of encoder and head whose weights follow the
    trained ones slowly (:func:`momentum_update`), and with the ``queue_size`` most recent
    keys. After each step the batch's keys replace the oldest ones.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        proj_dim: dimension of the projections.
        queue_size: number of negatives :math:`K` kept.
        temperature: :math:`\tau`.
        momentum: :math:`m` of :func:`momentum_update`.
        augment: ``augment(x, generator)`` (default :func:`augment`).
        seed: seed of the queue's initial random keys.
    """

    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 32,
        queue_size: int = 512,
        temperature: float = 0.2,
        momentum: float = 0.99,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        seed: int | None = 0,
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        self.head = projection_head(encoder.out_dim, check_int(proj_dim, "proj_dim", low=1))
        self.key_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.key_head = copy.deepcopy(self.head).requires_grad_(False)
        queue_size = check_int(queue_size, "queue_size", low=1)
        g = make_generator(check_seed(seed))
        self.register_buffer(
            "queue", F.normalize(torch.randn(queue_size, proj_dim, generator=g), dim=1)
        )
        self.ptr = 0
        self.temperature = check_scalar(temperature, "temperature", low=0.0, low_open=True)
        self.momentum = check_scalar(momentum, "momentum", low=0.0, high=1.0)
        self.augment = check_callable(augment or _default_augment, "augment")
        self._keys: torch.Tensor | None = None

    def loss(self, x, index, generator):
        """InfoNCE of the queries against their keys and the queue."""
        v_q, v_k = self._views(x, generator)
        q = self.head(self.encoder(v_q))
        with torch.no_grad():
            k = F.normalize(self.key_head(self.key_encoder(v_k)), dim=1)
        self._keys = k
        return moco_loss(q, k, self.queue, self.temperature)

    @torch.no_grad()
    def after_step(self) -> None:
        """Momentum-update the key network, then enqueue the batch's keys (oldest out)."""
        momentum_update(self.key_encoder, self.encoder, self.momentum)
        momentum_update(self.key_head, self.head, self.momentum)
        if self._keys is not None:
            k = self._keys[: self.queue.shape[0]]
            rows = (self.ptr + torch.arange(k.shape[0], device=k.device)) % self.queue.shape[0]
            self.queue[rows] = k
            self.ptr = int((self.ptr + k.shape[0]) % self.queue.shape[0])
            self._keys = None


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


# ----------------------------------------------------------------------------------------------
# Evaluation on frozen features
# ----------------------------------------------------------------------------------------------
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
    check_callable(encoder, "encoder")
    X = as_tensor(X, "X", min_ndim=2)
    batch_size = check_int(batch_size, "batch_size", low=1)
    was_training = getattr(encoder, "training", False)
    if isinstance(encoder, nn.Module):
        encoder.eval()
    out = torch.cat([encoder(X[s : s + batch_size]) for s in range(0, X.shape[0], batch_size)])
    if isinstance(encoder, nn.Module) and was_training:
        encoder.train()
    return out.reshape(out.shape[0], -1)


def few_label_split(y: torch.Tensor, per_class: int, seed: int | None = 0) -> torch.Tensor:
    """Indices of ``per_class`` randomly chosen examples of every class (the labelled few).

    Args:
        y: labels ``(n,)``.
        per_class: examples per class (>= 1; at most the size of the smallest class).
        seed: seed of the draw.

    Returns:
        ``(n_classes * per_class,)`` int64 indices into ``y``, sorted.
    """
    y = as_tensor(y, "y", ndim=1, integer=True).cpu()
    per_class = check_int(per_class, "per_class", low=1)
    g = make_generator(check_seed(seed))
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


def linear_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    l2: float = 1e-2,
    max_iter: int = 200,
) -> float:
    r"""Accuracy of a multinomial logistic regression trained on frozen features.

    .. math:: \min_{W, b}\ \frac1n\sum_i -\log\operatorname{softmax}(W x_i + b)_{y_i}
              + \lambda\|W\|_F^2

    solved with L-BFGS (deterministic, full batch); the features are used as given (the
    caller standardises them, e.g. with the statistics of all unlabelled training images as
    :func:`probe_table` does).

    Args:
        train_x: ``(n, d)`` labelled features.
        train_y: ``(n,)`` labels.
        test_x: ``(m, d)`` held-out features.
        test_y: ``(m,)`` held-out labels.
        l2: :math:`\lambda \ge 0`.
        max_iter: L-BFGS iterations.

    Returns:
        The test accuracy in [0, 1].
    """
    train_x, train_y, test_x, test_y = _features_labels(train_x, train_y, test_x, test_y)
    lam = check_scalar(l2, "l2", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    W = torch.zeros(train_x.shape[1], n_classes, device=train_x.device, dtype=train_x.dtype)
    b = torch.zeros(n_classes, device=train_x.device, dtype=train_x.dtype)
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(train_x @ W + b, train_y) + lam * (W * W).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return float(((test_x @ W + b).argmax(1) == test_y).float().mean())


@torch.no_grad()
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
    k = min(check_int(k, "k", low=1), train_x.shape[0])
    sim = F.normalize(test_x, dim=1) @ F.normalize(train_x, dim=1).T
    top, arg = sim.topk(k, dim=1)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    votes = torch.zeros(test_x.shape[0], n_classes, device=sim.device, dtype=sim.dtype)
    votes.scatter_add_(1, train_y[arg], top)
    return float((votes.argmax(1) == test_y).float().mean())


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
    draws = check_int(draws, "draws", low=1)
    seed = check_seed(seed)
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
            splits[s] = [
                few_label_split(train_y, s, seed=base + 1000 * s + d) for d in range(draws)
            ]
    rows = []
    for name, pair in features.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"features[{name!r}] must be a pair (train_features, test_features)")
        tr = as_tensor(pair[0], f"features[{name!r}][0]", ndim=2)
        te = as_tensor(pair[1], f"features[{name!r}][1]", ndim=2).to(tr)
        mean, std = tr.mean(0), tr.std(0).clamp_min(1e-6)
        tr, te = (tr - mean) / std, (te - mean) / std
        ytr = train_y.to(tr.device)
        for s in sizes:
            lin, nn_ = [], []
            for idx in splits[s]:
                idx = idx.to(tr.device)
                lin.append(linear_probe(tr[idx], ytr[idx], te, test_y))
                nn_.append(knn_accuracy(tr[idx], ytr[idx], te, test_y, k=k))
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


@torch.no_grad()
def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    r"""Alignment of positive pairs (Wang and Isola, 2020) (lower is better).

    .. math:: \mathcal L_{\text{align}} = \frac1N\sum_i \|\hat z_{1,i} - \hat z_{2,i}\|^\alpha,
              \qquad \hat z = z/\|z\|

    Args:
        z1: ``(N, d)`` embeddings of first views.
        z2: ``(N, d)`` embeddings of second views.
        alpha: exponent (> 0).

    Returns:
        A scalar in :math:`[0, 2^\alpha]`.
    """
    z1, z2 = _pair(z1, z2)
    alpha = check_scalar(alpha, "alpha", low=0.0, low_open=True)
    return (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).norm(dim=1).pow(alpha).mean()


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
    t = check_scalar(t, "t", low=0.0, low_open=True)
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
