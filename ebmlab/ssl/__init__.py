r"""Self-supervised joint embeddings, with negatives (SimCLR, PIRL, MoCo) and without (VICReg,
Barlow Twins, BYOL, SimSiam, I-JEPA), and how to evaluate them.

A *contrastive embedding* is an energy-based model of pairs. An encoder maps an image to a vector;
the energy of a pair is the negative similarity of the two vectors,

.. math:: E(x, y) = -\,s\big(h(x), h(y)\big), \qquad s(a, b) = \frac{a^\top b}{\|a\|\,\|b\|},

and training pushes the energy **down** on *positive* pairs (two augmentations of one image) and
**up** on *negative* pairs (two different images). The three contrastive methods differ only in
where the negatives come from:

* **SimCLR** (:func:`nt_xent`, :class:`SimCLR`): the other images of the same mini-batch;
* **PIRL** (:func:`pirl_nce`, :class:`MemoryBank`, :class:`PIRL`): a *memory bank* holding a
  moving average of every image's past embedding, with separate heads :math:`f` (image) and
  :math:`g` (transformed image);
* **MoCo** (:func:`momentum_update`, :class:`MoCo`): a *queue* of embeddings made by a slowly
  moving copy of the encoder.

The methods without negatives only pull positive pairs together, and keep the embedding from
collapsing to one point in another way: a term on the batch's statistics (**VICReg**'s variance
and covariance, :func:`vicreg_loss`, :class:`VICReg`; **Barlow Twins**' cross-correlation,
:func:`barlow_twins_loss`, :class:`BarlowTwins`), or an asymmetric architecture, a predictor
and a stop-gradient (**SimSiam**, :class:`SimSiam`) and a slowly moving target (**BYOL**,
:class:`BYOL`; :class:`IJEPA`, which predicts the embedding of a hidden block of the image).
:func:`dimension_std`, :func:`spectrum` and the training callback :class:`Monitor` measure
collapse.

The module reads top to bottom: augmentations (torch only, batched, seeded, with the strengths
of an :class:`AugmentConfig`), the losses, the encoder and the methods, the training loops
(:func:`pretrain`, :func:`train_supervised`, both set by a :class:`PretrainConfig` and returning a
:class:`~ebmlab.base.History`), then the evaluation (linear probe, k-NN, alignment, uniformity,
effective rank, collapse). Everything follows its inputs' device.

The package holds one module per step, in that order: ``augmentations``,
``losses``, ``networks`` (encoder, heads),
``methods`` (SimCLR, PIRL, MoCo), ``regularized`` (the losses without
negatives), ``joint`` (the methods without negatives), ``train``, ``evaluate`` and
``diagnostics``; ``reference`` writes NT-Xent, PIRL's NCE, MoCo's InfoNCE and the memory-bank
update as their formulas read (``ssl.reference.nt_xent``), beside the checked versions above.
Training across processes: ``distributed`` (a gather that keeps its gradient; NT-Xent, VICReg and
Barlow Twins over the global batch; batch normalisation synchronised on CPUs too) and ``ddp``
(pretraining with DistributedDataParallel: ``torchrun --nproc_per_node 2 -m ebmlab.ssl.ddp``).
"""

from __future__ import annotations

from . import distributed as distributed
from . import reference as reference
from .augmentations import AugmentConfig, affine_warp, augment, erase, gaussian_blur, translate
from .diagnostics import Monitor, dimension_std, spectrum
from .evaluate import (
    alignment,
    effective_rank,
    embed,
    few_label_split,
    knn_accuracy,
    linear_probe,
    probe_table,
    uniformity,
)
from .joint import BYOL, IJEPA, BarlowTwins, SimSiam, VICReg
from .losses import (
    memory_update,
    moco_loss,
    momentum_update,
    nt_xent,
    pirl_h,
    pirl_nce,
    similarity_matrix,
)
from .methods import PIRL, ContrastiveMethod, MemoryBank, MoCo, SimCLR
from .networks import ConvEncoder, projection_head
from .regularized import (
    VICRegTerms,
    barlow_twins_loss,
    cross_correlation,
    negative_cosine,
    vicreg_loss,
)
from .train import PretrainConfig, pretrain, train_supervised

__all__ = [
    # augmentations
    "affine_warp",
    "translate",
    "gaussian_blur",
    "erase",
    "AugmentConfig",
    "augment",
    # losses
    "similarity_matrix",
    "nt_xent",
    "pirl_h",
    "pirl_nce",
    "memory_update",
    "moco_loss",
    "momentum_update",
    # losses without negatives
    "VICRegTerms",
    "vicreg_loss",
    "cross_correlation",
    "barlow_twins_loss",
    "negative_cosine",
    # models
    "ConvEncoder",
    "projection_head",
    "ContrastiveMethod",
    "SimCLR",
    "MemoryBank",
    "PIRL",
    "MoCo",
    # methods without negatives
    "VICReg",
    "BarlowTwins",
    "SimSiam",
    "BYOL",
    "IJEPA",
    "PretrainConfig",
    "pretrain",
    "train_supervised",
    # evaluation
    "embed",
    "few_label_split",
    "linear_probe",
    "knn_accuracy",
    "probe_table",
    "alignment",
    "uniformity",
    "effective_rank",
    # collapse
    "dimension_std",
    "spectrum",
    "Monitor",
    # training across processes (a module)
    "distributed",
]
