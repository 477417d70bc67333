"""Robustness sweep: every public callable of ebmlab, fed bad input, raises a clear error.

Driven from ``__all__``: every callable exported by ``ebmlab`` or by one of its public modules
must have an entry in ``VALID`` (a valid call) or in ``NOT_CHECKED`` (with the reason). For each
argument of each valid call the sweep substitutes bad values chosen by the argument's type —
NaN or inf in a float tensor, a string for a number or a tensor, a fraction for a count, a
non-callable for a function, a string or a NaN for a pair or a list, a bool tensor for a numeric
one and numbers for a bool one, a float tensor for an integer one (indices, labels, tokens) —
and asserts a ``ValueError``/``TypeError`` whose message names the argument. Each module's own
tests add the domain-specific cases (wrong rank, mismatched sizes, negative hyper-parameters).
"""

from __future__ import annotations

import inspect
import math
import pathlib
import tempfile

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


BOOK = pathlib.Path(__file__).resolve().parents[1] / "book"


def _grade_row():
    return ebmlab.tools.gradebook.Grade(
        "ada", "02_energy_based_models", "ch02", "gibbs", "pass", 3, 3, "all 3 cases pass", ""
    )


def _quad(u):
    return (u**2).sum(1)


def _render(v):
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, v])
    return fig


def _images(n=2):
    return torch.rand(n, 1, 8, 8)


def _encoder():
    return ebmlab.ssl.ConvEncoder(in_channels=1, width=2, out_dim=4)


def _identity_view(x, g):
    return x


def _simclr():
    return ebmlab.ssl.SimCLR(_encoder(), proj_dim=3, augment=_identity_view)


def _fit_kwargs(**extra):
    kw = {"Y": torch.rand(8, 2), "config": ebmlab.training.TrainConfig(steps=1, batch_size=4)}
    kw.update(extra)
    return kw


def _dictionary():
    return ebmlab.sparse.random_dictionary(4, 6, seed=0)


_LABELS = [0, 1, 0, 1, 0, 1]


def _nll_gradient_call():
    model = ebmlab.training.MLPEnergy(2, 4, 1)
    return ebmlab.training.nll_gradient, {
        "energy": model,
        "params": list(model.parameters()),
        "Y": torch.rand(3, 2),
        "grid": torch.rand(5, 2),
        "beta": 1.0,
    }


def _circle(z):
    return torch.stack([torch.cos(z), torch.sin(z)], dim=-1)


def _fit_free_energy_call():
    decoder = ebmlab.latent.EllipseDecoder(w1=1.0, w2=1.0)
    y, z = torch.rand(3, 2), torch.linspace(0, 6, 5)
    return ebmlab.latent.fit_free_energy, {
        "energies": lambda: ebmlab.latent.latent_energies(y, decoder, z),
        "parameters": list(decoder.parameters()),
        "beta": 2.0,
        "steps": 1,
        "lr": 0.02,
    }


# name -> zero-argument factory returning (callable, kwargs) for one valid call
VALID = {
    # runtime
    "seed_everything": lambda: (ebmlab.seed_everything, {"seed": 0}),
    "device": lambda: (ebmlab.device, {"prefer": "cpu"}),
    "deterministic": lambda: (ebmlab.runtime.deterministic, {"enabled": False}),
    "generator": lambda: (ebmlab.generator, {"seed": 1}),
    "progress": lambda: (
        lambda **kw: list(ebmlab.progress(**kw)),
        {"iterable": [1], "every": 1, "desc": "sweep"},
    ),
    # data
    "multimodal_1d": lambda: (ebmlab.multimodal_1d, {"n": 10, "noise": 0.1, "seed": 0}),
    "multimodal_branches": lambda: (ebmlab.multimodal_branches, {"x": torch.zeros(3)}),
    "ellipse": lambda: (ebmlab.ellipse, {"n": 5, "w1": 1.0, "w2": 2.0, "noise": 0.1, "seed": 0}),
    "horn": lambda: (
        ebmlab.horn,
        {"n": 5, "w1": 1.5, "w2": 2.0, "noise": 0.1, "seed": 0},
    ),
    "spiral": lambda: (ebmlab.spiral, {"n": 5, "noise": 0.1, "turns": 1.0, "seed": 0}),
    "digits": lambda: (ebmlab.digits, {"images": False}),
    "natural_images": lambda: (ebmlab.natural_images, {}),
    "image_patches": lambda: (
        ebmlab.image_patches,
        {"n": 20, "size": 4, "whiten": True, "eps": 0.1, "seed": 0},
    ),
    "torchvision_dataset": lambda: (ebmlab.torchvision_dataset, {"name": "mnist", "train": True}),
    "forking_paths": lambda: (
        ebmlab.data.forking_paths,
        {"n": 10, "noise": 0.05, "slope": 1.2, "seed": 0},
    ),
    "forking_blobs": lambda: (
        ebmlab.data.forking_blobs,
        {"n": 4, "size": 12, "step": 3.0, "width": 1.0, "seed": 0},
    ),
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
        {"Y": torch.rand(3, 4), "W": torch.eye(4)[:, :2], "lam": 0.1, "penalty": "l1"},
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
            "kl_weight": 1.0,
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
            "kl_weight": 1.0,
            "epochs": 2,
            "batch_size": 5,
            "lr": 0.01,
            "seed": 0,
        },
    ),
    # the instructor tools: assign, grade, cli
    "student_notebook": lambda: (
        ebmlab.tools.assign.student_notebook,
        {"nb": _notebook(), "source": "n.ipynb"},
    ),
    "instructor_notebook": lambda: (ebmlab.tools.assign.instructor_notebook, {"nb": _notebook()}),
    "exercise_map": lambda: (ebmlab.tools.assign.exercise_map, {"nb": _notebook()}),
    "write_notebook": lambda: (
        ebmlab.tools.assign.write_notebook,
        {"nb": _notebook(), "path": _tmp("w.ipynb")},
    ),
    "chapter_notebooks": lambda: (
        ebmlab.tools.assign.chapter_notebooks,
        {"paths": _notebook_file()},
    ),
    "tools.assign.assign": lambda: (
        ebmlab.tools.assign.assign,
        {"paths": _notebook_file(), "out_dir": _tmp("out")},
    ),
    "exercise_table": lambda: (ebmlab.tools.assign.exercise_table, {}),
    "update_table": lambda: (ebmlab.tools.assign.update_table, {"page": _page()}),
    "student_notebooks": lambda: (
        ebmlab.tools.grade.student_notebooks,
        {"paths": _notebook_file()},
    ),
    "grade_notebook": lambda: (
        ebmlab.tools.grade.grade_notebook,
        {"path": _notebook_file(), "student": "ada", "timeout": 60.0, "kernel_name": "python3"},
    ),
    "grade": lambda: (
        ebmlab.tools.grade.grade,
        {"paths": _notebook_file(), "timeout": 60.0, "kernel_name": "python3"},
    ),
    "write": lambda: (ebmlab.tools.grade.write, {"grades": [], "out_dir": _tmp("grades")}),
    "summary": lambda: (ebmlab.tools.grade.summary, {"grades": []}),
    "benchmarks": lambda: (ebmlab.tools.cli.benchmarks, {}),
    "machine": lambda: (ebmlab.bench.machine, {"cpuinfo": "/proc/cpuinfo"}),
    "main": lambda: (ebmlab.tools.cli.main, {"argv": ["assign", "--table"]}),
    "Limits": lambda: (
        ebmlab.tools.sandbox.Limits,
        {"memory_mb": 1024, "cpu_seconds": 60, "file_mb": 64, "sandbox": "none"},
    ),
    "protection": lambda: (ebmlab.tools.sandbox.protection, {"kind": "none"}),
    "available": lambda: (
        ebmlab.tools.sandbox.available,
        {"limits": ebmlab.tools.sandbox.Limits(sandbox="none")},
    ),
    "feedback": lambda: (ebmlab.tools.feedback.feedback, {"rows": [_grade_row()]}),
    "write_feedback": lambda: (
        ebmlab.tools.feedback.write_feedback,
        {"grades": [], "out_dir": _tmp("feedback")},
    ),
    "lms_csv": lambda: (ebmlab.tools.gradebook.lms_csv, {"grades": []}),
    "bundle": lambda: (
        ebmlab.tools.gradescope.bundle,
        {"chapter": str(BOOK / "02_energy_based_models.ipynb"), "out_dir": _tmp("gs")},
    ),
    # show: plot and widgets
    "use_style": lambda: (ebmlab.show.plot.use_style, {}),
    "energy_landscape": lambda: (
        ebmlab.show.plot.energy_landscape,
        {
            "ax": plt.subplots()[1],
            "U": torch.rand(3, 3),
            "V": torch.rand(3, 3),
            "energies": torch.rand(9),
            "levels": 5,
        },
    ),
    "image_grid": lambda: (ebmlab.show.plot.image_grid, {"images": torch.rand(4, 16), "nrow": 2}),
    "figure_to_png": lambda: (ebmlab.show.plot.figure_to_png, {"fig": plt.figure(), "close": True}),
    "frame_slider": lambda: (
        ebmlab.show.widgets.frame_slider,
        {"render": _render, "values": [1, 2], "start": 0},
    ),
    "live_slider": lambda: (
        ebmlab.show.widgets.live_slider,
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
    # training
    "MLPEnergy": lambda: (ebmlab.training.MLPEnergy, {"dim": 2, "hidden": 4, "depth": 1}),
    "DenoisingAutoencoder": lambda: (
        ebmlab.training.DenoisingAutoencoder,
        {"dim": 2, "hidden": 4, "code": 2},
    ),
    "nll_loss": lambda: (
        ebmlab.training.nll_loss,
        {
            "energy_data": torch.rand(3),
            "energy_grid": torch.rand(5),
            "beta": 1.0,
            "cell": 0.5,
            "reduction": "mean",
        },
    ),
    "nll_gradient": lambda: _nll_gradient_call(),
    "dae_loss": lambda: (
        ebmlab.training.dae_loss,
        {
            "model": ebmlab.training.DenoisingAutoencoder(2, 4, 2),
            "Y": torch.rand(4, 2),
            "noise_std": 0.1,
            "seed": 0,
            "reduction": "sum",
        },
    ),
    "cd_loss": lambda: (
        ebmlab.training.cd_loss,
        {"energy_pos": torch.rand(4), "energy_neg": torch.rand(4), "alpha": 0.1},
    ),
    "hinge_loss": lambda: (
        ebmlab.training.hinge_loss,
        {
            "energy_pos": torch.rand(4),
            "energy_neg": torch.rand(4),
            "margin": 1.0,
            "reduction": "none",
        },
    ),
    "nce_loss": lambda: (
        ebmlab.training.nce_loss,
        {
            "energy_data": torch.rand(4),
            "energy_noise": torch.rand(6),
            "log_q_data": torch.rand(4),
            "log_q_noise": torch.rand(6),
        },
    ),
    "mpf_loss": lambda: (
        ebmlab.training.mpf_loss,
        {
            "energy_data": torch.rand(4),
            "energy_neighbours": torch.rand(4, 3),
            "beta": 1.0,
            "reduction": "mean",
        },
    ),
    "ratio_matching_loss": lambda: (
        ebmlab.training.ratio_matching_loss,
        {"energy_data": torch.rand(4), "energy_flipped": torch.rand(4, 3), "reduction": "mean"},
    ),
    "mask_tokens": lambda: (
        ebmlab.training.mask_tokens,
        {"tokens": torch.randint(0, 5, (2, 6)), "mask_prob": 0.5, "mask_id": 5, "seed": 0},
    ),
    "masked_token_loss": lambda: (
        ebmlab.training.masked_token_loss,
        {
            "logits": torch.rand(2, 6, 7),
            "targets": torch.randint(0, 7, (2, 6)),
            "mask": torch.tensor([[True, False, False, True, False, False]] * 2),
            "reduction": "mean",
        },
    ),
    "fit_ml_grid": lambda: (
        ebmlab.training.fit_ml_grid,
        _fit_kwargs(model=ebmlab.training.MLPEnergy(2, 4, 1), low=-1.0, high=1.0, n=4, beta=1.0),
    ),
    "fit_dae": lambda: (
        ebmlab.training.fit_dae,
        _fit_kwargs(model=ebmlab.training.DenoisingAutoencoder(2, 4, 2), noise_std=0.1),
    ),
    "fit_cd": lambda: (
        ebmlab.training.fit_cd,
        _fit_kwargs(
            model=ebmlab.training.MLPEnergy(2, 4, 1),
            sampler=ebmlab.samplers.LangevinConfig(steps=1, noise_scale=0.1, bounds=(-2.0, 2.0)),
            persistent=True,
            n_particles=4,
            alpha=0.1,
        ),
    ),
    "TrainConfig": lambda: (
        ebmlab.training.TrainConfig,
        {"steps": 1, "lr": 0.01, "batch_size": 4, "seed": 0},
    ),
    "fit_nce": lambda: (
        ebmlab.training.fit_nce,
        _fit_kwargs(model=ebmlab.training.MLPEnergy(2, 4, 1), low=-1.0, high=1.0, nu=2.0),
    ),
    "fit_hinge": lambda: (
        ebmlab.training.fit_hinge,
        _fit_kwargs(model=ebmlab.training.MLPEnergy(2, 4, 1), noise_std=0.2, margin=1.0),
    ),
    "fit_mpf": lambda: (
        ebmlab.training.fit_mpf,
        _fit_kwargs(model=ebmlab.training.MLPEnergy(2, 4, 1), h=0.05, beta=1.0),
    ),
    # samplers
    "LangevinConfig": lambda: (
        ebmlab.samplers.LangevinConfig,
        {
            "steps": 2,
            "step_size": 0.1,
            "beta": 1.0,
            "noise_scale": 0.5,
            "grad_clip": 1.0,
            "bounds": (-2.0, 2.0),
        },
    ),
    "MonteCarloConfig": lambda: (
        ebmlab.samplers.MonteCarloConfig,
        {"bounds": (-2.0, 2.0), "steps": 2, "beta": 1.0},
    ),
    "MetropolisConfig": lambda: (
        ebmlab.samplers.MetropolisConfig,
        {"steps": 2, "step_size": 0.3, "beta": 1.0, "bounds": (-2.0, 2.0)},
    ),
    "HMCConfig": lambda: (
        ebmlab.samplers.HMCConfig,
        {"steps": 2, "step_size": 0.1, "beta": 1.0, "leapfrog": 2, "bounds": (-2.0, 2.0)},
    ),
    "langevin": lambda: (
        ebmlab.samplers.langevin,
        {
            "energy": _quad,
            "init": torch.zeros(3, 2),
            "config": ebmlab.samplers.LangevinConfig(steps=2, bounds=(-2.0, 2.0)),
            "seed": 0,
            "record": True,
        },
    ),
    "langevin_step": lambda: (
        ebmlab.samplers.langevin_step,
        {
            "energy": _quad,
            "y": torch.zeros(3, 2),
            "noise": torch.randn(3, 2),
            "step_size": 0.1,
            "noise_scale": 0.5,
            "beta": 1.0,
        },
    ),
    "monte_carlo": lambda: (
        ebmlab.samplers.monte_carlo,
        {
            "energy": _quad,
            "init": torch.zeros(3, 2),
            "config": ebmlab.samplers.MonteCarloConfig(steps=2, bounds=(-2.0, 2.0)),
            "seed": 0,
            "record": True,
        },
    ),
    "metropolis_hastings": lambda: (
        ebmlab.samplers.metropolis_hastings,
        {
            "energy": _quad,
            "init": torch.zeros(3, 2),
            "config": ebmlab.samplers.MetropolisConfig(steps=2, bounds=(-2.0, 2.0)),
            "seed": 0,
            "record": True,
        },
    ),
    "hmc": lambda: (
        ebmlab.samplers.hmc,
        {
            "energy": _quad,
            "init": torch.zeros(3, 2),
            "config": ebmlab.samplers.HMCConfig(steps=2, leapfrog=2, bounds=(-2.0, 2.0)),
            "seed": 0,
            "record": True,
        },
    ),
    # ssl
    "affine_warp": lambda: (
        ebmlab.ssl.affine_warp,
        {
            "x": _images(),
            "angle": torch.zeros(2),
            "scale": torch.ones(2),
            "shift": torch.zeros(2, 2),
        },
    ),
    "translate": lambda: (
        ebmlab.ssl.translate,
        {"x": _images(), "dx": torch.tensor([1, 0]), "dy": torch.tensor([0, -1])},
    ),
    "gaussian_blur": lambda: (
        ebmlab.ssl.gaussian_blur,
        {"x": _images(), "sigma": torch.full((2,), 0.5)},
    ),
    "erase": lambda: (
        ebmlab.ssl.erase,
        {
            "x": _images(),
            "top": torch.tensor([0, 1]),
            "left": torch.tensor([1, 0]),
            "height": torch.tensor([2, 3]),
            "width": torch.tensor([3, 2]),
            "value": 0.5,
        },
    ),
    "AugmentConfig": lambda: (
        ebmlab.ssl.AugmentConfig,
        {
            "rotation": 15.0,
            "scale": (0.85, 1.15),
            "shift": 1.0,
            "blur_prob": 0.5,
            "blur_sigma": (0.3, 0.8),
            "noise": 0.05,
            "erase_prob": 0.25,
            "erase_size": (0.2, 0.4),
        },
    ),
    "augment": lambda: (
        ebmlab.ssl.augment,
        {
            "x": _images(),
            "config": ebmlab.ssl.AugmentConfig(rotation=10.0),
            "generator": torch.Generator().manual_seed(0),
        },
    ),
    "similarity_matrix": lambda: (
        ebmlab.ssl.similarity_matrix,
        {"a": torch.rand(3, 4), "b": torch.rand(5, 4), "similarity": "cosine"},
    ),
    "nt_xent": lambda: (
        ebmlab.ssl.nt_xent,
        {
            "z1": torch.rand(4, 3),
            "z2": torch.rand(4, 3),
            "tau": 0.5,
            "similarity": "l2",
            "reduction": "sum",
        },
    ),
    "pirl_h": lambda: (
        ebmlab.ssl.pirl_h,
        {
            "query": torch.rand(2, 3),
            "positive": torch.rand(2, 3),
            "negatives": torch.rand(5, 3),
            "tau": 0.07,
        },
    ),
    "pirl_nce": lambda: (
        ebmlab.ssl.pirl_nce,
        {
            "query": torch.rand(2, 3),
            "positive": torch.rand(2, 3),
            "negatives": torch.rand(2, 5, 3),
            "tau": 0.07,
            "reduction": "none",
        },
    ),
    "memory_update": lambda: (
        ebmlab.ssl.memory_update,
        {
            "bank": torch.rand(5, 3),
            "index": torch.tensor([0, 2]),
            "values": torch.rand(2, 3),
            "momentum": 0.5,
        },
    ),
    "moco_loss": lambda: (
        ebmlab.ssl.moco_loss,
        {
            "query": torch.rand(2, 3),
            "key": torch.rand(2, 3),
            "queue": torch.rand(5, 3),
            "tau": 0.2,
            "reduction": "mean",
        },
    ),
    "momentum_update": lambda: (
        ebmlab.ssl.momentum_update,
        {"target": torch.nn.Linear(2, 2), "online": torch.nn.Linear(2, 2), "momentum": 0.9},
    ),
    "ConvEncoder": lambda: (
        ebmlab.ssl.ConvEncoder,
        {"in_channels": 1, "width": 2, "out_dim": 4},
    ),
    "projection_head": lambda: (
        ebmlab.ssl.projection_head,
        {"in_dim": 4, "out_dim": 3, "hidden": 5},
    ),
    "ContrastiveMethod": lambda: (ebmlab.ssl.ContrastiveMethod, {}),
    "SimCLR": lambda: (
        ebmlab.ssl.SimCLR,
        {
            "encoder": _encoder(),
            "proj_dim": 3,
            "tau": 0.2,
            "augment": _identity_view,
            "similarity": "cosine",
        },
    ),
    "MemoryBank": lambda: (
        ebmlab.ssl.MemoryBank,
        {"n": 4, "dim": 3, "momentum": 0.5, "seed": 0},
    ),
    "PIRL": lambda: (
        ebmlab.ssl.PIRL,
        {
            "encoder": _encoder(),
            "bank": ebmlab.ssl.MemoryBank(8, 3),
            "n_negatives": 2,
            "tau": 0.2,
            "mix": 0.5,
            "augment": _identity_view,
        },
    ),
    "MoCo": lambda: (
        ebmlab.ssl.MoCo,
        {
            "encoder": _encoder(),
            "proj_dim": 3,
            "queue_size": 4,
            "tau": 0.2,
            "momentum": 0.99,
            "augment": _identity_view,
            "seed": 0,
        },
    ),
    "PretrainConfig": lambda: (
        ebmlab.ssl.PretrainConfig,
        {"epochs": 1, "batch_size": 4, "lr": 1e-3, "weight_decay": 1e-5, "seed": 0},
    ),
    "pretrain": lambda: (
        ebmlab.ssl.pretrain,
        {
            "method": _simclr(),
            "X": _images(4),
            "config": ebmlab.ssl.PretrainConfig(epochs=1, batch_size=4),
        },
    ),
    "train_supervised": lambda: (
        ebmlab.ssl.train_supervised,
        {
            "encoder": _encoder(),
            "X": _images(4),
            "y": torch.tensor([0, 1, 0, 1]),
            "config": ebmlab.ssl.PretrainConfig(epochs=1, batch_size=4),
            "augment": _identity_view,
        },
    ),
    "embed": lambda: (ebmlab.ssl.embed, {"encoder": _encoder(), "X": _images(3), "batch_size": 2}),
    "few_label_split": lambda: (
        ebmlab.ssl.few_label_split,
        {"y": torch.tensor(_LABELS), "per_class": 2, "seed": 0},
    ),
    "linear_probe": lambda: (
        ebmlab.ssl.linear_probe,
        {
            "train_x": torch.rand(6, 3),
            "train_y": torch.tensor(_LABELS),
            "test_x": torch.rand(2, 3),
            "test_y": torch.tensor([0, 1]),
            "weight_decay": 0.01,
            "max_iter": 5,
        },
    ),
    "knn_accuracy": lambda: (
        ebmlab.ssl.knn_accuracy,
        {
            "train_x": torch.rand(6, 3),
            "train_y": torch.tensor(_LABELS),
            "test_x": torch.rand(2, 3),
            "test_y": torch.tensor([0, 1]),
            "k": 3,
        },
    ),
    "probe_table": lambda: (
        ebmlab.ssl.probe_table,
        {
            "features": {"raw": (torch.rand(6, 3), torch.rand(2, 3))},
            "train_y": torch.tensor(_LABELS),
            "test_y": torch.tensor([0, 1]),
            "per_class": (1, None),
            "draws": 1,
            "k": 1,
            "seed": 0,
        },
    ),
    "alignment": lambda: (
        ebmlab.ssl.alignment,
        {"z1": torch.rand(4, 3), "z2": torch.rand(4, 3), "exponent": 2.0, "reduction": "none"},
    ),
    "uniformity": lambda: (ebmlab.ssl.uniformity, {"z": torch.rand(4, 3), "t": 2.0}),
    "effective_rank": lambda: (ebmlab.ssl.effective_rank, {"z": torch.rand(4, 3)}),
    # kmeans
    "energy": lambda: (
        ebmlab.kmeans.energy,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2), "z": torch.tensor(_LABELS)},
    ),
    "energies": lambda: (
        ebmlab.kmeans.energies,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2)},
    ),
    "kmeans.free_energy": lambda: (
        ebmlab.kmeans.free_energy,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2), "beta": 1.0},
    ),
    "infer_z": lambda: (
        ebmlab.kmeans.infer_z,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2), "one_hot": True},
    ),
    "assign": lambda: (
        ebmlab.kmeans.assign,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2)},
    ),
    "lloyd_step": lambda: (
        ebmlab.kmeans.lloyd_step,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2), "labels": torch.tensor(_LABELS)},
    ),
    "gradient_step": lambda: (
        ebmlab.kmeans.gradient_step,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2), "lr": 0.1},
    ),
    "kmeans_plusplus": lambda: (
        ebmlab.kmeans.kmeans_plusplus,
        {"Y": torch.rand(6, 2), "k": 2, "seed": 0, "n_trials": 2},
    ),
    "lloyd": lambda: (
        ebmlab.kmeans.lloyd,
        {
            "Y": torch.rand(6, 2),
            "init": torch.rand(2, 2),
            "max_iter": 3,
            "tol": 0.0,
            "bounds": True,
            "record": True,
        },
    ),
    "complete": lambda: (
        ebmlab.kmeans.complete,
        {
            "Y": torch.rand(6, 2),
            "centers": torch.rand(2, 2),
            "observed": torch.tensor([[True, False]] * 5 + [[False, True]]),
        },
    ),
    "project": lambda: (
        ebmlab.kmeans.project,
        {"Y": torch.rand(6, 2), "centers": torch.rand(2, 2)},
    ),
    "KMeans": lambda: (
        lambda Y, **kw: ebmlab.kmeans.KMeans(**kw).fit(Y),
        {
            "Y": torch.rand(6, 2),
            "k": 2,
            "init": "k-means++",
            "max_iter": 3,
            "tol": 1e-4,
            "seed": 0,
            "bounds": "auto",
        },
    ),
    # sparse
    "SolverConfig": lambda: (
        ebmlab.sparse.SolverConfig,
        {"tol": 1e-3, "check_every": 2, "record": True, "restart": False},
    ),
    "DictionaryConfig": lambda: (
        ebmlab.sparse.DictionaryConfig,
        {"inner_steps": 2, "forget": 0.9, "positive_code": True, "positive_dict": False},
    ),
    "FilterConfig": lambda: (
        ebmlab.sparse.FilterConfig,
        {"method": "exact", "lr": 0.02, "filter_steps": 2, "envelope": 0.8},
    ),
    "shrink": lambda: (ebmlab.sparse.shrink, {"x": torch.randn(3, 4), "threshold": 0.5}),
    "sparse_energy": lambda: (
        ebmlab.sparse.sparse_energy,
        {"Y": torch.rand(3, 4), "W": _dictionary(), "Z": torch.rand(3, 6), "lam": 0.1},
    ),
    "lipschitz": lambda: (
        ebmlab.sparse.lipschitz,
        {"W": _dictionary(), "method": "power", "iters": 3, "seed": 0},
    ),
    "duality_gap": lambda: (
        ebmlab.sparse.duality_gap,
        {"Y": torch.rand(3, 4), "W": _dictionary(), "Z": torch.rand(3, 6), "lam": 0.1},
    ),
    "ista_step": lambda: (
        ebmlab.sparse.ista_step,
        {"Y": torch.rand(3, 4), "W": _dictionary(), "Z": torch.rand(3, 6), "lam": 0.1, "L": 5.0},
    ),
    "fista_step": lambda: (
        ebmlab.sparse.fista_step,
        {
            "Y": torch.rand(3, 4),
            "W": _dictionary(),
            "Z": torch.rand(3, 6),
            "Z_prev": torch.rand(3, 6),
            "t": 1.0,
            "lam": 0.1,
            "L": 5.0,
        },
    ),
    "ista": lambda: (
        ebmlab.sparse.ista,
        {
            "Y": torch.rand(3, 4),
            "W": _dictionary(),
            "lam": 0.1,
            "steps": 3,
            "z0": torch.zeros(3, 6),
            "L": 5.0,
            "config": ebmlab.sparse.SolverConfig(tol=1e-3, check_every=1, record=True),
        },
    ),
    "fista": lambda: (
        ebmlab.sparse.fista,
        {
            "Y": torch.rand(3, 4),
            "W": _dictionary(),
            "lam": 0.1,
            "steps": 3,
            "z0": torch.zeros(3, 6),
            "L": 5.0,
            "positive": False,
            "config": ebmlab.sparse.SolverConfig(tol=1e-3, check_every=1, record=True),
        },
    ),
    "admm": lambda: (
        ebmlab.sparse.admm,
        {
            "Y": torch.rand(3, 4),
            "W": _dictionary(),
            "lam": 0.1,
            "steps": 3,
            "rho": 0.5,
            "relax": 1.5,
            "config": ebmlab.sparse.SolverConfig(tol=1e-3, check_every=1, record=True),
        },
    ),
    "normalize_atoms": lambda: (ebmlab.sparse.normalize_atoms, {"W": torch.rand(4, 6)}),
    "random_dictionary": lambda: (ebmlab.sparse.random_dictionary, {"n": 4, "k": 6, "seed": 0}),
    "learn_dictionary": lambda: (
        ebmlab.sparse.learn_dictionary,
        {
            "Y": torch.rand(8, 4),
            "n_atoms": 6,
            "lam": 0.1,
            "epochs": 1,
            "batch_size": 4,
            "seed": 0,
            "W0": _dictionary(),
            "config": ebmlab.sparse.DictionaryConfig(inner_steps=2),
        },
    ),
    "SparseCoding": lambda: (
        lambda Y, **kw: ebmlab.sparse.SparseCoding(**kw).fit(Y),
        {
            "Y": torch.rand(8, 4),
            "n_atoms": 6,
            "lam": 0.1,
            "epochs": 1,
            "batch_size": 4,
            "inner_steps": 2,
            "forget": 0.9,
            "seed": 0,
        },
    ),
    "LISTA": lambda: (
        ebmlab.sparse.LISTA,
        {"W": _dictionary(), "lam": 0.1, "layers": 2, "L": 5.0},
    ),
    "train_lista": lambda: (
        ebmlab.sparse.train_lista,
        {
            "model": ebmlab.sparse.LISTA(_dictionary(), lam=0.1, layers=2),
            "Y": torch.rand(8, 4),
            "Z_star": torch.rand(8, 6),
            "epochs": 1,
            "batch_size": 4,
            "lr": 1e-3,
            "seed": 0,
            "schedule": "cosine",
        },
    ),
    "code_error": lambda: (
        ebmlab.sparse.code_error,
        {"z": torch.rand(3, 6), "z_star": torch.rand(3, 6)},
    ),
    "whiten_images": lambda: (
        ebmlab.sparse.whiten_images,
        {"images": torch.rand(2, 8, 8), "cutoff": 0.4},
    ),
    "whitened_patches": lambda: (
        ebmlab.sparse.whitened_patches,
        {"n": 5, "size": 4, "downsample": 4, "cutoff": 0.8, "seed": 0},
    ),
    "conv_reconstruct": lambda: (
        ebmlab.sparse.conv_reconstruct,
        {"Z": torch.rand(2, 2, 6, 6), "K": torch.rand(2, 3, 3)},
    ),
    "conv_sparse_energy": lambda: (
        ebmlab.sparse.conv_sparse_energy,
        {
            "Y": torch.rand(2, 6, 6),
            "K": torch.rand(2, 3, 3),
            "Z": torch.rand(2, 2, 6, 6),
            "lam": 0.1,
        },
    ),
    "conv_sparse_code": lambda: (
        ebmlab.sparse.conv_sparse_code,
        {
            "Y": torch.rand(2, 6, 6),
            "K": torch.rand(2, 3, 3),
            "lam": 0.1,
            "steps": 2,
            "z0": torch.zeros(2, 2, 6, 6),
            "L": 20.0,
        },
    ),
    "learn_conv_filters": lambda: (
        ebmlab.sparse.learn_conv_filters,
        {
            "Y": torch.rand(2, 8, 8),
            "n_filters": 2,
            "size": 3,
            "lam": 0.1,
            "steps": 1,
            "inner_steps": 1,
            "seed": 0,
            "config": ebmlab.sparse.FilterConfig(method="exact", envelope=0.8, filter_steps=2),
        },
    ),
    "ConvSparseCoding": lambda: (
        lambda Y, **kw: ebmlab.sparse.ConvSparseCoding(**kw).fit(Y),
        {
            "Y": torch.rand(2, 8, 8),
            "n_filters": 2,
            "size": 3,
            "lam": 0.1,
            "steps": 1,
            "inner_steps": 1,
            "seed": 0,
            "config": ebmlab.sparse.FilterConfig(method="exact", envelope=0.8, filter_steps=2),
        },
    ),
    # latent
    "squared_error": lambda: (
        ebmlab.latent.squared_error,
        {"y": torch.rand(3, 2), "y_hat": torch.rand(3, 2)},
    ),
    "latent_energies": lambda: (
        ebmlab.latent.latent_energies,
        {"decoder": _circle, "y": torch.rand(3, 2), "z": torch.rand(5)},
    ),
    "nearest_latent": lambda: (
        ebmlab.latent.nearest_latent,
        {
            "decoder": _circle,
            "y": torch.rand(3, 2),
            "z_grid": torch.linspace(0, 6, 5),
            "refine_steps": 2,
            "lr": 0.05,
        },
    ),
    "infer_joint": lambda: (
        ebmlab.latent.infer_joint,
        {
            "E": lambda x, y, z: ((y - x - z) ** 2).sum(-1),
            "x": torch.zeros(2, 1),
            "y_starts": torch.ones(3, 2, 1),
            "z_starts": torch.zeros(3, 2, 1),
            "steps": 2,
            "lr": 0.05,
        },
    ),
    "ellipse_decoder": lambda: (
        ebmlab.latent.ellipse_decoder,
        {"z": torch.rand(5), "w1": 1.0, "w2": 2.0, "angle": 0.3},
    ),
    "EllipseDecoder": lambda: (
        ebmlab.latent.EllipseDecoder,
        {"w1": 1.0, "w2": 2.0, "angle": 0.3, "learn_angle": False},
    ),
    "MultiHypothesis": lambda: (
        ebmlab.latent.MultiHypothesis,
        {"in_dim": 1, "out_dim": 2, "k": 2, "hidden": 4, "out_activation": "identity", "seed": 0},
    ),
    "fit_free_energy": lambda: _fit_free_energy_call(),
    "project_sphere": lambda: (ebmlab.latent.project_sphere, {"z": torch.rand(3, 2), "eps": 1e-12}),
    "slerp": lambda: (
        ebmlab.latent.slerp,
        {"z0": torch.tensor([1.0, 0.0]), "z1": torch.tensor([0.0, 1.0]), "t": torch.rand(4)},
    ),
    "GLO": lambda: (
        lambda Y, **kw: ebmlab.latent.GLO(**kw).fit(Y),
        {
            "Y": torch.rand(6, 3),
            "latent_dim": 2,
            "hidden": 4,
            "epochs": 1,
            "batch_size": 4,
            "lr": 0.003,
            "lr_latent": 0.03,
            "seed": 0,
        },
    ),
    # --- VALID: ch1-4 ---
    "canvas": lambda: (
        ebmlab.show.diagrams.canvas,
        {"width": 4.0, "height": 2.0, "xlim": (0.0, 4.0), "ylim": (0.0, 2.0)},
    ),
    "node": lambda: (
        ebmlab.show.diagrams.node,
        {
            "ax": plt.subplots()[1],
            "xy": (1.0, 1.0),
            "text": "$x$",
            "kind": "observed",
            "size": (0.8, 0.8),
            "fontsize": 12.0,
        },
    ),
    "arrow": lambda: (
        ebmlab.show.diagrams.arrow,
        {
            "ax": plt.subplots()[1],
            "start": (0.0, 0.0),
            "end": (1.0, 1.0),
            "text": "f",
            "text_offset": (0.0, 0.1),
            "curve": 0.2,
            "color": "#000000",
        },
    ),
    "label": lambda: (
        ebmlab.show.diagrams.label,
        {"ax": plt.subplots()[1], "xy": (0.5, 0.5), "text": "E", "fontsize": 10.0, "color": "k"},
    ),
    # --- VALID: ch6 ---
    "PSD": lambda: (
        ebmlab.sparse.PSD,
        {"W": _dictionary(), "lam": 0.1, "alpha": 1.0, "layers": 2},
    ),
    "psd_energy": lambda: (
        ebmlab.sparse.psd_energy,
        {
            "Y": torch.rand(3, 4),
            "W": _dictionary(),
            "Z": torch.rand(3, 6),
            "Z_enc": torch.rand(3, 6),
            "lam": 0.1,
            "alpha": 1.0,
        },
    ),
    "psd_codes": lambda: (
        ebmlab.sparse.psd_codes,
        {
            "Y": torch.rand(3, 4),
            "W": _dictionary(),
            "Z_enc": torch.rand(3, 6),
            "lam": 0.1,
            "alpha": 1.0,
            "steps": 3,
            "config": ebmlab.sparse.SolverConfig(tol=1e-3, check_every=1, record=True),
        },
    ),
    "train_psd": lambda: (
        ebmlab.sparse.train_psd,
        {
            "model": ebmlab.sparse.PSD(_dictionary(), lam=0.1),
            "Y": torch.rand(8, 4),
            "epochs": 1,
            "batch_size": 4,
            "lr": 1e-3,
            "inner_steps": 2,
            "seed": 0,
        },
    ),
    "ConvPSD": lambda: (
        ebmlab.sparse.ConvPSD,
        {"K": torch.rand(2, 3, 3), "lam": 0.1, "alpha": 1.0},
    ),
    "conv_psd_energy": lambda: (
        ebmlab.sparse.conv_psd_energy,
        {
            "Y": torch.rand(2, 6, 6),
            "K": torch.rand(2, 3, 3),
            "Z": torch.rand(2, 2, 6, 6),
            "Z_enc": torch.rand(2, 2, 6, 6),
            "lam": 0.1,
            "alpha": 1.0,
        },
    ),
    "conv_psd_codes": lambda: (
        ebmlab.sparse.conv_psd_codes,
        {
            "Y": torch.rand(2, 6, 6),
            "K": torch.rand(2, 3, 3),
            "Z_enc": torch.rand(2, 2, 6, 6),
            "lam": 0.1,
            "alpha": 1.0,
            "steps": 2,
        },
    ),
    "train_conv_psd": lambda: (
        ebmlab.sparse.train_conv_psd,
        {
            "model": ebmlab.sparse.ConvPSD(torch.rand(2, 3, 3), lam=0.1),
            "Y": torch.rand(4, 6, 6),
            "epochs": 1,
            "batch_size": 2,
            "lr": 1e-3,
            "inner_steps": 2,
            "seed": 0,
        },
    ),
    # --- VALID: ch5-7-8 ---
    # --- VALID: ch9 ---
    "vicreg_loss": lambda: (
        ebmlab.ssl.vicreg_loss,
        {
            "z1": torch.rand(4, 3),
            "z2": torch.rand(4, 3),
            "invariance": 25.0,
            "variance": 25.0,
            "covariance": 1.0,
            "gamma": 1.0,
            "eps": 1e-4,
        },
    ),
    "cross_correlation": lambda: (
        ebmlab.ssl.cross_correlation,
        {"z1": torch.rand(4, 3), "z2": torch.rand(4, 3), "eps": 1e-5},
    ),
    "barlow_twins_loss": lambda: (
        ebmlab.ssl.barlow_twins_loss,
        {"z1": torch.rand(4, 3), "z2": torch.rand(4, 3), "off_diagonal": 5e-3, "eps": 1e-5},
    ),
    "negative_cosine": lambda: (
        ebmlab.ssl.negative_cosine,
        {"p": torch.rand(4, 3), "z": torch.rand(4, 3)},
    ),
    "VICReg": lambda: (
        ebmlab.ssl.VICReg,
        {
            "encoder": _encoder(),
            "proj_dim": 3,
            "invariance": 25.0,
            "variance": 25.0,
            "covariance": 1.0,
            "gamma": 1.0,
            "augment": _identity_view,
        },
    ),
    "BarlowTwins": lambda: (
        ebmlab.ssl.BarlowTwins,
        {"encoder": _encoder(), "proj_dim": 3, "off_diagonal": 5e-3, "augment": _identity_view},
    ),
    "SimSiam": lambda: (
        ebmlab.ssl.SimSiam,
        {
            "encoder": _encoder(),
            "proj_dim": 3,
            "pred_hidden": 2,
            "stop_gradient": True,
            "augment": _identity_view,
        },
    ),
    "BYOL": lambda: (
        ebmlab.ssl.BYOL,
        {
            "encoder": _encoder(),
            "proj_dim": 3,
            "pred_hidden": 2,
            "momentum": 0.99,
            "augment": _identity_view,
        },
    ),
    "IJEPA": lambda: (
        ebmlab.ssl.IJEPA,
        {
            "encoder": _encoder(),
            "block": 3,
            "pred_hidden": 2,
            "momentum": 0.99,
            "augment": _identity_view,
        },
    ),
    "dimension_std": lambda: (ebmlab.ssl.dimension_std, {"z": torch.rand(4, 3)}),
    "spectrum": lambda: (ebmlab.ssl.spectrum, {"z": torch.rand(4, 3)}),
    "Monitor": lambda: (
        ebmlab.ssl.Monitor,
        {"fn": _encoder(), "X": _images(3), "every": 2},
    ),
    # --- VALID: ddp ---
    "world": lambda: (ebmlab.ssl.distributed.world, {}),
    "gather": lambda: (ebmlab.ssl.distributed.gather, {"z": torch.rand(4, 3)}),
    "all_reduce": lambda: (ebmlab.ssl.distributed.all_reduce, {"x": torch.rand(4, 3)}),
    "ssl.distributed.nt_xent": lambda: (
        ebmlab.ssl.distributed.nt_xent,
        {
            "z1": torch.rand(4, 3),
            "z2": torch.rand(4, 3),
            "tau": 0.5,
            "similarity": "cosine",
            "reduction": "mean",
        },
    ),
    "ssl.distributed.vicreg_loss": lambda: (
        ebmlab.ssl.distributed.vicreg_loss,
        {
            "z1": torch.rand(4, 3),
            "z2": torch.rand(4, 3),
            "invariance": 25.0,
            "variance": 25.0,
            "covariance": 1.0,
            "gamma": 1.0,
            "eps": 1e-4,
        },
    ),
    "ssl.distributed.barlow_twins_loss": lambda: (
        ebmlab.ssl.distributed.barlow_twins_loss,
        {"z1": torch.rand(4, 3), "z2": torch.rand(4, 3), "off_diagonal": 5e-3, "eps": 1e-5},
    ),
    "SyncBatchNorm": lambda: (
        ebmlab.ssl.distributed.SyncBatchNorm,
        {
            "num_features": 3,
            "eps": 1e-5,
            "momentum": 0.1,
            "affine": True,
            "track_running_stats": True,
        },
    ),
    "convert_sync_batchnorm": lambda: (
        ebmlab.ssl.distributed.convert_sync_batchnorm,
        {"module": torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))},
    ),
    # --- VALID: ch10 ---
    "AnnealedLangevinConfig": lambda: (
        ebmlab.samplers.AnnealedLangevinConfig,
        {"sigmas": (1.0, 0.5), "steps": 2, "step_size": 0.1, "bounds": (-2.0, 2.0)},
    ),
    "annealed_langevin": lambda: (
        ebmlab.samplers.annealed_langevin,
        {
            "score": lambda y, sigma: -y,
            "init": torch.zeros(3, 2),
            "config": ebmlab.samplers.AnnealedLangevinConfig(sigmas=(1.0, 0.5), steps=2),
            "seed": 0,
            "record": True,
        },
    ),
    "annealed_langevin_step": lambda: (
        ebmlab.samplers.annealed_langevin_step,
        {
            "score": lambda y, sigma: -y,
            "y": torch.zeros(3, 2),
            "noise": torch.randn(3, 2),
            "sigma": 1.0,
            "step_size": 0.1,
        },
    ),
    "ConvEnergy": lambda: (ebmlab.training.ConvEnergy, {"side": 8, "channels": 2}),
    "ReplayBuffer": lambda: (
        ebmlab.training.ReplayBuffer,
        {"size": 4, "dim": 2, "reinit": 0.05, "low": 0.0, "high": 1.0, "seed": 0},
    ),
    "replay_sample": lambda: (
        ebmlab.training.replay_sample,
        {"buffer": torch.rand(4, 2), "n": 3, "reinit": 0.5, "low": 0.0, "high": 1.0, "seed": 0},
    ),
    "DeepEBMConfig": lambda: (
        ebmlab.training.DeepEBMConfig,
        {
            "steps": 1,
            "lr": 0.01,
            "batch_size": 4,
            "seed": 0,
            "buffer_size": 4,
            "reinit": 0.05,
            "alpha": 0.1,
            "clip_grad": 1.0,
        },
    ),
    "fit_deep_ebm": lambda: (
        ebmlab.training.fit_deep_ebm,
        {
            "model": ebmlab.training.ConvEnergy(8, 2),
            "Y": torch.rand(4, 64),
            "sampler": ebmlab.samplers.LangevinConfig(steps=1, bounds=(0.0, 1.0)),
            "config": ebmlab.training.DeepEBMConfig(steps=1, batch_size=4, buffer_size=4),
        },
    ),
    "mixture_sample": lambda: (
        ebmlab.training.mixture_sample,
        {
            "n": 5,
            "means": torch.tensor([[0.0, 0.0], [2.0, 2.0]]),
            "weights": torch.tensor([0.3, 0.7]),
            "std": 1.0,
            "seed": 0,
        },
    ),
    "mixture_score": lambda: (
        ebmlab.training.mixture_score,
        {
            "Y": torch.rand(3, 2),
            "means": torch.tensor([[0.0, 0.0], [2.0, 2.0]]),
            "weights": torch.tensor([0.3, 0.7]),
            "std": 1.0,
        },
    ),
    "mixture_posterior_mean": lambda: (
        ebmlab.training.mixture_posterior_mean,
        {
            "Y": torch.rand(3, 2),
            "means": torch.tensor([[0.0, 0.0], [2.0, 2.0]]),
            "weights": torch.tensor([0.3, 0.7]),
            "std": 1.0,
            "sigma": 0.5,
        },
    ),
    "dsm_loss": lambda: (
        ebmlab.training.dsm_loss,
        {
            "score": lambda y, sigma: -y,
            "Y": torch.rand(3, 2),
            "sigma": 0.5,
            "noise": torch.randn(3, 2),
            "reduction": "mean",
        },
    ),
    "tweedie_denoise": lambda: (
        ebmlab.training.tweedie_denoise,
        {"score": lambda y, sigma: -y, "Y": torch.rand(3, 2), "sigma": 0.5},
    ),
    "geometric_sigmas": lambda: (
        ebmlab.training.geometric_sigmas,
        {"largest": 10.0, "smallest": 0.1, "levels": 3},
    ),
    "NoiseConditionalScore": lambda: (
        ebmlab.training.NoiseConditionalScore,
        {"dim": 2, "hidden": 4, "depth": 1},
    ),
    "fit_dsm": lambda: (
        ebmlab.training.fit_dsm,
        _fit_kwargs(model=ebmlab.training.NoiseConditionalScore(2, 4, 1), sigmas=(1.0, 0.5)),
    ),
    "ddpm_schedule": lambda: (
        ebmlab.training.ddpm_schedule,
        {"steps": 5, "beta_start": 0.001, "beta_end": 0.1},
    ),
    "ddpm_loss": lambda: (
        ebmlab.training.ddpm_loss,
        {
            "score": lambda y, sigma: -y,
            "Y": torch.rand(3, 2),
            "t": torch.tensor([0, 1, 2]),
            "noise": torch.randn(3, 2),
            "schedule": ebmlab.training.ddpm_schedule(5),
            "reduction": "mean",
        },
    ),
    "ddpm_sample": lambda: (
        ebmlab.training.ddpm_sample,
        {
            "score": lambda y, sigma: -y,
            "init": torch.randn(3, 2),
            "schedule": ebmlab.training.ddpm_schedule(5),
            "seed": 0,
            "record": True,
        },
    ),
    "fit_ddpm": lambda: (
        ebmlab.training.fit_ddpm,
        _fit_kwargs(
            model=ebmlab.training.NoiseConditionalScore(2, 4, 1),
            schedule=ebmlab.training.ddpm_schedule(5),
        ),
    ),
    "auroc": lambda: (
        ebmlab.training.auroc,
        {"scores_in": torch.rand(4), "scores_out": torch.rand(5)},
    ),
    "mmd": lambda: (
        ebmlab.training.mmd,
        {"X": torch.rand(4, 2), "Y": torch.rand(5, 2), "bandwidth": 1.0},
    ),
}

# Public callables whose inputs are not validated, and why.
NOT_CHECKED = {
    "Minimum": "a result container (NamedTuple) built by ebmlab itself",
    "Case": "an exercise case, written by the course's authors, not by learners",
    "CheckResult": "a result container built by ebmlab.exercises.check",
    "Exercise": "a registry entry written by the course's authors",
    "VAELoss": "a result container (NamedTuple) built by ebmlab.vae",
    "VAEOutput": "a result container (NamedTuple) built by ebmlab.vae",
    "History": "a record of training curves (ebmlab.base.History) built by ebmlab.optim.train",
    "Assignment": "a record of the files ebmlab.tools.assign.assign wrote",
    "Grade": "a row of the grade table built by ebmlab.tools.grade",
    "FitResult": "a result container (NamedTuple) built by the ebmlab.training fit_* functions",
    "Samples": "a result container (NamedTuple) built by the ebmlab.samplers functions",
    "LloydResult": "a result container (NamedTuple) built by ebmlab.kmeans.lloyd",
    "SparseCode": "a result container (NamedTuple) built by ebmlab.sparse.ista, fista and admm",
    "JointMinimum": "a result container (NamedTuple) built by ebmlab.latent.infer_joint",
    "NotFittedError": "an exception class",
    "Estimator": "a base class; its subclasses' fit checks the declared constraints",
    "optim.shrink": "an unchecked core: sparse.shrink is its checked boundary",
    "fista_momentum": "an unchecked core, called by solvers that checked their inputs",
    "power_iteration": "an unchecked core, called by functions that checked their inputs",
    "minibatches": "an unchecked core, called by training functions that checked their inputs",
    "train": "an unchecked core: the loop that the checked fit_* and train_* functions run",
    "Outcome": "a record of one call of a learner's function, built by run_case",
    "Reported": "an exception the grader's stand-in raises to carry a remote Outcome",
    "Spec": "an exercise's reference, cases and comparison, built by spec_of",
    "cases_for": "the exercise machinery; its argument comes from the course's own checks",
    "grading": "a context manager of the grader; its seed is drawn by the grader itself",
    "judge": "the exercise machinery: compares values the grader computed itself",
    "run_case": "the exercise machinery: any learner function and a course-written case; it "
    "reports misuse as an Outcome, never raises",
    "spec_of": "the exercise machinery; its argument is one of the course's own checks",
    "kernel_env": "grader internals, called by ebmlab.tools.grade with paths it made",
    "kernel_manager": "grader internals, called by ebmlab.tools.grade with values it made",
    "private_copy": "grader internals, called by ebmlab.tools.grade with paths it made",
    "results": "builds results.json from grade rows that the grader made",
    "run": "the Gradescope entry point; its root and config come from run_autograder",
    "tools.gradescope.main": "run_autograder's command line; argparse reports bad words",
    # --- NOT_CHECKED: ch1-4 ---
    # --- NOT_CHECKED: ch6 ---
    # --- NOT_CHECKED: ch5-7-8 ---
    # --- NOT_CHECKED: ch9 ---
    "VICRegTerms": "a result container (NamedTuple) built by ebmlab.ssl.vicreg_loss",
    # --- NOT_CHECKED: ddp ---
    # --- NOT_CHECKED: ch10 ---
    "DeepEBMResult": "a result container (NamedTuple) built by ebmlab.training.fit_deep_ebm",
    "DDPMSchedule": "a result container (NamedTuple) built by ebmlab.training.ddpm_schedule",
}

# Arguments that legitimately accept several kinds of value, and why a mutation does not apply.
FLEXIBLE = {
    ("free_energy", "dz"): "a step (float) or a tensor of cell volumes",
    ("progress", "iterable"): "any iterable",
    ("progress", "desc"): "any label",
    ("check", "cases"): "any sequence of cases",
    ("check", "name"): "any label",
    ("check", "student"): "a learner's answer of any kind: a non-callable is reported as a failed "
    "check in one line, never raised (tests/test_grade_checks.py)",
    ("figure_to_png", "close"): "a flag; truthiness is enough",
    ("energy_landscape", "ax"): "a matplotlib Axes, duck-typed",
    ("check", "quiet"): "a flag; truthiness is enough",
    ("frame_slider", "values"): "any sequence of slider positions",
    ("live_slider", "values"): "any sequence of slider positions",
    ("regularized_energy", "penalty"): "checked against the allowed names (a ValueError)",
    ("vae_loss", "likelihood"): "checked against the allowed names (a ValueError)",
    ("VAE", "likelihood"): "checked against the allowed names (a ValueError)",
    ("fit_vae", "model"): "a VAE instance, checked with isinstance",
    ("main", "argv"): "command-line words; argparse reports bad ones",
    ("lipschitz", "method"): "checked against the allowed names (a ValueError)",
    ("fit_free_energy", "parameters"): "any iterable of tensors; a string is refused with a "
    "ValueError naming parameters, not a TypeError (a stricter check in its body would change the "
    "source chapter 3 prints)",
    ("energy", "z"): "integer labels (n,) or real codes (n, k): a 1-D float z is read as codes "
    "of the wrong rank (a ValueError naming z); a bool z is still a TypeError (tests/test_kmeans.py)",
    # --- FLEXIBLE: ch1-4 ---
    # --- FLEXIBLE: ch6 ---
    # --- FLEXIBLE: ch5-7-8 ---
    # --- FLEXIBLE: ch9 ---
    # --- FLEXIBLE: ddp ---
    # --- FLEXIBLE: ch10 ---
}


def public_modules():
    """``ebmlab`` and every module its ``__all__`` names, and theirs, in that order."""
    found, todo = [], [ebmlab]
    while todo:
        module = todo.pop(0)
        if module in found:
            continue
        found.append(module)
        todo += [
            getattr(module, n)
            for n in getattr(module, "__all__", [])
            if inspect.ismodule(getattr(module, n))
        ]
    return found


def public_callables():
    """Every public callable, by name; a name two modules export for different objects (the
    k-means ``free_energy`` besides :func:`ebmlab.free_energy`) is qualified, ``kmeans.free_energy``.
    """
    found = {}
    for module in public_modules():
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not callable(obj) or inspect.ismodule(obj):
                continue
            if name in found and found[name] is not obj:
                name = f"{module.__name__.removeprefix('ebmlab.')}.{name}"
            found.setdefault(name, obj)
    return found


def test_every_public_callable_is_covered():
    missing = sorted(set(public_callables()) - set(VALID) - set(NOT_CHECKED))
    assert not missing, f"add a valid call to VALID (or a reason to NOT_CHECKED) for: {missing}"


def test_no_entry_is_stale():
    """Entries of renamed or removed callables, or FLEXIBLE arguments no valid call passes."""
    public = set(public_callables())
    stale = sorted((set(VALID) | set(NOT_CHECKED) | {n for n, _ in FLEXIBLE}) - public)
    assert not stale, f"not public (any more): {stale}"
    unused = sorted(f"{n}.{a}" for n, a in FLEXIBLE if n in VALID and a not in VALID[n]()[1])
    plt.close("all")
    assert not unused, f"FLEXIBLE arguments that the valid call does not pass: {unused}"


def bad_values(value):
    """Bad substitutes for a valid argument value, with the exception each must raise."""
    if isinstance(value, bool):
        return [("yes", TypeError)]
    if isinstance(value, torch.Tensor):
        out = [("not a tensor", TypeError)]
        if value.dtype != torch.bool:  # a mask where numbers are needed
            out.append((torch.ones_like(value, dtype=torch.bool), TypeError))
        else:  # 0/1 numbers where a mask is needed
            out.append((value.long(), TypeError))
        if not value.is_floating_point() and value.dtype != torch.bool:  # fractions for indices
            out.append((value.double() + 0.5, TypeError))
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
    if isinstance(value, (tuple, list)):  # a pair of bounds, a list of parameters or labels
        out = [("1, 2", TypeError)]
        if value and isinstance(value[0], float):
            out.append((type(value)([math.nan, *value[1:]]), ValueError))
        return out
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
