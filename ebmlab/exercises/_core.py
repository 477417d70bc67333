"""The machinery behind every exercise check.

A check calls the learner's function on *hidden* cases (built here, never printed in the
book), compares the result with the reference implementation's, and prints one clear line:
a pass, or the first failing case with a hint. A wrong answer — a wrong value, a wrong shape, an
exception, ``NotImplementedError`` — is reported, never raised as a traceback, so the same check
works for a learner in Colab and for the grader (``ebmlab grade``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["Case", "CheckResult", "check", "allclose"]


@dataclass(frozen=True)
class Case:
    """One hidden test case: the arguments, a short description and a hint if it fails."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    what: str = ""
    hint: str = ""


@dataclass(frozen=True)
class CheckResult:
    """What a check found. Truthy when every case passed."""

    name: str
    passed: int
    total: int
    message: str
    status: str  # "pass", "fail", "error", "todo"

    def __bool__(self) -> bool:
        return self.status == "pass"

    def __repr__(self) -> str:  # a one-line summary, stable across runs
        return f"CheckResult({self.name!r}, {self.passed}/{self.total}, {self.status})"

    def _ipython_display_(self) -> None:
        # The check has already printed its message; showing the result again as a cell's
        # value would only repeat it (and nbval would compare the repeat).
        return None


def _to_numpy(x):
    if isinstance(x, torch.Tensor):
        return (
            x.detach().cpu().to(torch.float64).numpy()
            if x.is_floating_point()
            else x.detach().cpu().numpy()
        )
    return np.asarray(x)


def allclose(rtol: float = 1e-4, atol: float = 1e-5) -> Callable[[object, object], str | None]:
    r"""A comparison for tensors, arrays and numbers: ``None`` when close, else what differs.

    Close means :math:`|g - e| \le \text{atol} + \text{rtol}\,|e|` elementwise (numpy's rule).
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
        if isinstance(expected, torch.Tensor) and not isinstance(got, (torch.Tensor, np.ndarray)):
            if not (isinstance(got, (int, float)) and expected.numel() == 1):
                return (
                    f"expected a tensor of shape {tuple(expected.shape)}; got {type(got).__name__}"
                )
        e, g = _to_numpy(expected), _to_numpy(got)
        if e.shape != g.shape:
            return f"expected shape {tuple(e.shape)}; got shape {tuple(g.shape)}"
        if not np.issubdtype(g.dtype, np.number) and g.dtype != bool:
            return f"expected numbers; got dtype {g.dtype}"
        if not np.all(np.isfinite(g[np.isfinite(e)])):
            return "got NaN or inf where the answer is finite (an overflow? try log-sum-exp)"
        if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
            err = np.abs(g - e)
            i = np.unravel_index(np.argmax(err), err.shape) if err.ndim else ()
            where = f" at index {tuple(int(j) for j in i)}" if i else ""
            return (
                f"values differ{where}: expected {float(e[i]) if e.ndim else float(e):.6g}, "
                f"got {float(g[i]) if g.ndim else float(g):.6g} "
                f"(max abs error {float(err.max()):.3g})"
            )
        return None

    return compare


def _clone(value):
    """Give the learner a copy, so an in-place edit cannot change the reference's input."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def check(
    student: Callable,
    reference: Callable,
    cases: Sequence[Case],
    *,
    name: str,
    compare: Callable[[object, object], str | None] | None = None,
    quiet: bool = False,
) -> CheckResult:
    """Run ``student`` and ``reference`` on every case and report the first disagreement.

    Args:
        student: the learner's function.
        reference: the correct implementation.
        cases: hidden cases.
        name: the exercise's name, shown in the message.
        compare: ``compare(expected, got) -> None | str`` (default :func:`allclose`).
        quiet: return the result without printing it (the grader uses this).
    """
    if not callable(student):
        raise TypeError(f"student must be the function you wrote; got {type(student).__name__}")
    if not callable(reference):
        raise TypeError(f"reference must be callable; got {type(reference).__name__}")
    compare = compare or allclose()
    total = len(cases)
    passed = 0
    status, message = "pass", ""
    for number, case in enumerate(cases, start=1):
        label = f"case {number} of {total}" + (f" ({case.what})" if case.what else "")
        expected = reference(*_clone(case.args), **_clone(case.kwargs))
        try:
            got = student(*_clone(case.args), **_clone(case.kwargs))
        except NotImplementedError:
            status, message = (
                "todo",
                f"⏳ {name}: not implemented yet — replace the `raise NotImplementedError`.",
            )
            break
        except Exception as exc:  # a wrong answer, not a crash of the check
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            status = "error"
            message = (
                f"❌ {name}: {label} raised {type(exc).__name__}: {exc} "
                f"(line {frame.lineno} of {frame.name})"
            )
            if case.hint:
                message += f"\n   Hint: {case.hint}"
            break
        why = compare(expected, got)
        if why:
            status = "fail"
            message = f"❌ {name}: {label}: {why}"
            if case.hint:
                message += f"\n   Hint: {case.hint}"
            break
        passed += 1
    if status == "pass":
        message = f"✅ {name}: all {total} hidden cases pass."
    result = CheckResult(name, passed, total, message, status)
    if not quiet:
        print(message)
    return result
