"""One plotting style for the whole course, and the figures chapters share.

Colours are the Okabe–Ito palette (distinguishable with every common colour-vision
deficiency); energy landscapes use ``cividis`` (perceptually uniform, colour-blind safe, and
readable when printed in grey). Figures have an opaque white background so they stay readable
on the website's dark theme too.
"""

from __future__ import annotations

import io

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import torch

from .._validation import as_tensor, check_int

__all__ = [
    "PALETTE",
    "ENERGY_CMAP",
    "DIVERGING_CMAP",
    "use_style",
    "energy_landscape",
    "image_grid",
    "figure_to_png",
]

#: The Okabe and Ito (2008) colours, in order black, orange, sky blue, bluish green, yellow,
#: blue, vermillion and purple.
PALETTE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
#: Sequential colour map for energies (low = dark blue, high = yellow).
ENERGY_CMAP = "cividis"
#: Diverging colour map for signed images such as dictionary atoms and filters (colour-blind safe).
DIVERGING_CMAP = "PuOr_r"


def use_style() -> None:
    """Apply the course's matplotlib style (call once at the top of a chapter)."""
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.labelsize": 11,
            "legend.fontsize": 10,
            "legend.framealpha": 0.9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": False,
            "axes.prop_cycle": plt.cycler(color=PALETTE[1:] + PALETTE[:1]),
            "image.cmap": ENERGY_CMAP,
            "lines.linewidth": 2.0,
            "figure.constrained_layout.use": True,
            "svg.hashsalt": "ebmlab",
        }
    )


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def energy_landscape(
    ax: plt.Axes,
    U,
    V,
    energies,
    *,
    levels: int = 20,
    colorbar: bool = True,
    label: str = "energy",
    clip: float | None = None,
):
    """Filled contours of an energy over a 2-D grid, with a labelled colour bar.

    The fill uses the book's energy colour map (``ENERGY_CMAP``, readable with every kind of
    colour blindness); thin contour lines over it keep the levels legible in grey print.

    Args:
        ax: the axes to draw on.
        U, V: grid coordinates, ``(n, m)`` (as from :func:`ebmlab.energy.grid_2d`).
        energies: ``(n, m)`` values (or ``n*m`` values in the grid's row-major order).
        levels: number of contour levels.
        colorbar: add a colour bar titled ``label``.
        clip: cap the energies at this value so one huge peak does not wash out the valleys.

    Returns:
        The ``QuadContourSet`` of the fill.
    """
    U = _np(as_tensor(U, "U", ndim=2))
    V = _np(as_tensor(V, "V", ndim=2))
    if U.shape != V.shape:
        raise ValueError(f"U and V must have one shape; got {U.shape} and {V.shape}")
    E = as_tensor(energies, "energies")
    E = _np(E).reshape(U.shape) if E.numel() == U.size else None
    if E is None:
        raise ValueError(f"energies must have {U.size} values to match the grid {U.shape}")
    levels = check_int(levels, "levels", low=2)
    if clip is not None:
        E = np.minimum(E, clip)
    cs = ax.contourf(U, V, E, levels=levels, cmap=ENERGY_CMAP)
    ax.contour(U, V, E, levels=levels, colors="k", linewidths=0.3, alpha=0.35)
    if colorbar:
        ax.figure.colorbar(cs, ax=ax, label=label)
    ax.set_aspect("equal", adjustable="box")
    return cs


def image_grid(
    images,
    nrow: int | None = None,
    *,
    ax: plt.Axes | None = None,
    cmap: str | None = None,
    symmetric: bool | None = None,
    pad: int = 1,
    title: str | None = None,
    frame: str | None = None,
):
    """Tile small images (digits, dictionary atoms, filters) into one picture.

    Args:
        images: ``(N, H, W)``, ``(N, 1, H, W)`` or ``(N, H*W)`` with square images.
        nrow: images per row (default: about ``sqrt(N)``).
        cmap: colour map; default grey for non-negative images and the diverging map for
            signed ones (atoms), which are then scaled symmetrically around zero per image.
        symmetric: force (or forbid) the symmetric, per-image scaling.
        pad: pixels between tiles.
        title: the axes' title.
        frame: a matplotlib colour for the padding (``"0.55"``, a mid grey), so that tiles with
            light edges stay apart on a white page; ``None`` fills it like the background.

    Returns:
        The ``AxesImage``.
    """
    X = _np(as_tensor(images, "images", min_ndim=2)).astype(np.float64)
    if X.ndim == 4:
        if X.shape[1] != 1:
            raise ValueError(f"images must have one channel; got shape {X.shape}")
        X = X[:, 0]
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side != X.shape[1]:
            raise ValueError(f"flat images must be square; {X.shape[1]} is not a square number")
        X = X.reshape(-1, side, side)
    N, H, W = X.shape
    nrow = check_int(nrow, "nrow", low=1) if nrow is not None else int(np.ceil(np.sqrt(N)))
    ncol_rows = int(np.ceil(N / nrow))
    if symmetric is None:
        symmetric = bool(X.min() < 0)
    if symmetric:
        X = X / (np.abs(X).reshape(N, -1).max(axis=1)[:, None, None] + 1e-12)
        lo, hi = -1.0, 1.0
        cmap = cmap or DIVERGING_CMAP
    else:
        lo, hi = float(X.min()), float(X.max())
        cmap = cmap or "gray_r"
    bg = 0.0 if symmetric else lo
    canvas = np.full((ncol_rows * (H + pad) + pad, nrow * (W + pad) + pad), bg)
    padding = np.ones(canvas.shape, dtype=bool)
    for i in range(N):
        r, c = divmod(i, nrow)
        tile = (
            slice(pad + r * (H + pad), pad + r * (H + pad) + H),
            slice(pad + c * (W + pad), pad + c * (W + pad) + W),
        )
        canvas[tile] = X[i]
        padding[tile] = False
    if frame is not None and not matplotlib.colors.is_color_like(frame):
        raise ValueError(f"frame must be a matplotlib colour (such as '0.55'); got {frame!r}")
    if frame is not None:  # masked pixels take the colour map's "bad" colour
        canvas = np.ma.masked_array(canvas, mask=padding)
        cmap = plt.get_cmap(cmap).with_extremes(bad=frame)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(8, 0.5 + 0.6 * nrow), min(8, 0.5 + 0.6 * ncol_rows)))
    im = ax.imshow(canvas, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    if title:
        ax.set_title(title)
    return im


def figure_to_png(fig: plt.Figure, close: bool = True) -> bytes:
    """Render a figure to PNG bytes (for pre-rendered widget frames); closes it by default."""
    if not isinstance(fig, plt.Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    if close:
        plt.close(fig)
    return buf.getvalue()
