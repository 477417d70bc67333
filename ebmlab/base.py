"""What every estimator and training loop in the package shares.

- :class:`Estimator`: scikit-learn's shape. ``__init__`` only stores its arguments; ``fit``
  checks them against the class's declared ``_parameter_constraints``, learns, sets the fitted
  attributes (ending in ``_``, among them ``n_iter_`` and ``history_``) and returns ``self``.
- :class:`NotFittedError`: what a method of an unfitted estimator raises.
- :class:`History`: what a training loop records, one named curve per quantity.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import ClassVar

import numpy as np
import torch

from ._validation import Constraint, validate

__all__ = ["Estimator", "NotFittedError", "History"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (a ``ValueError``, as in
    scikit-learn, and an ``AttributeError``, since a fitted attribute is missing)."""


class Estimator:
    """The base of the package's estimators (:class:`~ebmlab.kmeans.KMeans`, ...).

    Subclasses declare ``_parameter_constraints`` (argument name to a constraint of
    ``ebmlab._validation``) and call ``_validate_params()`` at the start of ``fit``.
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [n for n, p in sig.parameters.items() if n != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self) -> dict:
        """The constructor's arguments, as stored."""
        return {name: getattr(self, name) for name in self._param_names()}

    def _validate_params(self) -> dict:
        """Check the stored arguments against ``_parameter_constraints``; return them converted
        (the stored values are left as given, as in scikit-learn)."""
        return validate(self._parameter_constraints, self.get_params())

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_iter_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(Y) first")

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for name, value in self.get_params().items():
            default = sig.parameters[name].default
            if isinstance(value, (torch.Tensor, np.ndarray)):
                kind = "tensor" if isinstance(value, torch.Tensor) else "array"
                shown.append(f"{name}=<{kind} {tuple(value.shape)}>")
            elif default is inspect.Parameter.empty or value is not default and value != default:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


class History(Mapping):
    """What a training loop recorded: named curves of equal length, one entry per step (or per
    epoch, as ``per`` says).

    ``history.loss`` (or ``history["loss"]``) is the curve of the training loss; other curves
    (``history.kl``, ``history.energy``...) are read the same way. Each curve is a 1-D
    ``float64`` tensor on the CPU.
    """

    def __init__(self, curves: Mapping[str, torch.Tensor], per: str = "step") -> None:
        if per not in ("step", "epoch"):
            raise ValueError(f"per must be 'step' or 'epoch'; got {per!r}")
        self._curves = {
            k: torch.as_tensor(v, dtype=torch.float64).detach().cpu().reshape(-1)
            for k, v in curves.items()
        }
        lengths = {len(v) for v in self._curves.values()}
        if len(lengths) > 1:
            raise ValueError(f"the curves of a History must have one length; got {lengths}")
        self.per = per

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._curves[name]

    def __getattr__(self, name: str) -> torch.Tensor:
        curves = self.__dict__.get("_curves", {})
        if name in curves:
            return curves[name]
        raise AttributeError(f"this History records {sorted(curves)}, not {name!r}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._curves)

    def __len__(self) -> int:
        return len(self._curves)

    @property
    def n(self) -> int:
        """The number of entries in each curve (steps or epochs)."""
        return len(next(iter(self._curves.values()))) if self._curves else 0

    def __repr__(self) -> str:
        return f"History({', '.join(self._curves)}; {self.n} {self.per}s)"
