r"""K-means as a latent-variable energy-based model.

The data :math:`y \in \mathbb R^d` are explained by :math:`k` prototypes, the columns of a
matrix :math:`W \in \mathbb R^{d \times k}`, and a latent code :math:`z` that is *one-hot*
(:math:`z \in \{e_1, \dots, e_k\}`):

.. math:: E(y, z) = \lVert y - W z \rVert^2, \qquad
          F_\infty(y) = \min_z E(y, z) = \min_j \lVert y - w_j \rVert^2 .

Inference of :math:`z` is a search over :math:`k` values (the nearest prototype); the free
energy :math:`F_\infty` is a landscape of :math:`k` quadratic wells, with exactly :math:`k`
points of zero energy. Training minimises :math:`\sum_i F_\infty(y_i)` over :math:`W`, either
by *coordinate descent* (Lloyd's algorithm: the best :math:`z` for every point, then the best
:math:`W` for those codes — neither step can raise the energy) or by gradient steps on
:math:`W`.

In code the prototypes are stored as the **rows** of ``centers`` (shape ``(k, d)``, as in
scikit-learn), i.e. ``centers`` is :math:`W^\top` and :math:`Wz` is ``z @ centers``.

Every function is batched (rows of ``Y`` are data points) and runs on the device and in the
floating dtype of its input. :class:`KMeans` wraps them in scikit-learn's shape.

The package, in the book's order: ``checks`` (input checks), ``model`` (the energy,
the free energy, inference), ``steps`` (Lloyd and gradient steps), ``seeding``
(k-means++), ``loops`` (:func:`lloyd`), ``completion`` (completing and projecting),
``estimator`` (:class:`KMeans`). ``kmeans.reference.lloyd`` is Lloyd's algorithm written as
the formulas read, every distance at every iteration; :func:`lloyd` gives the same iterates
faster.
"""

from __future__ import annotations

from . import reference as reference  # the readable Lloyd's algorithm, outside __all__
from .completion import complete, project
from .estimator import KMeans
from .loops import AUTO_BOUNDS_MIN_NK as AUTO_BOUNDS_MIN_NK  # public, outside __all__
from .loops import LloydResult, lloyd
from .model import assign, energies, energy, free_energy, infer_z
from .seeding import kmeans_plusplus
from .steps import gradient_step, lloyd_step

__all__ = [
    "energy",
    "energies",
    "free_energy",
    "infer_z",
    "assign",
    "lloyd_step",
    "gradient_step",
    "kmeans_plusplus",
    "lloyd",
    "LloydResult",
    "complete",
    "project",
    "KMeans",
]
