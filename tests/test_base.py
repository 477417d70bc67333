"""The shared base: declared constraints, the estimator base, History, and the optimisation
mechanisms of ebmlab.optim, each written once."""

from __future__ import annotations

import math

import pytest
import torch

from ebmlab import optim
from ebmlab._validation import Boolean, Int, IsCallable, Options, Real, Seed, checked, validate
from ebmlab.base import Estimator, History, NotFittedError

# --------------------------------------------------------------------------- constraints


@pytest.mark.parametrize(
    ("rule", "value", "exc", "match"),
    [
        (Real(low=0.0, low_open=True), 0.0, ValueError, r"lr must be > 0.0; got 0.0"),
        (Real(low=0.0), -1, ValueError, r"lr must be >= 0.0; got -1.0"),
        (Real(high=1.0), 2.0, ValueError, r"lr must be <= 1.0"),
        (Real(), "a", TypeError, r"lr must be a real number; got str"),
        (Real(), math.inf, ValueError, r"lr must be finite"),
        (Int(low=1), 0, ValueError, r"lr must be >= 1; got 0"),
        (Int(), 1.5, TypeError, r"lr must be an integer; got float"),
        (Int(), True, TypeError, r"lr must be an integer; got bool"),
        (Options(("a", "b")), "c", ValueError, r"lr must be 'a' or 'b'; got 'c'"),
        (Options(("a", "b")), 1, TypeError, r"lr must be a str \('a' or 'b'\); got int"),
        (Boolean(), 1, TypeError, r"lr must be True or False; got int"),
        (Seed(), -1, ValueError, r"lr must be >= 0"),
        (IsCallable(), 3, TypeError, r"lr must be callable; got int"),
    ],
)
def test_a_constraint_names_the_argument(rule, value, exc, match):
    with pytest.raises(exc, match=match):
        rule.check(value, "lr")


def test_constraints_convert_and_optional_ones_accept_none():
    assert Real(allow_inf=True).check(math.inf, "beta") == math.inf
    assert Int().check(torch.tensor(3).item(), "k") == 3
    assert Real(optional=True).check(None, "x") is None
    assert Int(optional=True).check(None, "x") is None
    assert Seed().check(None, "seed") is None
    assert validate({"k": Int(low=1)}, {"k": 2, "other": "x"}) == {"k": 2, "other": "x"}


def test_checked_validates_each_call_and_passes_the_converted_values():
    @checked(iters=Int(low=1), method=Options(("eigh", "power")))
    def f(x, method="eigh", iters=10):
        return x, method, iters

    assert f(1) == (1, "eigh", 10)
    assert f(1, iters=3) == (1, "eigh", 3)
    with pytest.raises(ValueError, match="iters must be >= 1"):
        f(1, iters=0)
    with pytest.raises(ValueError, match="method must be 'eigh' or 'power'"):
        f(1, "qr")
    assert f.__wrapped__(1, iters=0) == (1, "eigh", 0)  # the unchecked core
    with pytest.raises(TypeError, match="no argument"):
        checked(nope=Int())(lambda x: x)


# --------------------------------------------------------------------------- Estimator


class _Toy(Estimator):
    _parameter_constraints = {"k": Int(low=1), "init": Options(("a", "b"))}

    def __init__(self, k=2, *, init="a"):
        self.k = k
        self.init = init

    def fit(self, Y):
        params = self._validate_params()
        self.n_iter_ = params["k"]
        return self

    def predict(self, Y):
        self._check_fitted()
        return Y


def test_an_estimator_stores_checks_in_fit_and_reports_not_fitted():
    est = _Toy(k=0)  # storing never raises
    assert est.get_params() == {"k": 0, "init": "a"}
    with pytest.raises(ValueError, match="k must be >= 1; got 0"):
        est.fit(None)
    with pytest.raises(NotFittedError, match="this _Toy is not fitted yet; call fit"):
        _Toy().predict(1)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert _Toy(k=3).fit(None).predict(5) == 5
    assert repr(_Toy(k=3)) == "_Toy(k=3)"
    assert repr(_Toy(init=torch.zeros(2, 3))) == "_Toy(init=<tensor (2, 3)>)"


# --------------------------------------------------------------------------- History


def test_history_holds_named_curves_of_one_length():
    h = History({"loss": [3.0, 2.0], "kl": torch.tensor([1.0, 0.5])}, per="epoch")
    assert h.loss.dtype == torch.float64 and h["kl"].tolist() == [1.0, 0.5]
    assert list(h) == ["loss", "kl"] and h.n == 2 and h.per == "epoch"
    assert repr(h) == "History(loss, kl; 2 epochs)"
    with pytest.raises(AttributeError, match="records \\['kl', 'loss'\\], not 'nll'"):
        _ = h.nll
    with pytest.raises(ValueError, match="one length"):
        History({"a": [1.0], "b": [1.0, 2.0]})
    with pytest.raises(ValueError, match="per must be"):
        History({}, per="batch")


# --------------------------------------------------------------------------- optim


def test_shrink_is_soft_thresholding():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5])
    want = torch.sign(x) * torch.clamp(x.abs() - 0.5, min=0)
    assert torch.equal(optim.shrink(x, 0.5), want)
    theta = torch.tensor([0.0, 1.0, 0.0, 0.0, 2.0])
    assert torch.equal(optim.shrink(x, theta), torch.sign(x) * torch.clamp(x.abs() - theta, min=0))


def test_fista_momentum_follows_beck_and_teboulle():
    t_next, w = optim.fista_momentum(1.0)
    assert t_next == (1 + math.sqrt(5)) / 2 and w == 0.0
    tt, ww = optim.fista_momentum(torch.tensor([1.0, 3.0], dtype=torch.float64))
    assert torch.allclose(tt, torch.tensor([(1 + 5**0.5) / 2, (1 + 37**0.5) / 2]).double())
    assert ww[1] == (3.0 - 1.0) / tt[1]


def test_power_iteration_finds_the_largest_eigenvalue():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(20, 8, generator=g, dtype=torch.float64)
    v = optim.power_iteration(lambda u: W.T @ (W @ u), torch.ones(8, dtype=torch.float64), 500)
    top = torch.linalg.eigvalsh(W.T @ W)[-1]
    assert torch.isclose((W @ v).norm() ** 2, top, rtol=1e-10)
    zero = optim.power_iteration(lambda u: 0 * u, torch.ones(3), 2, eps=1e-30)
    assert torch.equal(zero, torch.zeros(3))


def test_minibatches_reproduce_the_draws_they_replace():
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    got = list(optim.minibatches(10, 4, g1))
    perm = torch.randperm(10, generator=g2)
    assert [b.tolist() for b in got] == [perm[:4].tolist(), perm[4:8].tolist(), perm[8:].tolist()]
    assert [len(b) for b in optim.minibatches(10, 4, g1, drop_last=True)] == [4, 4]
    assert [len(b) for b in optim.minibatches(9, 4, g1, min_size=2)] == [4, 4]
    state = g1.get_state()
    assert [b.tolist() for b in optim.minibatches(3, 2, g1, shuffle=False)] == [[0, 1], [2]]
    assert [b.tolist() for b in optim.minibatches(3, 5, g1, replacement=True)] == [[0, 1, 2]]
    assert torch.equal(g1.get_state(), state)  # neither drew anything
    g2.set_state(g1.get_state())
    (b,) = optim.minibatches(100, 7, g1, replacement=True)
    assert torch.equal(b, torch.randint(0, 100, (7,), generator=g2))


def test_train_runs_the_gradient_loop_and_records_per_step_or_epoch():
    w = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.25)
    seen = []
    h = optim.train(
        lambda b: ((w - 1) ** 2).sum(), opt, [range(3)], after_step=lambda: seen.append(1)
    )
    assert h.per == "step" and h.loss.tolist() == [2.0, 0.5, 0.125] and len(seen) == 3
    w2 = torch.zeros(1, requires_grad=True)
    opt2 = torch.optim.SGD([w2], lr=0.0)
    data = torch.tensor([1.0, 2.0, 3.0])

    def step(idx):
        e = (data[idx] - w2) ** 2
        return e.mean(), {"loss": e.mean(), "largest": e.max()}

    h = optim.train(step, opt2, [[torch.tensor([0, 1]), torch.tensor([2])]], per="epoch")
    assert h.loss.tolist() == [(1 + 4 + 9) / 3]  # weighted by the batch sizes
    assert h.largest.tolist() == [(2 * 4 + 1 * 9) / 3]


def test_train_stops_on_a_diverging_epoch():
    w = torch.zeros(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="diverged at epoch 0"):
        optim.train(
            lambda b: (w * float("nan")).sum(),
            torch.optim.SGD([w], lr=0.1),
            [[torch.tensor([0])]],
            per="epoch",
        )
