r"""Energies and inference over the latent :math:`z` (chapter 3).

The reconstruction energy :math:`E(y, z) = \lVert y - g(z)\rVert^2` of a decoder :math:`g`, its
table over a grid of latents (what the free energy reduces), zero-temperature inference of
:math:`z`, and joint inference of :math:`(y, z)` by gradient descent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from .._validation import Int, IsCallable, Real, as_tensor, checked
from ..energy import Minimum, minimize

# --------------------------------------------------------------------------------------------
# Energies and inference over z (chapter 3)
# --------------------------------------------------------------------------------------------


def _squared_error(y: torch.Tensor, y_hat: torch.Tensor) -> torch.Tensor:
    return ((y - y_hat) ** 2).sum(dim=-1)


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
        torch.broadcast_shapes(y.shape, y_hat.shape)
    except RuntimeError:
        raise ValueError(
            f"y_hat must broadcast against y; got shapes {tuple(y_hat.shape)} and {tuple(y.shape)}"
        ) from None
    return _squared_error(y, y_hat)


def _latent_energies(y: torch.Tensor, decoder: Callable, z: torch.Tensor) -> torch.Tensor:
    out = decoder(z)  # the caller's decoder: what it returns is checked on every call
    if not isinstance(out, torch.Tensor) or out.shape != (z.shape[0], y.shape[1]):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"decoder must map {z.shape[0]} latents to shape ({z.shape[0]}, {y.shape[1]}); got {got}"
        )
    # ||y - g||^2 = ||y||^2 - 2 y.g + ||g||^2: a (B, N) table without a (B, N, d) intermediate
    e = (y**2).sum(1, keepdim=True) - 2 * y @ out.T + (out**2).sum(1)[None, :]
    return e.clamp(min=0.0)


@checked(decoder=IsCallable())
def latent_energies(
    y: torch.Tensor, decoder: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor
) -> torch.Tensor:
    r"""Energies :math:`E(y_b, z_n) = \lVert y_b - g(z_n)\rVert^2` of every point at every latent.

    The table this returns, laid out with :math:`z` along the last dimension, is what
    :func:`ebmlab.energy.free_energy_min` and :func:`ebmlab.energy.free_energy` reduce to the
    free energy :math:`F(y_b)`.

    Args:
        y: points, ``(B, d)``.
        decoder: :math:`g`, maps ``N`` latents ``(N, ...)`` to ``(N, d)``.
        z: latents, ``(N,)`` or ``(N, k)`` (a grid or samples of :math:`z`).

    Returns:
        ``(B, N)``.
    """
    y = as_tensor(y, "y", ndim=2)
    z = as_tensor(z, "z", min_ndim=1)
    return _latent_energies(y, decoder, z)


@checked(decoder=IsCallable(), refine_steps=Int(low=0), lr=Real(low=0.0, low_open=True))
def nearest_latent(
    y: torch.Tensor,
    decoder: Callable[[torch.Tensor], torch.Tensor],
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
        y: points, ``(B, d)``.
        decoder: :math:`g`, ``(N, ...) -> (N, d)``.
        z_grid: candidate latents, ``(N,)`` or ``(N, k)``.
        refine_steps: gradient steps after the grid search (0 keeps the grid point).
        lr: step size of the refinement.

    Returns:
        :class:`ebmlab.energy.Minimum`: ``argmin`` ``(B, ...)`` (the latent) and ``value``
        ``(B,)`` (:math:`F_\infty`).
    """
    y = as_tensor(y, "y", ndim=2)
    z_grid = as_tensor(z_grid, "z_grid", min_ndim=1)
    with torch.no_grad():
        e = _latent_energies(y, decoder, z_grid)
    value, idx = e.min(dim=1)
    z0 = z_grid[idx]
    res = minimize.__wrapped__(  # minimize's body: its arguments are checked here already
        lambda z: _squared_error(y, decoder(z)), z0, steps=refine_steps, lr=lr
    )
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


@checked(E=IsCallable(), steps=Int(low=0), lr=Real(low=0.0, low_open=True))
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

    res = minimize.__wrapped__(packed, u0, steps=steps, lr=lr)  # u0 is checked already
    u = res.argmin
    return JointMinimum(
        u[:, :dy].reshape(S, B, *y_shape),
        u[:, dy:].reshape(S, B, *z_shape),
        res.value.reshape(S, B),
    )
