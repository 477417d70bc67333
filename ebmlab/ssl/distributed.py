r"""Training across processes: a gather that keeps its gradient, losses over the global batch.

With data parallelism, :math:`W` processes each hold :math:`n` images of a global batch of
:math:`N = Wn`. A loss that compares images with each other (the negatives of NT-Xent, the batch
statistics of VICReg and Barlow Twins) is the one-process loss only if every process sees the
embeddings of every other one, and only if the gradient flows back through that exchange.
Built on ``torch.distributed`` (gloo on CPUs, NCCL on GPUs, launched by ``torchrun``):

* :func:`gather`: the embeddings of all processes, stacked by rank. Its backward **sums** the
  incoming gradients over the processes and returns this process's rows; a gather without
  gradient (or one that returns only this process's own gradient) trains a different loss;
* :func:`nt_xent` (each process's rows against the global candidates, labels offset by rank),
  :func:`vicreg_loss` and :func:`barlow_twins_loss` (statistics of the global batch);
* :class:`SyncBatchNorm`: batch normalisation over the global batch, on CPUs too (an all-reduce
  of the sums, with its gradient); :func:`convert_sync_batchnorm` swaps it in.

Without an initialised process group (one process) every function here is its one-process
counterpart. :mod:`ebmlab.ssl.ddp` trains the methods with ``DistributedDataParallel`` on these
pieces; ``python -m ebmlab.ssl.ddp`` is its ``torchrun`` entry point.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from .._validation import Boolean, Int, Real, as_tensor, checked
from .losses import _REDUCTION, _SIMILARITY, _TAU, _similarity_matrix
from .regularized import _EPS, _GAMMA, _WEIGHT, _barlow_twins, _vicreg

__all__ = [
    "world",
    "gather",
    "all_reduce",
    "nt_xent",
    "vicreg_loss",
    "barlow_twins_loss",
    "SyncBatchNorm",
    "convert_sync_batchnorm",
]


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` without a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


# ----------------------------------------------------------------------------------------------
# Collectives with their gradients
# ----------------------------------------------------------------------------------------------
class _Gather(torch.autograd.Function):
    """All-gather forward; backward: the sum over processes of the gradient, this rank's rows."""

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        ctx.rank, size = world()
        ctx.n = z.shape[0]
        parts = [torch.empty_like(z) for _ in range(size)]
        dist.all_gather(parts, z.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # every process's loss depends on these rows
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


class _AllReduce(torch.autograd.Function):
    """Sum over processes; the gradient of a sum is the sum of the gradients."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous().clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _AllReduce.apply(grad)


def _gather(z: torch.Tensor) -> torch.Tensor:
    return _Gather.apply(z) if world()[1] > 1 else z


def _all_reduce(x: torch.Tensor) -> torch.Tensor:
    return _AllReduce.apply(x) if world()[1] > 1 else x


def _agree(*zs: torch.Tensor, names: tuple[str, ...] = ("z",)) -> None:
    """Every process holds tensors of one shape (per name); raised on every process alike."""
    rank, size = world()
    mine = torch.tensor([s for z in zs for s in (z.shape[0], z[0].numel())], dtype=torch.long)
    shapes = [mine]
    if size > 1:
        shapes = [torch.empty_like(mine) for _ in range(size)]
        dist.all_gather(shapes, mine.to(zs[0].device))
        shapes = [s.cpu() for s in shapes]
    rows = [s.view(-1, 2).tolist() for s in shapes]  # per rank: (rows, features) per tensor
    for r, per in enumerate(rows):
        for name, got in zip(names[1:], per[1:]):
            if got != per[0]:
                raise ValueError(
                    f"{name} must have the shape of {names[0]} (one row per pair) on every "
                    f"process; rank {r} holds {per[0]} and {got} (rows, features)"
                )
    if any(per[0] != rows[0][0] for per in rows):
        raise ValueError(
            f"{names[0]} must hold as many rows of as many features on every process (the "
            f"global batch split evenly); got (rows, features) by rank {[p[0] for p in rows]}"
        )


def gather(z: torch.Tensor) -> torch.Tensor:
    r"""The rows of every process, stacked by rank, with the gradient that makes them correct.

    Forward, :math:`Z = [z^{(0)}; \dots; z^{(W-1)}]`. Every process computes a loss
    :math:`L_r(Z)`, and :math:`z^{(r)}` enters all of them, so its gradient is

    .. math:: \frac{\partial}{\partial z^{(r)}} \sum_{q} L_q
              = \Big[\sum_q \frac{\partial L_q}{\partial Z}\Big]_{\text{rows of } r},

    an all-reduce (sum) of the incoming gradients, then this process's rows.
    ``DistributedDataParallel`` then averages the parameters' gradients over the processes:
    the gradient of :math:`\frac1W \sum_q L_q`, which is the one-process gradient when each
    :math:`L_q` is the global loss or this process's share of its mean.

    Args:
        z: ``(n, ...)``, the same shape on every process.

    Returns:
        ``(W n, ...)``; ``z`` itself in a single process.
    """
    z = as_tensor(z, "z", min_ndim=1)
    _agree(z)
    return _gather(z)


def all_reduce(x: torch.Tensor) -> torch.Tensor:
    r"""The sum of ``x`` over the processes, :math:`\sum_r x^{(r)}`, with its gradient.

    The backward is an all-reduce too: every process's loss depends on the sum.

    Args:
        x: a tensor of one shape on every process.

    Returns:
        The sum, on every process; ``x`` in a single process.
    """
    return _all_reduce(as_tensor(x, "x"))


# ----------------------------------------------------------------------------------------------
# Losses over the global batch
# ----------------------------------------------------------------------------------------------
def _views(z1, z2) -> tuple[torch.Tensor, torch.Tensor]:
    z1, z2 = as_tensor(z1, "z1", ndim=2), as_tensor(z2, "z2", ndim=2)
    _agree(z1, z2, names=("z1", "z2"))
    if z1.shape[0] * world()[1] < 2:
        raise ValueError(f"z1 must hold at least 2 pairs over all processes; got {z1.shape[0]}")
    return z1, z2


def _nt_xent(z1, z2, tau: float, similarity="cosine", reduction="mean", gather=_gather):
    n = z1.shape[0]
    rank = world()[0]
    cand = torch.cat([gather(z1), gather(z2)])  # (2N, d): every process's candidates
    N = cand.shape[0] // 2
    S = _similarity_matrix(torch.cat([z1, z2]), cand, similarity) / tau  # this rank's rows
    own = rank * n + torch.arange(n, device=S.device)  # the rows' places in the global batch
    me, partner = torch.cat([own, own + N]), torch.cat([own + N, own])
    S = S.index_put((torch.arange(2 * n, device=S.device), me), S.new_tensor(float("-inf")))
    return F.cross_entropy(S, partner, reduction=reduction)


@checked(tau=_TAU, similarity=_SIMILARITY, reduction=_REDUCTION)
def nt_xent(
    z1: torch.Tensor,
    z2: torch.Tensor,
    tau: float = 0.5,
    similarity: str = "cosine",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""NT-Xent (:func:`ebmlab.ssl.nt_xent`) of this process's pairs against the global batch.

    Process :math:`r` holds rows :math:`i = rn, \dots, rn + n - 1` of the global views
    :math:`u = [Z_1; Z_2] \in \mathbb R^{2N\times d}` (gathered by :func:`gather`). Its
    :math:`2n` rows of the similarity matrix are scored against all :math:`2N` candidates,
    the positive of row :math:`i` at column :math:`i + N` (or :math:`i - N`): the labels are
    offset by :math:`rn`. With ``reduction="mean"`` each process returns the mean of its
    :math:`2n` terms; their mean over processes (what ``DistributedDataParallel``'s average of
    the gradients differentiates) is the one-process loss of the global batch. Memory is
    :math:`2n \times 2N` per process.

    Args:
        z1: this process's first views ``(n, d)``, the same shape on every process.
        z2: its second views ``(n, d)``; row ``i`` pairs with ``z1[i]``.
        tau: the temperature :math:`\tau > 0`.
        similarity: ``"cosine"`` or ``"l2"``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over this process's :math:`2n` terms.

    Returns:
        A scalar, or ``(2n,)`` with ``reduction="none"``.
    """
    return _nt_xent(*_views(z1, z2), tau, similarity, reduction)


@checked(invariance=_WEIGHT, variance=_WEIGHT, covariance=_WEIGHT, gamma=_GAMMA, eps=_EPS)
def vicreg_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    invariance: float = 25.0,
    variance: float = 25.0,
    covariance: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
):
    r"""VICReg (:func:`ebmlab.ssl.vicreg_loss`) of the global batch, the same on every process.

    The variance and covariance terms are statistics of the batch: computed on one process's
    :math:`n` rows they are a different loss (a noisier standard deviation, a covariance of
    :math:`n` points). Here both views are gathered (:func:`gather`) and every process
    computes the loss of all :math:`N` pairs.

    Args:
        z1: this process's first views ``(n, d)``, the same shape on every process.
        z2: its second views ``(n, d)``.
        invariance: the weight :math:`\lambda \ge 0` of the invariance term.
        variance: the weight :math:`\mu \ge 0` of the variance term.
        covariance: the weight :math:`\nu \ge 0` of the covariance term.
        gamma: the target standard deviation :math:`\gamma > 0`.
        eps: :math:`\epsilon > 0` under the square root.

    Returns:
        A :class:`~ebmlab.ssl.VICRegTerms` of the global batch.
    """
    z1, z2 = _views(z1, z2)
    return _vicreg(_gather(z1), _gather(z2), invariance, variance, covariance, gamma, eps)


@checked(off_diagonal=_WEIGHT, eps=_EPS)
def barlow_twins_loss(
    z1: torch.Tensor, z2: torch.Tensor, off_diagonal: float = 5e-3, eps: float = 1e-5
) -> torch.Tensor:
    r"""Barlow Twins (:func:`ebmlab.ssl.barlow_twins_loss`) of the global batch, on every process.

    The cross-correlation :math:`\mathcal C` standardises each dimension by its mean and
    standard deviation over the batch; the global batch's are those of the gathered views.

    Args:
        z1: this process's first views ``(n, d)``, the same shape on every process.
        z2: its second views ``(n, d)``.
        off_diagonal: the weight :math:`\lambda_{\text{off}} \ge 0`.
        eps: :math:`\epsilon > 0` in the standardisation.

    Returns:
        A scalar, the loss of the global batch.
    """
    z1, z2 = _views(z1, z2)
    return _barlow_twins(_gather(z1), _gather(z2), off_diagonal, eps)


# ----------------------------------------------------------------------------------------------
# Batch normalisation over the global batch
# ----------------------------------------------------------------------------------------------
class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    r"""Batch normalisation with the statistics of the global batch, on CPUs and GPUs.

    In training, across processes, the mean and the biased variance of each channel are

    .. math:: \mu = \frac{\sum_r \sum_i x^{(r)}_i}{\sum_r m_r}, \qquad
              \sigma^2 = \frac{\sum_r \sum_i (x^{(r)}_i - \mu)^2}{\sum_r m_r},

    two all-reduces (:func:`all_reduce`, with their gradients) over the :math:`m_r` values
    of each channel on process :math:`r`; the running statistics move as
    ``torch.nn.BatchNorm1d``'s do, with the unbiased variance. Otherwise (evaluation, one
    process) it is a plain batch normalisation. ``torch.nn.SyncBatchNorm`` does the same on
    GPUs only. Inputs ``(B, C)``, ``(B, C, L)`` or ``(B, C, H, W)``.

    Args:
        num_features: the channels :math:`C`.
        eps: added to the variance.
        momentum: of the running statistics (None: a cumulative average).
        affine: learn a scale and a shift.
        track_running_stats: keep running statistics for evaluation.
    """

    @checked(
        num_features=Int(low=1),
        eps=Real(low=0.0, low_open=True),
        momentum=Real(low=0.0, high=1.0, optional=True),
        affine=Boolean(),
        track_running_stats=Boolean(),
    )
    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"input must be (B, C, ...); got shape {tuple(input.shape)}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalise with the global batch's statistics in training across processes."""
        if not self.training or world()[1] == 1:
            return super().forward(input)
        self._check_input_dim(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        local = input.new_tensor([input.numel() // input.shape[1]])
        sums = _all_reduce(torch.cat([input.sum(dims), local]))
        m, mean = sums[-1], sums[:-1] / sums[-1]
        centred = input - mean.view(shape)
        var = _all_reduce(centred.pow(2).sum(dims)) / m
        if self.track_running_stats:
            self._track(mean.detach(), var.detach() * m / (m - 1).clamp_min(1))
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        return out * self.weight.view(shape) + self.bias.view(shape) if self.affine else out

    @torch.no_grad()
    def _track(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        f = self.momentum if self.momentum is not None else 1 / int(self.num_batches_tracked)
        self.running_mean.lerp_(mean.to(self.running_mean), f)
        self.running_var.lerp_(var.to(self.running_var), f)


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every batch normalisation inside ``module`` by a :class:`SyncBatchNorm`.

    The new layers take over the parameters and the running statistics (the same tensors), so
    a converted network computes what it did in one process and in evaluation.

    Args:
        module: a network (or a batch normalisation itself).

    Returns:
        The converted module (``module`` itself, changed in place, unless it is a batch
        normalisation).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
        module, SyncBatchNorm
    ):
        new = SyncBatchNorm(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
        )
        for name, value in [*module.named_parameters(), *module.named_buffers()]:
            setattr(new, name, value)
        return new.train(module.training)
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child))
    return module
