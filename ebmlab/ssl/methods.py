r"""The three contrastive methods: SimCLR, PIRL (with its memory bank) and MoCo.

Each is a :class:`ContrastiveMethod`: an ``encoder`` and a ``loss(x, index, generator)``, with
``after_step()`` for the updates that are not gradient steps (memory bank, momentum encoder,
queue). :func:`ebmlab.ssl.train.pretrain` trains any of them. The constructors check their
arguments; ``loss`` and ``after_step`` run at every step on batches :func:`pretrain` has checked,
so they call the unchecked cores of the losses and augmentations.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import Int, IsCallable, Real, Seed, as_tensor, checked
from ..runtime import generator as make_generator
from .augmentations import _augment
from .losses import (
    _MOMENTUM,
    _SIMILARITY,
    _TAU,
    _memory_update,
    _moco_loss,
    _momentum_update,
    _nt_xent,
    _pirl_nce,
    memory_update,
)
from .networks import _projection_head


# ----------------------------------------------------------------------------------------------
# The three methods
# ----------------------------------------------------------------------------------------------
def _default_augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return _augment(x, g)


_AUGMENT = IsCallable(optional=True)


class ContrastiveMethod(nn.Module):
    """What :func:`pretrain` needs from a method: an ``encoder`` and a ``loss``.

    Subclasses implement ``loss(x, index, generator)`` (a scalar for a batch of images ``x``
    whose dataset rows are ``index``) and may implement ``after_step()`` (run after each
    optimiser step: memory-bank and momentum updates). A method that writes its loss as
    ``objective(*embeddings(x, generator))`` (SimCLR, MoCo and the joint-embedding methods)
    can be trained across processes (:mod:`ebmlab.ssl.ddp`): the embeddings of every process
    are gathered before the objective.
    """

    encoder: nn.Module

    def loss(
        self, x: torch.Tensor, index: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """The training loss of one batch."""
        raise NotImplementedError

    def after_step(self) -> None:
        """Updates that are not gradient steps (none by default)."""

    def _views(self, x, g):
        return self.augment(x, g), self.augment(x, g)


class SimCLR(ContrastiveMethod):
    r"""SimCLR (Chen et al., 2020): two views of every image, NT-Xent on projected embeddings.

    .. math:: \mathcal L = \text{NT-Xent}\big(p(h(t_1(x))),\ p(h(t_2(x)))\big)

    with :math:`t_1, t_2` random augmentations, :math:`h` the encoder and :math:`p` the
    projection head; the negatives are the other images of the batch.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute, like :class:`ConvEncoder`).
        proj_dim: dimension of the projection :math:`z`.
        tau: the temperature :math:`\tau` of :func:`nt_xent`.
        augment: ``augment(x, generator)`` making one random view (default :func:`augment`).
        similarity: ``"cosine"`` or ``"l2"`` (see :func:`similarity_matrix`).
    """

    @checked(proj_dim=Int(low=1), tau=_TAU, augment=_AUGMENT, similarity=_SIMILARITY)
    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 32,
        tau: float = 0.2,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        similarity: str = "cosine",
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        self.head = _projection_head(encoder.out_dim, proj_dim)
        self.tau = tau
        self.augment = augment if augment is not None else _default_augment
        self.similarity = similarity

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """The projections :math:`z = p(h(x))`."""
        return self.head(self.encoder(x))

    def embeddings(self, x: torch.Tensor, generator: torch.Generator):
        """The projections of two random views of ``x``: ``(z1, z2)``, each ``(B, proj_dim)``."""
        v1, v2 = self._views(x, generator)
        return self.project(v1), self.project(v2)

    def objective(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        """NT-Xent of the projections ``(z1, z2)``."""
        return _nt_xent(z1, z2, self.tau, self.similarity)

    def loss(self, x, index, generator):
        """NT-Xent between the projections of two random views of ``x``."""
        return self.objective(*self.embeddings(x, generator))


def _check_encoder(encoder) -> nn.Module:
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}")
    if not isinstance(getattr(encoder, "out_dim", None), int):
        raise ValueError("encoder must have an int attribute out_dim (its output dimension)")
    return encoder


class MemoryBank(nn.Module):
    r"""One unit vector per training image: a moving average of its past embeddings.

    Rows start as random unit vectors and are updated by :func:`memory_update`; :meth:`sample`
    draws negatives uniformly among the *other* images.

    Args:
        n: number of images.
        dim: embedding dimension.
        momentum: :math:`\mu` of :func:`memory_update`.
        seed: seed of the random initial rows.
    """

    @checked(n=Int(low=2), dim=Int(low=1), momentum=_MOMENTUM, seed=Seed())
    def __init__(self, n: int, dim: int, momentum: float = 0.5, seed: int | None = 0):
        super().__init__()
        self.momentum = momentum
        g = make_generator(seed)
        self.register_buffer("bank", F.normalize(torch.randn(n, dim, generator=g), dim=1))

    def update(self, index: torch.Tensor, values: torch.Tensor) -> None:
        """Apply :func:`memory_update` to the rows ``index`` (in place on the buffer)."""
        self.bank.copy_(memory_update(self.bank, index, values.detach(), self.momentum))

    @checked(k=Int(low=1))
    def sample(self, index: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` negatives for each row of ``index``, never the row itself: ``(B, k, dim)``."""
        return self._sample(as_tensor(index, "index", ndim=1, integer=True), k, generator)

    def _update(self, index: torch.Tensor, values: torch.Tensor) -> None:
        self.bank.copy_(_memory_update(self.bank, index, values.detach(), self.momentum))

    def _sample(self, index: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        index = index.cpu()
        j = torch.randint(0, self.bank.shape[0] - 1, (index.shape[0], k), generator=generator)
        j = j + (j >= index[:, None]).long()  # skip the image itself
        return self.bank[j.to(self.bank.device)]


class PIRL(ContrastiveMethod):
    r"""PIRL (Misra and van der Maaten, 2020): heads :math:`f`, :math:`g`, NCE against a memory bank.

    For an image :math:`I` and its transformed version :math:`I^t` (a random view from
    ``augment``; the paper solves jigsaw puzzles, we use the same views as SimCLR so the three
    methods are compared on equal terms), with :math:`v = h(\cdot)` the encoder's output,

    .. math:: \mathcal L = \lambda\, L_{\text{NCE}}\big(m_I, g(v_{I^t})\big)
              + (1-\lambda)\, L_{\text{NCE}}\big(m_I, f(v_I)\big),

    each :math:`L_{\text{NCE}}` being :func:`pirl_nce` with ``k`` negatives :math:`m_{I'}` from
    the memory bank; after the step, :math:`m_I` moves towards :math:`f(v_I)`
    (:func:`memory_update`).

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        bank: the :class:`MemoryBank`, one row per training image; the length of its rows is
            the heads' output dimension, its ``momentum`` the :math:`\mu` of the update.
        n_negatives: negatives per image, ``k``.
        tau: the temperature :math:`\tau`.
        mix: the mixing weight :math:`\lambda \in [0, 1]` of the two terms.
        augment: ``augment(x, generator)`` (default :func:`augment`).
    """

    @checked(n_negatives=Int(low=1), tau=_TAU, mix=Real(low=0.0, high=1.0), augment=_AUGMENT)
    def __init__(
        self,
        encoder: nn.Module,
        bank: MemoryBank,
        n_negatives: int = 256,
        tau: float = 0.2,
        mix: float = 0.5,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        if not isinstance(bank, MemoryBank):
            raise TypeError(f"bank must be a MemoryBank; got {type(bank).__name__}")
        proj_dim = bank.bank.shape[1]
        self.f = _projection_head(encoder.out_dim, proj_dim)  # head for the image I
        self.g = _projection_head(encoder.out_dim, proj_dim)  # head for the transformed I^t
        self.bank = bank
        self.n_negatives = n_negatives
        self.tau = tau
        self.mix = mix
        self.augment = augment if augment is not None else _default_augment
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    def loss(self, x, index, generator):
        """The two NCE terms for a batch; remembers :math:`f(v_I)` for the bank's update."""
        v_i, v_t = self._views(x, generator)  # I (a light view of it) and I^t
        f_i = self.f(self.encoder(v_i))
        g_t = self.g(self.encoder(v_t))
        m_i = self.bank.bank[index.to(self.bank.bank.device)]
        neg = self.bank._sample(index, self.n_negatives, generator)
        loss = self.mix * _pirl_nce(g_t, m_i, neg, self.tau) + (1 - self.mix) * _pirl_nce(
            f_i, m_i, neg, self.tau
        )
        self._pending = (index, f_i.detach())
        return loss

    def after_step(self) -> None:
        """Move the bank's rows of the last batch towards their new :math:`f(v_I)`."""
        if self._pending is not None:
            self.bank._update(*self._pending)
            self._pending = None


class MoCo(ContrastiveMethod):
    r"""MoCo (He et al., 2020): a momentum encoder makes keys; a queue keeps the negatives.

    The query :math:`q = p(h(t_1(x)))` is compared (:func:`moco_loss`) with its key
    :math:`k = p'(h'(t_2(x)))` from a copy of encoder and head whose weights follow the
    trained ones slowly (:func:`momentum_update`), and with the ``queue_size`` most recent
    keys. After each step the batch's keys replace the oldest ones.

    Args:
        encoder: the network :math:`h` (with an ``out_dim`` attribute).
        proj_dim: dimension of the projections.
        queue_size: number of negatives :math:`K` kept.
        tau: the temperature :math:`\tau`.
        momentum: :math:`m` of :func:`momentum_update`.
        augment: ``augment(x, generator)`` (default :func:`augment`).
        seed: seed of the queue's initial random keys.
    """

    @checked(
        proj_dim=Int(low=1),
        queue_size=Int(low=1),
        tau=_TAU,
        momentum=_MOMENTUM,
        augment=_AUGMENT,
        seed=Seed(),
    )
    def __init__(
        self,
        encoder: nn.Module,
        proj_dim: int = 32,
        queue_size: int = 512,
        tau: float = 0.2,
        momentum: float = 0.99,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        seed: int | None = 0,
    ):
        super().__init__()
        self.encoder = _check_encoder(encoder)
        self.head = _projection_head(encoder.out_dim, proj_dim)
        self.key_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.key_head = copy.deepcopy(self.head).requires_grad_(False)
        g = make_generator(seed)
        self.register_buffer(
            "queue", F.normalize(torch.randn(queue_size, proj_dim, generator=g), dim=1)
        )
        self.ptr = 0
        self.tau = tau
        self.momentum = momentum
        self.augment = augment if augment is not None else _default_augment
        self._keys: torch.Tensor | None = None

    def embeddings(self, x: torch.Tensor, generator: torch.Generator):
        """``(q, k)``: the queries of one view, the (normalised) keys of the other."""
        v_q, v_k = self._views(x, generator)
        q = self.head(self.encoder(v_q))
        with torch.no_grad():
            k = F.normalize(self.key_head(self.key_encoder(v_k)), dim=1)
        return q, k

    def objective(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """InfoNCE of ``q`` against ``k`` and the queue; ``k`` is kept for the queue."""
        self._keys = k
        return _moco_loss(q, k, self.queue, self.tau)

    def loss(self, x, index, generator):
        """InfoNCE of the queries against their keys and the queue."""
        return self.objective(*self.embeddings(x, generator))

    @torch.no_grad()
    def after_step(self) -> None:
        """Momentum-update the key network, then enqueue the batch's keys (oldest out)."""
        _momentum_update(self.key_encoder, self.encoder, self.momentum)
        _momentum_update(self.key_head, self.head, self.momentum)
        if self._keys is not None:
            k = self._keys[: self.queue.shape[0]]
            rows = (self.ptr + torch.arange(k.shape[0], device=k.device)) % self.queue.shape[0]
            self.queue[rows] = k
            self.ptr = int((self.ptr + k.shape[0]) % self.queue.shape[0])
            self._keys = None
