r"""Benchmark: ebmlab's :class:`~ebmlab.kmeans.KMeans` beside scikit-learn's, in one process.

Run ``python -m ebmlab.bench.kmeans`` (``--help`` for the options). For every data set and
every :math:`k` both libraries get

* the same data, in the same floating type (float64 by default, so the final energies can be
  compared to many digits);
* the same number of threads (``torch.set_num_threads`` and ``threadpoolctl``);
* the same initial prototypes: ebmlab's k-means++ draw, passed to scikit-learn as ``init=``;
* the same algorithm and stopping rule: Lloyd's, run until the labels stop changing
  (``tol=0``; scikit-learn with ``n_init=1, algorithm="lloyd"``).

Each fit is timed ``repeats`` times or more (until each library has spent ``min_seconds``
fitting), the two libraries alternating so that both see the same load, and the best time is
divided by the number of iterations (the best of many runs is the estimate least disturbed by
other work on a shared machine). The table gives milliseconds per
iteration, the ratio ``sklearn / ebmlab`` (above 1: ebmlab is faster) and the relative
difference of the final energies (inertia). It also says which of ebmlab's two exact loops ran:
the plain one or the one with Hamerly's bounds (:func:`ebmlab.kmeans.lloyd`, ``bounds="auto"``).

The digits' pixels are multiples of 1/16 and k-means++ starts from data points, so the first
assignment has exact ties, which each library breaks by its own rounding (scikit-learn centres
the data first); the two runs can then descend into different local minima. Uniform noise of
amplitude ``jitter`` (1e-9 by default, far below the data's resolution of 0.06) removes the ties;
both libraries see the same perturbed data.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .._validation import Int, Options, Real, Seed, as_tensor, check_int, check_scalar, validate
from ..data import digits, image_patches
from ..kmeans import AUTO_BOUNDS_MIN_NK, KMeans, kmeans_plusplus
from . import machine

__all__ = ["CaseConfig", "run_case", "main"]

# ebmlab's Lloyd loop, by its name on the command line: the ``bounds`` argument of KMeans
_LOOPS = {"auto": "auto", "plain": False, "bounds": True}


@dataclass(frozen=True)
class CaseConfig:
    r"""How one case is run and timed (the same for every data set and :math:`k`).

    Args:
        repeats: timed fits per library (the best is kept), :math:`\ge 1`.
        threads: threads for both libraries, :math:`\ge 1`.
        seed: seed of the k-means++ draw.
        max_iter: the most Lloyd iterations, :math:`\ge 1`.
        min_seconds: keep timing until each library has spent at least this long fitting,
            :math:`\ge 0`.
        loop: ebmlab's loop: ``"auto"``, ``"bounds"`` (Hamerly's bounds) or ``"plain"``.
    """

    repeats: int = 20
    threads: int = 1
    seed: int = 0
    max_iter: int = 300
    min_seconds: float = 1.0
    loop: str = "auto"

    _constraints = {
        "repeats": Int(low=1),
        "threads": Int(low=1),
        "seed": Seed(),
        "max_iter": Int(low=1),
        "min_seconds": Real(low=0.0),
        "loop": Options(tuple(_LOOPS)),
    }

    def __post_init__(self) -> None:
        for name, value in validate(self._constraints, asdict(self)).items():
            object.__setattr__(self, name, value)


def run_case(name: str, Y: torch.Tensor, k: int, config: CaseConfig | None = None) -> dict:
    r"""Fit both libraries on ``Y`` from the same k-means++ start and time them.

    Args:
        name: the data set's name, for the table.
        Y: data, ``(n, d)``, in the floating type to benchmark (on the CPU).
        k: number of prototypes.
        config: how to run and time the case (:class:`CaseConfig`; ``None``: the defaults).

    Returns:
        A dict with the data set, its shape, ``k``, the dtype and threads, each library's
        iterations, milliseconds per iteration and final inertia, the ``ratio``
        (sklearn time / ebmlab time per iteration) and ``inertia_rel_diff``.
    """
    from sklearn.cluster import KMeans as SKKMeans
    from threadpoolctl import threadpool_limits

    Y = as_tensor(Y, "Y", ndim=2)
    if Y.device.type != "cpu":
        raise ValueError(f"Y must be on the CPU to compare with scikit-learn; got {Y.device}")
    if config is None:
        config = CaseConfig()
    elif not isinstance(config, CaseConfig):
        raise TypeError(f"config must be a CaseConfig; got {type(config).__name__}")
    threads, seed, max_iter = config.threads, config.seed, config.max_iter
    bounds = _LOOPS[config.loop]
    used = Y.shape[0] * k >= AUTO_BOUNDS_MIN_NK if bounds == "auto" else bounds
    Y_np = Y.numpy()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            init, _ = kmeans_plusplus(Y, k, seed=seed)
            ours = KMeans(k, init=init, tol=0.0, max_iter=max_iter, bounds=bounds)
            theirs = SKKMeans(
                n_clusters=k,
                init=init.numpy(),
                n_init=1,
                algorithm="lloyd",
                tol=0.0,
                max_iter=max_iter,
                random_state=seed,
            )
            ours.fit(Y)  # warm-up: first-call costs (allocations, BLAS set-up) are not timed
            theirs.fit(Y_np)
            t_ours, t_theirs = [], []
            # at least `repeats` fits each, and at least `min_seconds` of fitting each: a short
            # burst of other work on the machine cannot then cover every run of a fast case
            while (
                len(t_ours) < config.repeats or min(sum(t_ours), sum(t_theirs)) < config.min_seconds
            ):
                start = time.perf_counter()
                ours.fit(Y)
                t_ours.append(time.perf_counter() - start)
                start = time.perf_counter()
                theirs.fit(Y_np)
                t_theirs.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    ms_ours = 1e3 * min(t_ours) / ours.n_iter_
    ms_theirs = 1e3 * min(t_theirs) / theirs.n_iter_
    return {
        "data": name,
        "n": int(Y.shape[0]),
        "d": int(Y.shape[1]),
        "k": int(k),
        "dtype": str(Y.dtype).replace("torch.", ""),
        "threads": threads,
        "bounds": bool(used),  # which of ebmlab's two exact loops ran
        "n_iter_ebmlab": int(ours.n_iter_),
        "n_iter_sklearn": int(theirs.n_iter_),
        "ms_per_iter_ebmlab": ms_ours,
        "ms_per_iter_sklearn": ms_theirs,
        "ratio": ms_theirs / ms_ours,
        "inertia_ebmlab": float(ours.inertia_),
        "inertia_sklearn": float(theirs.inertia_),
        "inertia_rel_diff": abs(ours.inertia_ - theirs.inertia_) / abs(theirs.inertia_),
    }


def _datasets(names, n_rows, n_patches, jitter, dtype):
    out = []
    for name in names:
        if name == "digits":
            Y = digits()[0].to(torch.float64)
            if jitter > 0:
                g = torch.Generator().manual_seed(0)
                Y = Y + jitter * torch.rand(Y.shape, generator=g, dtype=torch.float64)
        else:
            Y = image_patches(n=n_patches, seed=0).to(torch.float64)
        if n_rows is not None:
            Y = Y[:n_rows]
        out.append((name, Y.to(dtype).contiguous()))
    return out


def _table(rows: list[dict]) -> str:
    head = (
        "| data | n × d | k | iterations (ebmlab / sklearn) | ebmlab ms/iter | sklearn ms/iter "
        "| ratio (sklearn / ebmlab) | inertia rel. diff. | ebmlab loop |"
    )
    lines = [head, "|" + " --- |" * 9]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['n']} × {r['d']} | {r['k']} | "
            f"{r['n_iter_ebmlab']} / {r['n_iter_sklearn']} | {r['ms_per_iter_ebmlab']:.3f} | "
            f"{r['ms_per_iter_sklearn']:.3f} | {r['ratio']:.2f} | {r['inertia_rel_diff']:.1e} | "
            f"{'bounds' if r['bounds'] else 'plain'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark, print a markdown table, and return one dict per case.

    Args:
        argv: command-line arguments (``None``: ``sys.argv``); see ``--help``.

    Returns:
        The rows of the table, as dicts (see :func:`run_case`).
    """
    p = argparse.ArgumentParser(
        prog="python -m ebmlab.bench.kmeans",
        description="ebmlab KMeans vs scikit-learn KMeans (Lloyd), same data, start and threads.",
    )
    p.add_argument(
        "--data", nargs="+", default=["digits", "patches"], choices=["digits", "patches"]
    )
    p.add_argument("--ks", nargs="+", type=int, default=[10, 64], help="numbers of prototypes")
    p.add_argument("--repeats", type=int, default=20, help="timed fits per library (best kept)")
    p.add_argument("--threads", type=int, default=1, help="threads for both libraries")
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--n-rows", type=int, default=None, help="use only the first N rows")
    p.add_argument("--n-patches", type=int, default=10_000, help="number of image patches")
    p.add_argument("--jitter", type=float, default=1e-9, help="noise added to the digits")
    p.add_argument("--max-iter", type=int, default=300)
    p.add_argument(
        "--loop",
        choices=list(_LOOPS),
        default="auto",
        help=f"ebmlab's Lloyd loop (auto: the bounds when n k >= {AUTO_BOUNDS_MIN_NK})",
    )
    p.add_argument(
        "--min-seconds", type=float, default=1.0, help="least fitting time per library and case"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the k-means++ start")
    a = p.parse_args(argv)
    n_rows = None if a.n_rows is None else check_int(a.n_rows, "n_rows", low=1)
    n_patches = check_int(a.n_patches, "n_patches", low=1)
    jitter = check_scalar(a.jitter, "jitter", low=0.0)
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    config = CaseConfig(a.repeats, a.threads, a.seed, a.max_iter, a.min_seconds, a.loop)
    rows = []
    for name, Y in _datasets(a.data, n_rows, n_patches, jitter, dtype):
        for k in a.ks:
            rows.append(run_case(name, Y, k, config))
    print(_table(rows))
    print(
        f"\nbest of at least {a.repeats} fits and {a.min_seconds:g} s per library and case, "
        f"{a.threads} thread(s), {a.dtype}, "
        f"torch {torch.__version__}, numpy {np.__version__}\nCPU: {machine()}"
    )
    return rows


if __name__ == "__main__":
    main()
