r"""The options of the solvers and learners, grouped and checked once.

- :class:`SolverConfig`: how :func:`ista`, :func:`fista` and :func:`admm` run and what they
  report (the stopping rule, the recorded energies, FISTA's restart).
- :class:`DictionaryConfig`: the options of :func:`learn_dictionary` (inner FISTA steps, the
  forgetting factor, the sign constraints).
- :class:`FilterConfig`: how :func:`learn_conv_filters` updates the kernels.

Each is a frozen dataclass whose fields are checked when it is built, so a solver handed one
does not check them again.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import Boolean, Int, Options, Real, check_fields

__all__ = ["SolverConfig", "DictionaryConfig", "FilterConfig"]


@dataclass(frozen=True)
class SolverConfig:
    """Options of the sparse-coding solvers (:func:`ista`, :func:`fista`, :func:`admm`).

    Args:
        tol: stop a signal when its :func:`duality_gap` is at most ``tol`` times its energy,
            checked every ``check_every`` iterations; ``None`` runs all the steps.
        check_every: how often ``tol`` is checked.
        record: keep the summed energy of the batch after each iteration (slower; with
            ``tol``, all signals then run until all of them meet it).
        restart: :func:`fista` only: reset a signal's momentum when the step goes against it
            (O'Donoghue and Candès, 2015).
    """

    tol: float | None = None
    check_every: int = 10
    record: bool = False
    restart: bool = True

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "tol": Real(low=0.0, low_open=True, optional=True),
                "check_every": Int(low=1),
                "record": Boolean(),
                "restart": Boolean(),
            },
        )


@dataclass(frozen=True)
class DictionaryConfig:
    """Options of :func:`learn_dictionary`.

    Args:
        inner_steps: FISTA iterations per batch.
        forget: in ``[0, 1)``, how much of the previous statistics is kept at each step.
        positive_code: constrain the codes to be non-negative (``fista(..., positive=True)``).
        positive_dict: constrain the atoms to be non-negative (each atom's step is clipped at 0
            before it is renormalised).
    """

    inner_steps: int = 50
    forget: float = 0.9
    positive_code: bool = False
    positive_dict: bool = False

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "inner_steps": Int(low=1),
                "forget": Real(low=0.0, high=0.9999),
                "positive_code": Boolean(),
                "positive_dict": Boolean(),
            },
        )


@dataclass(frozen=True)
class FilterConfig:
    """How :func:`learn_conv_filters` updates the kernels.

    Args:
        method: ``"adam"`` (one Adam step on the kernels per alternation) or ``"exact"`` (the
            kernels minimised with the codes fixed).
        lr: Adam's learning rate on the kernels (``method="adam"`` only).
        filter_steps: projected FISTA iterations per kernel step (``method="exact"`` only).
        envelope: if given, the initial random kernels are multiplied by a Gaussian of this
            standard deviation (in pixels) centred on the kernel; ``None`` keeps white noise.
    """

    method: str = "adam"
    lr: float = 0.02
    filter_steps: int = 30
    envelope: float | None = None

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "method": Options(("adam", "exact")),
                "lr": Real(low=0.0, low_open=True),
                "filter_steps": Int(low=1),
                "envelope": Real(low=0.0, low_open=True, optional=True),
            },
        )
