r"""Samplers of a Gibbs density :math:`p(y) \propto e^{-\beta E(y)}`, all with one interface.

Contrastive training needs points where the model's energy is low but the data are not: the
points whose energy it then pushes up. The lecture lists the usual ways of finding them; each is a
function here, called the same way::

    sampler(energy, init, config, *, seed=None, record=False)

``energy`` maps a batch ``(B, d)`` to ``(B,)`` energies; ``init`` holds ``B`` starting points,
one per chain; ``config`` holds the chain's settings (``steps``, ``step_size``, ``beta``,
``bounds`` and what the method adds), a frozen dataclass checked when it is made:
:class:`LangevinConfig`, :class:`MonteCarloConfig`, :class:`MetropolisConfig`,
:class:`HMCConfig`. Every sampler returns a :class:`Samples`.

* :func:`langevin` — gradient descent on the energy plus Gaussian noise (unadjusted Langevin);
  with zero noise it *is* gradient descent.
* :func:`annealed_langevin` — Langevin driven by a *score* :math:`s(y, \sigma) = \nabla_y
  \log p_\sigma(y)` over a decreasing ladder of noise levels :math:`\sigma` (configured by
  :class:`AnnealedLangevinConfig`); its interface is the same with the score in place of the
  energy.
* :func:`monte_carlo` — plain Monte Carlo: uniform random points in a box, one kept per chain with
  probability proportional to :math:`e^{-\beta E}` (importance resampling). No gradient, no chain.
* :func:`metropolis_hastings` — a random walk whose moves are accepted with probability
  :math:`\min(1, e^{-\beta\Delta E})` (Markov chain Monte Carlo).
* :func:`hmc` — Hamiltonian Monte Carlo: the energy is a potential, a random momentum carries the
  point along a leapfrog trajectory, and a Metropolis test corrects the integration error.

Each draws its random numbers from a generator of its own (``seed``), so sampling does not
disturb torch's global random stream.

Submodules: ``_common`` (the result type and the shared checks), ``reference`` (Langevin as its
formula writes it), ``langevin_dynamics`` (:func:`langevin`, :func:`langevin_step`), ``annealed``
(:func:`annealed_langevin`, :func:`annealed_langevin_step`) and
``mcmc`` (:func:`monte_carlo`, :func:`metropolis_hastings`, :func:`hmc`).
"""

from __future__ import annotations

from . import reference as reference  # Langevin as its formula reads, outside __all__
from ._common import Samples
from .annealed import AnnealedLangevinConfig, annealed_langevin, annealed_langevin_step
from .langevin_dynamics import LangevinConfig, langevin, langevin_step
from .mcmc import (
    HMCConfig,
    MetropolisConfig,
    MonteCarloConfig,
    hmc,
    metropolis_hastings,
    monte_carlo,
)

__all__ = [
    "Samples",
    "LangevinConfig",
    "MonteCarloConfig",
    "MetropolisConfig",
    "HMCConfig",
    "langevin",
    "langevin_step",
    "AnnealedLangevinConfig",
    "annealed_langevin",
    "annealed_langevin_step",
    "monte_carlo",
    "metropolis_hastings",
    "hmc",
]
