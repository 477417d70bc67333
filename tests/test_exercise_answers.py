"""Plausible wrong answers that the checks reject, and right answers that they accept.

Each wrong answer is a mistake a learner makes (issue 19 measured them); each test also runs the
exercise's reference, which must still pass. Also: in-place changes of inputs, the return-type
policy, forbidden methods made too slow by a case's budget, cases drawn per grading run.
"""

import itertools
import math

import numpy as np
import pytest
import torch

from ebmlab.exercises import Case, check, grading, registry, spec_of

R = registry()


def _normalise(w):
    return w / w.sum(-1, keepdim=True)


def gibbs_shift_by_max(F, beta):
    return _normalise(torch.exp(-beta * (F - F.max(-1, keepdim=True).values)))


def gibbs_shift_by_first(F, beta):
    return _normalise(torch.exp(-beta * (F - F[..., :1])))


def gibbs_shift_by_global_min(F, beta):
    return _normalise(torch.exp(-beta * (F - F.min())))


def descend_ignoring_lr(energy, y0, lr, steps):
    y = y0.clone()
    for _ in range(steps):
        y.requires_grad_(True)
        (g,) = torch.autograd.grad(energy(y).sum(), y)
        y = (y - 0.1 * g).detach()
    return y


def langevin_noise_scale_or(energy, y, noise, step_size, noise_scale):
    y = y.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(energy(y).sum(), y)
    return (y - step_size * g + (noise_scale or math.sqrt(2 * step_size)) * noise).detach()


def nll_naive(e_data, e_grid, beta, cell):
    return e_data.mean() + torch.log(torch.exp(-beta * e_grid).sum() * cell) / beta


def _binned_mean(idx, y, m):
    return torch.stack(
        [y[idx == i].mean() if (idx == i).any() else y.new_tensor(math.nan) for i in range(m)]
    )


def conditional_mean_truncating(x, y, edges):  # int() rounds -0.3 up into bin 0
    m, width = edges.numel() - 1, float(edges[1] - edges[0])
    idx = ((x - edges[0]) / width).long()
    return _binned_mean(torch.where(idx < m, idx, -1), y, m)


def conditional_mean_closed_last_bin(x, y, edges):  # x == edges[-1] counted in the last bin
    m = edges.numel() - 1
    idx = (torch.bucketize(x, edges, right=True) - 1).clamp(max=m - 1)
    idx = torch.where((x >= edges[0]) & (x <= edges[-1]), idx, -1)
    return _binned_mean(idx, y, m)


def translate_by_rolling(x, dx, dy):  # W + dx is negative when dx < -W: zeroes too little
    B, _, H, W = x.shape
    dx, dy = torch.as_tensor(dx).expand(B), torch.as_tensor(dy).expand(B)
    out = []
    for b in range(B):
        sx, sy = int(dx[b]), int(dy[b])
        o = torch.roll(x[b], (sy, sx), dims=(-2, -1))
        o[..., :, : max(sx, 0)] = 0
        o[..., :, W + sx if sx < 0 else W :] = 0
        o[..., : max(sy, 0), :] = 0
        o[..., H + sy if sy < 0 else H :, :] = 0
        out.append(o)
    return torch.stack(out)


WRONG = [
    ("ch02", "gibbs", gibbs_shift_by_max),
    ("ch02", "gibbs", gibbs_shift_by_first),
    ("ch02", "gibbs", gibbs_shift_by_global_min),
    ("ch02", "descend", descend_ignoring_lr),
    ("ch04", "langevin_step", langevin_noise_scale_or),
    ("ch04", "nll", nll_naive),
    ("ch01", "conditional_mean", conditional_mean_truncating),
    ("ch01", "conditional_mean", conditional_mean_closed_last_bin),
    ("ch08", "translate", translate_by_rolling),
]


@pytest.mark.parametrize(("chapter", "name", "wrong"), WRONG, ids=[w.__name__ for *_, w in WRONG])
def test_the_wrong_answer_is_rejected_and_the_reference_passes(chapter, name, wrong):
    ex = R[chapter][name]
    result = ex.check(wrong, quiet=True)
    assert result.status in ("fail", "error") and result.message.startswith("❌"), result
    assert ex.check(ex.reference, quiet=True).status == "pass"


# --------------------------------------------------------------------------- in place


def shrink_in_place(x, threshold):
    return x.sub_(x.sign() * x.abs().clamp(max=threshold))  # the right values, in x itself


def gibbs_in_place(F, beta):
    return torch.softmax(F.mul_(-beta), -1)


def memory_update_in_place(bank, index, values, momentum):
    bank[index] = torch.nn.functional.normalize(momentum * bank[index] + (1 - momentum) * values)
    return bank


@pytest.mark.parametrize(
    ("chapter", "name", "fn", "arg"),
    [
        ("ch06", "shrink", shrink_in_place, "x"),
        ("ch02", "gibbs", gibbs_in_place, "F"),
        ("ch08", "memory_update", memory_update_in_place, "bank"),
    ],
)
def test_a_right_answer_that_modifies_its_input_is_reported(chapter, name, fn, arg):
    result = R[chapter][name].check(fn, quiet=True)
    assert result.status == "fail" and result.passed == 0
    assert f"modifies its input {arg} in place" in result.message
    assert "return a new tensor" in result.message and "\n" not in result.message.split("Hint")[0]


def test_a_mutation_survives_the_grader_s_channel():
    # the kernel's run_case says "mutated"; the channel turns it into "raised" with its text
    from ebmlab.exercises import Outcome, Reported, judge, run_case

    spec = spec_of(R["ch06"]["shrink"].check)
    case = spec.cases[0]
    kernel = run_case(shrink_in_place, case)
    assert kernel.kind == "mutated"

    def proxy(*args):
        raise Reported(Outcome("raised", error=kernel.error))

    status, message = judge(spec, 1, spec.reference(*case.args), run_case(proxy, case))
    assert status == "fail" and "modifies its input x in place" in message
    assert "raised" not in message


# --------------------------------------------------------------------------- return types


def test_a_numpy_array_or_a_float_is_rejected_where_a_tensor_is_asked():
    numpy = R["ch02"]["gibbs"].check(lambda F, b: torch.softmax(-b * F, -1).numpy(), quiet=True)
    assert numpy.status == "fail" and "numpy array" in numpy.message
    assert "torch tensor" in numpy.message and "torch.as_tensor" in numpy.message
    listed = R["ch06"]["shrink"].check(lambda x, t: x.tolist(), quiet=True)
    assert listed.status == "fail" and "Python list" in listed.message
    one = R["ch07"]["reparameterize"]  # case 1 has shape (1,): a float is not that tensor
    floats = one.check(lambda mu, lv, eps: float((mu + (lv / 2).exp() * eps)[0]), quiet=True)
    assert floats.status == "fail" and "Python float" in floats.message
    labels = R["ch05"]["assign"].check(
        lambda Y, C: tuple(t.numpy() for t in R["ch05"]["assign"].reference(Y, C)), quiet=True
    )
    assert labels.status == "fail" and "tensor of indices" in labels.message


@pytest.mark.parametrize("dtype", [np.float32, np.float64, float])
def test_a_number_of_any_float_type_is_accepted_where_a_number_is_asked(dtype):
    for chapter, name in [("ch04", "nll"), ("ch08", "nt_xent"), ("ch07", "negative_elbo")]:
        ex = R[chapter][name]
        assert ex.check(lambda *a, ex=ex: dtype(ex.reference(*a).item()), quiet=True), name
    fista = R["ch06"]["fista_step"]

    def fista_np(*a):
        Z, t = fista.reference(*a)
        return Z, dtype(t)

    assert fista.check(fista_np, quiet=True)
    bad = R["ch04"]["nll"].check(lambda *a: np.array([1.0]), quiet=True)
    assert bad.status == "fail" and "expected a number" in bad.message


def test_mixed_dtypes_are_compared_after_casting():
    def cdist_assign(Y, centers):  # float32 distances against a float64 reference
        F, labels = (torch.cdist(Y.float(), centers.float()) ** 2).min(1)
        return labels, F

    assert R["ch05"]["assign"].check(cdist_assign, quiet=True)
    result = check(lambda x: x.double(), lambda x: x, [Case((torch.ones(3),))], name="d")
    assert result


# --------------------------------------------------------------------------- forbidden methods


def chain_by_brute_force(unary, pairwise):
    n, K = unary.shape
    best = None
    for states in itertools.product(range(K), repeat=n):
        s = torch.tensor(states)
        e = unary[torch.arange(n), s].sum() + pairwise[s[:-1], s[1:]].sum()
        if best is None or e < best[1]:
            best = (s, e)
    return best


def lloyd_with_a_loop_over_points(Y, centers):
    C = centers.to(Y.dtype)
    labels = ((Y[:, None, :] - C[None]) ** 2).sum(-1).argmin(1)
    sums, counts = torch.zeros_like(C), torch.zeros(C.shape[0], dtype=Y.dtype)
    for i in range(Y.shape[0]):
        sums[labels[i]] += Y[i]
        counts[labels[i]] += 1
    return torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], C)


@pytest.mark.parametrize(
    ("chapter", "name", "fn"),
    [
        ("ch02", "chain_min", chain_by_brute_force),
        ("ch05", "lloyd_step", lloyd_with_a_loop_over_points),
    ],
)
def test_a_forbidden_method_runs_out_of_its_case_s_budget(chapter, name, fn):
    ex = R[chapter][name]
    result = ex.check(fn, quiet=True)
    assert result.status == "timeout" and result.message.startswith("⌛"), result.message
    assert result.passed == result.total - 1  # right on every small case
    assert "Hint" in result.message
    assert ex.check(ex.reference, quiet=True)


def test_the_budget_is_measured_also_where_no_alarm_can_be_set():
    def slow(x):
        import time

        time.sleep(0.3)
        return x

    with grading(seed=0):  # the grader's mode: no alarm, the time is measured
        result = check(slow, lambda x: x, [Case((torch.ones(1),), budget=0.1)], name="d")
    assert result.status == "timeout" and "allows 0.1 s" in result.message


# --------------------------------------------------------------------------- drawn cases


@pytest.mark.parametrize("chapter", sorted(R))  # every chapter draws its cases from the seed
def test_cases_are_drawn_per_grading_run_with_stable_counts(chapter):
    for name, ex in R[chapter].items():
        a, b = spec_of(ex.check, seed=0), spec_of(ex.check, seed=1)
        assert len(a.cases) == len(b.cases) == len(spec_of(ex.check).cases)
        assert [(c.what, c.hint) for c in a.cases] == [(c.what, c.hint) for c in b.cases], name
        tensors = [
            (x, y)
            for ca, cb in zip(a.cases, b.cases)
            for x, y in zip(ca.args, cb.args)
            if isinstance(x, torch.Tensor)
        ]
        assert any(x.shape != y.shape or not torch.equal(x, y) for x, y in tensors), name
        with grading(seed=987654321):
            assert ex.check(ex.reference, quiet=True), name


# --------------------------------------------------------------------------- messages


def test_messages_name_the_real_difference_and_explain_inf_and_nan():
    ref = R["ch01"]["conditional_mean"]  # case 3 expects NaN for an empty bin
    filled = ref.check(lambda x, y, e: torch.nan_to_num(ref.reference(x, y, e)), quiet=True)
    assert "expected nan, got 0" in filled.message and "error" not in filled.message
    off = check(
        lambda x: torch.tensor([math.nan, 1.5]),
        lambda x: torch.tensor([math.nan, 1.0]),
        [Case((torch.ones(1),))],
        name="d",
        quiet=True,
    )
    assert "at index (1,)" in off.message and "max abs error 0.5" in off.message
    inf = check(lambda x: x.exp() * 1e38, lambda x: x, [Case((torch.ones(2) * 90,))], name="d")
    assert "got inf" in inf.message and "log-sum-exp" in inf.message
    nan = check(lambda x: (x - x) / (x - x), lambda x: x, [Case((torch.ones(2),))], name="d")
    assert "NaN" in nan.message and "log-sum-exp" not in nan.message
    neg = check(lambda x: torch.log(-x), lambda x: x, [Case((torch.ones(2),))], name="d")
    assert "NaN" in neg.message and "log-sum-exp" not in neg.message
