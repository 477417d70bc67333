"""Runtime policy: seeds, the device, determinism and progress bars.

Every chapter calls :func:`seed_everything` before any randomness and :func:`device` to choose
where tensors live, so the same notebook runs on a laptop CPU, in Colab on a GPU and in CI.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from ._validation import check_int

__all__ = ["seed_everything", "device", "deterministic", "generator", "progress"]


def seed_everything(seed: int = 0) -> int:
    """Seed Python's ``random``, numpy and torch (CPU and every CUDA device).

    Returns the seed, so a chapter can print what it used. Seeding makes a run repeatable on one
    machine; across machines, printed numbers are rounded to what is stable.
    """
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - learners' code uses the global numpy stream
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed


def generator(seed: int | None = None, device: torch.device | str | None = None) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` (or from torch's global state when ``None``).

    Functions that draw random numbers take a ``seed`` and use their own generator, so calling
    them does not disturb the global stream the rest of a chapter relies on.
    """
    g = torch.Generator(device=device if device is not None else "cpu")
    if seed is None:
        g.manual_seed(int(torch.randint(0, 2**62, (1,)).item()))
    else:
        g.manual_seed(check_int(seed, "seed", low=0))
    return g


def device(prefer: str | None = None) -> torch.device:
    """Choose where tensors live: CUDA if available, then Apple's MPS, then the CPU.

    ``prefer`` (``"cpu"``, ``"cuda"``, ``"mps"``) overrides the choice, and so does the
    environment variable ``EBMLAB_DEVICE``; asking for a device that is not there is an error.
    """
    choice = prefer if prefer is not None else os.environ.get("EBMLAB_DEVICE")
    if choice is not None:
        if not isinstance(choice, str):
            raise TypeError(
                f"prefer must be a string such as 'cpu' or 'cuda'; got {type(choice).__name__}"
            )
        kind = choice.split(":")[0]
        if kind not in {"cpu", "cuda", "mps"}:
            raise ValueError(f"prefer must be 'cpu', 'cuda' or 'mps'; got {choice!r}")
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError("prefer='cuda' but torch.cuda.is_available() is False")
        if kind == "mps" and not (
            getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
        ):
            raise ValueError("prefer='mps' but the MPS backend is not available")
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def deterministic(enabled: bool = True) -> None:
    """Ask torch for deterministic kernels (slower on GPU; a no-op for most CPU work).

    With ``enabled=True`` a non-deterministic CUDA kernel raises instead of silently varying.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool; got {type(enabled).__name__}")
    torch.use_deterministic_algorithms(enabled, warn_only=False)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def progress(iterable: Iterable, desc: str = "", every: int = 0) -> Iterator:
    """Iterate, optionally printing a progress line every ``every`` items.

    The policy: no progress bars by default. Bars redraw with timings that change from run to
    run, which breaks the comparison of stored outputs (nbval) and clutters the website. Set the
    environment variable ``EBMLAB_PROGRESS=1`` to get a line on stderr every ``every`` items.
    """
    every = check_int(every, "every", low=0)
    show = os.environ.get("EBMLAB_PROGRESS") == "1" and every > 0
    for i, item in enumerate(iterable):
        if show and i % every == 0:
            print(f"{desc} {i}", file=sys.stderr, flush=True)
        yield item


def _default_threads() -> int:
    """The course's CPU thread policy: one thread, unless ``EBMLAB_THREADS`` or
    ``OMP_NUM_THREADS`` asks for more.

    The tensors of every chapter are small (at most a few thousand rows, layers of a few hundred
    units): splitting such an operation over several threads costs more in synchronisation than
    it saves, and on a machine whose cores are busy with other programs it can cost ten times
    more. So ``import ebmlab`` sets torch to one thread, and a chapter never has to.
    """
    if "EBMLAB_THREADS" in os.environ:
        raw = os.environ["EBMLAB_THREADS"]
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(
                f"the environment variable EBMLAB_THREADS must be a whole number of threads "
                f"(>= 1); got {raw!r}"
            ) from None
        return check_int(value, "the environment variable EBMLAB_THREADS", low=1)
    if "OMP_NUM_THREADS" in os.environ:
        return torch.get_num_threads()  # torch already follows it
    return 1


torch.set_num_threads(_default_threads())

# The test harness (``make test``, ``make refresh``) sets EBMLAB_DETERMINISTIC=1 so that every
# chapter runs with deterministic kernels without a line about it in what a reader sees.
if os.environ.get("EBMLAB_DETERMINISTIC") == "1":
    deterministic(True)
