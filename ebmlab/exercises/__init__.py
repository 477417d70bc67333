"""Checks that grade the exercises, one module per chapter (``ch02``, ``ch05``, ...).

Every chapter module defines ``EXERCISES``: a dict from the exercise's name to an
:class:`Exercise` (its check, its reference solution, what it teaches). A learner calls a check
in the notebook (``ebmlab.exercises.ch02.check_gibbs(my_gibbs)``); the grader and the tests walk
:func:`registry`. The grader splits a check in three (:func:`spec_of`, :func:`run_case`,
:func:`judge`) so that the learner's kernel only runs the function and the grader compares.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

from ._core import (
    _MODE,
    CHECK_TIME_LIMIT,
    DEFAULT_SEED,
    Case,
    CheckResult,
    Outcome,
    Reported,
    Spec,
    _Mode,
    allclose,
    cases_for,
    check,
    judge,
    run_case,
)

__all__ = ["CHECK_TIME_LIMIT", "DEFAULT_SEED", "Case", "CheckResult", "Exercise", "Outcome"]
__all__ += ["Reported", "Spec", "allclose", "cases_for", "check", "grading", "judge", "registry"]
__all__ += ["run_case", "spec_of"]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its check, the reference solution, and what an instructor needs to know."""

    check: Callable[..., CheckResult]
    reference: Callable
    objective: str
    difficulty: str  # "easy", "medium" or "hard"
    minutes: int


def registry() -> dict[str, dict[str, Exercise]]:
    """Every chapter's exercises: ``{"ch02": {"gibbs": Exercise(...), ...}, ...}``."""
    out: dict[str, dict[str, Exercise]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if re.fullmatch(r"ch\d\d", info.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            out[info.name] = dict(module.EXERCISES)
    return out


@contextlib.contextmanager
def grading(seed: int | None = None):
    """Inside, a check draws its cases with ``seed`` and sets no alarm (the grader limits time).

    Args:
        seed: the seed of this grading run (default ``DEFAULT_SEED``).
    """
    token = _MODE.set(_Mode(seed, capture=False))
    try:
        yield
    finally:
        _MODE.reset(token)


def _placeholder(*args, **kwargs):
    raise NotImplementedError


def spec_of(check_fn: Callable, seed: int | None = None) -> Spec:
    """The reference, cases and comparison of a check built on :func:`check`; runs nothing.

    Args:
        check_fn: a chapter's check (``ch02.check_gibbs``).
        seed: the seed for cases drawn per run (default ``DEFAULT_SEED``).

    Returns:
        The exercise's :class:`Spec`.
    """
    if not callable(check_fn):
        raise TypeError(f"check_fn must be a check function; got {type(check_fn).__name__}")
    mode = _Mode(seed, capture=True)
    token = _MODE.set(mode)
    try:
        check_fn(_placeholder, quiet=True)
    finally:
        _MODE.reset(token)
    if mode.spec is None:
        raise ValueError(f"check_fn: {check_fn!r} does not call ebmlab.exercises.check")
    return mode.spec
