r"""Data that loads offline: toy sets for the lectures' figures and bundled images.

Nothing here downloads anything. The toy sets are drawn from a seeded generator of their own
(they do not disturb torch's global random stream); the images come from scikit-learn's
bundled files. MNIST or CIFAR-10 are offered through torchvision only where it and a network are
available (:func:`torchvision_dataset`); no chapter needs them.

Submodules: ``toys`` (the lectures' toy sets), ``forking`` (chapter 1's futures that go two
ways) and ``images`` (the bundled images, and torchvision where available).
"""

from __future__ import annotations

from .forking import forking_blobs, forking_paths
from .images import digits, image_patches, natural_images, torchvision_dataset
from .toys import ellipse, horn, multimodal_1d, multimodal_branches, spiral

__all__ = [
    "multimodal_1d",
    "multimodal_branches",
    "ellipse",
    "horn",
    "spiral",
    "digits",
    "natural_images",
    "image_patches",
    "torchvision_dataset",
    "forking_paths",
    "forking_blobs",
]
