"""The chapter-2 checks: right answers pass, wrong ones fail with a message, never a traceback."""

import torch

from ebmlab.exercises import Case, ch02, check


def test_naive_gibbs_fails_on_large_energies_with_a_hint(capsys):
    def naive(F, beta):
        w = torch.exp(-beta * F)
        return w / w.sum(-1, keepdim=True)

    result = ch02.check_gibbs(naive)
    out = capsys.readouterr().out
    assert not result and result.status == "fail" and result.passed == 4
    assert "large energies" in out and "Hint" in out


def test_wrong_shape_and_none_are_reported():
    assert (
        ch02.check_gibbs(lambda F, b: torch.softmax(-b * F.reshape(-1), -1), quiet=True).status
        == "fail"
    )
    res = ch02.check_gibbs(lambda F, b: None, quiet=True)
    assert res.status == "fail" and "return" in res.message


def test_exceptions_in_student_code_are_reported_not_raised():
    res = ch02.check_descend(lambda *a: 1 / 0, quiet=True)
    assert res.status == "error" and "ZeroDivisionError" in res.message


def test_student_cannot_corrupt_the_reference_input():
    def sneaky(F, beta):
        F.zero_()  # in place on the learner's copy only
        return torch.softmax(-beta * F, -1)

    assert ch02.check_gibbs(sneaky, quiet=True).status == "fail"


def test_check_returns_truthy_result_and_message(capsys):
    res = check(lambda a: a + 1, lambda a: a + 1, [Case((torch.ones(2),))], name="demo")
    assert res and res.passed == res.total == 1
    assert capsys.readouterr().out.startswith("✅ demo")
