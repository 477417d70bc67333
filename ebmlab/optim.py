r"""The optimisation mechanisms the methods share, each written once.

- :func:`shrink`: soft thresholding, the proximal operator of the L1 norm (sparse coding,
  LISTA, the L1-regularised latent of chapter 7).
- :func:`fista_momentum`: Nesterov's momentum rule as FISTA uses it.
- :func:`power_iteration`: the largest eigenvalue of a symmetric positive semi-definite operator
  given only by its products.
- :func:`minibatches`: index batches for one pass over the data, or one batch drawn with
  replacement.
- :func:`train`: the gradient loop (zero the gradients, backward, step, record) that every
  ``fit_*`` and ``train_*`` function runs, returning one :class:`~ebmlab.base.History`.

These are internal cores: they do not check their arguments, because the public functions that
call them already have.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from .base import History

__all__ = ["shrink", "fista_momentum", "power_iteration", "minibatches", "train"]


def shrink(x: torch.Tensor, threshold: float | torch.Tensor) -> torch.Tensor:
    r"""Soft thresholding, :math:`\operatorname{sign}(x)\max(|x| - \theta, 0)`.

    Computed as :math:`x - \operatorname{clamp}(x, -\theta, \theta)`; ``threshold`` is a number
    or a tensor broadcastable to ``x`` (one threshold per component, as in LISTA).
    """
    if isinstance(threshold, torch.Tensor):
        return x - torch.maximum(torch.minimum(x, threshold), -threshold)
    return x - x.clamp(-threshold, threshold)


def fista_momentum(t):
    r"""Beck and Teboulle's momentum rule: :math:`t_{k+1} = \tfrac12\big(1 + \sqrt{1 + 4t_k^2}
    \big)` and the extrapolation weight :math:`(t_k - 1)/t_{k+1}`.

    ``t`` is a Python float or a tensor (one :math:`t` per signal); returns
    ``(t_next, weight)`` of the same kind.
    """
    if isinstance(t, torch.Tensor):
        t_next = 0.5 * (1.0 + torch.sqrt(1.0 + 4.0 * t * t))
    else:
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    return t_next, (t - 1.0) / t_next


def power_iteration(
    apply: Callable[[torch.Tensor], torch.Tensor],
    v: torch.Tensor,
    iters: int,
    *,
    eps: float = 0.0,
) -> torch.Tensor:
    r"""Power iteration :math:`v \leftarrow Av / \lVert Av\rVert`, ``iters`` times, from ``v``.

    Returns the final unit vector :math:`v`; :math:`v^\top A v` (or
    :math:`\lVert Wv\rVert^2` for :math:`A = W^\top W`) then approaches the largest eigenvalue
    from below. ``eps`` guards the division when :math:`Av` can vanish.
    """
    for _ in range(iters):
        v = apply(v)
        v = v / (v.norm().clamp_min(eps) if eps else v.norm())
    return v


def minibatches(
    n: int,
    batch_size: int,
    generator: torch.Generator,
    *,
    shuffle: bool = True,
    drop_last: bool = False,
    replacement: bool = False,
    min_size: int = 1,
):
    """Index batches (CPU ``int64`` tensors) over ``n`` examples.

    - By default, one pass: a random order from ``generator`` (``shuffle=False``: ``0..n-1``,
      drawing nothing), cut into batches of ``batch_size``; the last, smaller batch is dropped
      with ``drop_last`` (when there is a full one), and batches smaller than ``min_size`` are
      skipped.
    - With ``replacement=True``, one batch of ``batch_size`` indices drawn uniformly with
      replacement, the stochastic-gradient step's batch; all ``n`` in order, drawing nothing,
      when ``batch_size >= n``.
    """
    if replacement:
        if batch_size >= n:
            yield torch.arange(n)
        else:
            yield torch.randint(0, n, (batch_size,), generator=generator)
        return
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        if idx.numel() >= min_size:
            yield idx


def train(
    step: Callable,
    optimizer: torch.optim.Optimizer,
    batches: Iterable[Iterable],
    *,
    per: str = "step",
    after_step: Callable[[], None] | None = None,
    scheduler=None,
) -> History:
    r"""The one gradient loop: for each batch, ``loss = step(batch)``, zero the gradients,
    back-propagate, step the optimiser (then ``scheduler`` and ``after_step``), record.

    ``batches`` is a sequence of epochs, each an iterable of batches (``[range(steps)]`` for a
    loop counted in steps). ``step`` returns the loss tensor, or a named tuple whose first field
    is the loss and whose other fields are recorded too, or ``(loss, {name: value})`` with the
    values to record (``value`` a number or 0-D tensor; the loss itself is then not recorded
    unless named).

    With ``per="step"`` every step is one entry of the :class:`~ebmlab.base.History`; with ``per="epoch"``
    each curve is the mean over the epoch's batches, weighted by the batch sizes (``len(batch)``),
    accumulated in ``float64``. Raises ``RuntimeError`` when a recorded value is not finite at
    the end of an epoch.
    """
    curves: dict[str, list[float]] = {}
    for epoch, epoch_batches in enumerate(batches):
        sums: dict[str, float] = {}
        weight = 0
        for batch in epoch_batches:
            out = step(batch)
            loss, record = _split(out)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if after_step is not None:
                after_step()
            if per == "step":
                for k, v in record.items():
                    curves.setdefault(k, []).append(float(v))
            else:
                w = len(batch) if hasattr(batch, "__len__") else 1
                weight += w
                for k, v in record.items():
                    sums[k] = sums.get(k, 0.0) + w * float(v)
        if per == "epoch" and weight:
            for k, v in sums.items():
                curves.setdefault(k, []).append(v / weight)
                if not math.isfinite(v):
                    raise RuntimeError(
                        f"training diverged at epoch {epoch} ({k} {v / weight}); "
                        "lower lr or check the data"
                    )
    return History({k: torch.tensor(v, dtype=torch.float64) for k, v in curves.items()}, per)


def _split(out) -> tuple[torch.Tensor, dict]:
    if isinstance(out, torch.Tensor):
        return out, {"loss": out.detach()}
    if isinstance(out, tuple) and hasattr(out, "_fields"):  # a named tuple: loss first
        return out[0], {k: getattr(out, k).detach() for k in out._fields}
    loss, record = out
    return loss, {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in record.items()}
