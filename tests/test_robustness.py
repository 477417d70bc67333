"""Robustness sweep: every public callable of ebmlab, fed bad input, raises a clear error.

Driven from ``__all__``: every callable exported by ``ebmlab`` or by one of its public modules
must have an entry in ``VALID`` (a valid call) or in ``NOT_CHECKED`` (with the reason). For each
argument of each valid call the sweep substitutes bad values chosen by the argument's type —
NaN or inf in a float tensor, a string for a number or a tensor, a fraction for a count, a
non-callable for a function — and asserts a ``ValueError``/``TypeError`` whose message names the
argument. Each module's own tests add the domain-specific cases (wrong rank, mismatched sizes,
negative hyper-parameters).
"""

from __future__ import annotations

import inspect
import math
import tempfile

import pathlib

import matplotlib.pyplot as plt
import pytest
import torch

import ebmlab


def _tmp(name=""):
    return str(pathlib.Path(tempfile.mkdtemp(prefix="ebmlab-sweep-")) / name)


def _notebook():
    import nbformat

    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])


def _notebook_file():
    import nbformat

    path = _tmp("n.ipynb")
    nbformat.write(_notebook(), path)
    return path


def _page():
    path = _tmp("page.md")
    pathlib.Path(path).write_text("% ebmlab exercise table: start\n% ebmlab exercise table: end\n")
    return path


def _quad(u):
    return (u**2).sum(1)


def _render(v):
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, v])
    return fig


# name -> zero-argument factory returning (callable, kwargs) for one valid call
VALID = {
    # runtime
    "seed_everything": lambda: (ebmlab.seed_everything, {"seed": 0}),
    "device": lambda: (ebmlab.device, {"prefer": "cpu"}),
    "deterministic": lambda: (ebmlab.runtime.deterministic, {"enabled": False}),
    "generator": lambda: (ebmlab.generator, {"seed": 1}),
    "progress": lambda: (lambda **kw: list(ebmlab.progress(**kw)), {"iterable": [1], "every": 1}),
    # data
    "multimodal_1d": lambda: (ebmlab.multimodal_1d, {"n": 10, "noise": 0.1, "seed": 0}),
    "multimodal_branches": lambda: (ebmlab.multimodal_branches, {"x": torch.zeros(3)}),
    "ellipse": lambda: (ebmlab.ellipse, {"n": 5, "w1": 1.0, "w2": 2.0, "noise": 0.1, "seed": 0}),
    "horn": lambda: (
        ebmlab.horn,
        {"n": 5, "noise": 0.1, "alpha": 1.5, "beta": 2.0, "seed": 0},
    ),
    "spiral": lambda: (ebmlab.spiral, {"n": 5, "noise": 0.1, "turns": 1.0, "seed": 0}),
    "digits": lambda: (ebmlab.digits, {"images": False}),
    "natural_images": lambda: (ebmlab.natural_images, {}),
    "image_patches": lambda: (
        ebmlab.image_patches,
        {"n": 20, "size": 4, "whiten": True, "eps": 0.1, "seed": 0},
    ),
    "torchvision_dataset": lambda: (ebmlab.torchvision_dataset, {"name": "mnist", "train": True}),
    # energy
    "free_energy": lambda: (
        ebmlab.free_energy,
        {"energies": torch.rand(3, 4), "beta": 1.0, "dim": -1, "dz": 0.5},
    ),
    "free_energy_min": lambda: (ebmlab.free_energy_min, {"energies": torch.rand(4), "dim": 0}),
    "gibbs": lambda: (ebmlab.gibbs, {"energies": torch.rand(4), "beta": 2.0, "dim": 0, "dy": 0.1}),
    "minimize": lambda: (
        ebmlab.minimize,
        {"energy": _quad, "init": torch.ones(2, 2), "steps": 2, "lr": 0.1, "record": False},
    ),
    "infer": lambda: (
        ebmlab.infer,
        {
            "F": lambda x, y: ((y - x) ** 2).sum(1),
            "x": torch.zeros(2, 1),
            "y_starts": torch.ones(3, 2, 1),
            "steps": 2,
            "lr": 0.1,
        },
    ),
    "grid_1d": lambda: (ebmlab.grid_1d, {"low": 0.0, "high": 1.0, "n": 4}),
    "grid_2d": lambda: (ebmlab.grid_2d, {"low": 0.0, "high": 1.0, "n": 4}),
    "chain_energy": lambda: (
        ebmlab.chain_energy,
        {"states": torch.tensor([0, 1]), "unary": torch.rand(2, 2), "pairwise": torch.rand(2, 2)},
    ),
    "chain_argmin": lambda: (
        ebmlab.chain_argmin,
        {"unary": torch.rand(3, 2), "pairwise": torch.rand(2, 2)},
    ),
    # vae
    "regularized_energy": lambda: (
        ebmlab.vae.regularized_energy,
        {"y": torch.rand(3, 4), "W": torch.eye(4)[:, :2], "lam": 0.1, "penalty": "l1"},
    ),
    "reparameterize": lambda: (
        ebmlab.vae.reparameterize,
        {"mu": torch.zeros(3, 2), "logvar": torch.zeros(3, 2), "eps": torch.randn(3, 2)},
    ),
    "kl_normal": lambda: (
        ebmlab.vae.kl_normal,
        {"mu": torch.zeros(3, 2), "logvar": torch.zeros(3, 2), "per_dim": False},
    ),
    "kl_gaussians": lambda: (
        ebmlab.vae.kl_gaussians,
        {
            "mu1": torch.zeros(3, 2),
            "logvar1": torch.zeros(3, 2),
            "mu2": torch.ones(3, 2),
            "logvar2": torch.zeros(3, 2),
            "per_dim": True,
        },
    ),
    "bernoulli_nll": lambda: (
        ebmlab.vae.bernoulli_nll,
        {"logits": torch.zeros(3, 4), "x": torch.rand(3, 4)},
    ),
    "gaussian_nll": lambda: (
        ebmlab.vae.gaussian_nll,
        {"mean": torch.zeros(3, 4), "x": torch.rand(3, 4), "sigma": 0.5},
    ),
    "vae_loss": lambda: (
        ebmlab.vae.vae_loss,
        {
            "x": torch.rand(3, 4),
            "recon": torch.zeros(3, 4),
            "mu": torch.zeros(3, 2),
            "logvar": torch.zeros(3, 2),
            "beta": 1.0,
            "likelihood": "bernoulli",
            "sigma": 0.1,
        },
    ),
    "VAE": lambda: (
        ebmlab.vae.VAE,
        {"in_dim": 4, "latent_dim": 2, "hidden": 8, "likelihood": "bernoulli", "sigma": 0.1},
    ),
    "fit_vae": lambda: (
        ebmlab.vae.fit_vae,
        {
            "model": ebmlab.vae.VAE(in_dim=4, latent_dim=2, hidden=8, seed=0),
            "X": torch.rand(10, 4),
            "beta": 1.0,
            "epochs": 2,
            "batch_size": 5,
            "lr": 0.01,
            "seed": 0,
        },
    ),
    # assign, grade, cli
    "student_notebook": lambda: (
        ebmlab.assign.student_notebook,
        {"nb": _notebook(), "source": "n.ipynb"},
    ),
    "instructor_notebook": lambda: (ebmlab.assign.instructor_notebook, {"nb": _notebook()}),
    "exercise_map": lambda: (ebmlab.assign.exercise_map, {"nb": _notebook()}),
    "write_notebook": lambda: (
        ebmlab.assign.write_notebook,
        {"nb": _notebook(), "path": _tmp("w.ipynb")},
    ),
    "chapter_notebooks": lambda: (ebmlab.assign.chapter_notebooks, {"paths": _notebook_file()}),
    "assign": lambda: (
        ebmlab.assign.assign,
        {"paths": _notebook_file(), "out_dir": _tmp("out")},
    ),
    "exercise_table": lambda: (ebmlab.assign.exercise_table, {}),
    "update_table": lambda: (ebmlab.assign.update_table, {"page": _page()}),
    "student_notebooks": lambda: (ebmlab.grade.student_notebooks, {"paths": _notebook_file()}),
    "grade_notebook": lambda: (
        ebmlab.grade.grade_notebook,
        {"path": _notebook_file(), "student": "ada", "timeout": 60.0, "kernel_name": "python3"},
    ),
    "grade": lambda: (
        ebmlab.grade.grade,
        {"paths": _notebook_file(), "timeout": 60.0, "kernel_name": "python3"},
    ),
    "write": lambda: (ebmlab.grade.write, {"grades": [], "out_dir": _tmp("grades")}),
    "summary": lambda: (ebmlab.grade.summary, {"grades": []}),
    "benchmarks": lambda: (ebmlab.cli.benchmarks, {}),
    "main": lambda: (ebmlab.cli.main, {"argv": ["assign", "--table"]}),
    # plot and widgets
    "use_style": lambda: (ebmlab.plot.use_style, {}),
    "energy_landscape": lambda: (
        ebmlab.plot.energy_landscape,
        {
            "ax": plt.subplots()[1],
            "U": torch.rand(3, 3),
            "V": torch.rand(3, 3),
            "energies": torch.rand(9),
            "levels": 5,
        },
    ),
    "image_grid": lambda: (ebmlab.plot.image_grid, {"images": torch.rand(4, 16), "nrow": 2}),
    "figure_to_png": lambda: (ebmlab.plot.figure_to_png, {"fig": plt.figure(), "close": True}),
    "frame_slider": lambda: (
        ebmlab.widgets.frame_slider,
        {"render": _render, "values": [1, 2], "start": 0},
    ),
    "live_slider": lambda: (
        ebmlab.widgets.live_slider,
        {"render": _render, "values": [1, 2], "start": 0},
    ),
    # exercises
    "check": lambda: (
        ebmlab.exercises.check,
        {
            "student": abs,
            "reference": abs,
            "cases": [ebmlab.exercises.Case((1.0,))],
            "name": "abs",
            "quiet": True,
        },
    ),
    "allclose": lambda: (ebmlab.exercises.allclose, {"rtol": 1e-3, "atol": 1e-3}),
    "registry": lambda: (ebmlab.exercises.registry, {}),
}

# Public callables whose inputs are not validated, and why.
NOT_CHECKED = {
    "Minimum": "a result container (NamedTuple) built by ebmlab itself",
    "Case": "an exercise case, written by the course's authors, not by learners",
    "CheckResult": "a result container built by ebmlab.exercises.check",
    "Exercise": "a registry entry written by the course's authors",
    "VAELoss": "a result container (NamedTuple) built by ebmlab.vae",
    "VAEOutput": "a result container (NamedTuple) built by ebmlab.vae",
    "History": "a result container (NamedTuple) built by ebmlab.vae.fit_vae",
    "Assignment": "a record of the files ebmlab.assign.assign wrote",
    "Grade": "a row of the grade table built by ebmlab.grade",
}

# Arguments that legitimately accept several kinds of value, and why a mutation does not apply.
FLEXIBLE = {
    ("free_energy", "dz"): "a step (float) or a tensor of cell volumes",
    ("progress", "iterable"): "any iterable",
    ("progress", "desc"): "any label",
    ("check", "cases"): "any sequence of cases",
    ("check", "name"): "any label",
    ("figure_to_png", "close"): "a flag; truthiness is enough",
    ("energy_landscape", "ax"): "a matplotlib Axes, duck-typed",
    ("check", "quiet"): "a flag; truthiness is enough",
    ("minimize", "record"): "a flag; truthiness is enough",
    ("frame_slider", "values"): "any sequence of slider positions",
    ("live_slider", "values"): "any sequence of slider positions",
    ("torchvision_dataset", "name"): "checked against the allowed names (a ValueError)",
    ("regularized_energy", "penalty"): "checked against the allowed names (a ValueError)",
    ("vae_loss", "likelihood"): "checked against the allowed names (a ValueError)",
    ("VAE", "likelihood"): "checked against the allowed names (a ValueError)",
    ("fit_vae", "model"): "a VAE instance, checked with isinstance",
    ("main", "argv"): "command-line words; argparse reports bad ones",
}


def public_callables():
    found = {}
    modules = [ebmlab] + [
        getattr(ebmlab, n) for n in ebmlab.__all__ if inspect.ismodule(getattr(ebmlab, n))
    ]
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if callable(obj) and not inspect.ismodule(obj):
                found.setdefault(name, obj)
    return found


def test_every_public_callable_is_covered():
    missing = sorted(set(public_callables()) - set(VALID) - set(NOT_CHECKED))
    assert not missing, f"add a valid call to VALID (or a reason to NOT_CHECKED) for: {missing}"


def bad_values(value):
    """Bad substitutes for a valid argument value, with the exception each must raise."""
    if isinstance(value, bool):
        return [("yes", TypeError)]
    if isinstance(value, torch.Tensor):
        out = [("not a tensor", TypeError)]
        if value.is_floating_point() and value.numel():
            nan = value.clone()
            nan.view(-1)[0] = math.nan
            inf = value.clone()
            inf.view(-1)[-1] = math.inf
            out += [(nan, ValueError), (inf, ValueError)]
        return out
    if isinstance(value, int):
        return [("3", TypeError), (2.5, TypeError)]
    if isinstance(value, float):
        return [("0.5", TypeError), (math.nan, ValueError)]
    if isinstance(value, str):
        return [(42, TypeError)]
    if isinstance(value, dict):
        return [(42, TypeError)]
    if callable(value):
        return [(42, TypeError)]
    return []


def sweep_cases():
    for name in sorted(VALID):
        _, kwargs = VALID[name]()
        plt.close("all")
        for arg, value in kwargs.items():
            if (name, arg) in FLEXIBLE:
                continue
            for i, (_bad, exc) in enumerate(bad_values(value)):
                yield pytest.param(name, arg, i, exc, id=f"{name}-{arg}-{i}")


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_valid_call_works(name):
    fn, kwargs = VALID[name]()
    if name == "torchvision_dataset":
        pytest.skip("needs torchvision and a network")
    fn(**kwargs)
    plt.close("all")


@pytest.mark.parametrize("name, arg, i, exc", list(sweep_cases()))
def test_bad_argument_is_named_in_a_clear_error(name, arg, i, exc):
    fn, kwargs = VALID[name]()
    bad, _ = bad_values(kwargs[arg])[i]
    kwargs[arg] = bad
    with pytest.raises((ValueError, TypeError)) as info:
        fn(**kwargs)
    plt.close("all")
    assert isinstance(info.value, exc), f"expected {exc.__name__}, got {info.value!r}"
    assert arg in str(info.value), f"the message does not name {arg!r}: {info.value}"
