"""Input checks shared by every public function.

Each helper raises a ``ValueError`` or ``TypeError`` whose message names the argument, what it
got and what it needs, so a mistake surfaces at the call site and never deep inside torch.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__: list[str] = []  # private module


def as_tensor(
    value,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    min_ndim: int | None = None,
    dtype: torch.dtype | None = None,
    allow_empty: bool = False,
    finite: bool = True,
    integer: bool = False,
) -> torch.Tensor:
    """Return ``value`` as a floating (or, with ``integer=True``, integer) tensor, checked.

    Lists, numpy arrays and Python numbers are converted; tensors keep their device and, when
    floating, their dtype (float32 stays float32, float64 stays float64).
    """
    if isinstance(value, torch.Tensor):
        t = value
    elif isinstance(value, (np.ndarray, list, tuple, numbers.Number)) and not isinstance(
        value, bool
    ):
        try:
            # numpy arrays keep their dtype; Python lists and numbers get torch's default
            t = torch.as_tensor(value if isinstance(value, np.ndarray) else np.asarray(value))
            if not isinstance(value, np.ndarray) and t.is_floating_point():
                t = t.to(torch.get_default_dtype())
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be numeric array-like; could not convert it ({exc})"
            ) from None
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor, numpy array or sequence of numbers; "
            f"got {type(value).__name__}"
        )
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold real numbers; got dtype {t.dtype}")
    if integer:
        if t.is_floating_point():
            raise TypeError(f"{name} must hold integers; got dtype {t.dtype}")
    else:
        if dtype is not None:
            t = t.to(dtype)
        elif not t.is_floating_point():
            t = t.to(torch.get_default_dtype())
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(
                f"{name} must have {want} dimension(s); got shape {tuple(t.shape)} ({t.ndim}-D)"
            )
    if min_ndim is not None and t.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s); got shape {tuple(t.shape)}"
        )
    if not allow_empty and t.numel() == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(t.shape)}")
    if finite and t.is_floating_point() and t.numel() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must contain only finite values; found NaN or inf")
    return t


def check_scalar(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Check a real hyper-parameter and return it as ``float``.

    ``low_open=True`` makes the lower bound strict (``beta > 0``).
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be finite; got {v}")
    if low is not None and (v <= low if low_open else v < low):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}; got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}; got {v}")
    return v


def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Check an integer hyper-parameter (a count, a size) and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    v = int(value)
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}; got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}; got {v}")
    return v


def check_dim(dim, t: torch.Tensor, name: str = "dim") -> int:
    """Check that ``dim`` indexes a dimension of ``t``; return it as a non-negative int."""
    d = check_int(dim, name)
    if not -t.ndim <= d < t.ndim:
        raise ValueError(
            f"{name} must be in [-{t.ndim}, {t.ndim - 1}] for a {t.ndim}-D input; got {d}"
        )
    return d % t.ndim


def check_callable(fn, name: str):
    """Check that ``fn`` can be called."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable; got {type(fn).__name__}")
    return fn


def check_seed(seed, name: str = "seed") -> int | None:
    """A seed is ``None`` or a non-negative integer."""
    if seed is None:
        return None
    return check_int(seed, name, low=0)


def row_energies(energy, u: torch.Tensor) -> torch.Tensor:
    """``energy(u)``, checked to hold one value per row of ``u`` (every energy callable that a
    sampler or an inference routine is handed goes through this one check)."""
    e = energy(u)
    if not isinstance(e, torch.Tensor) or e.shape != u.shape[:1]:
        got = tuple(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
        raise ValueError(f"energy must return one value per row, shape ({u.shape[0]},); got {got}")
    return e


def check_path(value, name: str):
    """A file-system path given as ``str`` or ``os.PathLike``; returned as ``pathlib.Path``."""
    import os
    import pathlib

    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or pathlib.Path); got {type(value).__name__}")
    return pathlib.Path(value)


def check_paths(values, name: str) -> list:
    """One path or an iterable of paths; returned as a list of ``pathlib.Path``."""
    import os

    if isinstance(values, (str, os.PathLike)):
        return [check_path(values, name)]
    try:
        items = list(values)
    except TypeError:
        raise TypeError(
            f"{name} must be a path or an iterable of paths; got {type(values).__name__}"
        ) from None
    return [check_path(v, name) for v in items]


def check_notebook(nb, name: str = "nb"):
    """A notebook: an ``nbformat`` node or a dict with a ``cells`` list."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError(
            f"{name} must be a notebook (an nbformat node or a dict with a 'cells' list); "
            f"got {type(nb).__name__}"
        )
    return nb


def check_sequence_of(values, cls, name: str) -> list:
    """A list (or other iterable) whose items are all instances of ``cls``."""
    try:
        items = list(values)
    except TypeError:
        raise TypeError(
            f"{name} must be a list of {cls.__name__}; got {type(values).__name__}"
        ) from None
    for item in items:
        if not isinstance(item, cls):
            raise TypeError(f"{name} must hold {cls.__name__} items; found {type(item).__name__}")
    return items


# --------------------------------------------------------------------------- declared constraints
#
# A public function or estimator declares what each argument may be, once, as data; ``validate``
# checks a set of values against the declaration and returns them converted (ints as int, reals
# as float). The messages are those of the helpers above, so a declared check reads exactly as a
# hand-written one. scikit-learn's ``_parameter_constraints`` is the model.


class Constraint:
    """One argument's rule: ``check(value, name)`` returns the value converted, or raises."""

    def check(self, value, name: str):  # pragma: no cover - the subclasses define it
        raise NotImplementedError


@dataclass(frozen=True)
class Real(Constraint):
    """A real number in ``[low, high]``; ``low_open`` makes the lower bound strict."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    allow_inf: bool = False
    optional: bool = False  # ``None`` is also accepted (and returned as ``None``)

    def check(self, value, name: str):
        if value is None and self.optional:
            return None
        return check_scalar(
            value,
            name,
            low=self.low,
            high=self.high,
            low_open=self.low_open,
            allow_inf=self.allow_inf,
        )


@dataclass(frozen=True)
class Int(Constraint):
    """An integer in ``[low, high]``."""

    low: int | None = None
    high: int | None = None
    optional: bool = False

    def check(self, value, name: str):
        if value is None and self.optional:
            return None
        return check_int(value, name, low=self.low, high=self.high)


@dataclass(frozen=True)
class Options(Constraint):
    """One of a few strings, such as ``Options(("eigh", "power"))``."""

    values: tuple[str, ...]

    def _say(self) -> str:
        return " or ".join(repr(v) for v in self.values)

    def check(self, value, name: str):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str ({self._say()}); got {type(value).__name__}")
        if value not in self.values:
            raise ValueError(f"{name} must be {self._say()}; got {value!r}")
        return value


@dataclass(frozen=True)
class Boolean(Constraint):
    """``True`` or ``False`` (numpy booleans too), returned as ``bool``."""

    def check(self, value, name: str):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {type(value).__name__}")
        return bool(value)


@dataclass(frozen=True)
class Seed(Constraint):
    """``None`` or a non-negative integer."""

    def check(self, value, name: str):
        return check_seed(value, name)


@dataclass(frozen=True)
class IsCallable(Constraint):
    """Anything that can be called."""

    optional: bool = False

    def check(self, value, name: str):
        if value is None and self.optional:
            return None
        return check_callable(value, name)


@dataclass(frozen=True)
class Tensor(Constraint):
    """A numeric tensor (lists and arrays are converted), checked by :func:`as_tensor`: finite,
    of ``ndim`` (or at least ``min_ndim``) dimensions, of integers with ``integer``."""

    ndim: int | tuple[int, ...] | None = None
    min_ndim: int | None = None
    integer: bool = False

    def check(self, value, name: str) -> torch.Tensor:
        return as_tensor(value, name, ndim=self.ndim, min_ndim=self.min_ndim, integer=self.integer)


@dataclass(frozen=True)
class Instance(Constraint):
    """An instance of ``cls`` (a model, a configuration already checked when it was made); with
    ``default``, ``None`` stands for ``cls()``, the default configuration."""

    cls: type
    default: bool = False

    def check(self, value, name: str):
        if value is None and self.default:
            return self.cls()
        if not isinstance(value, self.cls):
            alt = " (or None)" if self.default else ""
            raise TypeError(
                f"{name} must be a {self.cls.__name__}{alt}; got {type(value).__name__}"
            )
        return value


def check_fields(config, constraints: dict[str, Constraint]) -> None:
    """Check a frozen configuration dataclass's fields against ``constraints`` (called from its
    ``__post_init__``) and keep the converted values."""
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    for name, value in validate(constraints, values).items():
        object.__setattr__(config, name, value)


def validate(constraints: dict[str, Constraint], values: dict) -> dict:
    """Check each named value against its declared constraint; return them converted.

    Values without a constraint pass through unchanged, so a caller can hand over all of its
    arguments and declare only the ones with a rule.
    """
    out = dict(values)
    for name, rule in constraints.items():
        if name in out:
            out[name] = rule.check(out[name], name)
    return out


def checked(**constraints: Constraint):
    """Declare the constraints of a public function's arguments; they are checked on each call.

    The wrapped function receives the converted values. Internal callers that have already
    checked their inputs call the unchecked core instead (``fn.__wrapped__`` or a private
    function), so a value is checked once, at the boundary.

    Example::

        @checked(method=Options(("eigh", "power")), iters=Int(low=1), seed=Seed())
        def lipschitz(W, method="eigh", iters=100, seed=0): ...
    """

    def decorate(fn):
        sig = inspect.signature(fn)
        unknown = set(constraints) - set(sig.parameters)
        if unknown:
            raise TypeError(f"{fn.__name__} has no argument(s) {sorted(unknown)} to constrain")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            bound.arguments.update(validate(constraints, bound.arguments))
            return fn(*bound.args, **bound.kwargs)

        wrapper.constraints = dict(constraints)
        return wrapper

    return decorate
