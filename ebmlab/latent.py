r"""Latent-variable energy-based models: decoders, inference over :math:`(y, z)`, GLO.

A latent-variable EBM scores a pair :math:`(x, y)` with the help of a variable :math:`z` that is
never observed. The simplest and most common form is a **decoder** :math:`g` that proposes a
prediction from :math:`z` (and :math:`x`) and a reconstruction energy

.. math:: E(x, y, z) = \lVert y - g(x, z) \rVert^2 .

As :math:`z` runs over its set, :math:`g(x, z)` sweeps the manifold of valid predictions, so one
input can have many valid outputs. The latent is eliminated by the free energy
(:func:`ebmlab.energy.free_energy_min`, :func:`ebmlab.energy.free_energy`), computed here on a
grid of :math:`z` (a continuous, low-dimensional :math:`z`), over a finite set of :math:`z`
(:class:`MultiHypothesis`), or by gradient descent on :math:`z` (:class:`GLO`).

Contents, in the order of the book:

* chapter 1 — :func:`forking_paths` and :func:`forking_blobs` (data whose future can go two
  ways) and :class:`MultiHypothesis`, a conditional model with a discrete latent;
* chapter 3 — :func:`squared_error`, :func:`latent_energies`, :func:`nearest_latent`,
  :func:`infer_joint`, the ellipse decoder (:func:`ellipse_decoder`, :class:`EllipseDecoder`),
  learning by :func:`fit_free_energy`, and Generative Latent Optimization (:class:`GLO`, with
  :func:`project_sphere` and :func:`slerp`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
from torch import nn

from ._validation import as_tensor, check_callable, check_int, check_scalar, check_seed
from .energy import Minimum, free_energy, minimize
from .runtime import generator

__all__ = [
    "forking_paths",
    "forking_blobs",
    "squared_error",
    "latent_energies",
    "nearest_latent",
    "JointMinimum",
    "infer_joint",
    "ellipse_decoder",
    "EllipseDecoder",
    "MultiHypothesis",
    "fit_free_energy",
    "project_sphere",
    "slerp",
    "GLO",
]


# --------------------------------------------------------------------------------------------
# Data whose future can go two ways (chapter 1)
# --------------------------------------------------------------------------------------------


def forking_paths(
    n: int = 400, noise: float = 0.05, slope: float = 1.2, seed: int | None = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""A path that forks: before :math:`x = 0` one future, after it two.

    .. math::

        x \sim U[-1, 1],\quad s \sim U\{-1, +1\},\quad
        y = s\cdot\text{slope}\cdot\max(x, 0) + \varepsilon,\quad
        \varepsilon \sim \mathcal N(0, \text{noise}^2).

    For :math:`x > 0` the two branches are equally likely, so the conditional mean
    :math:`\mathbb E[y\mid x] = 0` lies on neither: a least-squares predictor goes straight on,
    where no sample ever goes.

    Args:
        n: number of samples.
        noise: standard deviation of the additive noise.
        slope: how fast the branches separate.
        seed: seed of the data's own generator.

    Returns:
        ``x`` ``(n, 1)``, ``y`` ``(n, 1)`` and the branch ``k`` ``(n,)`` (0 down, 1 up).
    """
    n = check_int(n, "n", low=1)
    noise = check_scalar(noise, "noise", low=0.0)
    slope = check_scalar(slope, "slope", low=0.0, low_open=True)
    g = generator(check_seed(seed))
    x = torch.rand(n, generator=g) * 2 - 1
    k = torch.randint(0, 2, (n,), generator=g)
    y = (2.0 * k - 1.0) * slope * x.clamp(min=0.0) + noise * torch.randn(n, generator=g)
    return x[:, None], y[:, None], k


def _blob(rows: torch.Tensor, cols: torch.Tensor, size: int, width: float) -> torch.Tensor:
    grid = torch.arange(size, dtype=torch.float32)
    r = (grid[None, :] - rows[:, None]) ** 2  # (n, size)
    c = (grid[None, :] - cols[:, None]) ** 2
    return torch.exp(-(r[:, :, None] + c[:, None, :]) / (2 * width**2))


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
    n = check_int(n, "n", low=1)
    size = check_int(size, "size", low=6, high=64)
    step = check_scalar(step, "step", low=0.0, low_open=True)
    width = check_scalar(width, "width", low=0.0, low_open=True)
    if 2 * step + 2 > size - 1:
        raise ValueError(
            f"step must leave room in the frame: need 2 * step + 3 <= size; got {step}"
        )
    g = generator(check_seed(seed))
    rows = step + 1 + torch.rand(n, generator=g) * (size - 3 - 2 * step)
    cols = 1 + torch.rand(n, generator=g) * (size - 3 - step)
    k = torch.randint(0, 2, (n,), generator=g)
    x = _blob(rows, cols, size, width).reshape(n, -1)
    y = _blob(rows + (2.0 * k - 1.0) * step, cols + step, size, width).reshape(n, -1)
    return x, y, k


# --------------------------------------------------------------------------------------------
# Energies and inference over z (chapter 3)
# --------------------------------------------------------------------------------------------


def squared_error(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    r"""Reconstruction energy :math:`E = \lVert y - \hat y\rVert^2`, summed over the last dim.

    Args:
        y: targets, ``(..., d)``.
        y_hat: predictions, broadcastable to ``y``.

    Returns:
        ``(...)``: one energy per row (after broadcasting).
    """
    y = as_tensor(y, "y", min_ndim=1)
    y_hat = as_tensor(y_hat, "y_hat", min_ndim=1)
    try:
        diff = y - y_hat
    except RuntimeError:
        raise ValueError(
            f"y_hat must broadcast against y; got shapes {tuple(y_hat.shape)} and {tuple(y.shape)}"
        ) from None
    return (diff**2).sum(dim=-1)


def latent_energies(
    decoder: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor, z: torch.Tensor
) -> torch.Tensor:
    r"""Energies :math:`E(y_b, z_n) = \lVert y_b - g(z_n)\rVert^2` of every point at every latent.

    The table this returns, laid out with :math:`z` along the last dimension, is what
    :func:`ebmlab.energy.free_energy_min` and :func:`ebmlab.energy.free_energy` reduce to the
    free energy :math:`F(y_b)`.

    Args:
        decoder: :math:`g`, maps ``N`` latents ``(N, ...)`` to ``(N, d)``.
        y: points, ``(B, d)``.
        z: latents, ``(N,)`` or ``(N, k)`` (a grid or samples of :math:`z`).

    Returns:
        ``(B, N)``.
    """
    check_callable(decoder, "decoder")
    y = as_tensor(y, "y", ndim=2)
    z = as_tensor(z, "z", min_ndim=1)
    out = decoder(z)
    if not isinstance(out, torch.Tensor) or out.shape != (z.shape[0], y.shape[1]):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"decoder must map {z.shape[0]} latents to shape ({z.shape[0]}, {y.shape[1]}); got {got}"
        )
    # ||y - g||^2 = ||y||^2 - 2 y.g + ||g||^2: a (B, N) table without a (B, N, d) intermediate
    e = (y**2).sum(1, keepdim=True) - 2 * y @ out.T + (out**2).sum(1)[None, :]
    return e.clamp(min=0.0)


def nearest_latent(
    decoder: Callable[[torch.Tensor], torch.Tensor],
    y: torch.Tensor,
    z_grid: torch.Tensor,
    *,
    refine_steps: int = 0,
    lr: float = 0.05,
) -> Minimum:
    r"""Zero-temperature inference of the latent: :math:`\check z = \arg\min_z \lVert y - g(z)\rVert^2`.

    A search over ``z_grid`` finds the best valley for each point (gradient descent alone would
    stop in whichever valley it starts in); ``refine_steps`` of gradient descent
    (:func:`ebmlab.energy.minimize`) then polish the grid's answer between grid points. The value
    returned is :math:`F_\infty(y) = \min_z E(y, z)` — the minimum, not the minimiser (ERRATA 2).

    Args:
        decoder: :math:`g`, ``(N, ...) -> (N, d)``.
        y: points, ``(B, d)``.
        z_grid: candidate latents, ``(N,)`` or ``(N, k)``.
        refine_steps: gradient steps after the grid search (0 keeps the grid point).
        lr: step size of the refinement.

    Returns:
        :class:`ebmlab.energy.Minimum`: ``argmin`` ``(B, ...)`` (the latent) and ``value``
        ``(B,)`` (:math:`F_\infty`).
    """
    z_grid = as_tensor(z_grid, "z_grid", min_ndim=1)
    refine_steps = check_int(refine_steps, "refine_steps", low=0)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    with torch.no_grad():
        e = latent_energies(decoder, y, z_grid)
    value, idx = e.min(dim=1)
    z0 = z_grid[idx]
    res = minimize(lambda z: squared_error(y, decoder(z)), z0, steps=refine_steps, lr=lr)
    # gradient descent from the best grid point can only go down; keep the grid value otherwise
    better = res.value <= value
    shape = (-1,) + (1,) * (z0.ndim - 1)
    z = torch.where(better.reshape(shape), res.argmin, z0)
    return Minimum(z, torch.minimum(res.value, value), None)


class JointMinimum(NamedTuple):
    """Result of :func:`infer_joint`."""

    y: torch.Tensor
    """The inferred outputs, one per start and input ``(S, B, ...)``."""
    z: torch.Tensor
    """The inferred latents ``(S, B, ...)``."""
    value: torch.Tensor
    """The energy :math:`E(x, \\check y, \\check z)` reached, ``(S, B)``."""


def infer_joint(
    E: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y_starts: torch.Tensor,
    z_starts: torch.Tensor,
    *,
    steps: int = 200,
    lr: float = 0.05,
) -> JointMinimum:
    r"""Joint inference :math:`(\check y, \check z) = \arg\min_{y, z} E(x, y, z)` by gradient descent.

    :math:`y` and :math:`z` are packed into one vector per row and descended together with
    :func:`ebmlab.energy.minimize`:

    .. math:: (y, z) \leftarrow (y, z) - \eta\,\big(\nabla_y E, \nabla_z E\big).

    Each of the ``S`` starts of each of the ``B`` inputs descends on its own; every start is
    returned, because with a latent variable *every* start may end on a different valid
    prediction.

    Args:
        E: energy, ``E(x, y, z) -> (R,)`` for ``R`` rows of ``x``, ``y`` and ``z``.
        x: inputs, ``(B, ...)``.
        y_starts: ``(S, B, ...)`` starting outputs.
        z_starts: ``(S, B, ...)`` starting latents.
        steps: gradient steps.
        lr: step size.

    Returns:
        :class:`JointMinimum` with ``y`` ``(S, B, ...)``, ``z`` ``(S, B, ...)`` and ``value``
        ``(S, B)``.
    """
    check_callable(E, "E")
    x = as_tensor(x, "x", min_ndim=1)
    y0 = as_tensor(y_starts, "y_starts", min_ndim=2)
    z0 = as_tensor(z_starts, "z_starts", min_ndim=2)
    S, B = y0.shape[:2]
    if B != x.shape[0] or tuple(z0.shape[:2]) != (S, B):
        raise ValueError(
            f"y_starts and z_starts must both start with (S, B) = (S, {x.shape[0]}); got "
            f"{tuple(y0.shape)} and {tuple(z0.shape)}"
        )
    y_shape, z_shape = y0.shape[2:], z0.shape[2:]
    dy = math.prod(y_shape)
    xs = x.unsqueeze(0).expand(S, *x.shape).reshape(S * B, *x.shape[1:])
    u0 = torch.cat([y0.reshape(S * B, -1), z0.reshape(S * B, -1).to(y0.dtype)], dim=1)

    def packed(u: torch.Tensor) -> torch.Tensor:
        return E(xs, u[:, :dy].reshape(-1, *y_shape), u[:, dy:].reshape(-1, *z_shape))

    res = minimize(packed, u0, steps=steps, lr=lr)
    u = res.argmin
    return JointMinimum(
        u[:, :dy].reshape(S, B, *y_shape),
        u[:, dy:].reshape(S, B, *z_shape),
        res.value.reshape(S, B),
    )


# --------------------------------------------------------------------------------------------
# The ellipse (chapter 3)
# --------------------------------------------------------------------------------------------


def _param(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = as_tensor(value, name)
        if t.numel() != 1:
            raise ValueError(f"{name} must be a scalar; got shape {tuple(t.shape)}")
        return t.reshape(())
    return torch.tensor(check_scalar(value, name))


def ellipse_decoder(
    z: torch.Tensor,
    w1: float | torch.Tensor,
    w2: float | torch.Tensor,
    angle: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    r"""The ellipse decoder :math:`g(z) = R_\theta\,(w_1\cos z,\ w_2\sin z)`.

    .. math::

        g(z) = \begin{pmatrix}\cos\theta & -\sin\theta\\ \sin\theta & \cos\theta\end{pmatrix}
               \begin{pmatrix} w_1 \cos z \\ w_2 \sin z\end{pmatrix}

    As the angle :math:`z` runs over :math:`[0, 2\pi)`, :math:`g(z)` traces an ellipse with
    semi-axes :math:`|w_1|` and :math:`|w_2|`, turned by :math:`\theta`. The parameters may be
    tensors that require gradients (that is how :class:`EllipseDecoder` learns them).

    Args:
        z: latent angles, any shape.
        w1: first semi-axis (scalar).
        w2: second semi-axis (scalar).
        angle: rotation :math:`\theta` in radians (scalar).

    Returns:
        ``z.shape + (2,)``.
    """
    z = as_tensor(z, "z", allow_empty=True)
    w1, w2, th = _param(w1, "w1"), _param(w2, "w2"), _param(angle, "angle")
    w1, w2, th = (t.to(z.device, z.dtype) for t in (w1, w2, th))
    u, v = w1 * torch.cos(z), w2 * torch.sin(z)
    c, s = torch.cos(th), torch.sin(th)
    return torch.stack([c * u - s * v, s * u + c * v], dim=-1)


class EllipseDecoder(nn.Module):
    r"""A learnable ellipse :math:`g(z) = R_\theta(w_1\cos z, w_2\sin z)` (see :func:`ellipse_decoder`).

    Args:
        w1: initial first semi-axis.
        w2: initial second semi-axis.
        angle: initial rotation (radians).
        learn_angle: learn :math:`\theta` too (otherwise it stays fixed).
    """

    def __init__(
        self, w1: float = 1.0, w2: float = 1.0, angle: float = 0.0, learn_angle: bool = True
    ) -> None:
        super().__init__()
        if not isinstance(learn_angle, bool):
            raise TypeError(f"learn_angle must be a bool; got {type(learn_angle).__name__}")
        self.w1 = nn.Parameter(torch.tensor(check_scalar(w1, "w1")))
        self.w2 = nn.Parameter(torch.tensor(check_scalar(w2, "w2")))
        angle_t = torch.tensor(check_scalar(angle, "angle"))
        if learn_angle:
            self.angle = nn.Parameter(angle_t)
        else:
            self.register_buffer("angle", angle_t)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """:math:`g(z)`, shape ``z.shape + (2,)``."""
        return ellipse_decoder(z, self.w1, self.w2, self.angle)

    def canonical(self) -> tuple[float, float, float]:
        r"""The learned ellipse as ``(a, b, theta)`` with :math:`a \ge b > 0` and
        :math:`\theta \in [0, \pi)` the direction of the long axis.

        The parameters are not identifiable: :math:`(w_1, w_2, \theta)`, :math:`(-w_1, w_2, \theta)`
        and :math:`(w_2, w_1, \theta + \pi/2)` draw the same ellipse. This is the one description
        they share.
        """
        a, b, th = abs(self.w1.item()), abs(self.w2.item()), self.angle.item()
        if b > a:
            a, b, th = b, a, th + math.pi / 2
        return a, b, th % math.pi


# --------------------------------------------------------------------------------------------
# A conditional model with a discrete latent (chapter 1)
# --------------------------------------------------------------------------------------------


class MultiHypothesis(nn.Module):
    r"""A conditional latent-variable EBM whose latent picks one of :math:`K` predictions.

    A network maps :math:`x` to :math:`K` predictions :math:`g_1(x), \dots, g_K(x)`; the latent
    :math:`z \in \{1, \dots, K\}` says which one is meant:

    .. math::

        E(x, y, z) = \lVert y - g_z(x)\rVert^2,\qquad
        F_\infty(x, y) = \min_{z} E(x, y, z).

    Trained by minimising :math:`F_\infty` on the samples (:func:`fit_free_energy`), each
    prediction only has to explain the samples it is closest to, so the :math:`K` outputs settle
    on distinct modes instead of their average.

    Args:
        in_dim: dimension of :math:`x`.
        out_dim: dimension of :math:`y`.
        k: number of values of the latent (predictions).
        hidden: width of the two hidden layers.
        out_activation: ``"identity"`` or ``"sigmoid"`` (for images in :math:`[0, 1]`).
        seed: seed of the initial weights (``None``: torch's global stream).
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        k: int = 2,
        hidden: int = 64,
        out_activation: str = "identity",
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        self.in_dim = check_int(in_dim, "in_dim", low=1)
        self.out_dim = check_int(out_dim, "out_dim", low=1)
        self.k = check_int(k, "k", low=1)
        hidden = check_int(hidden, "hidden", low=1)
        if out_activation not in ("identity", "sigmoid"):
            raise ValueError(
                f"out_activation must be 'identity' or 'sigmoid'; got {out_activation!r}"
            )
        self.out_activation = out_activation
        seed = check_seed(seed)
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.net = nn.Sequential(
                nn.Linear(self.in_dim, hidden),
                nn.Tanh(),
                nn.Linear(hidden, hidden),
                nn.Tanh(),
                nn.Linear(hidden, self.k * self.out_dim),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The :math:`K` predictions, ``(B, K, out_dim)``."""
        x = as_tensor(x, "x", ndim=2)
        if x.shape[1] != self.in_dim:
            raise ValueError(f"x must have {self.in_dim} columns; got shape {tuple(x.shape)}")
        out = self.net(x).reshape(x.shape[0], self.k, self.out_dim)
        return torch.sigmoid(out) if self.out_activation == "sigmoid" else out

    def energies(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        r""":math:`E(x_b, y_b, z)` for every :math:`z`, ``(B, K)``."""
        y = as_tensor(y, "y", ndim=2)
        pred = self(x)
        if y.shape != (pred.shape[0], self.out_dim):
            raise ValueError(
                f"y must have shape ({pred.shape[0]}, {self.out_dim}); got {tuple(y.shape)}"
            )
        return squared_error(y[:, None, :], pred)

    def free_energy(self, x: torch.Tensor, y: torch.Tensor, beta: float = math.inf) -> torch.Tensor:
        r""":math:`F_\beta(x, y)` over the :math:`K` latents (normalised form; ``inf``: the min)."""
        return free_energy(self.energies(x, y), beta, dim=1)


def fit_free_energy(
    energies: Callable[[], torch.Tensor],
    parameters: Iterable[torch.Tensor],
    *,
    beta: float = math.inf,
    steps: int = 300,
    lr: float = 0.02,
) -> torch.Tensor:
    r"""Learn by minimising the mean free energy of the training samples (Adam, full batch).

    .. math:: \mathcal L(w) = \frac1B\sum_{b=1}^B F_\beta(y_b; w),\qquad
              F_\infty(y_b; w) = \min_z E(y_b, z; w)

    With :math:`\beta = \infty` the gradient flows only through the best latent of each sample
    (the envelope theorem: :math:`\nabla_w \min_z E = \nabla_w E(y, \check z)`); with a finite
    :math:`\beta` every latent contributes, weighted by its Gibbs probability. Nothing pushes the
    energy *up* anywhere: this works only because the decoder's capacity is limited (an
    architectural method, chapter 4).

    Args:
        energies: called once per step; returns the ``(B, N)`` table :math:`E(y_b, z_n)` for the
            current parameters (e.g. ``lambda: latent_energies(decoder, y, z_grid)``).
        parameters: the tensors to learn.
        beta: inverse temperature of the free energy (``math.inf`` for the minimum).
        steps: Adam steps.
        lr: Adam's learning rate.

    Returns:
        The loss before each step, ``(steps,)``.
    """
    check_callable(energies, "energies")
    params = list(parameters)
    if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
        raise ValueError("parameters must be a non-empty list of tensors that require grad")
    beta = check_scalar(beta, "beta", low=0.0, low_open=True, allow_inf=True)
    steps = check_int(steps, "steps", low=1)
    lr = check_scalar(lr, "lr", low=0.0, low_open=True)
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    with torch.enable_grad():
        for _ in range(steps):
            e = energies()
            if not isinstance(e, torch.Tensor) or e.ndim != 2:
                raise ValueError("energies must return a (B, N) tensor of energies")
            loss = free_energy(e, beta, dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.detach())
    return torch.stack(history).cpu()


# --------------------------------------------------------------------------------------------
# Generative Latent Optimization (chapter 3)
# --------------------------------------------------------------------------------------------


def project_sphere(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    r"""Project each row onto the unit sphere, :math:`z \mapsto z / \max(\lVert z\rVert, \epsilon)`.

    Args:
        z: latents, ``(..., d)``.
        eps: guard against division by zero.

    Returns:
        Same shape, unit rows.
    """
    z = as_tensor(z, "z", min_ndim=1)
    eps = check_scalar(eps, "eps", low=0.0, low_open=True)
    return z / z.norm(dim=-1, keepdim=True).clamp(min=eps)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    r"""Spherical interpolation between two unit vectors (along the great circle).

    .. math:: \operatorname{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\Omega)}{\sin\Omega}z_0 +
              \frac{\sin(t\Omega)}{\sin\Omega}z_1,\qquad \cos\Omega = z_0\cdot z_1

    (linear interpolation when the two are almost parallel). Every point stays on the sphere,
    where GLO's latents live.

    Args:
        z0: start, ``(d,)``, unit norm.
        z1: end, ``(d,)``, unit norm.
        t: positions in :math:`[0, 1]`, ``(T,)``.

    Returns:
        ``(T, d)``.
    """
    z0 = as_tensor(z0, "z0", ndim=1)
    z1 = as_tensor(z1, "z1", ndim=1)
    t = as_tensor(t, "t", ndim=1)
    if z0.shape != z1.shape:
        raise ValueError(f"z1 must have the shape of z0 {tuple(z0.shape)}; got {tuple(z1.shape)}")
    for name, v in (("z0", z0), ("z1", z1)):
        if abs(v.norm().item() - 1.0) > 1e-3:
            raise ValueError(f"{name} must have unit norm; got norm {v.norm().item():.4g}")
    cos = (z0 @ z1).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    t = t[:, None].to(z0.dtype)
    if omega.item() < 1e-4:
        return project_sphere((1 - t) * z0 + t * z1)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


class GLO:
    r"""Generative Latent Optimization (Bojanowski et al., 2018): a decoder and one free latent
    per sample, learned together, with no encoder.

    .. math::

        \min_{\theta,\ z_1,\dots,z_N}\ \frac1N\sum_{i=1}^N \lVert y_i - g_\theta(z_i)\rVert^2
        \quad\text{subject to}\quad \lVert z_i\rVert = 1 .

    Each step moves the decoder's weights :math:`\theta` and the latents of the samples by
    gradient descent, then projects every latent back onto the unit sphere. The projection is
    what limits the information a latent can carry (otherwise nothing stops the codes from
    growing); it also makes a natural space to interpolate in (:func:`slerp`). A new sample is
    encoded by **inference**, :math:`\check z = \arg\min_{\lVert z\rVert=1} E(y, z)`
    (:meth:`encode`): this is a latent-variable EBM with
    :math:`E(y, z) = \lVert y - g_\theta(z)\rVert^2` and :math:`F_\infty(y) = \min_z E(y, z)`.

    Args:
        latent_dim: dimension :math:`d` of each latent.
        hidden: width of the decoder's two hidden layers.
        epochs: passes over the data.
        batch_size: samples per step.
        lr: Adam's learning rate for the decoder.
        lr_latent: Adam's learning rate for the latents (they see one gradient per epoch, so they
            get a larger one).
        seed: seed of the initial weights, latents and batch order.

    Attributes:
        decoder_: the trained decoder, an ``nn.Module`` mapping ``(B, d)`` to ``(B, D)``.
        codes_: the learned unit latents of the training samples, ``(N, d)``.
        loss_history_: mean energy of each epoch, ``(epochs,)``.
    """

    def __init__(
        self,
        latent_dim: int = 16,
        hidden: int = 128,
        epochs: int = 60,
        batch_size: int = 128,
        lr: float = 3e-3,
        lr_latent: float = 3e-2,
        seed: int | None = 0,
    ) -> None:
        self.latent_dim = check_int(latent_dim, "latent_dim", low=1)
        self.hidden = check_int(hidden, "hidden", low=1)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.lr = check_scalar(lr, "lr", low=0.0, low_open=True)
        self.lr_latent = check_scalar(lr_latent, "lr_latent", low=0.0, low_open=True)
        self.seed = check_seed(seed)

    def fit(self, Y: torch.Tensor) -> GLO:
        """Learn the decoder and the latents of ``Y`` ``(N, D)``; returns ``self``."""
        Y = as_tensor(Y, "Y", ndim=2)
        N, D = Y.shape
        g = generator(self.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
            self.decoder_ = nn.Sequential(
                nn.Linear(self.latent_dim, self.hidden),
                nn.ReLU(),
                nn.Linear(self.hidden, self.hidden),
                nn.ReLU(),
                nn.Linear(self.hidden, D),
                nn.Sigmoid(),
            ).to(Y.device, Y.dtype)
        codes = project_sphere(torch.randn(N, self.latent_dim, generator=g).to(Y.device, Y.dtype))
        codes = nn.Parameter(codes)
        opt = torch.optim.Adam(
            [
                {"params": self.decoder_.parameters(), "lr": self.lr},
                {"params": [codes], "lr": self.lr_latent},
            ]
        )
        history = []
        with torch.enable_grad():
            for _ in range(self.epochs):
                order = torch.randperm(N, generator=g).to(Y.device)
                total = 0.0
                for start in range(0, N, self.batch_size):
                    idx = order[start : start + self.batch_size]
                    e = squared_error(Y[idx], self.decoder_(codes[idx]))
                    loss = e.mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    with torch.no_grad():  # Adam's momentum moves other rows too: project all
                        codes.copy_(project_sphere(codes))
                    total += e.sum().item()
                history.append(total / N)
        self.decoder_.requires_grad_(False)
        self.codes_ = codes.detach()
        self.loss_history_ = torch.tensor(history)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "decoder_"):
            raise RuntimeError("this GLO is not fitted yet; call fit(Y) first")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r""":math:`g_\theta(z)` for latents ``(B, d)``."""
        self._check_fitted()
        z = as_tensor(z, "z", ndim=2)
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have {self.latent_dim} columns; got shape {tuple(z.shape)}")
        return self.decoder_(z)

    def energy(self, Y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        r""":math:`E(y, z) = \lVert y - g_\theta(z)\rVert^2`, one per row, ``(B,)``."""
        return squared_error(as_tensor(Y, "Y", ndim=2), self.decode(z))

    def encode(
        self, Y: torch.Tensor, *, steps: int = 200, lr: float = 0.05, restarts: int = 4
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Infer latents of new samples: :math:`\check z = \arg\min_{\lVert z\rVert = 1} E(y, z)`.

        Projected gradient descent (Adam steps on :math:`z`, then back to the sphere) from
        ``restarts`` random starts per sample; the start with the lowest final energy is kept.
        The decoder does not change.

        Args:
            Y: samples, ``(B, D)``.
            steps: descent steps per start.
            lr: Adam's step size on :math:`z`.
            restarts: random starts per sample.

        Returns:
            ``(z, energy)``: ``(B, d)`` unit latents and their energies ``(B,)``.
        """
        self._check_fitted()
        Y = as_tensor(Y, "Y", ndim=2)
        steps = check_int(steps, "steps", low=0)
        lr = check_scalar(lr, "lr", low=0.0, low_open=True)
        restarts = check_int(restarts, "restarts", low=1)
        B = Y.shape[0]
        g = generator(self.seed)
        z0 = torch.randn(restarts * B, self.latent_dim, generator=g).to(Y.device, Y.dtype)
        z = nn.Parameter(project_sphere(z0))
        Yr = Y.repeat(restarts, 1)
        opt = torch.optim.Adam([z], lr=lr)
        with torch.enable_grad():
            for _ in range(steps):
                loss = self.energy(Yr, z).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    z.copy_(project_sphere(z))
        with torch.no_grad():
            e = self.energy(Yr, z).reshape(restarts, B)
        best = e.argmin(dim=0)
        idx = torch.arange(B, device=best.device)
        return z.detach().reshape(restarts, B, -1)[best, idx], e[best, idx]
