r"""The encoder and the projection heads shared by the contrastive methods.

:class:`ConvEncoder` maps an image to its representation :math:`h(x)`; :func:`projection_head`
maps :math:`h` to the vector :math:`z` the loss is applied to.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import Int, checked


# ----------------------------------------------------------------------------------------------
# Encoder and heads
# ----------------------------------------------------------------------------------------------
class ConvEncoder(nn.Module):
    r"""A small convolutional encoder :math:`x \mapsto h(x) \in \mathbb R^{d}`.

    Three 3×3 convolutions, each followed by batch normalisation and a ReLU (the second also by
    2×2 max-pooling), an adaptive average pool to 4×4, then a linear layer. The pool makes it
    take any image size: 8×8 digits here, 32×32 CIFAR-10 images on a GPU (``in_channels=3``).

    Args:
        in_channels: channels of the input images.
        width: channels of the first convolutions (the last has ``2 * width``).
        out_dim: the representation's dimension :math:`d`.
    """

    @checked(in_channels=Int(low=1), width=Int(low=1), out_dim=Int(low=1))
    def __init__(self, in_channels: int = 1, width: int = 16, out_dim: int = 64):
        super().__init__()
        self.out_dim = out_dim

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(
            *block(in_channels, width),
            *block(width, width),
            nn.MaxPool2d(2),
            *block(width, 2 * width),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        self.fc = nn.Linear(2 * width * 16, self.out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Representations ``(B, out_dim)`` of images ``(B, C, H, W)``."""
        return self.fc(self.features(x))


@checked(in_dim=Int(low=1), out_dim=Int(low=1), hidden=Int(low=0, optional=True))
def projection_head(in_dim: int, out_dim: int, hidden: int | None = None) -> nn.Module:
    r"""SimCLR's projection head :math:`z = W_2\,\mathrm{ReLU}(\mathrm{BN}(W_1 h))` (``hidden=0``: linear).

    The loss is applied to :math:`z`; the representation evaluated downstream is :math:`h`.
    The batch normalisation centres the hidden units over the batch. Without it the embeddings
    of an untrained network all point in nearly the same direction (ReLU features are
    non-negative), every cosine is close to 1, and a method whose keys get no gradient (MoCo)
    starts on a plateau where the loss is :math:`\log(K+1)` and its gradient vanishes.

    Args:
        in_dim: dimension of :math:`h`.
        out_dim: dimension of :math:`z`.
        hidden: width of the hidden layer (default ``in_dim``; 0 for a single linear layer).

    Returns:
        An ``nn.Module``.
    """
    return _projection_head(in_dim, out_dim, hidden)


def _projection_head(in_dim: int, out_dim: int, hidden: int | None = None) -> nn.Module:
    hidden = in_dim if hidden is None else hidden
    if hidden == 0:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out_dim)
    )
