"""Tests for ebmlab.runtime."""

import random

import numpy as np
import pytest
import torch

from ebmlab import runtime


def test_seed_everything_makes_every_stream_repeatable():
    runtime.seed_everything(5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    runtime.seed_everything(5)
    b = (random.random(), np.random.rand(), torch.rand(1).item())  # noqa: NPY002
    assert a == b


def test_generator_is_independent_of_the_global_stream():
    g1 = runtime.generator(3)
    g2 = runtime.generator(3)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))


def test_device_choice(monkeypatch):
    monkeypatch.delenv("EBMLAB_DEVICE", raising=False)
    d = runtime.device()
    assert d.type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        assert runtime.device("cpu") == torch.device("cpu")
        with pytest.raises(ValueError, match="cuda"):
            runtime.device("cuda")
    monkeypatch.setenv("EBMLAB_DEVICE", "cpu")
    assert runtime.device() == torch.device("cpu")


def test_deterministic_switch_round_trip():
    runtime.deterministic(True)
    assert torch.are_deterministic_algorithms_enabled()
    runtime.deterministic(False)
    assert not torch.are_deterministic_algorithms_enabled()


def test_progress_is_silent_by_default(capsys, monkeypatch):
    monkeypatch.delenv("EBMLAB_PROGRESS", raising=False)
    assert list(runtime.progress(range(5), "x", every=1)) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("EBMLAB_PROGRESS", "1")
    list(runtime.progress(range(4), "step", every=2))
    assert capsys.readouterr().err == "step 0\nstep 2\n"


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: runtime.seed_everything(-1), ValueError, "seed"),
        (lambda: runtime.seed_everything(1.5), TypeError, "seed"),
        (lambda: runtime.device("tpu"), ValueError, "prefer"),
        (lambda: runtime.device(3), TypeError, "prefer"),
        (lambda: runtime.deterministic("yes"), TypeError, "enabled"),
        (lambda: list(runtime.progress([1], every=-1)), ValueError, "every"),
        (lambda: runtime.generator(-3), ValueError, "seed"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize(
    ("env", "threads"),
    [({}, "1"), ({"OMP_NUM_THREADS": "2"}, "2"), ({"EBMLAB_THREADS": "2"}, "2")],
)
def test_import_sets_the_thread_policy(env, threads):
    """One thread by default (the chapters' tensors are small); the environment can ask for more."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in {"OMP_NUM_THREADS", "EBMLAB_THREADS"}}
    run = subprocess.run(
        [sys.executable, "-c", "import ebmlab, torch; print(torch.get_num_threads())"],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == threads


@pytest.mark.parametrize("value", ["two", "0", "1.5"])
def test_a_bad_thread_count_names_the_environment_variable(value):
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in {"OMP_NUM_THREADS", "EBMLAB_THREADS"}}
    run = subprocess.run(
        [sys.executable, "-c", "import ebmlab"],
        env={**base, "EBMLAB_THREADS": value},
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "ValueError: the environment variable EBMLAB_THREADS must be" in run.stderr
