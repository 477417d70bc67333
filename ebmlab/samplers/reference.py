r"""The samplers as their formulas write them: short, slow, for reading.

:func:`langevin` is the chain of the book,

.. math:: y_{t+1} = y_t - \eta\,\nabla_y E(y_t) + \sqrt{2\eta/\beta}\;\varepsilon_t,
          \qquad \varepsilon_t \sim \mathcal N(0, I);

:func:`ebmlab.samplers.langevin` is the one the package runs, with a chosen noise scale, gradient
clipping and a box. With those off the two give the same iterates from the same seed
(``tests/test_samplers.py`` checks it). The reference does not check its arguments.
"""

from __future__ import annotations

import math

import torch

from ..runtime import generator

__all__ = ["langevin"]


def langevin(energy, init, steps, step_size, beta=1.0, seed=None):
    r"""Unadjusted Langevin dynamics, ``steps`` times from ``init`` (``(B, d)``, a chain per row):

    .. math:: y \leftarrow y - \eta\,\nabla_y E(y) + \sqrt{2\eta/\beta}\;\varepsilon,
              \qquad \varepsilon \sim \mathcal N(0, I),

    with :math:`\eta` = ``step_size``. Returns the last points; the noise comes from
    ``ebmlab.generator(seed)``.
    """
    g = generator(seed)
    y = init.detach()
    for _ in range(steps):
        y.requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(y).sum(), y)
        noise = torch.randn(y.shape, generator=g, dtype=y.dtype).to(y.device)
        y = (y - step_size * grad + math.sqrt(2 * step_size / beta) * noise).detach()
    return y
