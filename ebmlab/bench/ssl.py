"""Benchmark of chapter 8: the memory of NT-Xent, beside pytorch-metric-learning's.

Run ``python -m ebmlab.bench.ssl`` (``--help`` for the options). Each loss (ours,
:func:`ebmlab.ssl.nt_xent`, and, when it is installed,
``pytorch_metric_learning.losses.NTXentLoss``) runs forward and backward on ``N`` random pairs in
a **fresh subprocess**; the peak is the growth of the process's maximum resident set size
(``resource.getrusage(...).ru_maxrss``) from just before the loss to just after the backward
pass, so it counts every intermediate torch allocates on the CPU (``tracemalloc`` cannot see
torch's allocations). Ours builds one :math:`2N\\times2N` similarity matrix;
pytorch-metric-learning builds an :math:`O(N^3)` tensor, so it is only run up to
``--peer-max-n``. Both losses are also compared in value (they compute the same quantity).
The accuracy of the methods is chapter 8's probe table, executed with the book.

``main(argv)`` returns the results as dicts and prints them as a markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import textwrap

from .._validation import Int, Options, Real, checked
from . import machine

__all__ = ["nt_xent_memory", "main"]

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import torch
    torch.set_num_threads(1)
    impl, n, d, tau = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])

    def make(n):
        g = torch.Generator().manual_seed(0)
        z1 = torch.randn(n, d, generator=g, requires_grad=True)
        z2 = torch.randn(n, d, generator=g, requires_grad=True)
        if impl == "ebmlab":
            from ebmlab.ssl import nt_xent
            return lambda: nt_xent(z1, z2, tau)
        from pytorch_metric_learning.losses import NTXentLoss
        peer, labels = NTXentLoss(temperature=tau), torch.arange(n).repeat(2)
        return lambda: peer(torch.cat([z1, z2]), labels)

    make(4)().backward()  # load the code paths on a tiny batch
    fn = make(n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    loss = fn()
    loss.backward()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"loss": float(loss), "peak_mb": (after - before) / 1024, "s": seconds}))
    """
)


@checked(
    n=Int(low=2), impl=Options(("ebmlab", "pml")), dim=Int(low=1), tau=Real(low=0.0, low_open=True)
)
def nt_xent_memory(
    n: int, impl: str = "ebmlab", dim: int = 128, tau: float = 0.5
) -> dict[str, float]:
    """Peak extra memory (MB, RSS growth) and time of one forward + backward of NT-Xent.

    Runs in a fresh Python process (see the module's docstring for how it is measured).

    Args:
        n: number of pairs :math:`N` (the batch holds :math:`2N` embeddings).
        impl: ``"ebmlab"`` or ``"pml"`` (pytorch-metric-learning's ``NTXentLoss``).
        dim: embedding dimension.
        tau: the loss's temperature :math:`\\tau`.

    Returns:
        ``{"loss", "peak_mb", "s"}``.
    """
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, impl, str(n), str(dim), str(tau)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _markdown(rows: list[dict], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = [f"{r[k]:.3g}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, list[dict]]:
    """Run the benchmark; print a markdown table; return ``{"memory": [...]}``."""
    p = argparse.ArgumentParser(
        prog="python -m ebmlab.bench.ssl", description=__doc__.split("\n")[0]
    )
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512], help="pairs N")
    p.add_argument("--dim", type=int, default=128, help="embedding dimension")
    p.add_argument(
        "--peer-max-n",
        type=int,
        default=256,
        help="largest N given to pytorch-metric-learning (its memory grows as N^3)",
    )
    args = p.parse_args(argv)

    have_pml = importlib.util.find_spec("pytorch_metric_learning") is not None
    memory = []
    for n in args.sizes:
        ours = nt_xent_memory(n, "ebmlab", args.dim)
        row = {
            "N": n,
            "2N x 2N matrix MB": (2 * n) ** 2 * 4 / 2**20,
            "ebmlab peak MB": ours["peak_mb"],
            "ebmlab s": ours["s"],
        }
        if have_pml and n <= args.peer_max_n:
            peer = nt_xent_memory(n, "pml", args.dim)
            row.update(
                {
                    "pml peak MB": peer["peak_mb"],
                    "pml s": peer["s"],
                    "|loss difference|": abs(peer["loss"] - ours["loss"]),
                }
            )
        else:
            why = "not installed" if not have_pml else f"skipped (N > {args.peer_max_n})"
            row.update({"pml peak MB": why, "pml s": "", "|loss difference|": ""})
        memory.append(row)
    print(
        f"NT-Xent forward + backward: peak RSS growth in a fresh process (float32, d = {args.dim})"
    )
    print(_markdown(memory, list(memory[0].keys())))
    print(f"CPU: {machine()}")
    return {"memory": memory}


if __name__ == "__main__":
    main()
