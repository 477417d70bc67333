"""Checks for chapter 1 (self-supervised learning: blurry averages, latent variables, tokens)."""

from __future__ import annotations

import torch

from . import Exercise
from ._compare import indices, pair
from ._core import Case, CheckResult, allclose, check, rng

__all__ = [
    "check_conditional_mean",
    "check_best_hypothesis",
    "check_masked_distribution",
    "check_blur_error",
    "EXERCISES",
]


def _conditional_mean_reference(x: torch.Tensor, y: torch.Tensor, edges: torch.Tensor):
    """Mean of ``y`` over the samples whose ``x`` falls in ``[edges[i], edges[i+1])``; NaN if none."""
    idx = torch.bucketize(x, edges, right=True) - 1  # bin i holds edges[i] <= x < edges[i+1]
    m = edges.numel() - 1
    inside = (idx >= 0) & (idx < m)
    sums = torch.zeros(m, dtype=y.dtype).index_add_(0, idx[inside], y[inside])
    counts = torch.zeros(m, dtype=y.dtype).index_add_(0, idx[inside], torch.ones_like(y[inside]))
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))


def _conditional_mean_cases(seed: int) -> list[Case]:
    g = rng(101, seed)
    x = torch.rand(300, generator=g) * 2 - 1
    s = torch.randint(0, 2, (300,), generator=g) * 2.0 - 1.0
    return [
        Case(
            (
                torch.tensor([0.1, 0.2, 0.6]),
                torch.tensor([1.0, 3.0, 5.0]),
                torch.tensor([0.0, 0.5, 1.0]),
            ),
            what="three points, two bins",
        ),
        Case(
            (x, s * x.clamp(min=0), torch.linspace(-1, 1, 9)),
            what="a fork: the mean of the two branches",
        ),
        Case(
            (torch.tensor([0.1, 0.15]), torch.tensor([2.0, 4.0]), torch.tensor([0.0, 0.5, 1.0])),
            what="an empty bin",
            hint="a bin with no sample has no mean: return NaN there (e.g. float('nan'))",
        ),
        Case(
            (
                torch.tensor([0.5, 0.7, 1.5]),
                torch.tensor([1.0, 2.0, 9.0]),
                torch.tensor([0.0, 0.5, 1.0]),
            ),
            what="a point outside every bin",
            hint="bins are half-open, [edges[i], edges[i+1]); points outside all bins are ignored",
        ),
        Case(
            (
                torch.tensor([-0.3, -0.01, 0.2, 0.7]),
                torch.tensor([9.0, 7.0, 1.0, 3.0]),
                torch.tensor([0.0, 0.5, 1.0]),
            ),
            what="points below the first edge",
            hint="a point with x < edges[0] is in no bin (int() rounds -0.3 towards 0, into bin 0)",
        ),
        Case(
            (
                torch.tensor([0.0, 0.5, 0.75, 1.0]),
                torch.tensor([1.0, 2.0, 4.0, 50.0]),
                torch.tensor([0.0, 0.5, 1.0]),
            ),
            what="points on the edges, one on the last edge",
            hint="x = edges[i] belongs to bin i; x = edges[-1] is outside [edges[-2], edges[-1])",
        ),
    ]


def check_conditional_mean(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(x, y, edges)``: the mean of ``y`` in each bin ``[edges[i], edges[i+1])`` of
    ``x`` (NaN for an empty bin) — what least squares learns, :math:`\mathbb E[y \mid x]`."""
    return check(
        fn,
        _conditional_mean_reference,
        _conditional_mean_cases,
        name="conditional_mean",
        quiet=quiet,
    )


def _best_hypothesis_reference(y: torch.Tensor, predictions: torch.Tensor):
    e = ((y[:, None, :] - predictions) ** 2).sum(-1)
    value, z = e.min(dim=1)
    return z, value


def _best_hypothesis_cases(seed: int) -> list[Case]:
    g = rng(11, seed)
    return [
        Case(
            (torch.tensor([[0.8]]), torch.tensor([[[0.0], [1.0]]])),
            what="one sample, two 1-D predictions",
        ),
        Case(
            (torch.randn(6, 2, generator=g), torch.randn(6, 3, 2, generator=g)),
            what="6 samples, 3 predictions in 2-D",
            hint="the energy is the squared distance summed over the last dimension",
        ),
        Case(
            (torch.rand(4, 16, generator=g), torch.rand(4, 5, 16, generator=g)),
            what="images of 16 pixels, 5 predictions",
        ),
    ]


def check_best_hypothesis(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(y, predictions) -> (z, F)``: the best prediction :math:`z` and its energy
    :math:`F_\infty = \min_k \lVert y - \hat y_k\rVert^2`, for targets ``(B, d)`` and predictions
    ``(B, K, d)``."""
    return check(
        fn,
        _best_hypothesis_reference,
        _best_hypothesis_cases,
        name="best_hypothesis",
        compare=pair(("z", "F"), indices(), allclose()),
        quiet=quiet,
    )


def _masked_distribution_reference(
    contexts: torch.Tensor, tokens: torch.Tensor, n_contexts: int, vocab: int
) -> torch.Tensor:
    counts = torch.zeros(n_contexts, vocab)
    counts.index_put_((contexts, tokens), torch.ones(len(tokens)), accumulate=True)
    total = counts.sum(1, keepdim=True)
    return torch.where(total > 0, counts / total.clamp(min=1), torch.full_like(counts, 1.0 / vocab))


def _masked_distribution_cases(seed: int) -> list[Case]:
    g = rng(5, seed)
    return [
        Case(
            (torch.tensor([0, 0, 0, 1]), torch.tensor([2, 2, 1, 0]), 2, 3),
            what="two contexts, three words",
        ),
        Case(
            (
                torch.randint(0, 4, (200,), generator=g),
                torch.randint(0, 6, (200,), generator=g),
                4,
                6,
            ),
            what="200 masked words in 4 contexts",
            hint="count how often each word fills each context, then normalise each row",
        ),
        Case(
            (torch.tensor([0, 0, 2]), torch.tensor([1, 3, 3]), 3, 4),
            what="a context never seen",
            hint="with no data, the softmax's optimum is undetermined: return the uniform row 1/vocab",
        ),
    ]


def check_masked_distribution(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(contexts, tokens, n_contexts, vocab)``: the table
    :math:`P(w \mid c) = n(c, w) / n(c)` that minimises the cross-entropy of a softmax over the
    vocabulary (uniform rows for contexts never seen)."""
    return check(
        fn,
        _masked_distribution_reference,
        _masked_distribution_cases,
        name="masked_distribution",
        quiet=quiet,
    )


# --------------------------------------------------------------------------- experiment: the blur


def _blur_error_reference(gap: torch.Tensor, noise: torch.Tensor, p: torch.Tensor):
    """Measured: the mean squared error of the least-squares (constant) prediction of
    ``y = gap * b + noise * eps`` with ``b ~ Bernoulli(p)``, on 50,000 draws per setting."""
    g = torch.Generator().manual_seed(11)
    n = 50_000
    out = []
    for a, s, q in zip(gap.tolist(), noise.tolist(), p.tolist()):
        b = (torch.rand(n, generator=g, dtype=torch.float64) < q).double()
        y = a * b + s * torch.randn(n, generator=g, dtype=torch.float64)
        out.append(((y - y.mean()) ** 2).mean())  # the best constant is the mean
    return torch.stack(out).to(gap.dtype)


def _blur_error_cases(seed: int) -> list[Case]:
    g = rng(1717, seed)

    def draw(m, low, high):
        return low + (high - low) * torch.rand(m, generator=g, dtype=torch.float64)

    hint = (
        "the mean lies between the branches; its error has two parts: the spread of y around "
        "each branch (noise^2) and the branches' own spread around the mean (a Bernoulli's "
        "variance, scaled by gap^2)"
    )
    return [
        Case(
            (
                torch.tensor([2.0], dtype=torch.float64),
                torch.tensor([0.1], dtype=torch.float64),
                torch.tensor([0.5], dtype=torch.float64),
            ),
            what="two branches 2 apart, equally likely, noise 0.1",
            hint=hint,
        ),
        Case(
            (draw(4, 0.5, 3.0), draw(4, 0.05, 0.3), torch.full((4,), 0.5, dtype=torch.float64)),
            what="four forks, branches equally likely",
            hint=hint,
        ),
        Case(
            (draw(5, 0.5, 3.0), draw(5, 0.05, 0.3), draw(5, 0.05, 0.3)),
            what="five forks whose upper branch is rare",
            hint="with P(upper) = p the branches' spread is p (1 - p) gap^2, not gap^2 / 4",
        ),
        Case(
            (torch.zeros(3, dtype=torch.float64), draw(3, 0.2, 1.0), draw(3, 0.2, 0.8)),
            what="no fork (gap 0): the noise alone",
            hint="with one branch the mean is right, up to the noise: the error is noise^2",
        ),
    ]


def check_blur_error(fn, quiet: bool = False) -> CheckResult:
    r"""Check ``fn(gap, noise, p)``: the predicted mean squared error of the least-squares
    prediction of :math:`y = g\,b + \sigma\varepsilon`, :math:`b\sim\mathrm{Bernoulli}(p)`,
    against the error measured on samples (to 3 %)."""
    return check(
        fn,
        _blur_error_reference,
        _blur_error_cases,
        name="blur_error",
        compare=allclose(0.03, 1e-3),
        quiet=quiet,
    )


EXERCISES = {
    "conditional_mean": Exercise(
        check_conditional_mean,
        _conditional_mean_reference,
        "See that least squares learns the conditional mean, a blur between the modes",
        "easy",
        10,
    ),
    "best_hypothesis": Exercise(
        check_best_hypothesis,
        _best_hypothesis_reference,
        "Zero-temperature inference of a discrete latent: pick the best prediction",
        "easy",
        10,
    ),
    "masked_distribution": Exercise(
        check_masked_distribution,
        _masked_distribution_reference,
        "The optimum of a softmax over masked words is the table of conditional frequencies",
        "medium",
        15,
    ),
    "blur_error": Exercise(
        check_blur_error,
        _blur_error_reference,
        "Derive the squared error of the blurry least-squares prediction; check it by sampling",
        "medium",
        20,
    ),
}
