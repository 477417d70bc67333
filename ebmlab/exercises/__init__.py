"""Checks that grade the exercises, one module per chapter (``ch02``, ``ch05``, ...).

Every chapter module defines ``EXERCISES``: a dict from the exercise's name to an
:class:`Exercise` (its check, its reference solution, what it teaches). A learner calls a check
in the notebook (``ebmlab.exercises.ch02.check_gibbs(my_gibbs)``); the grader and the tests walk
:func:`registry`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

from ._core import Case, CheckResult, allclose, check

__all__ = ["Case", "CheckResult", "Exercise", "allclose", "check", "registry"]


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
