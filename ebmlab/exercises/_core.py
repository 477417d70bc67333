"""The machinery behind every exercise check.

A check calls the learner's function on *hidden* cases (built here, never printed in the
book), compares the result with the reference implementation's, and prints one clear line:
a pass, or the first failing case with a hint. A wrong answer — a wrong value, a wrong shape, an
exception, ``NotImplementedError``, a loop that never ends — is reported, never raised as a
traceback, so the same check works for a learner in Colab and for the grader (``ebmlab grade``).

The three steps are separate, so that the grader can run them in different processes:
:func:`run_case` calls the learner's function on one case (in the learner's kernel),
:func:`judge` compares what it gave with the reference's result (in the grader's own process),
and :func:`spec_of` gives an exercise's reference, cases and comparison without running anything.
:func:`check` is them together. The grader calls a chapter's check in its own process, inside
:func:`grading`, on a stand-in that forwards each call to the kernel and raises
:class:`Reported` with what the kernel's :func:`run_case` said.

An exercise's cases are a list of :class:`Case`, or a function ``cases(seed) -> list[Case]``
that draws them: a learner's check uses ``DEFAULT_SEED`` (the same cases every run), the
grader a fresh seed per grading run.
"""

from __future__ import annotations

import contextvars
import inspect
import math
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ._compare import allclose

__all__ = ["CHECK_TIME_LIMIT", "DEFAULT_SEED", "Case", "CheckResult", "Outcome", "Reported"]
__all__ += ["Spec", "allclose", "cases_for", "check", "judge", "rng", "run_case"]

#: The seed of the cases a learner's check draws (a grading run draws its own).
DEFAULT_SEED = 0
#: Seconds the learner's function may run, all cases of one check together (Unix, main thread).
CHECK_TIME_LIMIT = 60.0


@dataclass(frozen=True)
class Case:
    """One hidden test case: the arguments, a short description and a hint if it fails."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    what: str = ""
    hint: str = ""
    #: seconds the learner's function may take on this case (``None``: only the check's limit);
    #: a case large enough that a forbidden method (a Python loop, brute force) is too slow
    budget: float | None = None


@dataclass(frozen=True)
class CheckResult:
    """What a check found. Truthy when every case passed."""

    name: str
    passed: int
    total: int
    message: str
    status: str  # "pass", "fail", "error", "todo", "timeout"

    def __bool__(self) -> bool:
        return self.status == "pass"

    def __repr__(self) -> str:  # a one-line summary, stable across runs
        return f"CheckResult({self.name!r}, {self.passed}/{self.total}, {self.status})"

    def _ipython_display_(self) -> None:
        # The check has already printed its message; showing the result again as a cell's
        # value would only repeat it (and nbval would compare the repeat).
        return None


@dataclass(frozen=True)
class Outcome:
    """What the learner's function did on one case.

    ``kind`` is ``"value"`` (it returned ``value``), ``"todo"`` (``NotImplementedError``),
    ``"raised"`` (another exception, described by ``error``), ``"mutated"`` (it changed an input
    in place, said in ``error``; across the grader's channel it arrives as ``"raised"`` with the
    same ``error``) or ``"timeout"``.
    """

    kind: str
    value: object = None
    error: str = ""


@dataclass(frozen=True)
class Spec:
    """An exercise's reference, its cases (drawn for one seed) and its comparison."""

    name: str
    reference: Callable
    cases: tuple
    compare: Callable[[object, object], str | None]


def _clone(value):
    """Give the learner a copy, so an in-place edit cannot change the reference's input."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, list):
        return [_clone(v) for v in value]
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    return value


def _same(before, after) -> bool:
    """Whether ``after`` (the learner's copy, after the call) still equals ``before``."""
    if isinstance(before, torch.Tensor):
        b, a = before.detach(), after.detach()
        return b.shape == a.shape and bool(((b == a) | (b.isnan() & a.isnan())).all())
    if isinstance(before, np.ndarray):
        return before.shape == after.shape and np.array_equal(before, after, equal_nan=True)
    if isinstance(before, (tuple, list)):
        return len(before) == len(after) and all(map(_same, before, after))
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)
    return True


_MUTATES = "modifies its input "


def _mutation(fn: Callable, case: Case, args: tuple, kwargs: dict) -> str | None:
    """``"modifies its input x in place; ..."`` when the call changed an argument, else None."""
    changed = [i for i, (b, a) in enumerate(zip(case.args, args)) if not _same(b, a)]
    changed += [k for k in case.kwargs if not _same(case.kwargs[k], kwargs[k])]
    if not changed:
        return None
    try:
        params = list(inspect.signature(fn).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):  # no signature to read: name the position
        params = []
    first = changed[0]
    name = (
        first
        if isinstance(first, str)
        else (params[first] if first < len(params) else f"number {first + 1}")
    )
    return (
        f"{_MUTATES}{name} in place; return a new tensor and leave {name} as it was (work on "
        f"{name}.clone(), or write {name} = {name} - ... rather than {name} -= ...)"
    )


def rng(base: int, seed: int) -> torch.Generator:
    """The generator of an exercise's drawn cases: ``base`` is the exercise's own, ``seed`` the
    run's (``DEFAULT_SEED`` in a learner's check)."""
    return torch.Generator().manual_seed((int(base) + int(seed)) % 2**63)


def cases_for(cases, seed: int | None = None) -> list[Case]:
    """The cases of an exercise: ``cases`` itself, or ``cases(seed)`` when it draws them.

    Args:
        cases: a sequence of :class:`Case`, or a function of a seed returning one.
        seed: the seed for a drawing function (default ``DEFAULT_SEED``).

    Returns:
        The list of cases.
    """
    drawn = cases(DEFAULT_SEED if seed is None else int(seed)) if callable(cases) else cases
    if isinstance(drawn, (str, bytes)) or not isinstance(drawn, Sequence):
        raise TypeError(f"cases must be a sequence of Case; got {type(drawn).__name__}")
    drawn = list(drawn)
    if not all(isinstance(c, Case) for c in drawn):
        raise TypeError("cases must hold Case objects only")
    return drawn


class _OutOfTime(BaseException):  # not an Exception: the learner's `except` does not catch it
    pass


class Reported(Exception):
    """Raised by a stand-in for the learner's function that ran elsewhere (the grader's proxy
    of a kernel): :func:`run_case` returns its :class:`Outcome` as it is."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.error)
        self.outcome = outcome


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARIES = (_PACKAGE, os.path.dirname(os.__file__), os.path.dirname(torch.__file__))


def _describe(exc: BaseException) -> str:
    """``Name: text (line N of f)``, the line in the learner's code, not in a library's."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is run_case's own call
    mine = [f for f in frames if not os.path.abspath(f.filename).startswith(_LIBRARIES)]
    frame = (mine or [None])[-1]  # no line of the checks' own code
    where = f" (line {frame.lineno} of {frame.name})" if frame is not None else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{where}"


def _can_alarm() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
    )


def run_case(fn: Callable, case: Case, *, time_limit: float | None = None) -> Outcome:
    """Call ``fn`` on a copy of ``case``'s arguments and say what it did; never raises.

    Args:
        fn: the learner's function.
        case: the case.
        time_limit: seconds ``fn`` may run (``None``: no limit). Enforced with ``SIGALRM``, so
            only on Unix, in the main thread, when no other alarm is set.

    Returns:
        An :class:`Outcome`.
    """
    alarm = time_limit is not None and math.isfinite(time_limit) and _can_alarm()
    if alarm:

        def ring(signum, frame):
            raise _OutOfTime

        previous = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, max(float(time_limit), 1e-3))
    try:
        args, kwargs = _clone(case.args), _clone(case.kwargs)
        value = fn(*args, **kwargs)
        mutated = _mutation(fn, case, args, kwargs)
        return Outcome("mutated", error=mutated) if mutated else Outcome("value", value)
    except NotImplementedError:
        return Outcome("todo")
    except _OutOfTime:
        return Outcome("timeout", error=f"ran longer than {time_limit:.3g} s")
    except Reported as exc:
        return exc.outcome
    except (Exception, SystemExit) as exc:  # a wrong answer, not a crash of the check
        return Outcome("raised", error=_describe(exc))
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _none_inside(expected, got) -> str | None:
    if isinstance(expected, tuple) and isinstance(got, (tuple, list)):
        for i, (e, g) in enumerate(zip(expected, got)):
            if g is None and e is not None:
                return f"result {i} is None (did you forget to compute or return it?)"
    return None


def judge(spec: Spec, number: int, expected, outcome: Outcome) -> tuple[str, str] | None:
    """Compare the learner's ``outcome`` on case ``number`` (from 1) with the reference's result.

    Args:
        spec: the exercise (:func:`spec_of`), for its name, cases and comparison.
        number: the case's number, from 1.
        expected: the reference's result on the case.
        outcome: what the learner's function did (:func:`run_case`).

    Returns:
        ``None`` when the case passes, else ``(status, message)``: ``status`` is ``"todo"``,
        ``"error"``, ``"timeout"`` or ``"fail"``, and ``message`` the line a check prints.
    """
    name, case, total = spec.name, spec.cases[number - 1], len(spec.cases)
    label = f"case {number} of {total}" + (f" ({case.what})" if case.what else "")
    if outcome.kind == "todo":
        return "todo", f"⏳ {name}: not implemented yet — replace the `raise NotImplementedError`."
    if outcome.kind == "timeout":
        status, message = "timeout", f"⌛ {name}: {label}: {outcome.error or 'ran out of time'}"
        message += " (an endless loop? a loop over a large range?)"
    elif outcome.kind == "mutated" or outcome.error.startswith(_MUTATES):
        return "fail", f"❌ {name}: {label}: your function {outcome.error}"  # no value's hint
    elif outcome.kind == "raised":
        status, message = "error", f"❌ {name}: {label} raised {outcome.error}"
    else:
        try:
            why = _none_inside(expected, outcome.value) or spec.compare(expected, outcome.value)
        except Exception as exc:  # the comparison cannot read what the function returned
            why = (
                f"cannot compare the result ({type(exc).__name__}: {str(exc)[:200]}); "
                f"got {type(outcome.value).__name__}"
            )
        if not why:
            return None
        status, message = "fail", f"❌ {name}: {label}: {why}"
    if case.hint:
        message += f"\n   Hint: {case.hint}"
    return status, message


def _timed(student: Callable, case: Case, left: float | None, alarm: bool) -> Outcome:
    """:func:`run_case` within ``left`` seconds and the case's budget: an alarm in a learner's
    check; measured, with no alarm, when grading (the stand-in runs the function elsewhere)."""
    budget = case.budget
    limit = left if budget is None else min(budget, left if left is not None else budget)
    limit = limit if alarm else None
    start = time.monotonic()
    outcome = run_case(student, case, time_limit=limit)
    took = time.monotonic() - start
    if budget is not None and outcome.kind != "timeout" and took > budget:
        return Outcome("timeout", error=f"took {took:.3g} s; this case allows {budget:g} s")
    return outcome


class _Mode:  # set by ``grading`` and ``spec_of`` (in ``__init__``)
    def __init__(self, seed, capture):
        self.seed, self.capture, self.spec = seed, capture, None


_MODE: contextvars.ContextVar[_Mode | None] = contextvars.ContextVar("mode", default=None)


def check(
    student: Callable,
    reference: Callable,
    cases,
    *,
    name: str,
    compare: Callable[[object, object], str | None] | None = None,
    quiet: bool = False,
    time_limit: float | None = CHECK_TIME_LIMIT,
) -> CheckResult:
    """Run ``student`` and ``reference`` on every case and report the first disagreement.

    Args:
        student: the learner's function.
        reference: the correct implementation.
        cases: hidden cases, or a function ``cases(seed)`` that draws them (see :func:`cases_for`).
        name: the exercise's name, shown in the message.
        compare: ``compare(expected, got) -> None | str`` (default :func:`allclose`).
        quiet: return the result without printing it (the grader uses this).
        time_limit: seconds the learner's function may run over all cases (``None``: no limit;
            enforced on Unix in the main thread only).
    """
    if not callable(reference):
        raise TypeError(f"reference must be callable; got {type(reference).__name__}")
    mode = _MODE.get()
    spec = Spec(name, reference, tuple(cases_for(cases, mode and mode.seed)), compare or allclose())
    if mode is not None and mode.capture:  # spec_of: hand over what this check would run
        mode.spec = spec
        return CheckResult(name, 0, len(spec.cases), "", "todo")
    time_limit = None if mode is not None else time_limit
    total, passed, verdict = len(spec.cases), 0, None
    if not callable(student):
        verdict = (
            "error",
            f"❌ {name}: pass the function itself, as in check_{name}(my_function); "
            f"got {type(student).__name__}",
        )
    deadline = None if time_limit is None else time.monotonic() + float(time_limit)
    for number, case in enumerate(spec.cases if verdict is None else (), start=1):
        expected = reference(*_clone(case.args), **_clone(case.kwargs))
        left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
        verdict = judge(spec, number, expected, _timed(student, case, left, mode is None))
        if verdict is not None:
            break
        passed += 1
    status, message = verdict or ("pass", f"✅ {name}: all {total} hidden cases pass.")
    result = CheckResult(name, passed, total, message, status)
    if not quiet:
        print(message)
    return result
