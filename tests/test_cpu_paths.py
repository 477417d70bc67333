"""The pinned CPU code paths take effect, and the second nbval pass really runs other kernels."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import cpu_paths  # noqa: E402

HAS_AVX2 = torch.backends.cpu.get_cpu_capability() in {"AVX2", "AVX512"}


def _report(kind: str) -> dict[str, str]:
    env = {**os.environ, **cpu_paths.settings(kind)}
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "cpu_paths.py"), "report"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert run.stderr == ""  # no warning from a setting that a library rejects
    return {line[:24].strip(): line[24:].strip() for line in run.stdout.splitlines()}


@pytest.fixture(scope="module")
def pinned():
    return _report("pinned")


@pytest.mark.skipif(not HAS_AVX2, reason="the pinned path is AVX2; this CPU has none")
def test_every_pin_takes_effect(pinned):
    assert pinned["torch capability"] == "AVX2"
    assert pinned["torch threads"] == "1"
    assert pinned["torch deterministic"] == "True"
    assert pinned["MKL_CBWR"] == "AVX2"
    assert pinned["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert pinned["numpy SIMD above AVX2"] == "(none)"
    assert pinned["OpenBLAS kernel"] == "Haswell"


def test_pinned_runs_repeat_bit_for_bit(pinned):
    again = _report("pinned")
    assert {k: again[k] for k in cpu_paths.DIGESTS} == {k: pinned[k] for k in cpu_paths.DIGESTS}


def test_the_altered_pass_runs_other_kernels(pinned):
    altered = _report("altered")
    assert altered["torch capability"] == "DEFAULT"
    assert altered["torch threads"] == "2"
    assert altered["OpenBLAS kernel"] == "Sandybridge"
    for key in ("torch training", "torch matmul", "torch exp", "numpy matmul"):
        assert altered[key] != pinned[key], key


def test_settings_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        cpu_paths.settings("fast")
