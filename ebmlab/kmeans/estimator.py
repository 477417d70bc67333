r"""K-means in scikit-learn's shape: the :class:`KMeans` estimator."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import Int, Real, Seed
from ..base import Estimator
from ..runtime import generator
from .checks import _BOUNDS, _check_centers, _check_k_fits, _check_Y, _Init
from .completion import complete, project
from .loops import _lloyd
from .model import free_energy, infer_z
from .seeding import _kmeans_plusplus

__all__ = ["KMeans"]


# --------------------------------------------------------------------------- the estimator


class KMeans(Estimator):
    r"""K-means in scikit-learn's shape: ``KMeans(k).fit(Y)``, then ``centers_``, ``predict``.

    The model is the energy :math:`E(y, z) = \lVert y - Wz\rVert^2` with one-hot :math:`z`;
    :meth:`fit` minimises :math:`\sum_i \min_z E(y_i, z)` by Lloyd's algorithm (:func:`lloyd`)
    from a k-means++ start (:func:`kmeans_plusplus`).

    Args:
        k: number of prototypes, :math:`k \ge 1`.
        init: ``"k-means++"``, ``"random"`` (:math:`k` distinct data points) or a ``(k, d)``
            tensor of initial prototypes.
        max_iter: the most Lloyd iterations.
        tol: relative tolerance on the prototypes' move (scikit-learn's meaning); 0 runs until
            the labels stop changing.
        seed: seed of the initialisation.
        bounds: ``True``, ``False`` or ``"auto"``: skip points that cannot change cluster
            (Hamerly's bounds; the same result, see :func:`lloyd`).

    Attributes:
        centers_: the learned prototypes, ``(k, d)``, on the data's device and dtype.
        labels_: the training points' labels, ``(n,)``.
        inertia_: the final energy :math:`\sum_i \min_z E(y_i, z)` (a float).
        n_iter_: the number of Lloyd iterations run.
        converged_: whether the loop stopped before ``max_iter``.
        n_features_in_: the data's dimension :math:`d`.
        history_: a :class:`~ebmlab.base.History` with one entry per iteration: ``moved``, the
            number of points that changed cluster (see :class:`LloydResult`).
    """

    _parameter_constraints = {
        "k": Int(low=1),
        "init": _Init(),
        "max_iter": Int(low=1),
        "tol": Real(low=0.0),
        "seed": Seed(),
        "bounds": _BOUNDS,
    }

    def __init__(
        self,
        k: int = 8,
        *,
        init: str | torch.Tensor = "k-means++",
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int | None = 0,
        bounds: bool | str = "auto",
    ) -> None:
        self.k = k
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.bounds = bounds

    def __repr__(self) -> str:
        if isinstance(self.init, np.ndarray):  # shown as the tensor it becomes in fit
            return repr(KMeans(**{**self.get_params(), "init": torch.as_tensor(self.init)}))
        return super().__repr__()

    def fit(self, Y: torch.Tensor) -> KMeans:
        """Learn the prototypes from the rows of ``Y`` (``(n, d)``); returns ``self``."""
        p = self._validate_params()
        Y = _check_Y(Y)
        k = _check_k_fits(p["k"], Y.shape[0])
        init = _initial_centers(Y, p["init"], k, p["seed"])
        res = _lloyd(Y, init, p["max_iter"], p["tol"], p["bounds"], record=False)
        self.centers_ = res.centers
        self.labels_ = res.labels
        self.inertia_ = res.inertia
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        self.history_ = res.history
        self.n_features_in_ = Y.shape[1]
        return self

    def predict(self, Y: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each row of ``Y``: :math:`\\arg\\min_j \\lVert y - w_j\\rVert^2`."""
        self._check_fitted()
        return infer_z(Y, self.centers_)

    def fit_predict(self, Y: torch.Tensor) -> torch.Tensor:
        """:meth:`fit`, then the training points' labels."""
        return self.fit(Y).labels_

    def free_energy(self, Y: torch.Tensor, beta: float = math.inf) -> torch.Tensor:
        """The free energy :math:`F_\\beta(y)` of each row of ``Y`` (see :func:`free_energy`)."""
        self._check_fitted()
        return free_energy(Y, self.centers_, beta)

    def complete(self, Y: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Fill in the missing coordinates of ``Y`` (see :func:`complete`)."""
        self._check_fitted()
        return complete(Y, self.centers_, observed)

    def project(self, Y: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each row of ``Y`` (see :func:`project`)."""
        self._check_fitted()
        return project(Y, self.centers_)


def _initial_centers(Y, init, k, seed) -> torch.Tensor:
    """The starting prototypes: a k-means++ draw, ``k`` distinct data points, or ``init``."""
    if isinstance(init, str):
        if init == "k-means++":
            return _kmeans_plusplus(Y, k, seed, None)[0]
        rows = torch.randperm(Y.shape[0], generator=generator(seed))[:k]  # a CPU draw
        return Y[rows.to(Y.device)].clone()
    C = _check_centers(init, Y, "init")
    if C.shape[0] != k:
        raise ValueError(f"init must have k = {k} rows; got {C.shape[0]}")
    return C
