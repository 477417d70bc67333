r"""Dictionaries: unit-norm atoms, random ones, and learning them from data.

``normalize_atoms``, ``random_dictionary``, ``learn_dictionary`` (alternating FISTA on the
codes and block coordinate descent on the atoms) and the ``SparseCoding`` estimator.
"""

from __future__ import annotations

import torch

from .. import optim
from .._validation import Instance, Int, Real, Seed, as_tensor, checked
from ..base import Estimator, History
from ..runtime import generator
from .config import DictionaryConfig, SolverConfig
from .gap import _setup, _zeros
from .prox import _check_dictionary
from .solvers import _fista, fista

__all__ = ["normalize_atoms", "random_dictionary", "learn_dictionary", "SparseCoding"]


def normalize_atoms(W: torch.Tensor) -> torch.Tensor:
    r"""Rescale every column (atom) of ``W`` to unit Euclidean norm, :math:`w_j / \lVert w_j\rVert_2`.

    Without it, dictionary learning cheats: scaling an atom up by :math:`a` and its code down by
    :math:`a` keeps the reconstruction and divides the :math:`L_1` penalty by :math:`a`, so the
    atoms grow without bound and the codes vanish. (The source notes' "normalise by the sum of
    the norms" is not what is done; see ERRATA 5.)

    Args:
        W: ``(n, k)``; no all-zero column.

    Returns:
        A new ``(n, k)`` tensor with unit-norm columns.
    """
    W = _check_dictionary(W)
    return _unit_norm(W)


def _unit_norm(W: torch.Tensor) -> torch.Tensor:
    return W / W.norm(dim=0, keepdim=True)


@checked(n=Int(low=1), k=Int(low=1), seed=Seed())
def random_dictionary(
    n: int, k: int, seed: int | None = 0, dtype: torch.dtype = torch.float32, device=None
) -> torch.Tensor:
    r"""``k`` random unit-norm atoms in :math:`\mathbb R^n`: Gaussian columns, normalised.

    Args:
        n: dimension of a signal.
        k: number of atoms (``k > n`` gives an overcomplete dictionary).
        seed: seed of the draw.
        dtype: floating dtype.
        device: where the tensor lives.

    Returns:
        ``(n, k)`` with unit-norm columns.
    """
    W = torch.randn(n, k, generator=generator(seed), dtype=torch.float64)
    return (W / W.norm(dim=0, keepdim=True)).to(dtype=dtype, device=device)


_LEARN = {
    "n_atoms": Int(low=1),
    "lam": Real(low=0.0, low_open=True),
    "epochs": Int(low=1),
    "batch_size": Int(low=1),
    "seed": Seed(),
}


@checked(config=Instance(DictionaryConfig, default=True), **_LEARN)
def learn_dictionary(
    Y: torch.Tensor,
    n_atoms: int,
    lam: float,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    seed: int | None = 0,
    W0: torch.Tensor | None = None,
    config: DictionaryConfig | None = None,
) -> tuple[torch.Tensor, History]:
    r"""Learn a dictionary by alternating minimisation of the summed sparse-coding energy.

    .. math:: \min_{W:\,\lVert w_j\rVert_2 = 1}\ \frac1N\sum_{i}\min_{z_i}
              \tfrac12\lVert y_i - Wz_i\rVert^2 + \lambda\lVert z_i\rVert_1

    For each mini-batch: infer the codes with :func:`fista` (``W`` fixed); then improve ``W``
    with the codes fixed. The quadratic term of all batches seen so far depends on the data
    only through :math:`A = \sum_i z_i z_i^\top` and :math:`B = \sum_i y_i z_i^\top`
    (Mairal et al., 2010), so each atom in turn gets the exact minimiser along it,

    .. math:: w_j \leftarrow w_j + \frac{b_j - W a_j}{A_{jj}},\qquad
              w_j \leftarrow \frac{w_j}{\lVert w_j\rVert_2},

    renormalised to unit norm after its step (ERRATA 5). Old batches are forgotten slowly
    (their statistics are multiplied by ``forget`` at each step). An atom that no signal used
    during an epoch is restarted on a random signal, so no atom stays dead.

    Args:
        Y: training signals, ``(N, n)``.
        n_atoms: number of atoms :math:`k`.
        lam: :math:`\lambda > 0`.
        epochs: passes over the data.
        batch_size: signals per step.
        seed: seed of the initial atoms and of the shuffling.
        W0: starting dictionary ``(n, n_atoms)`` (default: random signals, normalised).
        config: a :class:`DictionaryConfig`: ``inner_steps``, the FISTA iterations per batch;
            ``forget``, in ``[0, 1)``, how much of the previous statistics is kept at each
            step; ``positive_code``, non-negative codes (``fista(..., positive=True)``);
            ``positive_dict``, non-negative atoms: each atom's step is clipped at 0 before it
            is renormalised (the projection onto the non-negative part of the unit sphere).
            With both, the model is a sparse non-negative matrix factorisation, whose atoms
            are parts (strokes) rather than signed prototypes. As in scikit-learn's
            ``DictionaryLearning(positive_code=..., positive_dict=...)``.

    Returns:
        ``(W, history)``: the ``(n, n_atoms)`` dictionary and a :class:`~ebmlab.base.History`
        whose curve ``energy`` is the mean energy per signal of each epoch (measured on the
        batches as they were coded).
    """
    Y = as_tensor(Y, "Y", ndim=2)
    N, n = Y.shape
    positive_code, positive_dict = config.positive_code, config.positive_dict
    if positive_dict and W0 is None and not bool((Y > 0).any()):
        raise ValueError("positive_dict=True needs signals with some positive entries")
    g = generator(seed)
    if W0 is None:
        if bool((Y.norm(dim=1) == 0).all()):
            raise ValueError("Y must contain at least one non-zero signal")
        idx = torch.randint(0, N, (n_atoms,), generator=g)
        W = Y[idx].T.clone() + 1e-3 * torch.randn(n, n_atoms, generator=g).to(Y)
        if positive_dict:
            W = W.clamp_min(0.0)
        W = W / W.norm(dim=0, keepdim=True).clamp_min(1e-12)
    else:
        W = _check_dictionary(W0, "W0")
        if W.shape != (n, n_atoms):
            raise ValueError(f"W0 must have shape ({n}, {n_atoms}); got {tuple(W.shape)}")
        if positive_dict and bool((W < 0).any()):
            raise ValueError("W0 must be non-negative when positive_dict=True")
        W = _unit_norm(W).to(Y)
    A = torch.zeros(n_atoms, n_atoms, dtype=Y.dtype, device=Y.device)
    B = torch.zeros(n, n_atoms, dtype=Y.dtype, device=Y.device)
    forget, solver = config.forget, SolverConfig()
    energies: list[float] = []
    for _ in range(epochs):
        total = 0.0
        used = torch.zeros(n_atoms, dtype=torch.bool, device=Y.device)
        for idx in optim.minibatches(N, batch_size, g):
            Yb = Y[idx.to(Y.device)]
            P = _setup(Yb, W, lam)  # the codes by FISTA, W fixed (no second check of Yb)
            Z = _fista(P, _zeros(P), config.inner_steps, positive_code, solver, screen=True).z
            R = Yb - Z @ W.T
            total += float((0.5 * (R * R).sum() + lam * Z.abs().sum()).item())
            used |= (Z != 0).any(dim=0)
            A = forget * A + Z.T @ Z / Yb.shape[0]
            B = forget * B + Yb.T @ Z / Yb.shape[0]
            for j in range(n_atoms):  # block coordinate descent, one atom at a time
                if A[j, j] > 0:
                    u = W[:, j] + (B[:, j] - W @ A[:, j]) / A[j, j]
                    if positive_dict:
                        u = u.clamp_min(0.0)
                    norm = u.norm()
                    if norm > 0:
                        W[:, j] = u / norm
        if not bool(used.all()):
            dead = torch.nonzero(~used)[:, 0]
            pick = torch.randint(0, N, (len(dead),), generator=g).to(Y.device)
            fresh = Y[pick].T.clamp_min(0.0) if positive_dict else Y[pick].T
            W[:, dead] = fresh / fresh.norm(dim=0, keepdim=True).clamp_min(1e-12)
            A[:, dead] = 0
            A[dead, :] = 0
            B[:, dead] = 0
        energies.append(total / N)
    return W, History({"energy": torch.tensor(energies, dtype=torch.float64)}, per="epoch")


class SparseCoding(Estimator):
    r"""Sparse coding as an estimator: learn unit-norm atoms, then code signals with FISTA.

    Wraps :func:`learn_dictionary` and :func:`fista`; the energy is
    :math:`\tfrac12\lVert y - Wz\rVert^2 + \lambda\lVert z\rVert_1`.

    Args:
        n_atoms: number of atoms.
        lam: :math:`\lambda > 0` (scikit-learn's ``alpha``).
        epochs: passes over the data in :meth:`fit`.
        batch_size: signals per dictionary step.
        inner_steps: FISTA iterations per batch while learning.
        forget: how much of the previous statistics is kept at each step, in ``[0, 1)``.
        seed: seed of the initialisation and shuffling.

    Attributes:
        dictionary_: the learned ``(n, n_atoms)`` dictionary, one unit-norm atom per column.
        n_iter_: the epochs run.
        history_: a :class:`~ebmlab.base.History`; its curve ``energy`` is the mean energy
            per signal of each epoch.
    """

    _parameter_constraints = {
        **_LEARN,
        "inner_steps": Int(low=1),
        "forget": Real(low=0.0, high=0.9999),
    }

    def __init__(
        self,
        n_atoms: int = 64,
        lam: float = 0.1,
        *,
        epochs: int = 10,
        batch_size: int = 256,
        inner_steps: int = 50,
        forget: float = 0.9,
        seed: int | None = 0,
    ) -> None:
        self.n_atoms = n_atoms
        self.lam = lam
        self.epochs = epochs
        self.batch_size = batch_size
        self.inner_steps = inner_steps
        self.forget = forget
        self.seed = seed

    def fit(self, Y: torch.Tensor) -> SparseCoding:
        """Learn the dictionary from signals ``Y`` ``(N, n)``; returns ``self``."""
        p = self._validate_params()
        config = DictionaryConfig(inner_steps=p.pop("inner_steps"), forget=p.pop("forget"))
        self.dictionary_, self.history_ = learn_dictionary.__wrapped__(Y, **p, config=config)
        self.n_iter_ = p["epochs"]
        return self

    def transform(self, Y: torch.Tensor, steps: int = 200) -> torch.Tensor:
        """The codes of ``Y`` ``(B, n)`` under the learned dictionary (``steps`` of FISTA)."""
        self._check_fitted()
        return fista(Y, self.dictionary_, self.lam, steps).z
