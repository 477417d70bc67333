"""The input checks shared by :mod:`ebmlab.kmeans`: data, prototypes, ``k`` and labels, and the
declared constraints of the choices that :mod:`ebmlab._validation` has no rule for."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validation import Constraint, as_tensor

# --------------------------------------------------------------------------- input checks


def _check_Y(Y, name: str = "Y") -> torch.Tensor:
    t = as_tensor(Y, name, ndim=2, finite=False)
    # one sum is much cheaper than an element-wise test, and it is finite whenever every entry
    # is (barring overflow, which the element-wise test then rules out)
    if not bool(torch.isfinite(t.sum())) and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must contain only finite values; found NaN or inf")
    return t


def _check_centers(centers, Y: torch.Tensor, name: str = "centers") -> torch.Tensor:
    C = as_tensor(centers, name, ndim=2)
    if C.shape[1] != Y.shape[1]:
        raise ValueError(
            f"{name} must have one column per feature of the data ({Y.shape[1]}); "
            f"got shape {tuple(C.shape)}"
        )
    return C.to(device=Y.device, dtype=Y.dtype)


def _check_k_fits(k: int, n: int, name: str = "k") -> int:
    """``k`` (already checked to be an integer >= 1) is at most the number of data points."""
    if k > n:
        raise ValueError(f"{name} must be <= the number of data points ({n}); got {k}")
    return k


def _check_labels(labels, n: int, k: int, device, name: str = "labels") -> torch.Tensor:
    lab = as_tensor(labels, name, ndim=1, integer=True)
    if lab.shape[0] != n:
        raise ValueError(f"{name} must have one entry per row of Y ({n}); got {lab.shape[0]}")
    if bool((lab < 0).any()) or bool((lab >= k).any()):
        raise ValueError(f"{name} must lie in 0..{k - 1}")
    return lab.to(device=device, dtype=torch.long)


# --------------------------------------------------------------------------- declared choices


@dataclass(frozen=True)
class _BoolOrAuto(Constraint):
    """``True``, ``False`` or ``"auto"``: which of :func:`~ebmlab.kmeans.lloyd`'s loops runs."""

    def check(self, value, name: str):
        if isinstance(value, str) and value == "auto":
            return value
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise TypeError(f"{name} must be True, False or 'auto'; got {value!r}")


@dataclass(frozen=True)
class _Init(Constraint):
    """A named initialisation (``"k-means++"``, ``"random"``) or an array of prototypes (whose
    shape is checked against the data at fit time)."""

    names: tuple[str, ...] = ("k-means++", "random")

    def check(self, value, name: str):
        if isinstance(value, (torch.Tensor, np.ndarray)):
            return value
        say = ", ".join(repr(v) for v in self.names) + " or a (k, d) tensor"
        if not isinstance(value, str):
            raise TypeError(f"{name} must be {say}; got {type(value).__name__}")
        if value not in self.names:
            raise ValueError(f"{name} must be {say}; got {value!r}")
        return value


_BOUNDS = _BoolOrAuto()
