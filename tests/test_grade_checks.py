"""The check machinery split for the grader (spec_of, run_case, judge, grading), the channel's
encoding, and misuse in a learner's notebook: a one-line message, never a traceback."""

import base64
import pickle

import numpy as np
import pytest
import torch

from ebmlab.exercises import (
    Case,
    Outcome,
    Reported,
    cases_for,
    check,
    grading,
    judge,
    registry,
    run_case,
    spec_of,
)
from ebmlab.tools import remote
from ebmlab.tools.channel import _answer

EXERCISES = [(c, n, ex) for c, exs in registry().items() for n, ex in exs.items()]
IDS = [f"{c}-{n}" for c, n, _ in EXERCISES]


@pytest.mark.parametrize(("chapter", "name", "ex"), EXERCISES, ids=IDS)
@pytest.mark.parametrize("junk", [None, 3, "my_fn", torch.ones(2)], ids=type)
def test_a_non_callable_gives_a_one_line_message(chapter, name, ex, junk):
    result = ex.check(junk, quiet=True)
    assert result.status == "error" and result.message.startswith("❌")
    assert "\n" not in result.message and "line" not in result.message
    assert "pass the function itself" in result.message or "not callable" in result.message


@pytest.mark.parametrize(("chapter", "name", "ex"), EXERCISES, ids=IDS)
def test_tuples_holding_none_are_reported_not_raised(chapter, name, ex):
    result = ex.check(lambda *a, **k: (None, None), quiet=True)
    assert result.status in ("fail", "error") and result.message.startswith("❌")


def test_an_endless_loop_hits_the_time_limit():
    def loop(x):
        while True:
            try:
                pass
            except Exception:  # the learner's own except does not swallow the alarm
                pass

    result = check(loop, lambda x: x, [Case((torch.ones(2),))], name="demo", time_limit=0.5)
    assert result.status == "timeout" and result.message.startswith("⌛")


def test_messages_point_at_the_learner_s_line_and_explain_nan():
    def bad(F, beta):
        return torch.ones(3) @ torch.ones(4)  # raises inside torch

    result = registry()["ch02"]["gibbs"].check(bad, quiet=True)
    assert "line" in result.message and "of bad" in result.message
    nan = check(lambda x: x * float("nan"), lambda x: x, [Case((torch.ones(2),))], name="d")
    assert "NaN" in nan.message and "log-sum-exp" not in nan.message


def test_spec_of_runs_nothing_and_grading_draws_cases_with_the_seed():
    def drawn(seed):
        return [Case((torch.tensor([float(seed)]),), what=f"seed {seed}")]

    calls = []

    def my_check(fn, quiet=False):
        return check(fn, lambda x: calls.append(x) or x, drawn, name="demo", quiet=quiet)

    spec = spec_of(my_check, seed=7)
    assert spec.name == "demo" and spec.cases[0].what == "seed 7" and calls == []
    assert cases_for(drawn)[0].what == "seed 0"  # a learner's check: the default seed
    with grading(seed=11):
        assert my_check(lambda x: x, quiet=True)
    assert float(calls[-1]) == 11.0
    for _, _, ex in EXERCISES:  # every chapter's check can be taken apart
        assert spec_of(ex.check).cases


def test_run_case_and_judge_are_the_check_in_two_halves():
    spec = spec_of(registry()["ch02"]["gibbs"].check)
    case = spec.cases[0]
    expected = spec.reference(*case.args)
    assert judge(spec, 1, expected, run_case(lambda F, b: torch.softmax(-b * F, -1), case)) is None
    status, message = judge(spec, 1, expected, run_case(lambda F, b: 1 / 0, case))
    assert status == "error" and "ZeroDivisionError" in message
    assert judge(spec, 1, expected, Outcome("todo"))[0] == "todo"
    timeout = Outcome("timeout", error="ran longer than 1 s")
    assert judge(spec, 1, expected, run_case(_raiser(Reported(timeout)), case))[0] == "timeout"


def _raiser(exc):
    def fn(*args):
        raise exc

    return fn


@pytest.mark.parametrize(
    "value",
    [
        torch.arange(6.0).reshape(2, 3),
        np.float32(1.5),
        np.arange(4, dtype=np.int64).reshape(2, 2),
        (torch.ones(1), None, 2.5, "s", [1, 2]),
        {"a": torch.zeros(2)},
        3 + 4j,
    ],
    ids=repr,
)
def test_results_cross_the_channel_unchanged(value):
    back = remote.decode(remote.unpack(remote.pack(remote.encode(value))))
    assert type(back) is type(value)
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        assert np.array_equal(np.asarray(back), np.asarray(value))
        assert np.asarray(back).dtype == np.asarray(value).dtype
    elif not isinstance(value, (tuple, dict)):
        assert back == value


def test_a_forged_line_cannot_run_code_in_the_grader():
    class Bomb:
        def __reduce__(self):
            return (exec, ("raise SystemExit('ran')",))

    token = "@@ebmlab-t@@"
    evil = base64.b64encode(pickle.dumps({"kind": "value", "value": Bomb()})).decode()
    cell = {"outputs": [{"output_type": "stream", "text": f"{token}{evil}\n"}]}
    assert _answer(cell, token, [])["kind"] == "raised"  # unreadable: not run
    assert _answer({"outputs": []}, token, [{"ename": "Timeout"}])["kind"] == "timeout"


def test_closures_of_the_cases_are_sent_by_value():
    center = torch.tensor([1.0, 2.0])
    energy = lambda y: ((y - center) ** 2).sum(-1)  # noqa: E731 - as the chapters' cases
    again = pickle.loads(remote.dumps((energy,)))[0]
    assert torch.equal(again(torch.zeros(2)), energy(torch.zeros(2)))
