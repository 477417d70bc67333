"""The benchmarks of the book's appendix, side by side with their peers in one process:
:mod:`~ebmlab.bench.kmeans`, :mod:`~ebmlab.bench.sparse`, :mod:`~ebmlab.bench.ssl`
(``ebmlab bench NAME`` or ``python -m ebmlab.bench.NAME``). ``import ebmlab`` never loads them.

Every benchmark prints :func:`ebmlab.bench.machine` under its table: a ratio measured on one kind of CPU need
not hold on another.
"""

from __future__ import annotations

import os
import pathlib
import platform

__all__ = ["machine"]


def machine(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU a benchmark runs on, in one line: its model, its widest vector instructions
    (AVX-512, AVX2 or neither; unknown without the file) and the cores this process may use.

    Args:
        cpuinfo: the file to read the model and the instruction flags from (Linux's).

    Returns:
        For example ``"Intel(R) Xeon(R) Processor, AVX-512, 2 cores"``.
    """
    if not isinstance(cpuinfo, (str, os.PathLike)):
        raise TypeError(f"cpuinfo must be a path (str); got {type(cpuinfo).__name__}")
    model, flags = platform.processor() or platform.machine(), set()
    path = pathlib.Path(cpuinfo)
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    if not flags:
        isa = "instruction set unknown"
    else:
        isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {isa}, {cores} cores"
