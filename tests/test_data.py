"""Tests for ebmlab.data: shapes, ranges, determinism, and that the toy sets are what they say."""

import math

import pytest
import torch

import ebmlab
from ebmlab import data


def test_multimodal_points_lie_on_their_branch():
    x, y, k = data.multimodal_1d(n=500, noise=0.0, seed=1)
    assert x.shape == y.shape == (500, 1) and k.shape == (500,)
    branches = data.multimodal_branches(x[:, 0])
    assert torch.allclose(y[:, 0], branches.gather(1, k[:, None])[:, 0])
    assert set(k.tolist()) == {0, 1, 2}
    # the three branches never cross on [-1, 1]: three distinct valid outputs everywhere
    grid = torch.linspace(-1, 1, 1001)
    b = data.multimodal_branches(grid)
    assert (b[:, 1] - b[:, 0]).min() > 0.5 and (b[:, 2] - b[:, 1]).min() > 0.5


def test_multimodal_mean_lies_on_no_branch():
    # the branch frequencies are (0.25, 0.25, 0.5); E[y | x] falls in the gap between f_1 and f_2
    _, _, k = data.multimodal_1d(n=20000, noise=0.0, seed=0)
    freq = torch.bincount(k, minlength=3).float() / len(k)
    assert torch.allclose(freq, torch.tensor([0.25, 0.25, 0.5]), atol=0.01)
    b = data.multimodal_branches(torch.linspace(-1, 1, 1001))
    mean = b @ torch.tensor([0.25, 0.25, 0.5])
    assert (b - mean[:, None]).abs().min() > 0.4
    assert ((mean > b[:, 1]) & (mean < b[:, 2])).all()


def test_ellipse_without_noise_is_on_the_ellipse():
    y, z = data.ellipse(n=200, w1=3.0, w2=0.5, noise=0.0, seed=0)
    assert torch.allclose((y[:, 0] / 3.0) ** 2 + (y[:, 1] / 0.5) ** 2, torch.ones(200), atol=1e-5)
    assert torch.allclose(y, torch.stack([3 * torch.cos(z), 0.5 * torch.sin(z)], 1))


def test_horn_radii_follow_the_formula():
    x, y, z = data.horn(n=300, noise=0.0, seed=0)
    xs = x[:, 0]
    r1 = (1.5 * xs + 2.0 * (1 - xs)) * torch.exp(2 * xs)
    r2 = (2.0 * xs + 1.5 * (1 - xs)) * torch.exp(2 * xs)
    assert torch.allclose((y[:, 0] / r1) ** 2 + (y[:, 1] / r2) ** 2, torch.ones(300), atol=1e-4)
    assert float(xs.min()) >= 0 and float(xs.max()) <= 1
    # w1, w2 are the semi-axes at x = 1 (before the growth e^{2x}); at x = 0 they are swapped
    x, y, z = data.horn(n=300, w1=3.0, w2=0.5, noise=0.0, seed=0)
    s = torch.exp(2 * x[:, 0])
    r1, r2 = (3.0 * x[:, 0] + 0.5 * (1 - x[:, 0])) * s, (0.5 * x[:, 0] + 3.0 * (1 - x[:, 0])) * s
    assert torch.allclose(y, torch.stack([r1 * torch.sin(z), r2 * torch.cos(z)], 1))


def test_spiral_radius_grows_with_angle():
    y = data.spiral(n=400, noise=0.0, turns=1.0, seed=0)
    r = y.norm(dim=1)
    angle = torch.atan2(y[:, 1], y[:, 0]) % (2 * math.pi)
    # one turn: the angle is 2*pi*t (mod 2*pi) and the radius is t
    assert torch.allclose((2 * math.pi * r) % (2 * math.pi), angle, atol=1e-3)


def test_toy_sets_are_deterministic_and_do_not_touch_the_global_stream():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = data.spiral(n=50, seed=7)
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert torch.equal(a, data.spiral(n=50, seed=7))
    assert not torch.equal(a, data.spiral(n=50, seed=8))


def test_forking_paths_has_two_branches_after_zero():
    x, y, k = data.forking_paths(n=500, noise=0.0, slope=1.2, seed=0)
    assert x.shape == (500, 1) and y.shape == (500, 1) and k.shape == (500,)
    expected = (2.0 * k - 1.0) * 1.2 * x[:, 0].clamp(min=0)
    assert torch.allclose(y[:, 0], expected)
    assert set(k.tolist()) == {0, 1}
    x2, y2, _ = data.forking_paths(n=500, noise=0.0, seed=0)
    assert torch.equal(x, x2) and torch.equal(y, y2)  # seeded


def test_balanced_forking_paths_pair_the_branches_along_x():
    x, y, k = data.forking_paths(n=401, noise=0.0, balanced=True, seed=3)
    order = x[:, 0].argsort()
    pairs = k[order][:400].reshape(200, 2)
    assert (pairs.sum(1) == 1).all()  # each consecutive pair in x: one down, one up
    assert torch.allclose(y[:, 0], (2.0 * k - 1.0) * 1.2 * x[:, 0].clamp(min=0.0))
    # both orders occur within pairs, and the draw is seeded
    assert 0 < pairs[:, 0].sum() < 200
    assert torch.equal(k, data.forking_paths(n=401, balanced=True, seed=3)[2])


def test_forking_blobs_move_right_and_up_or_down():
    x, y, k = data.forking_blobs(n=50, size=10, step=2.0, width=1.0, seed=0)
    assert x.shape == y.shape == (50, 100) and k.shape == (50,)
    assert float(x.min()) >= 0 and float(x.max()) <= 1

    def centre(img):
        img = img.reshape(-1, 10, 10)
        grid = torch.arange(10.0)
        w = img.sum((1, 2))
        return (img.sum(2) @ grid) / w, (img.sum(1) @ grid) / w

    rx, cx = centre(x)
    ry, cy = centre(y)
    # blobs near the border are clipped, so compare the moves loosely but the signs exactly
    assert bool((cy - cx > 1.0).all())
    assert torch.equal((ry > rx).long(), k)


def test_forking_blobs_rejects_a_step_that_does_not_fit():
    with pytest.raises(ValueError, match="step"):
        data.forking_blobs(size=8, step=3.0)
    with pytest.raises(ValueError, match="size"):
        data.forking_blobs(size=4)
    with pytest.raises(ValueError, match="noise"):
        data.forking_paths(noise=-1.0)
    with pytest.raises(TypeError, match="balanced"):
        data.forking_paths(balanced="yes")


def test_digits():
    X, labels = data.digits()
    assert X.shape == (1797, 64) and X.dtype == torch.float32
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert labels.shape == (1797,) and set(labels.tolist()) == set(range(10))
    Xi, _ = data.digits(images=True)
    assert Xi.shape == (1797, 1, 8, 8) and torch.equal(Xi.reshape(1797, 64), X)


def test_natural_images():
    imgs = data.natural_images()
    assert imgs.shape == (2, 427, 640) and 0 <= float(imgs.min()) and float(imgs.max()) <= 1


def test_whitened_patches_have_identity_covariance_up_to_the_regulariser():
    P = data.image_patches(n=4000, size=6, seed=0).double()
    assert P.shape == (4000, 36)
    assert torch.allclose(
        P.mean(1), torch.zeros(4000, dtype=torch.float64), atol=1e-4
    )  # each patch has zero mean
    C = P.T @ P / len(P)
    eig = torch.linalg.eigvalsh(C)
    # whitening with eps flattens the spectrum: all but the removed-mean direction near 1
    assert float(eig[1:].max()) < 1.0 + 1e-6 and float(eig[1:].min()) > 0.3
    raw = data.image_patches(n=4000, size=6, whiten=False, seed=0).double()
    raw_eig = torch.linalg.eigvalsh(raw.T @ raw / len(raw))
    assert raw_eig[-1] / raw_eig[1] > 50 * eig[-1] / eig[1]  # raw patches are far from white


def test_torchvision_dataset_fails_clearly_without_torchvision():
    with pytest.raises(ValueError, match="name"):
        data.torchvision_dataset("imagenet")
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(RuntimeError, match="torchvision"):
            data.torchvision_dataset("mnist")


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: data.multimodal_1d(n=0), ValueError, "n"),
        (lambda: data.multimodal_1d(noise=-0.1), ValueError, "noise"),
        (lambda: data.multimodal_1d(seed=-1), ValueError, "seed"),
        (lambda: data.multimodal_branches("x"), TypeError, "x"),
        (lambda: data.ellipse(w1=0.0), ValueError, "w1"),
        (lambda: data.ellipse(w2=-1.0), ValueError, "w2"),
        (lambda: data.horn(w1=0.0), ValueError, "w1"),
        (lambda: data.horn(w2=-1.0), ValueError, "w2"),
        (lambda: data.horn(n=2.5), TypeError, "n"),
        (lambda: data.spiral(turns=0), ValueError, "turns"),
        (lambda: data.digits(images="yes"), TypeError, "images"),
        (lambda: data.image_patches(size=1), ValueError, "size"),
        (lambda: data.image_patches(eps=0.0), ValueError, "eps"),
        (lambda: data.image_patches(whiten=1), TypeError, "whiten"),
        (lambda: data.torchvision_dataset("mnist", train="no"), TypeError, "train"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_public_names_are_exported():
    for name in data.__all__:
        assert getattr(ebmlab, name) is getattr(data, name)
