"""The reproducibility policy's CPU code paths: one place that says which kernels a run uses.

Usage (the Makefile runs these; see CONTRIBUTING.md, "Reproducibility"):

    python tools/cpu_paths.py pinned     # KEY=VALUE settings of `make test` and `make refresh`
    python tools/cpu_paths.py altered    # a materially different path: the stand-in for
                                         # "another machine" in the second nbval pass
    python tools/cpu_paths.py report     # what the current process really runs, and a digest
                                         # of a small training run computed on those kernels
    python tools/cpu_paths.py verify     # for each pinned setting: does leaving it out change
                                         # the arithmetic on this machine?

Each setting picks one library's code path:

- ``ATEN_CPU_CAPABILITY``: torch's own vectorised kernels (default / avx2 / avx512);
- ``MKL_CBWR``: MKL's conditional numerical reproducibility (torch's matrix products and
  vectorised math such as ``exp``) — one instruction-set branch whatever the CPU;
- ``ONEDNN_MAX_CPU_ISA``: oneDNN's convolutions and batch norm;
- ``OPENBLAS_CORETYPE``: the OpenBLAS that numpy and scipy (so scikit-learn) use;
- ``NPY_DISABLE_CPU_FEATURES``: numpy's own SIMD loops above AVX2 (``exp``, ``log``, ...),
  computed for this machine from the features numpy dispatches and the CPU has;
- thread counts (a reduction split over two threads adds in another order);
- ``EBMLAB_DETERMINISTIC=1``: ``ebmlab`` asks torch for deterministic algorithms on import.

``verify`` checks each setting instead of trusting it. It runs ``report`` pinned, then once
with each setting left out. On an AVX2 machine the instruction-set pins are the native paths, so
leaving one out changes nothing; on an AVX-512 machine leaving one out changes digests: that is the
difference the pin removes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

# The features of numpy's dispatch list that an AVX2 machine lacks (numpy 2.x names first, then
# numpy 1.x names). Only those this numpy dispatches *and* this CPU has are disabled.
_NUMPY_ABOVE_AVX2 = (
    "X86_V4",
    "AVX512F",
    "AVX512CD",
    "AVX512_KNL",
    "AVX512_KNM",
    "AVX512_SKX",
    "AVX512_CLX",
    "AVX512_CNL",
    "AVX512_ICL",
    "AVX512_SPR",
)

PINNED = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "EBMLAB_DETERMINISTIC": "1",
    "PYTHONHASHSEED": "0",
}

ALTERED = {
    "ATEN_CPU_CAPABILITY": "default",  # torch's scalar kernels, no SIMD
    "MKL_CBWR": "COMPATIBLE",  # MKL's SSE2 branch
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OPENBLAS_CORETYPE": "Sandybridge",  # AVX without FMA
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "OPENBLAS_NUM_THREADS": "2",
    "EBMLAB_DETERMINISTIC": "1",
    "PYTHONHASHSEED": "0",
}


def numpy_features_above_avx2() -> list[str]:
    """The numpy SIMD features above AVX2 that this numpy dispatches and this CPU supports."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    dispatched = set(__cpu_dispatch__)
    return [f for f in _NUMPY_ABOVE_AVX2 if f in dispatched and __cpu_features__.get(f)]


def settings(kind: str) -> dict[str, str]:
    """The environment of a pinned or altered run on this machine."""
    if kind == "pinned":
        env = dict(PINNED)
        disabled = numpy_features_above_avx2()
        if disabled:
            env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
        return env
    if kind == "altered":
        return dict(ALTERED)
    raise ValueError(f"kind must be 'pinned' or 'altered'; got {kind!r}")


DIGESTS = ("torch training", "torch matmul", "torch exp", "numpy matmul", "numpy exp, log")


def _digest(array) -> str:
    return hashlib.sha1(array.tobytes()).hexdigest()[:10]


def report() -> dict[str, str]:
    """What this process runs, and digests of small computations made on those kernels."""
    import numpy as np
    import threadpoolctl
    import torch

    import ebmlab

    blas = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"]
    out = {
        "torch capability": torch.backends.cpu.get_cpu_capability(),
        "torch threads": str(torch.get_num_threads()),
        "torch deterministic": str(torch.are_deterministic_algorithms_enabled()),
        "MKL_CBWR": os.environ.get("MKL_CBWR", "(unset)"),
        "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA", "(unset)"),
        "numpy SIMD above AVX2": " ".join(numpy_features_above_avx2()) or "(none)",
        "OpenBLAS kernel": blas[0].get("architecture", "?") if blas else "(none)",
    }
    # torch: a small convolutional network trained for 20 steps (oneDNN, ATen, MKL).
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 6 * 6, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = torch.randn(256, 1, 8, 8, generator=ebmlab.generator(1))
    y = torch.arange(256) % 10
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    a = torch.randn(300, 300, generator=ebmlab.generator(2))
    out["torch training"] = _digest(net[4].weight.detach().numpy())
    out["torch matmul"] = _digest((a @ a).numpy())
    out["torch exp"] = _digest(torch.exp(a).numpy())
    # numpy: a matrix product (OpenBLAS) and transcendental loops (numpy's SIMD).
    b = np.random.default_rng(0).standard_normal((300, 300))
    out["numpy matmul"] = _digest(b @ b)
    out["numpy exp, log"] = _digest(np.exp(b) + np.log1p(np.abs(b)))
    return out


def _report_in(env: dict[str, str]) -> dict[str, str]:
    run = subprocess.run(
        [sys.executable, __file__, "report"], env=env, capture_output=True, text=True, check=True
    )
    return {line[:24].strip(): line[24:].strip() for line in run.stdout.splitlines()}


def verify() -> list[tuple[str, list[str]]]:
    """For each pinned setting, the digests that change when that setting alone is left out."""
    pinned = settings("pinned")
    native = {k: v for k, v in os.environ.items() if k not in pinned}
    reference = _report_in({**native, **pinned})
    rows = []
    for key in pinned:
        got = _report_in({**native, **{k: v for k, v in pinned.items() if k != key}})
        rows.append((key, [k for k in DIGESTS if got[k] != reference[k]]))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"pinned", "altered", "report", "verify"}:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "verify":
        print(f"{'left out':<26} digests that change on this machine")
        for key, changed in verify():
            print(f"{key:<26} {', '.join(changed) or '(none)'}")
    elif argv[0] == "report":
        for key, value in report().items():
            print(f"{key:<24} {value}")
    else:
        print(" ".join(f"{k}={v.replace(' ', ',')}" for k, v in settings(argv[0]).items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
