r"""Dictionaries: unit-norm atoms, random ones, and learning them from data.

``normalize_atoms``, ``random_dictionary``, ``learn_dictionary`` (alternating FISTA on the
codes and block coordinate descent on the atoms) and the ``SparseCoding`` estimator.
"""

from __future__ import annotations

import torch

from .._validation import as_tensor, check_int, check_scalar, check_seed
from ..runtime import generator
from .prox import _check_dictionary
from .solvers import fista

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
    return W / W.norm(dim=0, keepdim=True)


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
    n = check_int(n, "n", low=1)
    k = check_int(k, "k", low=1)
    W = torch.randn(n, k, generator=generator(check_seed(seed)), dtype=torch.float64)
    return (W / W.norm(dim=0, keepdim=True)).to(dtype=dtype, device=device)


def learn_dictionary(
    Y: torch.Tensor,
    n_atoms: int,
    lam: float,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    inner_steps: int = 50,
    forget: float = 0.9,
    seed: int | None = 0,
    W0: torch.Tensor | None = None,
    positive_code: bool = False,
    positive_dict: bool = False,
) -> tuple[torch.Tensor, list[float]]:
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
        inner_steps: FISTA iterations per batch.
        forget: in ``[0, 1)``, how much of the previous statistics is kept at each step.
        seed: seed of the initial atoms and of the shuffling.
        W0: starting dictionary ``(n, n_atoms)`` (default: random signals, normalised).
        positive_code: constrain the codes to be non-negative (``fista(..., positive=True)``).
        positive_dict: constrain the atoms to be non-negative: each atom's step is clipped
            at 0 before it is renormalised (the projection onto the non-negative part of the
            unit sphere). With both, the model is a sparse non-negative matrix factorisation,
            whose atoms are parts (strokes) rather than signed prototypes. As in
            scikit-learn's ``DictionaryLearning(positive_code=..., positive_dict=...)``.

    Returns:
        ``(W, energies)``: the ``(n, n_atoms)`` dictionary and the mean energy per signal
        of each epoch (measured on the batches as they were coded).
    """
    Y = as_tensor(Y, "Y", ndim=2)
    N, n = Y.shape
    n_atoms = check_int(n_atoms, "n_atoms", low=1)
    lam = check_scalar(lam, "lam", low=0.0, low_open=True)
    epochs = check_int(epochs, "epochs", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    inner_steps = check_int(inner_steps, "inner_steps", low=1)
    forget = check_scalar(forget, "forget", low=0.0, high=0.9999)
    for flag, name in ((positive_code, "positive_code"), (positive_dict, "positive_dict")):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool; got {type(flag).__name__}")
    if positive_dict and W0 is None and not bool((Y > 0).any()):
        raise ValueError("positive_dict=True needs signals with some positive entries")
    g = generator(check_seed(seed))
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
        W = normalize_atoms(W).to(Y)
    A = torch.zeros(n_atoms, n_atoms, dtype=Y.dtype, device=Y.device)
    B = torch.zeros(n, n_atoms, dtype=Y.dtype, device=Y.device)
    energies: list[float] = []
    for _ in range(epochs):
        order = torch.randperm(N, generator=g).to(Y.device)
        total = 0.0
        used = torch.zeros(n_atoms, dtype=torch.bool, device=Y.device)
        for start in range(0, N, batch_size):
            Yb = Y[order[start : start + batch_size]]
            Z = fista(W, Yb, lam, inner_steps, positive=positive_code).z
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
    return W, energies


class SparseCoding:
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
        energies_: mean energy per signal after each epoch.
    """

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
        self.n_atoms = check_int(n_atoms, "n_atoms", low=1)
        self.lam = check_scalar(lam, "lam", low=0.0, low_open=True)
        self.epochs = check_int(epochs, "epochs", low=1)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.inner_steps = check_int(inner_steps, "inner_steps", low=1)
        self.forget = check_scalar(forget, "forget", low=0.0, high=0.9999)
        self.seed = check_seed(seed)

    def fit(self, Y: torch.Tensor) -> SparseCoding:
        """Learn the dictionary from signals ``Y`` ``(N, n)``; returns ``self``."""
        self.dictionary_, self.energies_ = learn_dictionary(
            Y,
            self.n_atoms,
            self.lam,
            epochs=self.epochs,
            batch_size=self.batch_size,
            inner_steps=self.inner_steps,
            forget=self.forget,
            seed=self.seed,
        )
        return self

    def transform(self, Y: torch.Tensor, steps: int = 200) -> torch.Tensor:
        """The codes of ``Y`` ``(B, n)`` under the learned dictionary (``steps`` of FISTA)."""
        if not hasattr(self, "dictionary_"):
            raise RuntimeError("call fit before transform")
        return fista(self.dictionary_, Y, self.lam, steps).z
