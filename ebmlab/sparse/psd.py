r"""Predictive sparse decomposition: an encoder inside the sparse-coding energy.

Kavukcuoglu, Ranzato and LeCun (2008) add to the energy a term that ties the code to the
prediction of an encoder :math:`\mathrm{Enc}(y)`,

.. math:: E(y, z) = \tfrac12\lVert y - Wz\rVert^2 + \tfrac\alpha2\lVert z - \mathrm{Enc}(y)
          \rVert^2 + \lambda\lVert z\rVert_1 ,

and train the decoder :math:`W` and the encoder together, so that after training the encoder
alone gives good codes in one pass: amortised inference.

The extra term is a quadratic, so inference is still a Lasso: stacking the dictionary on
:math:`\sqrt\alpha I` and the signal on :math:`\sqrt\alpha\,\mathrm{Enc}(y)`,

.. math:: \tfrac12\lVert y - Wz\rVert^2 + \tfrac\alpha2\lVert z - e\rVert^2
          = \tfrac12\Big\lVert \begin{pmatrix} y \\ \sqrt\alpha\, e\end{pmatrix}
          - \begin{pmatrix} W \\ \sqrt\alpha\, I\end{pmatrix} z\Big\rVert^2 ,

and :func:`psd_codes` hands the stacked problem to the fast FISTA of ``solvers.py`` (its step is
:math:`1/(L + \alpha)`, and the term makes the problem :math:`\alpha`-strongly convex).
``PSD`` holds the decoder and the encoder (a :class:`LISTA`, one layer by default:
:math:`\mathrm{Enc}(y) = \operatorname{shrink}_\theta(W_e^\top y)`); ``train_psd`` alternates
inference and a gradient step on both.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .. import optim
from .._validation import Instance, Int, Real, Seed, as_tensor, check_int, check_scalar, checked
from ..base import History
from ..runtime import generator
from .config import SolverConfig
from .dictionary import _unit_norm
from .gap import _setup
from .lista import LISTA
from .prox import SparseCode, _check_codes, _check_dictionary, _check_signals
from .solvers import _fista

__all__ = ["PSD", "psd_energy", "psd_codes", "train_psd"]


class PSD(nn.Module):
    r"""Predictive sparse decomposition (Kavukcuoglu, Ranzato and LeCun, 2008): a decoder
    dictionary and an encoder trained inside one energy,

    .. math:: E(y, z) = \tfrac12\lVert y - Wz\rVert^2 + \tfrac\alpha2\lVert z -
              \mathrm{Enc}(y)\rVert^2 + \lambda\lVert z\rVert_1 .

    The encoder is a :class:`LISTA` of ``layers`` layers initialised from ``W`` (with one layer,
    :math:`\mathrm{Enc}(y) = \operatorname{shrink}_\theta(W_e^\top y)`, one ISTA step before
    training). Calling the module gives the encoder's codes, the amortised inference;
    :func:`psd_codes` minimises the energy over :math:`z`; :func:`train_psd` learns both parts.

    Args:
        W: the initial decoder, ``(n, k)``; no all-zero column. Its atoms are renormalised to
            unit norm (the copy is the module's; ``W`` itself is not changed).
        lam: :math:`\lambda \ge 0`.
        alpha: :math:`\alpha > 0`, the weight of the encoder's term.
        layers: the encoder's layers, at least 1.

    Attributes:
        W: the decoder, an ``nn.Parameter`` ``(n, k)`` with unit-norm columns.
        encoder: the :class:`LISTA` that predicts the codes.
    """

    def __init__(self, W: torch.Tensor, lam: float, alpha: float = 1.0, layers: int = 1):
        super().__init__()
        W = _unit_norm(_check_dictionary(W).detach())
        self.lam = check_scalar(lam, "lam", low=0.0)
        self.alpha = check_scalar(alpha, "alpha", low=0.0, low_open=True)
        layers = check_int(layers, "layers", low=1)
        self.W = nn.Parameter(W.clone())
        self.encoder = LISTA(W, self.lam, layers=layers)

    def forward(self, Y: torch.Tensor) -> torch.Tensor:
        """The encoder's codes :math:`\\mathrm{Enc}(y)`, ``(B, k)``, of signals ``(B, n)``."""
        return self.encoder(Y)


def _check_psd(Y, W, Z_enc):
    # the shared checks of psd_energy and psd_codes: signals (B, n) and predictions (B, k)
    W = _check_dictionary(W)
    Y, single = _check_signals(Y, W)
    Z_enc = _check_codes(Z_enc, Y.shape[0], W.shape[1], W, name="Z_enc")
    return Y, W, Z_enc, single


@checked(lam=Real(low=0.0), alpha=Real(low=0.0))
def psd_energy(
    Y: torch.Tensor,
    W: torch.Tensor,
    Z: torch.Tensor,
    Z_enc: torch.Tensor,
    lam: float,
    alpha: float,
) -> torch.Tensor:
    r"""The energy of predictive sparse decomposition, for each (signal, code) pair.

    .. math:: E(y, z) = \tfrac12\lVert y - Wz\rVert^2 + \tfrac\alpha2\lVert z - \bar z\rVert^2
              + \lambda\lVert z\rVert_1 ,\qquad \bar z = \mathrm{Enc}(y) .

    With :math:`z = \bar z` it is the sparse-coding energy :func:`sparse_energy` of the
    encoder's code; with :math:`\alpha = 0`, that of any code.

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the decoder, ``(n, k)``.
        Z: codes, ``(B, k)`` or ``(k,)``.
        Z_enc: the encoder's codes :math:`\bar z`, shaped like ``Z``.
        lam: :math:`\lambda \ge 0`.
        alpha: :math:`\alpha \ge 0`.

    Returns:
        ``(B,)`` energies (a 0-D tensor for a single signal).
    """
    Y, W, Z_enc, single = _check_psd(Y, W, Z_enc)
    Z = _check_codes(Z, Y.shape[0], W.shape[1], W)
    e = (
        0.5 * ((Y - Z @ W.T) ** 2).sum(dim=1)
        + 0.5 * alpha * ((Z - Z_enc) ** 2).sum(dim=1)
        + lam * Z.abs().sum(dim=1)
    )
    return e[0] if single else e


def _psd_codes(Y, W, Z_enc, lam, alpha, steps, config, single=False):
    """The unchecked core of :func:`psd_codes` on ``(B, n)`` signals: FISTA on the stacked
    Lasso, started at the encoder's codes."""
    r = math.sqrt(alpha)
    W_stack = torch.cat([W, r * torch.eye(W.shape[1], dtype=W.dtype, device=W.device)])
    P = _setup(torch.cat([Y, r * Z_enc], dim=1), W_stack, lam, None, single)
    return _fista(P, Z_enc.clone(), steps, False, config, screen=False)


@checked(
    lam=Real(low=0.0),
    alpha=Real(low=0.0, low_open=True),
    steps=Int(low=0),
    config=Instance(SolverConfig, default=True),
)
def psd_codes(
    Y: torch.Tensor,
    W: torch.Tensor,
    Z_enc: torch.Tensor,
    lam: float,
    alpha: float,
    steps: int = 100,
    *,
    config: SolverConfig | None = None,
) -> SparseCode:
    r"""Inference in predictive sparse decomposition: the code that minimises :func:`psd_energy`.

    .. math:: \check z = \arg\min_z\ \tfrac12\lVert y - Wz\rVert^2
              + \tfrac\alpha2\lVert z - \bar z\rVert^2 + \lambda\lVert z\rVert_1

    The two quadratics are one: with :math:`\tilde W = (W;\ \sqrt\alpha I)` and
    :math:`\tilde y = (y;\ \sqrt\alpha\,\bar z)` the problem is the Lasso of :func:`fista`
    for :math:`(\tilde y, \tilde W)`, whose Gram matrix is :math:`W^\top W + \alpha I` and
    step :math:`1/(L + \alpha)`. It is solved by that FISTA (with restart), started at the
    encoder's code :math:`\bar z`; ``config.tol`` stops it on the stacked problem's duality
    gap.

    Args:
        Y: signals, ``(B, n)`` or ``(n,)``.
        W: the decoder, ``(n, k)``; no all-zero column.
        Z_enc: the encoder's codes :math:`\bar z`, ``(B, k)`` or ``(k,)``.
        lam: :math:`\lambda \ge 0`.
        alpha: :math:`\alpha > 0`.
        steps: the most FISTA iterations.
        config: a :class:`SolverConfig` (``tol``, ``check_every``, ``record`` and ``restart``
            as for :func:`fista`; the recorded energy is :func:`psd_energy`).

    Returns:
        A :class:`SparseCode`.
    """
    Y, W, Z_enc, single = _check_psd(Y, W, Z_enc)
    return _psd_codes(Y, W, Z_enc, lam, alpha, steps, config, single)


# the options of train_psd and train_conv_psd
_TRAIN_CONSTRAINTS = {
    "epochs": Int(low=1),
    "batch_size": Int(low=1),
    "lr": Real(low=0.0, low_open=True),
    "inner_steps": Int(low=1),
    "seed": Seed(),
}


@checked(**_TRAIN_CONSTRAINTS)
def train_psd(
    model: PSD,
    Y: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    lr: float = 1e-3,
    inner_steps: int = 30,
    seed: int | None = 0,
) -> History:
    r"""Train a :class:`PSD` in place: for each mini-batch, infer the codes with the encoder in
    the energy, then take one gradient step on the decoder and the encoder.

    (a) With :math:`\bar z = \mathrm{Enc}(y)`, :math:`\check z` = ``inner_steps`` iterations
    of :func:`psd_codes` from :math:`\bar z`. (b) One Adam step on

    .. math:: \frac1B\sum_i \tfrac12\lVert y_i - W\check z_i\rVert^2
              + \tfrac\alpha2\lVert \check z_i - \mathrm{Enc}(y_i)\rVert^2

    (the codes held fixed) with respect to :math:`W` and the encoder's weights; then every atom
    of :math:`W` is renormalised to unit norm. The decoder learns to reconstruct from the codes,
    and the encoder to predict them; the codes in turn stay near what the encoder can predict.

    Args:
        model: the :class:`PSD` (trained in place).
        Y: training signals, ``(N, n)``.
        epochs: passes over the data.
        batch_size: signals per step.
        lr: Adam's learning rate.
        inner_steps: FISTA iterations of the inference per batch.
        seed: seed of the shuffling.

    Returns:
        A :class:`~ebmlab.base.History` with the means over each epoch, per signal, of
        ``energy`` (:func:`psd_energy` at the inferred codes, before the step),
        ``reconstruction`` (its first term) and ``prediction`` (its second term).
    """
    if not isinstance(model, PSD):
        raise TypeError(f"model must be a PSD; got {type(model).__name__}")
    Y, _ = _check_signals(as_tensor(Y, "Y", ndim=2), model.W.detach(), name="Y")
    config = SolverConfig()

    def infer(Yb, Z_enc):
        return _psd_codes(Yb, model.W, Z_enc, model.lam, model.alpha, inner_steps, config).z

    def renormalise() -> None:
        with torch.no_grad():
            model.W.div_(model.W.norm(dim=0, keepdim=True).clamp_min(1e-12))

    return _train_in_energy(
        model,
        Y,
        encode=lambda Yb: model.encoder._unroll(Yb, model.encoder.layers),
        infer=infer,
        decode=lambda Z: Z @ model.W.T,
        renormalise=renormalise,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
    )


def _train_in_energy(
    model, Y, *, encode, infer, decode, renormalise, epochs, batch_size, lr, seed
) -> History:
    """The training loop of PSD and of its convolutional form, on checked data ``Y`` (one signal
    per entry of the first axis): for each mini-batch, ``infer`` the codes from the encoder's
    (weights fixed), one Adam step on the reconstruction and prediction terms, ``renormalise``.
    The recorded terms are sums over each signal's entries, averaged over the signals."""
    lam, alpha = model.lam, model.alpha
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def per_signal(T: torch.Tensor) -> torch.Tensor:
        return T.flatten(1).sum(dim=1).mean()

    def step(idx: torch.Tensor):
        Yb = Y[idx.to(Y.device)]
        Z_enc = encode(Yb)
        with torch.no_grad():  # (a) inference, the weights fixed
            Z = infer(Yb, Z_enc.detach())
        reconstruction = 0.5 * per_signal((Yb - decode(Z)) ** 2)
        prediction = 0.5 * alpha * per_signal((Z - Z_enc) ** 2)
        energy = reconstruction + prediction + lam * per_signal(Z.abs())
        curves = {"energy": energy, "reconstruction": reconstruction, "prediction": prediction}
        return reconstruction + prediction, curves

    g = generator(seed)
    batches = (optim.minibatches(Y.shape[0], batch_size, g) for _ in range(epochs))
    return optim.train(step, opt, batches, per="epoch", after_step=renormalise)
