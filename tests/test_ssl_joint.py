"""The methods without negatives (ebmlab.ssl.joint), the collapse diagnostics and pretrain's
callback."""

import numpy as np
import pytest
import torch

from ebmlab import digits, ssl
from ebmlab.base import History


def _encoder(width=2, out_dim=4):
    torch.manual_seed(0)
    return ssl.ConvEncoder(width=width, out_dim=out_dim)


def _same(x, g):
    return x


MAKERS = {
    "vicreg": lambda e: ssl.VICReg(e, proj_dim=6),
    "barlow": lambda e: ssl.BarlowTwins(e, proj_dim=6, off_diagonal=0.1),
    "simsiam": lambda e: ssl.SimSiam(e, proj_dim=6, pred_hidden=3),
    "byol": lambda e: ssl.BYOL(e, proj_dim=6, pred_hidden=3, momentum=0.9),
    "ijepa": lambda e: ssl.IJEPA(e, block=3, pred_hidden=5, momentum=0.9),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_every_method_trains_with_pretrain_and_its_loss_is_its_objective(name):
    X = digits(images=True)[0][:48]
    method = MAKERS[name](_encoder())
    assert isinstance(method, ssl.ContrastiveMethod)
    g = torch.Generator().manual_seed(1)
    parts = method.embeddings(X[:8], g)
    assert all(p.shape[0] == 8 for p in parts)
    g = torch.Generator().manual_seed(1)
    assert method.loss(X[:8], torch.arange(8), g).item() == pytest.approx(
        method.objective(*parts).item()
    )
    history = ssl.pretrain(method, X, ssl.PretrainConfig(epochs=3, batch_size=16, seed=0))
    assert isinstance(history, History) and history.n == 9
    assert torch.isfinite(history.loss).all()
    assert not method.training  # pretrain leaves the method in evaluation mode


def test_vicreg_and_barlow_twins_apply_the_checked_losses_to_the_projections():
    z1, z2 = torch.randn(10, 6), torch.randn(10, 6)
    v = ssl.VICReg(_encoder(), proj_dim=6, invariance=2.0, variance=3.0, covariance=4.0, gamma=0.5)
    want = ssl.vicreg_loss(z1, z2, invariance=2.0, variance=3.0, covariance=4.0, gamma=0.5)
    assert v.objective(z1, z2).item() == pytest.approx(want.loss.item())
    assert v.terms(z1, z2).variance.item() == pytest.approx(want.variance.item())
    b = ssl.BarlowTwins(_encoder(), proj_dim=6, off_diagonal=0.2)
    assert b.objective(z1, z2).item() == pytest.approx(
        ssl.barlow_twins_loss(z1, z2, off_diagonal=0.2).item()
    )


def test_simsiam_stop_gradient_flag_decides_whether_the_targets_get_gradients():
    X = torch.rand(6, 1, 8, 8)
    for stop, wants_grad in ((True, False), (False, True)):
        m = ssl.SimSiam(_encoder(), proj_dim=4, pred_hidden=3, stop_gradient=stop, augment=_same)
        p1, p2, z1, z2 = m.embeddings(X, torch.Generator().manual_seed(0))
        assert (
            p1.requires_grad and z1.requires_grad is wants_grad and z2.requires_grad is wants_grad
        )
        want = -0.5 * (
            torch.cosine_similarity(p1, z2).mean() + torch.cosine_similarity(p2, z1).mean()
        )
        assert m.objective(p1, p2, z1, z2).item() == pytest.approx(want.item())


def test_byol_target_gets_no_gradient_and_follows_the_online_network():
    m = ssl.BYOL(_encoder(), proj_dim=4, pred_hidden=3, momentum=0.75, augment=_same)
    assert not any(p.requires_grad for p in m.target_encoder.parameters())
    assert not any(p.requires_grad for p in m.target_head.parameters())
    *_, t1, t2 = m.embeddings(torch.rand(6, 1, 8, 8), torch.Generator().manual_seed(0))
    assert not t1.requires_grad and not t2.requires_grad
    with torch.no_grad():
        m.encoder.fc.weight.add_(1.0)
    old = m.target_encoder.fc.weight.clone()
    m.after_step()
    want = 0.75 * old + 0.25 * m.encoder.fc.weight
    assert torch.allclose(m.target_encoder.fc.weight, want)
    assert m.target_encoder.fc.weight.requires_grad is False


def test_ijepa_hides_one_square_and_predicts_its_embedding():
    m = ssl.IJEPA(_encoder(), block=3, pred_hidden=5)
    X = torch.rand(5, 1, 8, 8) + 0.5  # no zero pixel, so the hidden square is visible
    seen = {}

    def keep(name):
        def hook(module, inputs, output):
            seen.setdefault(name, inputs[0])

        return hook

    m.encoder.register_forward_hook(keep("context"))
    m.target_encoder.register_forward_hook(keep("target"))
    pred, target = m.embeddings(X, torch.Generator().manual_seed(0))
    assert pred.shape == target.shape == (5, 4) and not target.requires_grad
    hidden = seen["context"] == 0
    assert (hidden.flatten(1).sum(1) == 9).all()  # a 3 x 3 square per image
    assert torch.equal(seen["context"] + seen["target"], X)
    assert torch.equal(seen["target"] != 0, hidden)
    assert torch.allclose(target.mean(1), torch.zeros(5), atol=1e-5)  # layer-normalised
    with pytest.raises(ValueError, match="block"):
        ssl.IJEPA(_encoder(), block=8).embeddings(X, torch.Generator())


def test_bad_arguments_name_themselves():
    enc = _encoder()
    with pytest.raises(ValueError, match="proj_dim"):
        ssl.VICReg(enc, proj_dim=0)
    with pytest.raises(ValueError, match="variance"):
        ssl.VICReg(enc, variance=-1.0)
    with pytest.raises(ValueError, match="invariance, variance and covariance"):
        ssl.VICReg(enc, invariance=0, variance=0, covariance=0)
    with pytest.raises(ValueError, match="gamma"):
        ssl.VICReg(enc, gamma=0)
    with pytest.raises(ValueError, match="off_diagonal"):
        ssl.BarlowTwins(enc, off_diagonal=-0.1)
    with pytest.raises(TypeError, match="stop_gradient"):
        ssl.SimSiam(enc, stop_gradient="no")
    with pytest.raises(ValueError, match="momentum"):
        ssl.BYOL(enc, momentum=1.5)
    with pytest.raises(ValueError, match="block"):
        ssl.IJEPA(enc, block=0)
    with pytest.raises(TypeError, match="augment"):
        ssl.SimSiam(enc, augment=3)
    with pytest.raises(ValueError, match="out_dim"):
        ssl.BYOL(torch.nn.Linear(3, 3))
    with pytest.raises(TypeError, match="encoder"):
        ssl.BarlowTwins(lambda x: x)
    with pytest.raises(ValueError, match="z1 must hold at least 2"):
        ssl.VICReg(enc, proj_dim=3).objective(torch.randn(1, 3), torch.randn(1, 3))


def test_the_collapse_controls_collapse_and_the_full_methods_do_not():
    X = digits(images=True)[0][:256]
    runs = {
        "vicreg": lambda e: ssl.VICReg(e, proj_dim=8),
        "invariance only": lambda e: ssl.VICReg(e, proj_dim=8, variance=0, covariance=0),
        "simsiam": lambda e: ssl.SimSiam(e, proj_dim=8, pred_hidden=4),
        "no stop-gradient": lambda e: ssl.SimSiam(
            e, proj_dim=8, pred_hidden=4, stop_gradient=False
        ),
    }
    last = {}
    for name, make in runs.items():
        method = make(_encoder(width=4, out_dim=8))
        monitor = ssl.Monitor(method.project, X, every=16)
        config = ssl.PretrainConfig(epochs=16, batch_size=64, lr=3e-3, seed=0)
        ssl.pretrain(method, X, config, monitor)
        assert monitor.history.step.tolist() == [16, 32, 48, 64]
        last[name] = {k: float(v[-1]) for k, v in monitor.history.items()}
    # VICReg's own measure, the spread of each dimension (measured 1.4 against 0.03), and
    # SimSiam's, the spread of the unit vectors (measured 0.29 against 0.05)
    assert last["invariance only"]["std_mean"] < last["vicreg"]["std_mean"] / 4
    assert last["no stop-gradient"]["std_unit"] < last["simsiam"]["std_unit"] / 4


def test_a_monitor_does_not_change_training_and_records_every_k_steps():
    X = digits(images=True)[0][:64]
    plain = ssl.pretrain(
        ssl.BYOL(_encoder(), proj_dim=4, pred_hidden=3),
        X,
        ssl.PretrainConfig(epochs=2, batch_size=16),
    )
    method = ssl.BYOL(_encoder(), proj_dim=4, pred_hidden=3)
    monitor = ssl.Monitor(method.project, X[:20], every=3)
    monitor(0)
    calls = []

    def both(step):
        calls.append(step)
        monitor(step)

    watched = ssl.pretrain(method, X, ssl.PretrainConfig(epochs=2, batch_size=16), both)
    assert watched.loss.tolist() == plain.loss.tolist()
    assert calls == list(range(1, 9))
    h = monitor.history
    assert h.step.tolist() == [0, 3, 6]
    assert set(h) == {"step", "std_mean", "std_min", "std_unit", "effective_rank"}
    assert (h.std_min <= h.std_mean).all() and (h.effective_rank >= 1).all()
    with pytest.raises(TypeError, match="callback"):
        ssl.pretrain(method, X, ssl.PretrainConfig(epochs=1, batch_size=16), callback=3)
    with pytest.raises(ValueError, match="every"):
        ssl.Monitor(method.project, X, every=0)
    with pytest.raises(ValueError, match="X must hold at least 2"):
        ssl.Monitor(method.project, X[:1])


def test_monitor_of_a_module_restores_its_training_mode():
    enc = _encoder()
    enc.train()
    monitor = ssl.Monitor(enc, torch.rand(5, 1, 8, 8), every=1)
    monitor(1)
    assert enc.training and monitor.history.n == 1


def test_dimension_std_and_spectrum_against_numpy():
    z = torch.randn(30, 5, dtype=torch.float64) * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.0])
    np.testing.assert_allclose(ssl.dimension_std(z).numpy(), z.numpy().std(0, ddof=1))
    c = z.numpy() - z.numpy().mean(0)
    np.testing.assert_allclose(ssl.spectrum(z).numpy(), np.linalg.svd(c, compute_uv=False))
    assert ssl.spectrum(z)[-1] < 1e-10  # the dead fifth dimension
    assert torch.all(ssl.spectrum(z)[:-1] >= ssl.spectrum(z)[1:])
    for fn in (ssl.dimension_std, ssl.spectrum):
        with pytest.raises(ValueError, match="z must hold at least 2"):
            fn(torch.randn(1, 3))
        with pytest.raises(ValueError, match="z must have 2"):
            fn(torch.randn(3))


# --------------------------------------------------------------------------- chapter 9's checks


def _vicreg_biased(z1, z2):  # the biased variance (N denominator)
    def v(z):
        return torch.relu(1 - torch.sqrt(z.var(0, unbiased=False) + 1e-4)).mean()

    def c(z):
        d = z.shape[1]
        cov = torch.cov(z.T)
        return (cov**2).sum() / d - (cov.diagonal() ** 2).sum() / d

    return 25 * ((z1 - z2) ** 2).mean() + 25 * (v(z1) + v(z2)) + c(z1) + c(z2)


def _vicreg_no_mask(z1, z2):  # the diagonal (the variances) left in the covariance term
    def v(z):
        return torch.relu(1 - torch.sqrt(z.var(0) + 1e-4)).mean()

    def c(z):
        return (torch.cov(z.T) ** 2).sum() / z.shape[1]

    return 25 * ((z1 - z2) ** 2).mean() + 25 * (v(z1) + v(z2)) + c(z1) + c(z2)


def _barlow(z1, z2, off_diagonal, standardise):
    a, b = standardise(z1), standardise(z2)
    c = a.T @ b / z1.shape[0]
    return ((1 - c.diagonal()) ** 2).sum() + off_diagonal * (
        (c**2).sum() - (c.diagonal() ** 2).sum()
    )


def _barlow_not_standardised(z1, z2, off_diagonal):
    return _barlow(z1, z2, off_diagonal, lambda z: z - z.mean(0))


def _barlow_unbiased(z1, z2, off_diagonal):
    return _barlow(z1, z2, off_diagonal, lambda z: (z - z.mean(0)) / torch.sqrt(z.var(0) + 1e-5))


def _ema_swapped(target, online, momentum):
    return (1 - momentum) * target + momentum * online


def _ema_in_place(target, online, momentum):
    return target.mul_(momentum).add_((1 - momentum) * online)


def _collapse_covariance_suffices(weights):
    _, variance, covariance = weights.tolist()
    return "complete" if variance == 0 and covariance == 0 else "none"


def _collapse_variance_suffices(weights):
    return "complete" if weights[1] == 0 else "none"


@pytest.mark.parametrize(
    "check, wrong",
    [
        ("check_vicreg", _vicreg_biased),
        ("check_vicreg", _vicreg_no_mask),
        ("check_barlow_twins", _barlow_not_standardised),
        ("check_barlow_twins", _barlow_unbiased),
        ("check_ema", _ema_swapped),
        ("check_ema", _ema_in_place),
        ("check_collapse", _collapse_covariance_suffices),
        ("check_collapse", _collapse_variance_suffices),
    ],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_chapter_9_checks_reject_plausible_wrong_answers(check, wrong):
    from ebmlab.exercises import ch09

    result = getattr(ch09, check)(wrong, quiet=True)
    assert result.status == "fail" and not result, result.message


def test_the_collapse_experiment_gives_the_predicted_collapse_for_many_drawn_weights():
    from ebmlab.exercises import ch09

    def predicted(weights):
        _, variance, covariance = weights.tolist()
        if variance == 0:
            return "complete"
        return "dimensional" if covariance == 0 else "none"

    for seed in range(3):
        for case in ch09._collapse_cases(seed):
            assert ch09._collapse_reference(*case.args) == predicted(*case.args), case.args
