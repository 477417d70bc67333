"""How a check compares the learner's result with the reference's: one return-type policy.

- Where the reference returns a tensor with at least one dimension, the answer must be a
  ``torch.Tensor`` of the same shape: a numpy array, a list or a Python float is rejected, and
  the message says so. Its dtype may differ (float32 against float64, as ``torch.cdist`` gives on
  mixed inputs): the values are compared in float64, within the tolerance.
- Where the reference returns a number (a 0-dim tensor, such as a loss, or a Python float), the
  answer may be a 0-dim tensor or a number: a Python ``int``/``float`` or a numpy scalar of any
  integer or float dtype (``np.float32`` passes). A bool, a complex number or an array is not.
- Indices (labels, states, the best hypothesis) must be a tensor of an integer dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

__all__ = ["allclose", "indices", "pair"]


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return (
            x.detach().cpu().to(torch.float64).numpy()
            if x.is_floating_point()
            else x.detach().cpu().numpy()
        )
    return np.asarray(x)


def _is_number(x) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    return isinstance(x, (int, float, np.integer, np.floating))


def _kind(x) -> str:
    if isinstance(x, np.ndarray):
        return f"a numpy array of shape {x.shape}"
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    return f"a {type(x).__module__.replace('builtins', 'Python')} {type(x).__name__}"


def _type_problem(expected, got) -> str | None:
    """Why ``got`` has the wrong type for ``expected`` (see the module's policy), or ``None``."""
    if isinstance(got, torch.Tensor) and got.is_complex():
        return "expected real numbers; got a complex tensor"
    scalar = not isinstance(expected, torch.Tensor) or expected.ndim == 0
    if scalar and (_is_number(got) or (isinstance(got, torch.Tensor) and got.ndim == 0)):
        return None
    if not scalar and isinstance(got, torch.Tensor):
        return None
    if scalar:
        return f"expected a number (or a 0-dim tensor); got {_kind(got)}"
    advice = " (return a tensor: torch.as_tensor(...))" if isinstance(got, np.ndarray) else ""
    return f"expected a torch tensor of shape {tuple(expected.shape)}; got {_kind(got)}{advice}"


def _nonfinite(e: np.ndarray, g: np.ndarray) -> str | None:
    """Why ``g`` is NaN or inf where ``e`` is finite, or ``None``."""
    bad = np.isfinite(e) & ~np.isfinite(g)
    if not bad.any():
        return None
    i = tuple(int(j) for j in np.argwhere(bad)[0]) if bad.ndim else ()
    where = f" at index {i}" if i else ""
    if np.isnan(g[i] if i else g):
        return (
            f"got NaN{where} where the answer is finite (0/0, inf - inf, or the log or sqrt "
            "of a negative number?)"
        )
    return f"got inf{where} where the answer is finite (an overflow? try log-sum-exp)"


def _at(a: np.ndarray, i: tuple) -> float:
    return float(a[i]) if a.ndim else float(a)


def _differ(e: np.ndarray, g: np.ndarray, rtol: float, atol: float) -> str | None:
    """Where ``g`` and ``e`` differ most (finite values first; never a NaN as an error)."""
    close = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    both = np.isfinite(e) & np.isfinite(g) & ~close
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(both, np.abs(g - e), -1.0)
    if both.any():
        i = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
        tail = f" (max abs error {float(err.max()):.3g})"
    else:  # the reference is NaN or inf there (an empty bin, say), the answer is not
        i = tuple(np.argwhere(~close)[0]) if close.ndim else ()
        tail = ""
    where = f" at index {tuple(int(j) for j in i)}" if i else ""
    return f"values differ{where}: expected {_at(e, i):.6g}, got {_at(g, i):.6g}{tail}"


def allclose(rtol: float = 1e-4, atol: float = 1e-5) -> Callable[[object, object], str | None]:
    r"""A comparison for tensors and numbers: ``None`` when close, else what differs.

    Close means :math:`|g - e| \le \text{atol} + \text{rtol}\,|e|` elementwise (numpy's rule),
    after the return-type policy of this module (a tensor where a tensor is asked).
    """
    from .._validation import check_scalar

    rtol = check_scalar(rtol, "rtol", low=0.0)
    atol = check_scalar(atol, "atol", low=0.0)

    def compare(expected, got) -> str | None:
        if isinstance(expected, tuple):
            if not isinstance(got, tuple) or len(got) != len(expected):
                return f"expected a tuple of {len(expected)} results; got {type(got).__name__}"
            for i, (e, g) in enumerate(zip(expected, got)):
                why = compare(e, g)
                if why:
                    return f"result {i}: {why}"
            return None
        if got is None:
            return "the function returned None (did you forget `return`?)"
        why = _type_problem(expected, got)
        if why:
            return why
        e, g = _to_numpy(expected), _to_numpy(got)
        if e.shape != g.shape:
            return f"expected shape {tuple(e.shape)}; got shape {tuple(g.shape)}"
        if g.dtype == bool:
            return "expected numbers; got booleans"
        return _nonfinite(e, g) or _differ(e, g.astype(np.float64), rtol, atol)

    return compare


def indices() -> Callable[[object, object], str | None]:
    """A comparison for indices: an integer tensor equal to the reference's."""

    def compare(expected: torch.Tensor, got) -> str | None:
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor of indices, shape {tuple(expected.shape)}; got {_kind(got)}"
        if got.is_floating_point() or got.is_complex() or got.dtype == torch.bool:
            return f"indices must be integers; got dtype {got.dtype}"
        if tuple(got.shape) != tuple(expected.shape):
            return f"expected shape {tuple(expected.shape)}; got {tuple(got.shape)}"
        wrong = (got.long().cpu() != expected.cpu()).nonzero()
        if len(wrong):
            i = tuple(int(j) for j in wrong[0])
            where = f" at index {i}" if i else ""
            return f"differ{where}: expected {int(expected[i])}, got {int(got[i])}"
        return None

    return compare


def pair(names: tuple[str, str], first, second) -> Callable[[object, object], str | None]:
    """A comparison for a pair ``(a, b)``: ``first`` on ``a``, ``second`` on ``b``."""

    def compare(expected, got) -> str | None:
        if not isinstance(got, tuple) or len(got) != 2:
            return f"return a pair ({names[0]}, {names[1]}); got {_kind(got)}"
        for name, cmp, e, g in zip(names, (first, second), expected, got):
            if g is None:
                return f"{name} is None (did you forget to compute or return it?)"
            why = cmp(e, g)
            if why:
                return f"{name}: {why}"
        return None

    return compare
