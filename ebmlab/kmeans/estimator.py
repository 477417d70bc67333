r"""K-means in scikit-learn's shape: the :class:`KMeans` estimator."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_seed
from ..runtime import generator
from .checks import _check_centers, _check_k, _check_Y
from .completion import complete, project
from .loops import lloyd
from .model import free_energy, infer_z
from .seeding import kmeans_plusplus

__all__ = ["KMeans"]


# --------------------------------------------------------------------------- the estimator


class KMeans:
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
    """

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
        init = self.init if isinstance(self.init, str) else "<tensor>"
        return f"KMeans(k={self.k}, init={init!r}, seed={self.seed})"

    def fit(self, Y: torch.Tensor) -> KMeans:
        """Learn the prototypes from the rows of ``Y`` (``(n, d)``); returns ``self``."""
        Y = _check_Y(Y)
        k = _check_k(self.k, Y.shape[0])
        seed = check_seed(self.seed)
        if isinstance(self.init, str):
            if self.init == "k-means++":
                init, _ = kmeans_plusplus(Y, k, seed=seed)
            elif self.init == "random":
                rows = torch.randperm(Y.shape[0], generator=generator(seed))[:k]  # CPU draw
                init = Y[rows.to(Y.device)].clone()
            else:
                raise ValueError(
                    f"init must be 'k-means++', 'random' or a (k, d) tensor; got {self.init!r}"
                )
        elif isinstance(self.init, (torch.Tensor, np.ndarray)):
            init = _check_centers(self.init, Y, "init")
            if init.shape[0] != k:
                raise ValueError(f"init must have k = {k} rows; got {init.shape[0]}")
        else:
            raise TypeError(
                "init must be 'k-means++', 'random' or a (k, d) tensor; "
                f"got {type(self.init).__name__}"
            )
        res = lloyd(Y, init, max_iter=self.max_iter, tol=self.tol, bounds=self.bounds)
        self.centers_ = res.centers
        self.labels_ = res.labels
        self.inertia_ = res.inertia
        self.n_iter_ = res.n_iter
        self.converged_ = res.converged
        self.n_features_in_ = Y.shape[1]
        return self

    def _fitted(self) -> torch.Tensor:
        if not hasattr(self, "centers_"):
            raise RuntimeError("this KMeans is not fitted yet; call fit(Y) first")
        return self.centers_

    def predict(self, Y: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each row of ``Y``: :math:`\\arg\\min_j \\lVert y - w_j\\rVert^2`."""
        return infer_z(Y, self._fitted())

    def fit_predict(self, Y: torch.Tensor) -> torch.Tensor:
        """:meth:`fit`, then the training points' labels."""
        return self.fit(Y).labels_

    def energy(self, Y: torch.Tensor, beta: float = math.inf) -> torch.Tensor:
        """The free energy :math:`F_\\beta(y)` of each row of ``Y`` (see :func:`free_energy`)."""
        return free_energy(Y, self._fitted(), beta)

    def complete(self, Y: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Fill in the missing coordinates of ``Y`` (see :func:`complete`)."""
        return complete(Y, self._fitted(), observed)

    def project(self, Y: torch.Tensor) -> torch.Tensor:
        """The nearest prototype of each row of ``Y`` (see :func:`project`)."""
        return project(Y, self._fitted())
