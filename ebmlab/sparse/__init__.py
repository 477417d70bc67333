r"""Sparse coding: a regularised latent-variable energy, and how to minimise it fast.

The energy of a signal :math:`y \in \mathbb R^n` and a code :math:`z \in \mathbb R^k` under a
dictionary :math:`W \in \mathbb R^{n\times k}` (one *atom* per column) is

.. math:: E(y, z) = \tfrac12\,\lVert y - Wz\rVert_2^2 + \lambda\,\lVert z\rVert_1 .

**The** :math:`\tfrac12` **convention.** With the factor :math:`\tfrac12` our :math:`\lambda` is
exactly scikit-learn's ``alpha`` in ``sklearn.decomposition.sparse_encode`` (and SPAMS'
``lambda1``), whose objective per sample is :math:`\tfrac12\lVert x - zD\rVert^2 +
\alpha\lVert z\rVert_1` with :math:`D = W^\top`. The lecture writes :math:`\lVert y -
Wz\rVert^2 + \lambda|z|_1` without the :math:`\tfrac12`; its :math:`\lambda` is twice ours.

Batches are rows: ``y`` is ``(B, n)``, codes are ``(B, k)`` and the reconstruction is
:math:`z W^\top`. The functions are pure and batched; :class:`LISTA`, :class:`PSD` and
:class:`ConvPSD` (``nn.Module`` classes), :class:`SparseCoding` and :class:`ConvSparseCoding`
(estimators) wrap them.

The package reads in this order, and each module imports only from those before it: ``config``
(the options, grouped: ``SolverConfig``, ``DictionaryConfig``, ``FilterConfig``), ``prox`` (the
energy, ``shrink``, one step), ``gap`` (the duality gap), ``solvers`` (ISTA, FISTA, ADMM, the
fast paths), ``reference`` (ISTA and FISTA as the formulas read; the fast paths give the same
iterates), ``dictionary`` (learning atoms, ``SparseCoding``), ``lista``, ``psd`` (an encoder
inside the energy: predictive sparse decomposition), ``patches`` (whitened images), ``conv``
(convolutional codes), ``conv_kernels`` and ``conv_learning`` (learning the kernels,
``ConvSparseCoding``) and ``conv_psd`` (the convolutional sparse auto-encoder). Everything
public is imported here: use ``ebmlab.sparse.<name>``, and ``ebmlab.sparse.reference.fista``
for the reference versions.

Every function of data takes the data first: ``sparse_energy(Y, W, Z, lam)``,
``fista(Y, W, lam)``, ``conv_sparse_code(Y, K, lam)``.
"""

from __future__ import annotations

from . import reference as reference  # ebmlab.sparse.reference.fista: the formulas, as written
from .config import DictionaryConfig, FilterConfig, SolverConfig

# The four private _conv_* names are re-exported for tests/test_sparse.py, which checks them alone.
from .conv import _conv_energy as _conv_energy
from .conv import _conv_lipschitz as _conv_lipschitz
from .conv import conv_reconstruct, conv_sparse_code, conv_sparse_energy
from .conv_kernels import _conv_filter_step as _conv_filter_step
from .conv_kernels import _conv_normal_equations as _conv_normal_equations
from .conv_learning import ConvSparseCoding, learn_conv_filters
from .conv_psd import ConvPSD, conv_psd_codes, conv_psd_energy, train_conv_psd
from .dictionary import SparseCoding, learn_dictionary, normalize_atoms, random_dictionary
from .gap import duality_gap
from .lista import LISTA, code_error, train_lista
from .patches import whiten_images, whitened_patches
from .prox import SparseCode, fista_step, ista_step, lipschitz, shrink, sparse_energy
from .psd import PSD, psd_codes, psd_energy, train_psd
from .solvers import admm, fista, ista

__all__ = [
    "SolverConfig",
    "DictionaryConfig",
    "FilterConfig",
    "SparseCode",
    "shrink",
    "sparse_energy",
    "lipschitz",
    "duality_gap",
    "ista_step",
    "fista_step",
    "ista",
    "fista",
    "admm",
    "normalize_atoms",
    "random_dictionary",
    "learn_dictionary",
    "SparseCoding",
    "LISTA",
    "train_lista",
    "code_error",
    "PSD",
    "psd_energy",
    "psd_codes",
    "train_psd",
    "whiten_images",
    "whitened_patches",
    "conv_reconstruct",
    "conv_sparse_energy",
    "conv_sparse_code",
    "learn_conv_filters",
    "ConvSparseCoding",
    "ConvPSD",
    "conv_psd_energy",
    "conv_psd_codes",
    "train_conv_psd",
]
