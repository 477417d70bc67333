"""Checks for chapter 8 (contrastive self-supervised learning: SimCLR, PIRL, MoCo)."""

from __future__ import annotations

import torch

from ..ssl import memory_update, nt_xent, pirl_nce, translate
from . import Exercise
from ._core import Case, CheckResult, allclose, check, rng

__all__ = ["check_nt_xent", "check_translate", "check_memory_update", "check_pirl_nce"]
__all__ += ["EXERCISES"]


def _nt_xent_reference(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    return nt_xent(z1, z2, tau)


def _nt_xent_cases(seed: int) -> list[Case]:
    g = rng(808, seed)
    base = torch.randn(6, 5, generator=g)
    return [
        Case(
            (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), 1.0),
            what="two pairs of identical unit vectors",
            hint="each row of [z1; z2] has 2N - 1 candidates: itself is excluded",
        ),
        Case(
            (torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g), 0.5),
            what="4 pairs, tau = 0.5",
            hint="the positive of row i < N is row i + N, and of row i >= N is row i - N",
        ),
        Case(
            (3.0 * torch.randn(8, 6, generator=g), 0.2 * torch.randn(8, 6, generator=g), 0.3),
            what="vectors of very different lengths",
            hint="normalise every row to unit length before taking dot products (cosine)",
        ),
        Case(
            (base, base + 0.05 * torch.randn(6, 5, generator=g), 0.01),
            what="tau = 0.01",
            hint="exp(1 / 0.01) overflows float32; use torch.logsumexp or F.cross_entropy",
        ),
        Case(
            (torch.randn(16, 32, generator=g), torch.randn(16, 32, generator=g), 0.1),
            what="16 pairs in 32 dimensions",
        ),
    ]


def check_nt_xent(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(z1, z2, tau)``: SimCLR's NT-Xent loss (mean over the :math:`2N` rows) at
    temperature ``tau``."""
    return check(
        fn,
        _nt_xent_reference,
        _nt_xent_cases,
        name="nt_xent",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


def _translate_cases(seed: int) -> list[Case]:
    g = rng(88, seed)
    x = torch.rand(4, 1, 5, 6, generator=g)
    return [
        Case((x, 0, 0), what="no shift returns the images"),
        Case((x, 1, 0), what="one pixel to the right", hint="the first column becomes zero"),
        Case((x, 0, -2), what="two pixels up", hint="negative dy moves the content up"),
        Case(
            (x, torch.tensor([1, -1, 0, 2]), torch.tensor([0, 1, -1, 3])),
            what="a different shift for every image",
            hint="dx and dy may be tensors with one integer per image",
        ),
        Case(
            (torch.rand(2, 3, 4, 4, generator=g), 5, 0),
            what="a shift larger than the image",
            hint="everything leaves the picture: the result is all zeros",
        ),
        Case(
            (x, -7, -9),
            what="shifts left and up, larger than the image",
            hint="a shift of -7 on a width of 6 moves everything out: all zeros",
        ),
        Case(
            (x, torch.tensor([-6, -3, -20, 7]), torch.tensor([-5, 2, 0, -4])),
            what="large negative shifts, one per image",
            hint="clamp the kept range to [0, W): a negative index wraps around in Python",
        ),
    ]


def check_translate(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(x, dx, dy)``: shift images ``(B, C, H, W)`` by whole pixels, zeros entering."""
    return check(fn, translate, _translate_cases, name="translate", quiet=quiet)


def _memory_cases(seed: int) -> list[Case]:
    g = rng(8, seed)
    bank = torch.nn.functional.normalize(torch.randn(10, 4, generator=g), dim=1)
    return [
        Case(
            (bank, torch.tensor([3]), torch.randn(1, 4, generator=g), 0.0),
            what="momentum 0 stores the new embedding, normalised",
            hint="divide the new row by its L2 norm",
        ),
        Case(
            (bank, torch.tensor([0, 7]), torch.randn(2, 4, generator=g), 1.0),
            what="momentum 1 keeps the bank",
        ),
        Case(
            (bank, torch.tensor([2, 5, 9]), torch.randn(3, 4, generator=g), 0.5),
            what="three rows, momentum 0.5",
            hint="m <- normalise(mu * m + (1 - mu) * v); rows not in index stay as they were",
        ),
        Case(
            (bank, torch.tensor([9, 1]), 5.0 * torch.randn(2, 4, generator=g), 0.9),
            what="long new vectors, momentum 0.9",
            hint="mix first, then normalise the mixture (not the new vector alone)",
        ),
    ]


def check_memory_update(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(bank, index, values, momentum)``: PIRL's moving-average memory-bank update
    :math:`m_I \leftarrow (\mu m_I + (1-\mu) v_I)/\|\mu m_I + (1-\mu) v_I\|`."""
    return check(fn, memory_update, _memory_cases, name="memory_update", quiet=quiet)


def _pirl_nce_reference(query, positive, negatives, tau: float) -> torch.Tensor:
    return pirl_nce(query, positive, negatives, tau)


def _pirl_cases(seed: int) -> list[Case]:
    g = rng(8080, seed)
    q = torch.randn(6, 5, generator=g)
    return [
        Case(
            (
                torch.tensor([[1.0, 0.0]]),
                torch.tensor([[0.6, 0.8]]),
                torch.tensor([[0.0, 1.0], [-1.0, 0.0]]),
                0.5,
            ),
            what="the chapter's example: cosines 0.6, 0 and -1, tau = 0.5",
            hint="Z = sum over negatives of exp(s(query, n) / tau); h(x) = e^(x/tau) / (e^(x/tau) "
            "+ Z); the loss is -log h(positive) - sum over negatives of log(1 - h(negative))",
        ),
        Case(
            (
                torch.randn(4, 3, generator=g),
                torch.randn(4, 3, generator=g),
                torch.randn(7, 3, generator=g),
                0.5,
            ),
            what="a batch of 4, 7 shared negatives",
            hint="one loss per row of the batch, then the mean over the batch; the negatives' "
            "terms are summed, not averaged",
        ),
        Case(
            (
                3.0 * q,
                0.1 * (q + 0.3 * torch.randn(6, 5, generator=g)),
                5.0 * torch.randn(10, 5, generator=g),
                0.3,
            ),
            what="vectors of very different lengths",
            hint="s is the cosine similarity: normalise every vector to unit length first",
        ),
        Case(
            (q, q + 0.05 * torch.randn(6, 5, generator=g), torch.randn(20, 5, generator=g), 0.01),
            what="tau = 0.01",
            hint="exp(1 / 0.01) overflows float32: write log h and log(1 - h) with "
            "torch.logsumexp and torch.logaddexp",
        ),
        Case(
            (
                torch.randn(8, 16, generator=g),
                torch.randn(8, 16, generator=g),
                torch.randn(64, 16, generator=g),
                0.2,
            ),
            what="8 images, 64 negatives in 16 dimensions",
            hint="Z compares the QUERY g(v_It) with the negatives, not the positive",
        ),
    ]


def check_pirl_nce(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(query, positive, negatives, tau)``: PIRL's NCE loss of the lecture notes,
    :math:`-\log h(\text{positive}) - \sum_{I'} \log\big(1 - h(\text{negative}_{I'})\big)`,
    averaged over the batch, with negatives ``(K, d)`` shared by the batch."""
    return check(
        fn,
        _pirl_nce_reference,
        _pirl_cases,
        name="pirl_nce",
        compare=allclose(1e-4, 1e-5),
        quiet=quiet,
    )


EXERCISES = {
    "nt_xent": Exercise(
        check_nt_xent,
        _nt_xent_reference,
        "Write SimCLR's NT-Xent loss as a cross-entropy over a similarity matrix",
        "medium",
        20,
    ),
    "translate": Exercise(
        check_translate,
        translate,
        "Write a batched, deterministic augmentation (integer shifts with zero fill)",
        "easy",
        15,
    ),
    "memory_update": Exercise(
        check_memory_update,
        memory_update,
        "Update PIRL's memory bank: a moving average kept on the unit sphere",
        "easy",
        10,
    ),
    "pirl_nce": Exercise(
        check_pirl_nce,
        _pirl_nce_reference,
        "Write PIRL's NCE loss against a bank of negatives, stable at small temperatures",
        "medium",
        20,
    ),
}
