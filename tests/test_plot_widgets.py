"""Tests for ebmlab.show: the plotting helpers and the widgets."""

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest
import torch
from ipywidgets.widgets.widget import _instances as widget_registry
from ipywidgets.widgets.widget_link import Link

from ebmlab.energy import grid_2d
from ebmlab.show import plot
from ebmlab.show.widgets import frame_slider, live_slider


def test_palette_is_okabe_ito():
    assert len(plot.PALETTE) == 8 and plot.PALETTE[1] == "#E69F00"


def test_energy_landscape_draws_with_a_colorbar():
    U, V, pts = grid_2d(-1, 1, 20)
    fig, ax = plt.subplots()
    cs = plot.energy_landscape(ax, U, V, (pts**2).sum(1), label="E")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "E"
    assert cs.levels.min() <= 0.01
    plt.close(fig)


def test_image_grid_tiles_and_scales_signed_images_symmetrically():
    im = plot.image_grid(torch.randn(10, 16), nrow=5)
    arr = im.get_array()
    assert arr.shape == (2 * 5 + 1, 5 * 5 + 1)
    assert im.get_clim() == (-1.0, 1.0) and im.get_cmap().name == plot.DIVERGING_CMAP
    plt.close(im.figure)
    im = plot.image_grid(torch.rand(4, 1, 8, 8))
    assert im.get_cmap().name == "gray_r"
    plt.close(im.figure)


def test_image_grid_frames_the_tiles_in_a_colour_of_its_own():
    im = plot.image_grid(torch.rand(4, 3, 3), nrow=2, frame="0.55")
    arr = im.get_array()
    assert arr.shape == (2 * 4 + 1, 2 * 4 + 1)
    assert bool(arr.mask[0].all()) and bool(arr.mask[:, 4].all())  # the padding is masked...
    assert not bool(arr.mask[1:4, 1:4].any())  # ...the tiles are not
    assert im.get_cmap().get_bad().tolist() == [0.55, 0.55, 0.55, 1.0]
    plt.close(im.figure)
    with pytest.raises(ValueError, match="frame must be a matplotlib colour"):
        plot.image_grid(torch.rand(4, 3, 3), frame="no such colour")
    plt.close("all")


def test_figure_to_png_returns_png_bytes():
    fig, _ = plt.subplots()
    png = plot.figure_to_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)


def _render(value):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, value])
    return fig


def test_frame_slider_links_slider_and_frames_in_the_browser():
    box = frame_slider(_render, [1, 2, 3], description="v", start=1)
    slider, stack = box.children
    assert isinstance(stack, widgets.Stack) and len(stack.children) == 3
    assert stack.selected_index == 1 and slider.index == 1
    assert all(img.value[:4] == b"\x89PNG" for img in stack.children)
    # frames differ: the slider really changes the picture
    assert len({img.value for img in stack.children}) == 3
    # the browser-side link (jslink) that makes it move with no kernel
    links = [
        w for w in widget_registry.values() if isinstance(w, Link) and w.source == (slider, "index")
    ]
    assert len(links) == 1 and links[0].target == (stack, "selected_index")


def test_live_slider_redraws_on_change():
    box = live_slider(_render, [1, 2], description="v")
    slider, image = box.children
    first = image.value
    slider.value = 1
    assert image.value != first


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: frame_slider("f", [1, 2]), TypeError, "render"),
        (lambda: frame_slider(_render, [1]), ValueError, "values"),
        (lambda: frame_slider(_render, [1, 2], start=5), ValueError, "start"),
        (lambda: frame_slider(_render, [1.001, 1.002], fmt="{:.1f}"), ValueError, "fmt"),
        (lambda: frame_slider(lambda v: 3, [1, 2]), TypeError, "render"),
        (lambda: live_slider(_render, [1]), ValueError, "values"),
        (
            lambda: plot.energy_landscape(
                None, torch.zeros(2, 2), torch.zeros(3, 3), torch.zeros(4)
            ),
            ValueError,
            "one shape",
        ),
        (
            lambda: plot.energy_landscape(
                None, torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(5)
            ),
            ValueError,
            "energies",
        ),
        (lambda: plot.image_grid(torch.zeros(3, 10)), ValueError, "square"),
        (lambda: plot.image_grid(torch.zeros(3, 2, 4, 4)), ValueError, "channel"),
        (lambda: plot.figure_to_png("fig"), TypeError, "fig"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
    plt.close("all")
