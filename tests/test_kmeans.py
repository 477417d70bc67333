"""Tests of ebmlab.kmeans (K-means as a latent-variable EBM) and of chapter 5's exercise checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ebmlab import kmeans as km
from ebmlab.base import Estimator, NotFittedError
from ebmlab.exercises import ch05

DTYPES = [torch.float32, torch.float64]


def blobs(n=300, d=2, k=4, spread=0.3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    centres = 3.0 * torch.randn(k, d, generator=g, dtype=dtype)
    which = torch.randint(k, (n,), generator=g)
    return centres[which] + spread * torch.randn(n, d, generator=g, dtype=dtype)


def brute_energies(Y, C):
    return ((Y[:, None, :] - C[None, :, :]) ** 2).sum(-1)


def total_energy(Y, C):
    return float(brute_energies(Y.double(), C.double()).min(dim=1).values.sum())


# --------------------------------------------------------------------------- energy and inference


@pytest.mark.parametrize("dtype", DTYPES)
def test_energies_match_brute_force_and_keep_dtype(dtype):
    g = torch.Generator().manual_seed(1)
    Y = torch.randn(40, 5, generator=g).to(dtype)
    C = torch.randn(7, 5, generator=g).to(dtype)
    E = km.energies(Y, C)
    assert E.dtype == dtype and E.shape == (40, 7)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(E, brute_energies(Y, C), rtol=tol, atol=tol)
    assert bool((E >= 0).all())


def test_energy_with_one_hot_codes_equals_energy_with_labels():
    g = torch.Generator().manual_seed(2)
    Y = torch.randn(12, 3, generator=g)
    C = torch.randn(4, 3, generator=g)
    labels = torch.randint(4, (12,), generator=g)
    Z = torch.nn.functional.one_hot(labels, 4).float()
    by_label = km.energy(Y, C, labels)
    torch.testing.assert_close(km.energy(Y, C, Z), by_label)
    torch.testing.assert_close(km.energy(Y, C, labels.numpy()), by_label)
    torch.testing.assert_close(by_label, ((Y - C[labels]) ** 2).sum(1))


def test_energy_off_the_one_hot_set_is_the_reconstruction_error():
    Y = torch.tensor([[1.0, 2.0]])
    C = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # W = identity
    z = torch.tensor([[0.5, 0.5]])
    assert km.energy(Y, C, z).item() == pytest.approx(0.25 + 2.25)


def test_free_energy_is_the_minimum_and_soft_minimum_lies_between_min_and_mean():
    g = torch.Generator().manual_seed(3)
    Y = torch.randn(30, 2, generator=g, dtype=torch.float64)
    C = torch.randn(5, 2, generator=g, dtype=torch.float64)
    E = brute_energies(Y, C)
    F = km.free_energy(Y, C)
    torch.testing.assert_close(F, E.min(dim=1).values)
    Fb = km.free_energy(Y, C, beta=2.0)
    assert bool((Fb >= F - 1e-12).all()) and bool((Fb <= E.mean(dim=1) + 1e-12).all())
    torch.testing.assert_close(km.free_energy(Y, C, beta=1e7), F, atol=1e-5, rtol=0)


def test_assign_and_infer_z_find_the_nearest_prototype():
    g = torch.Generator().manual_seed(4)
    Y = torch.randn(100, 3, generator=g, dtype=torch.float64)
    C = torch.randn(6, 3, generator=g, dtype=torch.float64)
    labels, F = km.assign(Y, C)
    E = brute_energies(Y, C)
    assert torch.equal(labels, E.argmin(dim=1))
    torch.testing.assert_close(F, E.min(dim=1).values)
    assert torch.equal(km.infer_z(Y, C), labels)
    Z = km.infer_z(Y, C, one_hot=True)
    assert Z.shape == (100, 6) and Z.dtype == torch.float64
    assert torch.equal(Z.argmax(dim=1), labels) and bool((Z.sum(1) == 1).all())
    torch.testing.assert_close(km.energy(Y, C, Z), F)


def test_project_lands_on_zero_energy_and_only_prototypes_have_zero_energy():
    Y = blobs(seed=5)
    C = Y[:4].clone()
    P = km.project(Y, C)
    assert bool(torch.isin(P, C).all())
    torch.testing.assert_close(km.free_energy(P, C), torch.zeros(len(Y), dtype=Y.dtype))
    # K-means is architectural: only the k prototypes have zero energy
    grid = torch.cartesian_prod(torch.linspace(-6, 6, 41), torch.linspace(-6, 6, 41)).double()
    assert int((km.free_energy(grid, C) < 1e-12).sum()) <= 4


def test_complete_minimises_over_the_missing_coordinates():
    g = torch.Generator().manual_seed(6)
    C = torch.randn(8, 3, generator=g, dtype=torch.float64)
    Y = torch.randn(25, 3, generator=g, dtype=torch.float64)
    observed = torch.tensor([True, False, True])
    out = km.complete(Y, C, observed)
    # brute force: best prototype on the observed coordinates
    best = brute_energies(Y[:, observed], C[:, observed]).argmin(dim=1)
    torch.testing.assert_close(out[:, observed], Y[:, observed])
    torch.testing.assert_close(out[:, ~observed], C[best][:, ~observed])
    # the filled point has the lowest energy among all choices of the missing value
    F_filled = km.free_energy(out, C)
    for trial in range(5):
        other = Y.clone()
        other[:, 1] = torch.randn(25, generator=g, dtype=torch.float64) * (trial + 1)
        assert bool((F_filled <= km.free_energy(other, C) + 1e-12).all())
    # NaN at the missing positions is fine; a per-row mask works too
    Yn = Y.clone()
    Yn[:, 1] = math.nan
    torch.testing.assert_close(km.complete(Yn, C, observed), out)
    mask = observed.expand(25, 3).clone()
    torch.testing.assert_close(km.complete(Y, C, mask), out)


# --------------------------------------------------------------------------- training steps


def test_lloyd_step_moves_prototypes_to_the_means():
    Y = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    C = torch.tensor([[1.0, 1.0], [9.0, 9.0]])
    new, labels = km.lloyd_step(Y, C)
    assert labels.tolist() == [0, 0, 1, 1]
    torch.testing.assert_close(new, torch.tensor([[1.0, 0.0], [11.0, 10.0]]))
    new2, labels2 = km.lloyd_step(Y, C, labels=torch.tensor([1, 1, 0, 0]))
    assert labels2.tolist() == [1, 1, 0, 0]
    torch.testing.assert_close(new2, torch.tensor([[11.0, 10.0], [1.0, 0.0]]))


def test_lloyd_step_reseeds_an_empty_prototype_on_the_worst_point():
    Y = blobs(n=60, k=2, seed=7)
    C = torch.cat([Y[:2], torch.tensor([[100.0, 100.0]], dtype=Y.dtype)])
    new, labels = km.lloyd_step(Y, C)
    assert not bool((labels == 2).any())
    # the empty prototype moved onto the data point worst explained by its old prototype
    worst = int(((Y - C[labels]) ** 2).sum(1).argmax())
    torch.testing.assert_close(new[2], Y[worst])
    assert total_energy(Y, new) <= total_energy(Y, C)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 80),
    d=st.integers(1, 6),
    k=st.integers(1, 8),
    float64=st.booleans(),
)
def test_lloyd_energy_never_rises(seed, n, d, k, float64):
    """Coordinate descent: neither the z-step nor the W-step can raise the energy."""
    k = min(k, n)
    dtype = torch.float64 if float64 else torch.float32
    g = torch.Generator().manual_seed(seed)
    Y = (torch.randn(n, d, generator=g) * torch.rand(1, d, generator=g) * 3).to(dtype)
    C = (torch.randn(k, d, generator=g) * 3).to(dtype)  # may leave clusters empty
    before = total_energy(Y, C)
    for _ in range(5):
        C, _ = km.lloyd_step(Y, C)
        after = total_energy(Y, C)
        assert after <= before * (1 + 1e-5) + 1e-6
        before = after
    res = km.lloyd(Y, C, record=True, bounds=bool(seed % 2))
    h = res.history.energy.numpy()
    assert np.all(np.diff(h) <= 1e-5 * np.abs(h[:-1]) + 1e-6)
    assert res.inertia <= h[0] * (1 + 1e-5) + 1e-6


def test_gradient_step_follows_the_gradient_of_the_mean_free_energy():
    Y = blobs(n=120, seed=8)
    C = Y[:4].clone()
    W = C.clone().requires_grad_(True)
    loss = brute_energies(Y, W).min(dim=1).values.mean()
    (grad,) = torch.autograd.grad(loss, W)
    new, labels = km.gradient_step(Y, C, lr=0.3)
    torch.testing.assert_close(new, C - 0.3 * grad)
    assert torch.equal(labels, km.infer_z(Y, C))
    # small steps lower the energy, and Lloyd's exact block minimisation lowers it at least as much
    assert total_energy(Y, new) < total_energy(Y, C)
    assert total_energy(Y, km.lloyd_step(Y, C, labels)[0]) <= total_energy(Y, new)


# --------------------------------------------------------------------------- initialisation


def test_kmeans_plusplus_draws_distinct_data_points_and_is_seeded():
    Y = blobs(n=200, k=5, seed=9)
    C, idx = km.kmeans_plusplus(Y, 5, seed=3)
    assert C.shape == (5, 2) and idx.shape == (5,)
    torch.testing.assert_close(C, Y[idx])
    assert len(set(idx.tolist())) == 5
    C2, idx2 = km.kmeans_plusplus(Y, 5, seed=3)
    assert torch.equal(idx, idx2)
    _, idx3 = km.kmeans_plusplus(Y, 5, seed=4)
    assert not torch.equal(idx, idx3)
    # well separated blobs: k-means++ puts one prototype in each (greedy variant)
    labels, _ = km.assign(Y, C)
    assert len(set(labels.tolist())) == 5
    # k = n takes every point; n_trials = 1 is the original algorithm
    small = Y[:6]
    _, all_idx = km.kmeans_plusplus(small, 6, seed=0, n_trials=1)
    assert sorted(all_idx.tolist()) == list(range(6))


def test_kmeans_plusplus_handles_duplicated_data():
    Y = torch.ones(10, 3)
    C, idx = km.kmeans_plusplus(Y, 4, seed=0)
    assert C.shape == (4, 3) and bool((C == 1).all())


def test_kmeans_plusplus_beats_random_starts_on_average():
    Y = blobs(n=400, d=2, k=8, spread=0.2, seed=10)
    pp = np.mean([total_energy(Y, km.kmeans_plusplus(Y, 8, seed=s)[0]) for s in range(10)])
    g = torch.Generator().manual_seed(0)
    rnd = np.mean([total_energy(Y, Y[torch.randperm(400, generator=g)[:8]]) for _ in range(10)])
    assert pp < rnd


# --------------------------------------------------------------------------- the training loop


def test_lloyd_result_is_a_fixed_point_and_reports_its_energy():
    Y = blobs(n=500, d=3, k=6, spread=1.0, seed=12)
    init, _ = km.kmeans_plusplus(Y, 6, seed=1)
    res = km.lloyd(Y, init, record=True)
    assert res.converged and res.history.n == res.n_iter and res.history.per == "step"
    assert list(res.history) == ["energy", "moved"]
    # the first z-step labels every point; the last one, at the fixed point, moves none
    assert res.history.moved[0] == len(Y) and res.history.moved[-1] == 0
    assert bool((res.history.moved[1:-1] > 0).all())
    assert res.history.energy[-1].item() == pytest.approx(res.inertia, rel=1e-12)
    plain = km.lloyd(Y, init)
    assert list(plain.history) == ["moved"]  # without record, no extra pass for the energy
    assert torch.equal(plain.history.moved, res.history.moved)
    assert res.inertia == pytest.approx(total_energy(Y, res.centers), rel=1e-12)
    assert torch.equal(res.labels, km.infer_z(Y, res.centers))
    new, _ = km.lloyd_step(Y, res.centers)
    torch.testing.assert_close(new, res.centers)


def test_lloyd_stops_early_with_max_iter_or_tol():
    Y = blobs(n=500, d=3, k=6, spread=2.0, seed=13)
    init, _ = km.kmeans_plusplus(Y, 6, seed=1)
    full = km.lloyd(Y, init)
    one = km.lloyd(Y, init, max_iter=1)
    assert one.n_iter == 1 and not one.converged
    assert torch.equal(one.labels, km.infer_z(Y, one.centers))  # labels match the final centres
    loose = km.lloyd(Y, init, tol=1e-1)
    assert loose.converged and loose.n_iter < full.n_iter


def test_lloyd_matches_scikit_learn_in_float64():
    from sklearn.cluster import KMeans as SKKMeans

    Y = blobs(n=1000, d=5, k=7, spread=1.5, seed=14)
    init, _ = km.kmeans_plusplus(Y, 7, seed=2)
    ours = km.lloyd(Y, init)
    theirs = SKKMeans(7, init=init.numpy(), n_init=1, algorithm="lloyd", tol=0).fit(Y.numpy())
    assert ours.n_iter == theirs.n_iter_
    assert abs(ours.inertia - theirs.inertia_) / theirs.inertia_ < 1e-10
    np.testing.assert_allclose(ours.centers.numpy(), theirs.cluster_centers_, atol=1e-10)


# --------------------------------------------------------------------------- the estimator


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimator_fits_blobs_and_keeps_the_dtype(dtype):
    Y = blobs(n=400, d=2, k=4, spread=0.2, seed=15, dtype=dtype)
    model = km.KMeans(4, seed=0)
    assert model.fit(Y) is model
    assert model.centers_.shape == (4, 2) and model.centers_.dtype == dtype
    assert model.labels_.shape == (400,) and model.n_features_in_ == 2
    assert model.converged_ and 1 <= model.n_iter_ <= 300
    assert isinstance(model.inertia_, float)
    assert model.inertia_ == pytest.approx(total_energy(Y, model.centers_), rel=1e-4)
    assert torch.equal(model.predict(Y), model.labels_)
    torch.testing.assert_close(model.free_energy(Y), km.free_energy(Y, model.centers_))
    assert model.free_energy(Y).sum().item() == pytest.approx(model.inertia_, rel=1e-4)
    torch.testing.assert_close(
        model.free_energy(Y, beta=2.0), km.free_energy(Y, model.centers_, beta=2.0)
    )
    assert model.history_.n == model.n_iter_ and list(model.history_) == ["moved"]
    assert model.history_.moved[0] == 400 and model.history_.moved[-1] == 0
    torch.testing.assert_close(model.project(Y), model.centers_[model.labels_])
    assert torch.equal(km.KMeans(4, seed=0).fit_predict(Y), model.labels_)
    assert repr(model) == "KMeans(k=4)"
    assert isinstance(model, Estimator)
    assert model.get_params() == {
        "k": 4,
        "init": "k-means++",
        "max_iter": 300,
        "tol": 1e-4,
        "seed": 0,
        "bounds": "auto",
    }


def test_estimator_accepts_numpy_random_init_and_an_init_tensor():
    Y = blobs(n=300, k=3, seed=16)
    a = km.KMeans(3, init="random", seed=1).fit(Y.numpy())
    assert a.centers_.dtype == torch.float64
    assert repr(km.KMeans(3, init=Y[:3].numpy())) == "KMeans(k=3, init=<tensor (3, 2)>)"
    init = Y[:3].clone()
    b = km.KMeans(3, init=init, tol=0.0).fit(Y)
    c = km.lloyd(Y, init)
    torch.testing.assert_close(b.centers_, c.centers)
    observed = torch.tensor([True, False])
    torch.testing.assert_close(b.complete(Y, observed), km.complete(Y, b.centers_, observed))


def test_estimator_is_seeded():
    Y = blobs(n=300, k=5, seed=17)
    a = km.KMeans(5, seed=3).fit(Y)
    b = km.KMeans(5, seed=3).fit(Y)
    assert torch.equal(a.centers_, b.centers_)


def test_k_equal_to_one_and_to_n():
    Y = blobs(n=20, seed=18)
    one = km.KMeans(1).fit(Y)
    torch.testing.assert_close(one.centers_[0], Y.mean(0))
    every = km.KMeans(20).fit(Y)
    assert every.inertia_ == pytest.approx(0.0, abs=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_and_agrees_with_cpu():
    Y = blobs(n=2000, d=8, k=10, spread=1.5, seed=19)
    init, _ = km.kmeans_plusplus(Y, 10, seed=0)
    cpu = km.lloyd(Y, init)
    gpu = km.lloyd(Y.cuda(), init.cuda())
    assert gpu.centers.device.type == "cuda"
    assert gpu.inertia == pytest.approx(cpu.inertia, rel=1e-9)
    model = km.KMeans(10, seed=0).fit(Y.cuda())
    assert model.predict(Y.cuda()).device.type == "cuda"
    C, _ = km.kmeans_plusplus(Y.cuda(), 10, seed=0)
    assert C.device.type == "cuda"


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_name_the_argument():
    Y = blobs(n=20, d=2, seed=20)
    C = Y[:3].clone()
    with pytest.raises(ValueError, match="centers"):
        km.energies(Y, torch.zeros(3, 5))
    with pytest.raises(ValueError, match="Y"):
        km.energies(torch.zeros(5), C)
    bad = Y.clone()
    bad[3, 1] = math.nan
    with pytest.raises(ValueError, match="Y must contain only finite"):
        km.assign(bad, C)
    with pytest.raises(ValueError, match="Y must contain only finite"):
        km.KMeans(2).fit(bad)
    bad[3, 1] = math.inf
    with pytest.raises(ValueError, match="Y must contain only finite"):
        km.lloyd(bad, C)
    with pytest.raises(ValueError, match="centers"):
        km.assign(Y, torch.tensor([[math.nan, 0.0]]))
    with pytest.raises(TypeError, match="Y"):
        km.energies("data", C)
    with pytest.raises(ValueError, match="z"):
        km.energy(Y, C, torch.zeros(20, 4))
    with pytest.raises(ValueError, match="labels"):
        km.energy(Y, C, torch.zeros(19, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        km.lloyd_step(Y, C, labels=torch.full((20,), 3))
    with pytest.raises(ValueError, match="beta"):
        km.free_energy(Y, C, beta=0.0)
    with pytest.raises(TypeError, match="one_hot"):
        km.infer_z(Y, C, one_hot=1)
    with pytest.raises(ValueError, match="lr"):
        km.gradient_step(Y, C, lr=-0.1)
    with pytest.raises(ValueError, match="k"):
        km.kmeans_plusplus(Y, 21)
    with pytest.raises(ValueError, match="k"):
        km.kmeans_plusplus(Y, 0)
    with pytest.raises(TypeError, match="k"):
        km.kmeans_plusplus(Y, 2.5)
    with pytest.raises(ValueError, match="seed"):
        km.kmeans_plusplus(Y, 2, seed=-1)
    with pytest.raises(ValueError, match="n_trials"):
        km.kmeans_plusplus(Y, 2, n_trials=0)
    with pytest.raises(ValueError, match="init"):
        km.lloyd(Y, torch.zeros(3, 4))
    with pytest.raises(ValueError, match="init"):
        km.lloyd(Y[:2], torch.zeros(3, 2))
    with pytest.raises(ValueError, match="max_iter"):
        km.lloyd(Y, C, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        km.lloyd(Y, C, tol=-1.0)
    with pytest.raises(TypeError, match="bounds"):
        km.lloyd(Y, C, bounds="yes")
    with pytest.raises(TypeError, match="record"):
        km.lloyd(Y, C, record=None)


def test_bad_inputs_of_complete_and_the_estimator():
    Y = blobs(n=20, d=2, seed=21)
    C = Y[:3].clone()
    with pytest.raises(TypeError, match="observed"):
        km.complete(Y, C, torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="observed"):
        km.complete(Y, C, torch.tensor([True, False, True]))
    with pytest.raises(ValueError, match="observed"):
        km.complete(Y, C, torch.tensor([False, False]))
    bad = Y.clone()
    bad[0, 0] = math.nan
    with pytest.raises(ValueError, match="Y must be finite at the observed"):
        km.complete(bad, C, torch.tensor([True, False]))
    with pytest.raises(ValueError, match="k"):
        km.KMeans(21).fit(Y)
    with pytest.raises(ValueError, match="k"):
        km.KMeans(0).fit(Y)
    with pytest.raises(ValueError, match="init"):
        km.KMeans(3, init="kmeans").fit(Y)
    with pytest.raises(TypeError, match="init"):
        km.KMeans(3, init=42).fit(Y)
    with pytest.raises(ValueError, match="init"):
        km.KMeans(3, init=torch.zeros(2, 2)).fit(Y)
    with pytest.raises(TypeError, match="bounds"):
        km.KMeans(3, bounds="fast").fit(Y)
    with pytest.raises(ValueError, match="tol"):
        km.KMeans(3, tol=math.nan).fit(Y)
    with pytest.raises(ValueError, match="init"):
        km.KMeans(3, init=torch.zeros(3, 5)).fit(Y)
    with pytest.raises(ValueError, match="seed"):
        km.KMeans(3, seed=-2).fit(Y)
    with pytest.raises(TypeError, match="max_iter"):
        km.KMeans(3, max_iter=2.5).fit(Y)
    # the estimator only stores its arguments: a bad one is reported by fit, not by __init__
    bad_k = km.KMeans(k="3")
    assert bad_k.k == "3"
    with pytest.raises(TypeError, match="k must be an integer"):
        bad_k.fit(Y)
    for method in ("predict", "free_energy", "project"):
        with pytest.raises(NotFittedError, match="not fitted"):
            getattr(km.KMeans(3), method)(Y)
    with pytest.raises(NotFittedError, match="not fitted"):
        km.KMeans(3).complete(Y, torch.tensor([True, False]))


# --------------------------------------------------------------------------- chapter 5's checks


def test_exercise_references_pass_and_stubs_report_todo(capsys):
    for name, ex in ch05.EXERCISES.items():
        assert ex.check(ex.reference, quiet=True), name

        def stub(*args, **kwargs):
            raise NotImplementedError

        res = ex.check(stub, quiet=True)
        assert res.status == "todo" and "not implemented" in res.message, name
    ch05.check_assign(ch05.EXERCISES["assign"].reference)
    assert "all 5 hidden cases pass" in capsys.readouterr().out


def test_exercise_checks_catch_typical_mistakes():
    def assign_argmin_only(Y, C):  # returns the index twice
        E = ((Y[:, None] - C[None]) ** 2).sum(-1)
        return E.argmin(1), E.argmin(1).to(Y.dtype)

    def assign_unsquared(Y, C):  # distances instead of energies
        E = ((Y[:, None] - C[None].to(Y.dtype)) ** 2).sum(-1).sqrt()
        return E.argmin(1), E.min(1).values

    for wrong in (assign_argmin_only, assign_unsquared):
        res = ch05.check_assign(wrong, quiet=True)
        assert res.status == "fail" and "F:" in res.message

    def lloyd_divides_by_zero(Y, C):
        labels = ((Y[:, None] - C[None]) ** 2).sum(-1).argmin(1)
        sums = torch.zeros_like(C).index_add_(0, labels, Y)
        return sums / torch.bincount(labels, minlength=len(C)).unsqueeze(1)

    res = ch05.check_lloyd_step(lloyd_divides_by_zero, quiet=True)
    assert res.status == "fail" and res.passed == 3 and "Hint" in res.message

    def predict_nearest_in_plane(y1, C):  # uses the full point with y2 = 0
        Y = torch.stack([y1, torch.zeros_like(y1)], 1)
        return C[((Y[:, None] - C[None]) ** 2).sum(-1).argmin(1), 1]

    res = ch05.check_predict_y2(predict_nearest_in_plane, quiet=True)
    assert res.status == "fail" and "Hint" in res.message


def test_energy_names_z_when_its_labels_are_bad():
    Y, C = torch.rand(4, 2), torch.rand(2, 2)
    with pytest.raises(TypeError, match=r"^z \(integer labels\) must"):
        km.energy(Y, C, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"^z \(integer labels\) must lie"):
        km.energy(Y, C, torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="^z must"):
        km.energy(Y, C, torch.rand(4))  # a float z is read as (n, k) codes
