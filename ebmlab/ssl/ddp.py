r"""Pretraining across processes with ``DistributedDataParallel``, and its ``torchrun`` command.

::

    torchrun --standalone --nproc_per_node 2 -m ebmlab.ssl.ddp --method vicreg --epochs 5

runs :func:`pretrain` in two processes (gloo on CPUs; NCCL, one GPU per process, where CUDA
is available) on the digits, or on CIFAR-10 with ``--data cifar10 --data-dir DIR`` where
torchvision and the data are there (nothing is downloaded), then reports a k-NN accuracy of
the representation. Without ``torchrun`` it runs in one process.

Each process holds ``batch_size / W`` images of every global batch. Every process draws the
order of the images and the random views of the whole batch from the same seed and keeps its
share, so :math:`W` processes train the model that one process trains with the same
:class:`~ebmlab.ssl.PretrainConfig`. The method's ``embeddings`` are gathered
(:func:`ebmlab.ssl.distributed.gather`) before its ``objective``, so VICReg's and Barlow
Twins' statistics, MoCo's queue and BYOL's and SimSiam's means are those of the global batch;
SimCLR scores its own rows against the gathered candidates
(:func:`ebmlab.ssl.distributed.nt_xent`). Batch normalisations are synchronised
(:class:`~ebmlab.ssl.distributed.SyncBatchNorm`).
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..base import History
from ..runtime import generator as make_generator
from ..runtime import seed_everything
from .augmentations import _images
from .distributed import _gather, _nt_xent, convert_sync_batchnorm, world
from .evaluate import _knn_accuracy, embed
from .methods import ContrastiveMethod, MoCo, SimCLR
from .networks import ConvEncoder
from .train import PretrainConfig, _check_config, _fit

__all__ = ["pretrain", "main"]


class _Share:
    """An augmentation that makes the views of the whole batch and keeps this process's rows."""

    def __init__(self, augment, rank: int, size: int):
        self.augment, self.rank, self.size = augment, rank, size

    def __call__(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        n = x.shape[0] // self.size
        return self.augment(x, g)[self.rank * n : (self.rank + 1) * n]


class _Across(nn.Module):
    """The method's loss on this process's share of a global batch (``DDP``'s forward)."""

    def __init__(self, method: ContrastiveMethod, gather):
        super().__init__()
        self.method = method
        self.gather = gather

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        m = self.method
        z = m.embeddings(x, generator)
        if isinstance(m, SimCLR):  # NT-Xent's rows separate: this process's against all
            return _nt_xent(*z, m.tau, m.similarity, gather=self.gather)
        return m.objective(*(self.gather(e) for e in z))


def _check_method(method) -> ContrastiveMethod:
    ok = isinstance(method, ContrastiveMethod) and all(
        callable(getattr(method, a, None)) for a in ("embeddings", "objective", "augment")
    )
    if not ok:
        raise TypeError(
            "method must be a ContrastiveMethod whose loss is objective(*embeddings(x, "
            "generator)) on views made by its augment (SimCLR, MoCo, VICReg, BarlowTwins, BYOL, "
            f"SimSiam); got {type(method).__name__}"
        )
    return method


def _prepare(method: ContrastiveMethod, gather=_gather) -> nn.Module:
    """Synchronise the batch norms, share the views, wrap the loss for ``DDP``."""
    rank, size = world()
    convert_sync_batchnorm(method)
    method.augment = _Share(method.augment, rank, size)
    net = _Across(method, gather)
    if size == 1:
        return net
    device = next(method.parameters()).device
    return DistributedDataParallel(
        net, device_ids=[device.index] if device.type == "cuda" else None
    )


def pretrain(
    method: ContrastiveMethod, X: torch.Tensor, config: PretrainConfig | None = None
) -> History:
    r"""Train a method on unlabelled images across the processes of a group, in place.

    The same as :func:`ebmlab.ssl.pretrain` (Adam, shuffled batches of ``config.batch_size``
    images, the last smaller batch dropped, ``after_step`` after each step), with every global
    batch split evenly between the :math:`W` processes of the initialised
    ``torch.distributed`` group and the gradients averaged by ``DistributedDataParallel``.
    Call it on every process with the same arguments. Its batch normalisations become
    :class:`~ebmlab.ssl.distributed.SyncBatchNorm` (plain batch norms in one process).

    Args:
        method: a SimCLR, MoCo, VICReg, BarlowTwins, BYOL or SimSiam on ``X``'s device.
        X: the whole data set ``(n, C, H, W)``, the same on every process.
        config: epochs, global batch size (a multiple of :math:`W`), learning rate, weight
            decay and seed (None: ``PretrainConfig()``).

    Returns:
        The :class:`~ebmlab.base.History` of the loss of the global batch, one entry per step,
        the same on every process.
    """
    method = _check_method(method)
    X = _images(X, "X")
    cfg = _check_config(PretrainConfig() if config is None else config)
    size = world()[1]
    if cfg.batch_size % size:
        raise ValueError(
            f"config.batch_size must be a multiple of the {size} processes (each holds an "
            f"equal share of a batch); got batch_size={cfg.batch_size}"
        )
    if X.shape[0] < cfg.batch_size:
        raise ValueError(
            f"X must hold at least config.batch_size={cfg.batch_size} images (every step is a "
            f"full batch shared between the processes); got {X.shape[0]}"
        )
    return _pretrain(method, X, cfg, _gather)


def _pretrain(method, X, cfg: PretrainConfig, gather) -> History:
    augment = method.augment
    net = _prepare(method, gather)
    g = make_generator(cfg.seed)

    def step(idx):
        loss = net(X[idx.to(X.device)], g)
        return loss, {"loss": _mean_over_processes(loss.detach())}

    params = [p for p in method.parameters() if p.requires_grad]
    method.train()
    try:
        history = _fit(
            step, params, X.shape[0], cfg, g, drop_last=True, after_step=method.after_step
        )
    finally:
        method.augment = augment
    method.eval()
    return history


def _mean_over_processes(x: torch.Tensor) -> torch.Tensor:
    if world()[1] == 1:
        return x
    x = x.clone()
    dist.all_reduce(x)
    return x / world()[1]


# ----------------------------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------------------------
_METHODS = ("simclr", "moco", "vicreg", "barlow", "byol", "simsiam")


def _fail(message: str):
    raise SystemExit(f"ebmlab.ssl.ddp: {message}")


def _data(name: str, data_dir: str | None):
    """``(X_train, y_train, X_test, y_test)`` of the digits or of CIFAR-10 (never downloaded)."""
    if name == "digits":
        from ..data import digits

        X, y = digits(images=True)
        cut = int(0.8 * X.shape[0])
        return X[:cut], y[:cut], X[cut:], y[cut:]
    if data_dir is None:
        _fail("--data cifar10 needs --data-dir, the folder that holds cifar-10-batches-py")
    try:
        from torchvision import datasets
    except Exception as exc:  # not installed, or built for another torch
        _fail(f"--data cifar10 needs torchvision, which does not import here ({exc})")
    parts = []
    for train in (True, False):
        try:
            ds = datasets.CIFAR10(data_dir, train=train, download=False)
        except RuntimeError as exc:
            _fail(f"no CIFAR-10 in {data_dir!r} ({exc}); nothing is downloaded")
        parts += [torch.as_tensor(ds.data).permute(0, 3, 1, 2) / 255.0, torch.tensor(ds.targets)]
    return tuple(parts)


def _method(args, in_channels: int) -> ContrastiveMethod:
    from .joint import BYOL, BarlowTwins, SimSiam, VICReg

    enc = ConvEncoder(in_channels=in_channels, width=args.width, out_dim=args.out_dim)
    d = args.proj_dim
    make = {
        "simclr": lambda: SimCLR(enc, proj_dim=d, tau=0.2),
        "moco": lambda: MoCo(enc, proj_dim=d, queue_size=1024, tau=0.2, seed=args.seed),
        "vicreg": lambda: VICReg(enc, proj_dim=d),
        "barlow": lambda: BarlowTwins(enc, proj_dim=d, off_diagonal=1.0 / d),
        "byol": lambda: BYOL(enc, proj_dim=d),
        "simsiam": lambda: SimSiam(enc, proj_dim=d),
    }
    return make[args.method]()


def _knn(encoder: nn.Module, train, test, device, chunk: int = 1000) -> float:
    """The k-NN accuracy (k = 5) of the representation, the held-out images in chunks."""
    ftr, ytr = embed(encoder, train[0].to(device)), train[1].to(device)
    hits = 0.0
    for s in range(0, test[0].shape[0], chunk):
        x, y = test[0][s : s + chunk].to(device), test[1][s : s + chunk].to(device)
        hits += _knn_accuracy(ftr, ytr, embed(encoder, x), y, 5) * x.shape[0]
    return hits / test[0].shape[0]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="torchrun --standalone --nproc_per_node N -m ebmlab.ssl.ddp",
        description="Pretrain a self-supervised method across processes (DDP), then report "
        "the k-NN accuracy of its representation on held-out images.",
    )
    p.add_argument("--method", choices=_METHODS, default="simclr")
    p.add_argument("--data", choices=("digits", "cifar10"), default="digits")
    p.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256, help="global, over all processes")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=16, help="channels of the encoder")
    p.add_argument("--out-dim", type=int, default=64, help="dimension of the representation")
    p.add_argument("--proj-dim", type=int, default=32, help="dimension of the projections")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", default=None, help="write the encoder's state_dict here (rank 0)")
    return p


def main(argv: list[str] | None = None) -> float:
    """Run the command line (``torchrun`` sets the process group's environment).

    Args:
        argv: the words after the program's name (default ``sys.argv[1:]``).

    Returns:
        The k-NN accuracy (k = 5) of the representation on the held-out images.
    """
    args = _parser().parse_args(argv)
    Xtr, ytr, Xte, yte = _data(args.data, args.data_dir)
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)  # one GPU per process, NCCL's too
    own = "WORLD_SIZE" in os.environ and not dist.is_initialized()  # launched by torchrun
    if own:
        dist.init_process_group("nccl" if cuda else "gloo")
    rank, size = world()
    try:
        seed_everything(args.seed)
        method = _method(args, Xtr.shape[1]).to(device)
        config = PretrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
        if rank == 0:
            print(
                f"{args.method} on {args.data} {tuple(Xtr.shape)}: {size} process(es) "
                f"({dist.get_backend() if size > 1 else 'none'}, {device.type}), global "
                f"batch {args.batch_size} = {size} x {args.batch_size // size}"
            )
        history = pretrain(method, Xtr.to(device), config)
    except ValueError as exc:
        _fail(str(exc))
    steps = len(history.loss) // max(args.epochs, 1)
    for e in range(args.epochs):
        if rank == 0:
            print(f"epoch {e + 1}: loss {history.loss[e * steps : (e + 1) * steps].mean():.4f}")
    acc = _knn(method.encoder, (Xtr, ytr), (Xte, yte), device)
    if rank == 0:
        print(f"k-NN accuracy (k=5) on {Xte.shape[0]} held-out images: {acc:.3f}")
        if args.save:
            torch.save(method.encoder.state_dict(), args.save)
    if own:
        dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main(sys.argv[1:])
