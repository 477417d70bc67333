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

* chapter 1 — :class:`MultiHypothesis`, a conditional model with a discrete latent (its data,
  whose future can go two ways, are :func:`ebmlab.data.forking_paths` and
  :func:`ebmlab.data.forking_blobs`);
* chapter 3 — :func:`squared_error`, :func:`latent_energies`, :func:`nearest_latent`,
  :func:`infer_joint`, the ellipse decoder (:func:`ellipse_decoder`, :class:`EllipseDecoder`),
  learning by :func:`fit_free_energy`, and Generative Latent Optimization (:class:`GLO`, with
  :func:`project_sphere` and :func:`slerp`).

Submodules: ``inference`` (energies and inference over :math:`z`), ``models`` (the ellipse
decoder, :class:`MultiHypothesis`, learning by the free energy) and ``glo`` (GLO).
"""

from __future__ import annotations

from .glo import GLO, project_sphere, slerp
from .inference import JointMinimum, infer_joint, latent_energies, nearest_latent, squared_error
from .models import EllipseDecoder, MultiHypothesis, ellipse_decoder, fit_free_energy

__all__ = [
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
